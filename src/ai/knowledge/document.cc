#include "ai/knowledge/document.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

namespace vontres::ai::knowledge {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Length of the valid UTF-8 sequence at s[i], or 0 when invalid (overlong, surrogate, > U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return c == 0 ? 0 : 1;
  std::size_t len = 0;
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) min_second = 0xA0;
    if (c == 0xED) max_second = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) min_second = 0x90;
    if (c == 0xF4) max_second = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

bool valid_step_id(std::string_view id) { return is_valid_document_id(id); }

class Parser {
 public:
  Parser(std::string_view id, std::string_view text, std::string_view source, const ParseLimits& limits)
      : text_(text), source_(source.empty() ? id : source), limits_(limits) {
    doc_.id = std::string(id);
  }

  Result<Document> run() {
    if (!is_valid_document_id(doc_.id)) {
      return invalid_argument(
          std::string(source_) + ": document id '" + doc_.id.substr(0, 64) + "' must be 1-64 characters of [a-z0-9_-]",
          "knowledge_invalid_id");
    }
    if (text_.size() > limits_.max_bytes) {
      return invalid_argument(std::string(source_) + ": file is " + std::to_string(text_.size()) + " bytes, limit is " +
                                  std::to_string(limits_.max_bytes),
                              "knowledge_too_large");
    }
    VONTRES_RETURN_IF_ERROR(split_lines());
    std::size_t i = 0;
    if (!lines_.empty() && trim(lines_[0]) == "---") {
      VONTRES_ASSIGN_OR_RETURN(i, parse_front_matter());
    }
    for (; i < lines_.size(); ++i) VONTRES_RETURN_IF_ERROR(body_line(i));
    if (in_code_) return error(code_start_line_, "code block is not closed", "knowledge_unterminated_code_block");
    VONTRES_RETURN_IF_ERROR(flush());
    if (doc_.title.empty()) {
      return error(1, "no title: add a '# Title' heading or 'title:' in the front matter", "knowledge_missing_title");
    }
    return std::move(doc_);
  }

 private:
  Status error(std::size_t line, const std::string& reason, const std::string& code) const {
    return invalid_argument(std::string(source_) + ":" + std::to_string(line) + ": " + reason, code);
  }

  Status split_lines() {
    std::size_t start = 0;
    std::size_t line_no = 1;
    for (std::size_t i = 0; i < text_.size();) {
      const char c = text_[i];
      if (c == '\n') {
        add_line(start, i);
        start = i + 1;
        ++line_no;
        ++i;
        continue;
      }
      const std::size_t len = utf8_sequence_length(text_, i);
      if (len == 0) {
        return error(line_no, c == '\0' ? "NUL byte" : "invalid UTF-8 byte sequence", "knowledge_invalid_utf8");
      }
      i += len;
      if (i - start > limits_.max_line_bytes + 1) {
        return error(line_no, "line longer than " + std::to_string(limits_.max_line_bytes) + " bytes",
                     "knowledge_line_too_long");
      }
    }
    if (start < text_.size()) add_line(start, text_.size());
    for (std::size_t k = 0; k < lines_.size(); ++k) {
      if (lines_[k].size() > limits_.max_line_bytes) {
        return error(k + 1, "line longer than " + std::to_string(limits_.max_line_bytes) + " bytes",
                     "knowledge_line_too_long");
      }
    }
    return Status::ok();
  }

  void add_line(std::size_t begin, std::size_t end) {
    std::string_view line = text_.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines_.push_back(line);
  }

  Result<std::vector<std::string>> parse_list(std::size_t line_no, std::string_view key, std::string_view value) {
    if (value.size() < 2 || value.front() != '[' || value.back() != ']') {
      return error(line_no, std::string(key) + " must be a list like [a, b]", "knowledge_bad_front_matter");
    }
    value = value.substr(1, value.size() - 2);
    std::vector<std::string> items;
    if (trim(value).empty()) return items;
    while (true) {
      const std::size_t comma = value.find(',');
      std::string_view item = trim(value.substr(0, comma));
      if (item.size() >= 2 && (item.front() == '"' || item.front() == '\'') && item.back() == item.front()) {
        item = item.substr(1, item.size() - 2);
      }
      if (item.empty() || item.find_first_of("[]\"'") != std::string_view::npos) {
        return error(line_no, "empty or malformed item in " + std::string(key), "knowledge_bad_front_matter");
      }
      items.push_back(lower_ascii(item));
      if (items.size() > limits_.max_tags) {
        return error(line_no, "more than " + std::to_string(limits_.max_tags) + " items in " + std::string(key),
                     "knowledge_bad_front_matter");
      }
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
    return items;
  }

  // Returns the index of the first body line.
  Result<std::size_t> parse_front_matter() {
    std::set<std::string, std::less<>> seen;
    for (std::size_t i = 1; i < lines_.size(); ++i) {
      const std::string_view line = trim(lines_[i]);
      const std::size_t line_no = i + 1;
      if (line == "---") return i + 1;
      if (line.empty() || line.front() == '#') continue;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        return error(line_no, "expected 'key: value' in front matter", "knowledge_bad_front_matter");
      }
      const std::string key = lower_ascii(trim(line.substr(0, colon)));
      std::string_view value = trim(line.substr(colon + 1));
      if (!seen.insert(key).second) {
        return error(line_no, "duplicate front matter key '" + key + "'", "knowledge_bad_front_matter");
      }
      if (key == "title") {
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
          value = value.substr(1, value.size() - 2);
        }
        if (trim(value).empty()) return error(line_no, "empty title", "knowledge_bad_front_matter");
        doc_.title = std::string(trim(value));
      } else if (key == "tags") {
        VONTRES_ASSIGN_OR_RETURN(doc_.tags, parse_list(line_no, key, value));
      } else if (key == "intents") {
        VONTRES_ASSIGN_OR_RETURN(doc_.intents, parse_list(line_no, key, value));
      } else {
        return error(line_no, "unknown front matter key '" + key.substr(0, 40) + "' (title, tags, intents)",
                     "knowledge_bad_front_matter");
      }
    }
    return error(1, "front matter is not closed with '---'", "knowledge_bad_front_matter");
  }

  std::string heading_path() const {
    std::string path;
    for (const auto& [level, text] : headings_) {
      if (!path.empty()) path += " > ";
      path += text;
    }
    return path;
  }

  Status flush() {
    if (paragraph_.empty()) return Status::ok();
    if (doc_.passages.size() >= limits_.max_passages) {
      return error(paragraph_line_, "more than " + std::to_string(limits_.max_passages) + " passages",
                   "knowledge_too_many_passages");
    }
    if (paragraph_.size() > limits_.max_passage_bytes) {
      return error(paragraph_line_, "passage longer than " + std::to_string(limits_.max_passage_bytes) + " bytes",
                   "knowledge_too_large");
    }
    doc_.passages.push_back(Passage{heading_path(), std::move(paragraph_), static_cast<int>(paragraph_line_)});
    paragraph_.clear();
    return Status::ok();
  }

  void append(std::size_t line_no, std::string_view text) {
    if (text.empty()) return;
    if (paragraph_.empty()) {
      paragraph_line_ = line_no;
    } else {
      paragraph_ += ' ';
    }
    paragraph_.append(text);
  }

  Status required_step(std::size_t line_no, std::string_view line) {
    if (line.size() < 2 || (line[0] != '-' && line[0] != '*') || line[1] != ' ') {
      return error(line_no, "expected a list item '- [id] text' in Required steps", "knowledge_bad_required_step");
    }
    std::string_view rest = trim(line.substr(2));
    RequiredStep step;
    step.line = static_cast<int>(line_no);
    if (!rest.empty() && rest.front() == '[') {
      const std::size_t close = rest.find(']');
      if (close == std::string_view::npos) {
        return error(line_no, "step id is missing ']'", "knowledge_bad_required_step");
      }
      step.id = lower_ascii(trim(rest.substr(1, close - 1)));
      if (!valid_step_id(step.id)) {
        return error(line_no, "step id must be 1-64 characters of [a-z0-9_-]", "knowledge_bad_required_step");
      }
      rest = trim(rest.substr(close + 1));
    } else {
      step.id = "step-" + std::to_string(doc_.required_steps.size() + 1);
    }
    while (true) {
      const std::size_t bar = rest.find('|');
      const std::string_view alternative = trim(rest.substr(0, bar));
      if (alternative.empty()) return error(line_no, "empty step phrase", "knowledge_bad_required_step");
      step.alternatives.emplace_back(alternative);
      if (bar == std::string_view::npos) break;
      rest.remove_prefix(bar + 1);
    }
    step.text = step.alternatives.front();
    for (const RequiredStep& other : doc_.required_steps) {
      if (other.id == step.id)
        return error(line_no, "duplicate step id '" + step.id + "'", "knowledge_bad_required_step");
    }
    if (doc_.required_steps.size() >= limits_.max_required_steps) {
      return error(line_no, "more than " + std::to_string(limits_.max_required_steps) + " required steps",
                   "knowledge_bad_required_step");
    }
    std::string passage_text;
    for (const std::string& alternative : step.alternatives) {
      if (!passage_text.empty()) passage_text += "; ";
      passage_text += alternative;
    }
    append(line_no, passage_text + ".");
    doc_.required_steps.push_back(std::move(step));
    return Status::ok();
  }

  Status body_line(std::size_t i) {
    const std::size_t line_no = i + 1;
    const std::string_view line = trim(lines_[i]);
    const bool fence = line.starts_with("```") || line.starts_with("~~~");
    if (in_code_) {
      if (fence) {
        in_code_ = false;
        return flush();
      }
      append(line_no, line);
      return Status::ok();
    }
    if (fence) {
      VONTRES_RETURN_IF_ERROR(flush());
      in_code_ = true;
      code_start_line_ = line_no;
      return Status::ok();
    }
    if (line.empty()) return flush();
    if (line.front() == '#') {
      std::size_t level = 0;
      while (level < line.size() && line[level] == '#') ++level;
      if (level <= 6 && (level == line.size() || line[level] == ' ' || line[level] == '\t')) {
        VONTRES_RETURN_IF_ERROR(flush());
        std::string_view heading = trim(line.substr(level));
        while (!heading.empty() && heading.back() == '#') heading.remove_suffix(1);
        heading = trim(heading);
        if (heading.empty()) return error(line_no, "empty heading", "knowledge_bad_heading");
        if (level == 1 && doc_.title.empty()) doc_.title = std::string(heading);
        while (!headings_.empty() && headings_.back().first >= level) headings_.pop_back();
        headings_.emplace_back(level, std::string(heading));
        if (level <= 2) in_required_steps_ = level == 2 && lower_ascii(heading) == "required steps";
        if (in_required_steps_ && level == 2) {
          if (saw_required_steps_)
            return error(line_no, "second 'Required steps' section", "knowledge_bad_required_step");
          saw_required_steps_ = true;
        }
        return Status::ok();
      }
    }
    if (in_required_steps_ && headings_.back().first == 2) return required_step(line_no, line);
    append(line_no, line);
    return Status::ok();
  }

  std::string_view text_;
  std::string_view source_;
  const ParseLimits& limits_;
  Document doc_;
  std::vector<std::string_view> lines_;
  std::vector<std::pair<std::size_t, std::string>> headings_;
  std::string paragraph_;
  std::size_t paragraph_line_ = 0;
  bool in_code_ = false;
  std::size_t code_start_line_ = 0;
  bool in_required_steps_ = false;
  bool saw_required_steps_ = false;
};

}  // namespace

bool is_valid_document_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

Result<Document> parse_markdown(std::string_view id, std::string_view text, std::string_view source,
                                const ParseLimits& limits) {
  return Parser(id, text, source, limits).run();
}

Result<Document> load_markdown_file(const std::filesystem::path& path, const ParseLimits& limits) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return invalid_argument(path.string() + ": " + ec.message(), "knowledge_io_error");
  if (size > limits.max_bytes) {
    return invalid_argument(
        path.string() + ": file is " + std::to_string(size) + " bytes, limit is " + std::to_string(limits.max_bytes),
        "knowledge_too_large");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument(path.string() + ": cannot open", "knowledge_io_error");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return invalid_argument(path.string() + ": read error", "knowledge_io_error");
  return parse_markdown(path.stem().string(), buffer.str(), path.string(), limits);
}

Result<std::vector<Document>> load_directory(const std::filesystem::path& dir, const ParseLimits& limits) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".md") files.push_back(it->path());
  }
  if (ec) return invalid_argument(dir.string() + ": " + ec.message(), "knowledge_io_error");
  std::sort(files.begin(), files.end());
  std::vector<Document> documents;
  documents.reserve(files.size());
  for (const auto& file : files) {
    VONTRES_ASSIGN_OR_RETURN(Document doc, load_markdown_file(file, limits));
    documents.push_back(std::move(doc));
  }
  return documents;
}

}  // namespace vontres::ai::knowledge
