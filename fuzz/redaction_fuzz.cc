// Feeds arbitrary bytes to redact() with every class on, then checks: spans are in bounds, sorted
// and disjoint, and the output holds no Luhn-valid 13-19 digit run (ASCII digit groups joined by a
// single ' ' or '-', windows on group boundaries; the checker is independent of the redactor).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ai/redaction/redactor.h"

namespace {

bool luhn(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (dbl) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    dbl = !dbl;
  }
  return !digits.empty() && sum % 10 == 0;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool has_luhn_valid_run(std::string_view text) {
  std::string run;
  std::vector<size_t> boundaries;
  auto check = [&]() {
    boundaries.push_back(run.size());
    for (size_t a = 0; a < boundaries.size(); ++a) {
      for (size_t b = a + 1; b < boundaries.size(); ++b) {
        size_t len = boundaries[b] - boundaries[a];
        if (len >= 13 && len <= 19 && luhn(std::string_view(run).substr(boundaries[a], len))) return true;
      }
    }
    return false;
  };
  bool in_gap = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_digit(c)) {
      if (run.empty() || in_gap) boundaries.push_back(run.size());
      in_gap = false;
      run.push_back(c);
    } else if ((c == ' ' || c == '-') && !run.empty() && !in_gap && i + 1 < text.size() && is_digit(text[i + 1])) {
      in_gap = true;
    } else {
      if (check()) return true;
      run.clear();
      boundaries.clear();
      in_gap = false;
    }
  }
  return !run.empty() && check();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace redaction = vontres::ai::redaction;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const redaction::RedactionOptions options;
  redaction::RedactionResult result = redaction::redact(text, options);
  size_t previous_end = 0;
  for (const redaction::RedactedSpan& span : result.spans) {
    if (span.start < previous_end || span.start >= span.end || span.end > size) std::abort();
    previous_end = span.end;
  }
  if (has_luhn_valid_run(result.text)) std::abort();
  return 0;
}
