// Feeds arbitrary bytes to the SSE parser twice, whole and split into three pieces at positions
// taken from the input, and checks both give the same events (split invariance), that no event
// data holds a '\r' (every line end was consumed), and that each event's data survives the chat
// chunk decoder (which must return a value or a llm_* error, never crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "ai/llm/sse.h"

using vontres::ai::llm::SseEvent;
using vontres::ai::llm::SseParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::size_t split_a = data[0];
  const std::size_t split_b = data[1];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);

  SseParser whole(4096);
  std::vector<SseEvent> whole_events;
  whole.feed(bytes, whole_events);

  SseParser pieces(4096);
  std::vector<SseEvent> piece_events;
  const std::size_t a = std::min(split_a, bytes.size());
  const std::size_t b = std::min(a + split_b, bytes.size());
  pieces.feed(bytes.substr(0, a), piece_events);
  pieces.feed(bytes.substr(a, b - a), piece_events);
  pieces.feed(bytes.substr(b), piece_events);

  if (!whole.overflowed() && !pieces.overflowed()) {
    if (whole_events.size() != piece_events.size()) std::abort();
    for (std::size_t i = 0; i < whole_events.size(); ++i) {
      if (whole_events[i].data != piece_events[i].data || whole_events[i].event != piece_events[i].event ||
          whole_events[i].id != piece_events[i].id) {
        std::abort();
      }
    }
    if (whole.retry_ms() != pieces.retry_ms()) std::abort();
  }
  for (const auto& event : whole_events) {
    if (event.data.find('\r') != std::string::npos || event.event.find('\n') != std::string::npos) std::abort();
    if (vontres::ai::llm::is_done_marker(event.data)) continue;
    const auto chunk = vontres::ai::llm::parse_chat_chunk(event.data);
    if (!chunk && !chunk.status().code().starts_with("llm_")) std::abort();
  }
  return 0;
}
