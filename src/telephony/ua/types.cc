#include "telephony/ua/types.h"

#include <algorithm>
#include <cctype>

namespace vontres::telephony::ua {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view transport_name(TransportKind kind) {
  switch (kind) {
    case TransportKind::kUdp: return "UDP";
    case TransportKind::kTcp: return "TCP";
    case TransportKind::kTls: return "TLS";
  }
  return "UDP";
}

bool parse_transport(std::string_view text, TransportKind& out) {
  if (iequals(text, "udp")) {
    out = TransportKind::kUdp;
  } else if (iequals(text, "tcp")) {
    out = TransportKind::kTcp;
  } else if (iequals(text, "tls")) {
    out = TransportKind::kTls;
  } else {
    return false;
  }
  return true;
}

std::string Peer::to_string() const {
  std::string name(transport_name(transport));
  std::transform(name.begin(), name.end(), name.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  const bool v6 = address.find(':') != std::string::npos;
  return name + ":" + (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

std::string tag_of(std::string_view name_addr) {
  // Skip the display name and <uri> (a ;tag inside <> belongs to the URI), then scan params.
  size_t start = 0;
  bool quoted = false;
  size_t angle = std::string_view::npos;
  for (size_t i = 0; i < name_addr.size(); ++i) {
    char c = name_addr[i];
    if (c == '"' && (i == 0 || name_addr[i - 1] != '\\')) quoted = !quoted;
    if (!quoted && c == '<') angle = i;
    if (!quoted && c == '>' && angle != std::string_view::npos) {
      start = i + 1;
      break;
    }
  }
  std::string_view params = name_addr.substr(start);
  size_t pos = 0;
  while ((pos = params.find(';', pos)) != std::string_view::npos) {
    ++pos;
    size_t end = params.find(';', pos);
    std::string_view param = params.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    while (!param.empty() && std::isspace(static_cast<unsigned char>(param.front()))) param.remove_prefix(1);
    auto eq = param.find('=');
    if (eq != std::string_view::npos) {
      std::string_view name = param.substr(0, eq);
      while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.remove_suffix(1);
      if (iequals(name, "tag")) {
        std::string_view value = param.substr(eq + 1);
        while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
        while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
        return std::string(value);
      }
    }
  }
  return {};
}

sip::Message make_response(const sip::Message& request, int status, std::string_view reason, std::string_view to_tag) {
  sip::Message response =
      sip::Message::response(status, std::string(reason.empty() ? sip::reason_phrase(status) : reason));
  for (auto via : request.headers_named("Via")) response.add_header("Via", std::string(via));
  if (auto from = request.header("From")) response.add_header("From", std::string(*from));
  if (auto to = request.header("To")) {
    std::string value(*to);
    if (!to_tag.empty() && tag_of(value).empty()) value += ";tag=" + std::string(to_tag);
    response.add_header("To", std::move(value));
  }
  if (auto call_id = request.header("Call-ID")) response.add_header("Call-ID", std::string(*call_id));
  if (auto cseq = request.header("CSeq")) response.add_header("CSeq", std::string(*cseq));
  // RFC 3261 12.1.1: a response that establishes a dialog (1xx with a tag, 2xx to INVITE) carries
  // the request's Record-Route values, so the caller's in-dialog requests follow the proxies.
  if (status > 100 && status < 300 && request.method() == "INVITE") {
    for (auto route : request.headers_named("Record-Route")) response.add_header("Record-Route", std::string(route));
  }
  if (status == 100) {
    if (auto timestamp = request.header("Timestamp")) response.add_header("Timestamp", std::string(*timestamp));
  }
  return response;
}

}  // namespace vontres::telephony::ua
