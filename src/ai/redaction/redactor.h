// PII redaction of transcript text before it is stored, logged or published: card numbers
// (Luhn-checked, typed or spoken), CVV and expiry near a card or a keyword, US SSNs, e-mail
// addresses and phone numbers are replaced by tokens such as "[CARD]". With cards on, the output
// never contains a Luhn-valid run of 13-19 digits (typed digits joined by at most 3 bytes of
// ' ', '-', '.', ',', '(', ')'); docs/redaction.md lists the exact rules and known gaps.
//
// Thread-safety: redact() is a pure function; RedactionOptions is a value the caller owns (one per
// organisation) and may share read-only between threads.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vontres::ai::redaction {

enum class PiiClass { kCard, kSsn, kCvv, kExpiry, kEmail, kPhone };
// "card", "ssn", "cvv", "expiry", "email", "phone".
std::string_view pii_class_name(PiiClass pii_class);

struct RedactionOptions {
  bool cards = true;
  bool cvv = true;     // 3-4 digits near a card or "cvv" / "security code" ...
  bool expiry = true;  // MM/YY, MM/YYYY, "oh five twenty seven" near a card or "expiry" / "expires" ...
  bool ssn = true;
  bool email = true;
  bool phone = true;
  // How far (bytes) after a card, a keyword or an accepted CVV/expiry a CVV/expiry/SSN may start.
  size_t context_bytes = 48;

  std::string card_token = "[CARD]";
  std::string cvv_token = "[CVV]";
  std::string expiry_token = "[EXPIRY]";
  std::string ssn_token = "[SSN]";
  std::string email_token = "[EMAIL]";
  std::string phone_token = "[PHONE]";
};

// "invalid_redaction_options" when a token is empty, contains a digit or only separator bytes
// (such a token could glue digits into a new card-like run), or context_bytes > 4096.
Status validate(const RedactionOptions& options);

struct RedactedSpan {
  PiiClass pii_class = PiiClass::kCard;
  size_t start = 0;  // byte offsets into the ORIGINAL text, [start, end)
  size_t end = 0;
  friend bool operator==(const RedactedSpan&, const RedactedSpan&) = default;
};

struct RedactionResult {
  std::string text;                 // the input with every span replaced by its class token
  std::vector<RedactedSpan> spans;  // sorted, non-overlapping
};

// Works on any bytes (UTF-8 or not); spans never split a match, and overlapping matches are merged
// into one span of the higher-priority class (card > ssn > cvv > expiry > email > phone). Options are
// assumed valid (see validate()); invalid tokens only weaken the output guarantee.
RedactionResult redact(std::string_view text, const RedactionOptions& options);

}  // namespace vontres::ai::redaction
