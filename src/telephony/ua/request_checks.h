// The checks a UAS core makes before handing a request to its application (RFC 3261 8.2.1 -
// 8.2.3), delegated to the parser's sip::check_request (sip/validate.h): URI scheme (416),
// Max-Forwards exhausted (483), Require with unsupported extensions (420 with Unsupported),
// CSeq method mismatch (400), unknown method (501 with Allow), body type (415).
//
// Thread-safety: pure function.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "telephony/sip/message.h"

namespace vontres::telephony::ua {

struct UasPolicy {
  std::vector<std::string> allow;          // methods this UA implements
  std::vector<std::string> supported;      // option tags (Supported / accepted in Require)
  std::vector<std::string> content_types;  // body types accepted
};

// The response to send instead of processing `request`, or nullopt when it may proceed.
std::optional<sip::Message> check_request(const sip::Message& request, const UasPolicy& policy);

// "INVITE, ACK, ..." for an Allow or Supported header.
std::string join_tokens(const std::vector<std::string>& tokens);

}  // namespace vontres::telephony::ua
