// Building a response to a received request (RFC 3261 8.2.6): copies every Via, From, To, Call-ID
// and CSeq, and adds a To tag when the request had none (not on 100 Trying). Pure functions;
// thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "telephony/sip/message.h"

namespace vontres::telephony::sip {

// `reason` empty means the standard phrase. The To tag added, when missing, is derived from the
// request's Call-ID, From tag and top Via branch, so a retransmitted request gets the same tag.
Message make_response(const Message& request, int status, std::string reason = {});
// Same with an explicit To tag (e.g. the dialog's tag from the caller's generator).
Message make_response(const Message& request, int status, std::string reason, std::string_view to_tag);
// The response for a rejection from parse_message or check_request, with its extra headers.
Message make_error_response(const Message& request, const ParseError& error);

}  // namespace vontres::telephony::sip
