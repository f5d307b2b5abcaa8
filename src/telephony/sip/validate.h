// Request validation beyond syntax (RFC 3261 8.2 for a UAS, 16.3 for a proxy): mandatory and
// single-valued headers, CSeq/method agreement, method support (501/405), Request-URI scheme (416),
// Max-Forwards (483), Require/Proxy-Require (420) and body type/encoding (415). Run it on a message
// parse_message accepted; answer a non-empty result with make_error_response (sip/response.h).
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "telephony/sip/message.h"

namespace vontres::telephony::sip {

enum class Role { kUserAgentServer, kProxy };

struct RequestChecks {
  Role role = Role::kUserAgentServer;
  // Methods this element implements; anything else is 501 with Allow listing these.
  std::vector<std::string> implemented_methods = {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER"};
  // Methods accepted at this Request-URI; empty means all implemented ones. Others get 405 + Allow.
  std::vector<std::string> allowed_methods;
  std::vector<std::string> uri_schemes = {"sip", "sips", "tel"};  // Request-URI schemes; others 416
  // Option tags this element supports: checked against Require (UAS) or Proxy-Require (proxy).
  std::vector<std::string> supported_extensions;
  // Body types and encodings understood (a UAS checks them; a proxy does not look at bodies).
  std::vector<std::string> accepted_content_types = {"application/sdp"};
  std::vector<std::string> accepted_content_encodings = {"identity"};
  // RFC 2543 peers send no Max-Forwards (RFC 4475 3.4.1); absent is tolerated unless this is set.
  bool require_max_forwards = false;
  // Max-Forwards 0 on anything but OPTIONS is answered 483 (RFC 3261 16.3 step 3); OPTIONS with 0
  // is answered by this element (RFC 3261 11).
  bool reject_zero_max_forwards = true;
};

// nullopt when the request may proceed; otherwise the response to send (status, reason and the
// headers it must carry: Unsupported, Allow, Accept, Accept-Encoding). Responses and ACKs always
// pass (neither can be answered).
std::optional<ParseError> check_request(const Message& request, const RequestChecks& checks);

}  // namespace vontres::telephony::sip
