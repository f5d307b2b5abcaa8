// libFuzzer target for the SIP message parser: parse_message, check_request, the structured
// header parsers and the stream framer on arbitrary bytes. Invariant: whatever parses must
// serialize to bytes that parse again to the same message (headers other than Content-Length,
// start line and body identical); a violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "telephony/sip/message.h"
#include "telephony/sip/response.h"
#include "telephony/sip/validate.h"

namespace sip = vontres::telephony::sip;

namespace {

bool same(const sip::Message& a, const sip::Message& b) {
  if (a.method() != b.method() || a.request_uri() != b.request_uri() || a.status() != b.status() ||
      a.reason() != b.reason() || a.body() != b.body()) {
    return false;
  }
  size_t i = 0;
  size_t j = 0;
  const auto& ha = a.headers();
  const auto& hb = b.headers();
  while (true) {
    while (i < ha.size() && ha[i].name == "Content-Length") ++i;
    while (j < hb.size() && hb[j].name == "Content-Length") ++j;
    if (i == ha.size() || j == hb.size()) return i == ha.size() && j == hb.size();
    if (ha[i].name != hb[j].name || ha[i].value != hb[j].value) return false;
    ++i;
    ++j;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = sip::parse_message(input);
  if (parsed) {
    const sip::Message& message = *parsed.message;
    std::string wire = message.serialize();
    auto again = sip::parse_message(wire);
    if (!again || !same(message, *again.message)) std::abort();
    if (again.message->serialize() != wire) std::abort();
    sip::RequestChecks uas;
    auto rejection = sip::check_request(message, uas);
    sip::RequestChecks proxy;
    proxy.role = sip::Role::kProxy;
    (void)sip::check_request(message, proxy);
    if (message.is_request()) {
      sip::Message response =
          rejection ? sip::make_error_response(message, *rejection) : sip::make_response(message, 200, "OK");
      auto reparsed = sip::parse_message(response.serialize());
      (void)reparsed;
    }
    for (const auto& h : message.headers()) {
      if (h.name == "From" || h.name == "To" || h.name == "Contact" || h.name == "Route") {
        auto addr = sip::parse_name_addr(h.value);
        if (addr && !addr->wildcard) {
          // A name-addr we print must parse back to the same URI.
          auto back = sip::parse_name_addr(addr->to_string());
          if (!back || back->uri.to_string() != addr->uri.to_string()) std::abort();
        }
      } else if (h.name == "Via") {
        auto via = sip::parse_via(h.value);
        if (!via) std::abort();  // the parser validated it
        auto back = sip::parse_via(via->to_string());
        if (!back || back->to_string() != via->to_string()) std::abort();
      }
    }
  }
  // The framer must never hand out more bytes than it was fed, nor loop.
  sip::MessageFramer framer(4096, 4096);
  size_t half = size / 2;
  framer.feed(input.substr(0, half));
  framer.feed(input.substr(half));
  size_t out = 0;
  while (auto next = framer.next()) {
    out += next->size();
    if (out > size) std::abort();
  }
  return 0;
}
