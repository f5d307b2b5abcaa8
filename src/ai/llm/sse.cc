#include "ai/llm/sse.h"

#include <nlohmann/json.hpp>

namespace vontres::ai::llm {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

void SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (overflowed_) return;
  std::size_t i = 0;
  if (at_start_) {
    while (i < bytes.size() && bom_matched_ < kBom.size() && bytes[i] == kBom[bom_matched_]) {
      ++bom_matched_;
      ++i;
    }
    if (bom_matched_ == kBom.size()) {
      at_start_ = false;
    } else if (i < bytes.size()) {
      // Not a BOM after all: the bytes matched so far are ordinary line content.
      line_.append(kBom.substr(0, bom_matched_));
      at_start_ = false;
    } else {
      return;  // all of `bytes` was a BOM prefix; wait for more
    }
  }
  for (; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') continue;  // the "\n" of a "\r\n" split across (or within) feeds
    }
    if (c == '\r' || c == '\n') {
      pending_cr_ = c == '\r';
      process_line(line_, out);
      line_.clear();
      if (overflowed_) return;
      continue;
    }
    // Copy the run of ordinary bytes at once.
    std::size_t end = i;
    while (end < bytes.size() && bytes[end] != '\r' && bytes[end] != '\n') ++end;
    if (line_.size() + (end - i) > max_event_bytes_) {
      overflowed_ = true;
      return;
    }
    line_.append(bytes.substr(i, end - i));
    i = end - 1;
  }
}

void SseParser::process_line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    // Blank line: dispatch. An event with no data lines is dropped, as the spec says.
    if (has_data_) {
      SseEvent event;
      event.event = event_.empty() ? "message" : event_;
      event.data = std::move(data_);
      event.id = id_;
      out.push_back(std::move(event));
    }
    data_.clear();
    event_.clear();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment / keep-alive
  std::string_view field = line;
  std::string_view value;
  if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_event_bytes_) {
      overflowed_ = true;
      return;
    }
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  } else if (field == "retry") {
    if (all_digits(value) && value.size() <= 12) retry_ms_ = std::stoll(std::string(value));
  }
  // Other fields are ignored.
}

bool is_done_marker(std::string_view data) {
  while (!data.empty() && (data.back() == ' ' || data.back() == '\t')) data.remove_suffix(1);
  return data == "[DONE]";
}

Result<ChatChunk> parse_chat_chunk(std::string_view data) {
  const auto json = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return invalid_argument("stream chunk is not a JSON object", "llm_bad_response");
  }
  if (const auto error = json.find("error"); error != json.end()) {
    std::string message = "error in stream";
    if (error->is_object()) {
      const auto text = error->find("message");
      if (text != error->end() && text->is_string()) message = text->get<std::string>();
    }
    return unavailable(message, "llm_unavailable");
  }
  ChatChunk chunk;
  const auto choices = json.find("choices");
  if (choices == json.end() || !choices->is_array()) {
    return invalid_argument("stream chunk without a choices array", "llm_bad_response");
  }
  // The last chunk with usage (stream_options.include_usage) has an empty choices array.
  if (!choices->empty()) {
    const auto& choice = choices->front();
    if (!choice.is_object()) return invalid_argument("choice is not an object", "llm_bad_response");
    if (const auto delta = choice.find("delta"); delta != choice.end()) {
      if (!delta->is_object()) return invalid_argument("delta is not an object", "llm_bad_response");
      if (const auto content = delta->find("content"); content != delta->end()) {
        if (content->is_string()) {
          chunk.content = content->get<std::string>();
        } else if (!content->is_null()) {
          return invalid_argument("delta.content is not a string", "llm_bad_response");
        }
      }
    }
    if (const auto finish = choice.find("finish_reason"); finish != choice.end() && finish->is_string()) {
      chunk.finish_reason = finish->get<std::string>();
    }
  }
  if (const auto usage = json.find("usage"); usage != json.end() && usage->is_object()) {
    const auto prompt = usage->find("prompt_tokens");
    const auto completion = usage->find("completion_tokens");
    if (prompt != usage->end() && prompt->is_number_integer()) {
      chunk.prompt_tokens = prompt->get<int>();
      chunk.has_usage = true;
    }
    if (completion != usage->end() && completion->is_number_integer()) {
      chunk.completion_tokens = completion->get<int>();
      chunk.has_usage = true;
    }
  }
  return chunk;
}

}  // namespace vontres::ai::llm
