#include "telephony/ua/transport_rules.h"

#include <algorithm>
#include <cctype>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace vontres::telephony::ua {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return out;
}

bool is_numeric_address(std::string_view host) {
  std::string text(host);
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  boost::system::error_code error;
  (void)boost::asio::ip::make_address(text, error);
  return !error;
}

std::string strip_brackets(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') return std::string(host.substr(1, host.size() - 2));
  return std::string(host);
}

void set_param(sip::Via& via, std::string_view name, std::string value) {
  for (auto& param : via.params) {
    if (param.name == name) {
      param.value = std::move(value);
      return;
    }
  }
  via.params.push_back(sip::Param{std::string(name), std::move(value)});
}

}  // namespace

void stamp_received(sip::Message& request, const Peer& source) {
  auto text = request.header("Via");
  if (!text) return;
  auto parsed = sip::parse_via(*text);
  if (!parsed) return;
  sip::Via via = std::move(parsed).value();
  const bool wants_rport = via.param("rport").has_value();
  if (!wants_rport && strip_brackets(via.host) == source.address) return;
  set_param(via, "received", source.address);
  if (wants_rport) set_param(via, "rport", std::to_string(source.port));
  request.remove_first_header("Via");
  request.prepend_header("Via", via.to_string());
}

Peer response_peer(const sip::Message& response, const Peer& source) {
  auto text = response.header("Via");
  if (!text) return source;
  auto parsed = sip::parse_via(*text);
  if (!parsed) return source;
  const sip::Via& via = *parsed;
  Peer peer;
  peer.transport = source.transport;
  auto received = via.param("received");
  std::string host = received && !received->empty() ? std::string(*received) : strip_brackets(via.host);
  peer.address = is_numeric_address(host) ? strip_brackets(host) : source.address;
  if (is_reliable(source.transport)) {
    // The connection the request came on; if it is gone, a new one to received:sent-by port.
    peer.connection = source.connection;
    peer.port = via.port.value_or(source.transport == TransportKind::kTls ? 5061 : 5060);
    return peer;
  }
  auto rport = via.param("rport");
  if (rport && !rport->empty()) {
    peer.port = static_cast<uint16_t>(std::strtoul(std::string(*rport).c_str(), nullptr, 10));
  } else {
    peer.port = via.port.value_or(5060);
  }
  if (peer.port == 0) peer.port = source.port;
  return peer;
}

bool is_keepalive(std::string_view raw) {
  return !raw.empty() && std::all_of(raw.begin(), raw.end(), [](char c) { return c == '\r' || c == '\n'; });
}

std::optional<sip::Message> error_response_for(std::string_view raw, const sip::ParseError& error) {
  if (error.response_status < 300 || error.response_status > 699) return std::nullopt;
  raw = raw.substr(0, 64 * 1024);
  auto line_end = raw.find('\n');
  if (line_end == std::string_view::npos) return std::nullopt;
  std::string_view request_line = trim(raw.substr(0, line_end));
  // METHOD SP Request-URI SP SIP-Version
  auto first_space = request_line.find(' ');
  if (first_space == std::string_view::npos || first_space == 0) return std::nullopt;
  std::string_view method = request_line.substr(0, first_space);
  if (method == "ACK" || method.starts_with("SIP/")) return std::nullopt;
  if (!std::all_of(method.begin(), method.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); })) {
    return std::nullopt;
  }
  if (request_line.find(' ', first_space + 1) == std::string_view::npos) return std::nullopt;

  std::vector<std::string> vias;
  std::optional<std::string> from, to, call_id, cseq;
  size_t pos = line_end + 1;
  while (pos < raw.size()) {
    auto end = raw.find('\n', pos);
    std::string_view line = raw.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? raw.size() : end + 1;
    if (trim(line).empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = lower(trim(line.substr(0, colon)));
    std::string value(trim(line.substr(colon + 1)));
    if (value.empty() || value.size() > 1024) continue;
    if (name == "via" || name == "v") {
      vias.push_back(std::move(value));
    } else if ((name == "from" || name == "f") && !from) {
      from = std::move(value);
    } else if ((name == "to" || name == "t") && !to) {
      to = std::move(value);
    } else if ((name == "call-id" || name == "i") && !call_id) {
      call_id = std::move(value);
    } else if (name == "cseq" && !cseq) {
      cseq = std::move(value);
    }
  }
  if (vias.empty()) return std::nullopt;
  std::string reason = error.reason.empty() ? std::string(sip::reason_phrase(error.response_status)) : error.reason;
  sip::Message response = sip::Message::response(error.response_status, std::move(reason));
  for (auto& via : vias) response.add_header("Via", std::move(via));
  if (from) response.add_header("From", std::move(*from));
  if (to) response.add_header("To", std::move(*to));
  if (call_id) response.add_header("Call-ID", std::move(*call_id));
  if (cseq) response.add_header("CSeq", std::move(*cseq));
  for (const auto& header : error.response_headers) response.add_header(header.name, header.value);
  return response;
}

}  // namespace vontres::telephony::ua
