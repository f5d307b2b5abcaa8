// Server-sent events (the WHATWG `text/event-stream` format) as pure code: an incremental parser
// that accepts bytes split anywhere and emits complete events, plus the decoder for one OpenAI
// chat-completion stream chunk. No I/O; used by the client and by fuzz/sse_fuzz.cc.
//
// Thread-safety: an SseParser is used by one thread at a time; the free functions are pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vontres::ai::llm {

struct SseEvent {
  std::string event = "message";  // the `event:` field, "message" when absent
  std::string data;               // `data:` lines joined with '\n' (no trailing newline)
  std::string id;                 // the last `id:` seen (sticky across events, as the spec says)
};

class SseParser {
 public:
  // `max_event_bytes` bounds the memory one line or one event may take; beyond it the parser
  // stops and overflowed() turns true (the stream is then treated as malformed).
  explicit SseParser(std::size_t max_event_bytes = std::size_t{1} << 20) : max_event_bytes_(max_event_bytes) {}

  // Consumes `bytes` (any split of the stream, including in the middle of "\r\n") and appends each
  // event completed by a blank line to `out`. Lines end in "\n", "\r\n" or "\r"; lines starting with
  // ':' are comments (keep-alives); a leading UTF-8 BOM is skipped.
  void feed(std::string_view bytes, std::vector<SseEvent>& out);

  bool overflowed() const { return overflowed_; }
  // The `retry:` reconnection time the server asked for, -1 if none.
  long long retry_ms() const { return retry_ms_; }

 private:
  void process_line(std::string_view line, std::vector<SseEvent>& out);

  std::size_t max_event_bytes_;
  std::string line_;
  std::string data_;
  std::string event_;
  std::string id_;
  bool has_data_ = false;
  bool pending_cr_ = false;  // the last byte was '\r': a following '\n' belongs to the same line end
  bool at_start_ = true;     // still looking for a BOM
  std::size_t bom_matched_ = 0;
  bool overflowed_ = false;
  long long retry_ms_ = -1;
};

// One decoded `chat.completion.chunk`: the content delta of choices[0] (may be empty, e.g. the
// first chunk carries only the role), its finish_reason once set, and usage when the server sends it.
struct ChatChunk {
  std::string content;
  std::string finish_reason;
  bool has_usage = false;
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

// The data of an event is "[DONE]" (the end-of-stream marker).
bool is_done_marker(std::string_view data);

// Decodes one chunk's JSON. Errors: "llm_bad_response" (not JSON, not an object, wrong field types),
// "llm_unavailable" (the chunk is an `{"error": ...}` object sent mid-stream).
Result<ChatChunk> parse_chat_chunk(std::string_view data);

}  // namespace vontres::ai::llm
