// Pure transport rules: stamping received/rport on an incoming request's top Via (RFC 3261
// 18.2.1, RFC 3581 4), choosing where a response goes (RFC 3261 18.2.2, RFC 3581 4), and
// building an error response for a request that failed to parse when enough of it (request
// line + Via) can be recovered from the raw bytes.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "telephony/sip/message.h"
#include "telephony/ua/types.h"

namespace vontres::telephony::ua {

// Adds ";received=<source address>" when the top Via's sent-by host differs from the source
// address (or when rport was requested), and fills an empty ";rport" with the source port.
void stamp_received(sip::Message& request, const Peer& source);

// Where to send a response whose request came from `source`: TCP/TLS over the same connection
// (source.connection) while it is open, else to received (or sent-by host) and the sent-by port;
// UDP to received (or sent-by host) and rport (or sent-by port, default 5060).
Peer response_peer(const sip::Message& response, const Peer& source);

// The error response (status and reason from `error`) for raw bytes whose request line and
// top Via are recoverable; nullopt when not (responses, ACKs, garbage, status 0).
std::optional<sip::Message> error_response_for(std::string_view raw, const sip::ParseError& error);

// True for the CRLF keep-alives of RFC 5626 3.5.1 (only CR/LF bytes).
bool is_keepalive(std::string_view raw);

}  // namespace vontres::telephony::ua
