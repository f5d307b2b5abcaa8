// Labelled utterances for the intent classifier, read from RFC 4180 CSV with a header naming the
// columns `text` and `category` (any order; other columns are ignored). Quoted fields may contain
// commas, doubled quotes and line breaks; CRLF and LF line ends and a UTF-8 BOM are accepted.
// Errors carry a stable code and the 1-based physical line number in the message.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vontres::ai::intent {

struct LabelledExample {
  std::string text;
  std::string intent;

  friend bool operator==(const LabelledExample&, const LabelledExample&) = default;
};

// Parses CSV content. Codes: csv_empty (no header), csv_bad_header (no text/category column),
// csv_unterminated_quote, csv_bad_quote (a quote inside an unquoted field or text after a closing
// quote), csv_field_count (a record with fewer fields than the header), csv_empty_category.
// Blank lines are skipped; an empty text is allowed (it classifies on priors alone).
Result<std::vector<LabelledExample>> parse_labelled_csv(std::string_view content);

// Reads and parses a file; adds csv_unreadable when it cannot be opened or read. Error messages
// start with the path.
Result<std::vector<LabelledExample>> read_labelled_csv(const std::string& path);

}  // namespace vontres::ai::intent
