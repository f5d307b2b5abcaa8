// Responses to received requests (RFC 3261 8.2.6); see response.h.
#include "telephony/sip/response.h"

#include <cstdint>
#include <cstdio>
#include <string>

namespace vontres::telephony::sip {
namespace {

uint64_t fnv1a(uint64_t hash, std::string_view data) {
  for (char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

std::string derived_tag(const Message& request) {
  uint64_t hash = 14695981039346656037ULL;
  hash = fnv1a(hash, request.header("Call-ID").value_or(""));
  hash = fnv1a(hash, request.header("From").value_or(""));
  hash = fnv1a(hash, request.header("Via").value_or(""));
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

}  // namespace

Message make_response(const Message& request, int status, std::string reason, std::string_view to_tag) {
  Message response = Message::response(status, std::move(reason));
  for (std::string_view via : request.headers_named("Via")) response.add_header("Via", std::string(via));
  if (auto from = request.header("From")) response.add_header("From", std::string(*from));
  if (auto to = request.header("To")) {
    std::string value(*to);
    auto parsed = parse_name_addr(value);
    if (status > 100 && !to_tag.empty() && parsed && !parsed->param("tag")) value += ";tag=" + std::string(to_tag);
    response.add_header("To", std::move(value));
  }
  if (auto call_id = request.header("Call-ID")) response.add_header("Call-ID", std::string(*call_id));
  if (auto cseq = request.header("CSeq")) response.add_header("CSeq", std::string(*cseq));
  return response;
}

Message make_response(const Message& request, int status, std::string reason) {
  return make_response(request, status, std::move(reason), derived_tag(request));
}

Message make_error_response(const Message& request, const ParseError& error) {
  Message response = make_response(request, error.response_status, error.reason);
  for (const auto& h : error.response_headers) response.add_header(h.name, h.value);
  return response;
}

}  // namespace vontres::telephony::sip
