#include "ai/intent/labelled_csv.h"

#include <fstream>
#include <optional>
#include <sstream>

namespace vontres::ai::intent {
namespace {

struct Record {
  std::vector<std::string> fields;
  size_t line = 0;  // physical line where the record starts
};

// Splits RFC 4180 records one at a time, tracking physical line numbers.
class CsvReader {
 public:
  explicit CsvReader(std::string_view content) : in_(content) {}

  // Returns the next record, nullopt at the end, or an error. Blank lines are skipped.
  Result<std::optional<Record>> next() {
    while (pos_ < in_.size() && (in_[pos_] == '\n' || in_[pos_] == '\r')) consume_line_end();
    if (pos_ >= in_.size()) return std::optional<Record>();
    Record record;
    record.line = line_;
    while (true) {
      std::string field;
      if (in_[pos_] == '"') {
        const size_t quote_line = line_;
        ++pos_;
        while (true) {
          if (pos_ >= in_.size()) {
            return invalid_argument("line " + std::to_string(quote_line) + ": quoted field is not terminated",
                                    "csv_unterminated_quote");
          }
          const char c = in_[pos_];
          if (c == '"') {
            if (pos_ + 1 < in_.size() && in_[pos_ + 1] == '"') {
              field.push_back('"');
              pos_ += 2;
              continue;
            }
            ++pos_;
            break;
          }
          if (c == '\n') ++line_;
          field.push_back(c);
          ++pos_;
        }
        if (pos_ < in_.size() && in_[pos_] != ',' && in_[pos_] != '\n' && in_[pos_] != '\r') {
          return invalid_argument("line " + std::to_string(line_) + ": text after a closing quote", "csv_bad_quote");
        }
      } else {
        while (pos_ < in_.size() && in_[pos_] != ',' && in_[pos_] != '\n' && in_[pos_] != '\r') {
          if (in_[pos_] == '"') {
            return invalid_argument("line " + std::to_string(line_) + ": quote inside an unquoted field",
                                    "csv_bad_quote");
          }
          field.push_back(in_[pos_++]);
        }
      }
      record.fields.push_back(std::move(field));
      if (pos_ >= in_.size()) break;
      if (in_[pos_] == ',') {
        ++pos_;
        if (pos_ >= in_.size()) {
          record.fields.emplace_back();
          break;
        }
        continue;
      }
      consume_line_end();
      break;
    }
    return std::optional<Record>(std::move(record));
  }

 private:
  void consume_line_end() {
    if (in_[pos_] == '\r' && pos_ + 1 < in_.size() && in_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  std::string_view in_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

std::string trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

Result<std::vector<LabelledExample>> parse_labelled_csv(std::string_view content) {
  if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
  CsvReader reader(content);
  VONTRES_ASSIGN_OR_RETURN(std::optional<Record> header, reader.next());
  if (!header) return invalid_argument("line 1: no header (expected `text,category`)", "csv_empty");
  std::optional<size_t> text_column;
  std::optional<size_t> category_column;
  for (size_t i = 0; i < header->fields.size(); ++i) {
    const std::string name = trim(header->fields[i]);
    if (name == "text" && !text_column) text_column = i;
    if (name == "category" && !category_column) category_column = i;
  }
  if (!text_column || !category_column) {
    return invalid_argument("line " + std::to_string(header->line) + ": header must name columns `text` and `category`",
                            "csv_bad_header");
  }
  const size_t needed = std::max(*text_column, *category_column) + 1;
  std::vector<LabelledExample> examples;
  while (true) {
    VONTRES_ASSIGN_OR_RETURN(std::optional<Record> record, reader.next());
    if (!record) break;
    if (record->fields.size() < needed) {
      return invalid_argument("line " + std::to_string(record->line) + ": expected at least " + std::to_string(needed) +
                                  " fields, found " + std::to_string(record->fields.size()),
                              "csv_field_count");
    }
    LabelledExample example{std::move(record->fields[*text_column]), trim(record->fields[*category_column])};
    if (example.intent.empty()) {
      return invalid_argument("line " + std::to_string(record->line) + ": empty category", "csv_empty_category");
    }
    examples.push_back(std::move(example));
  }
  return examples;
}

Result<std::vector<LabelledExample>> read_labelled_csv(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return invalid_argument(path + ": cannot open file", "csv_unreadable");
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) return invalid_argument(path + ": read error", "csv_unreadable");
  auto parsed = parse_labelled_csv(content.str());
  if (!parsed.is_ok()) return parsed.status().with_context(path);
  return parsed;
}

}  // namespace vontres::ai::intent
