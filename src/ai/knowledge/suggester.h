// Per-call knowledge suggestions for the agent desktop. Each utterance is added to a sliding window
// of the last N utterances; the window (caller words weighted more than agent words) queries the
// index. New suggestions are returned only when the top hit changed or its score jumped, never for a
// document shown within the dedupe window, and at most one batch per rate-limit interval.
//
// Requires: the index and clock outlive the suggester. Thread-safety: one CallSuggester per call,
// used from one thread (the call's strand); the index may be shared.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ai/knowledge/bm25.h"
#include "core/clock.h"

namespace vontres::ai::knowledge {

enum class Speaker { kCaller, kAgent };

struct Utterance {
  Speaker speaker = Speaker::kCaller;
  std::string text;
  TimePoint at{};  // when it was said (informational; the suggester's timing uses the clock)
};

struct SuggesterConfig {
  std::size_t window_utterances = 4;
  double caller_weight = 1.0;
  double agent_weight = 0.4;
  std::size_t max_suggestions = 3;  // per batch
  double min_score = 3.0;           // hits below are ignored (BM25 scale of the demo KB)
  double score_jump_ratio = 1.5;    // same top document re-fires when its score grows this much
  std::chrono::seconds dedupe_window{std::chrono::minutes(5)};
  std::chrono::seconds min_interval{std::chrono::seconds(10)};
};

struct Suggestion {
  std::string document_id;
  std::string title;
  std::string heading;
  std::string passage;
  double score = 0;
};

class CallSuggester {
 public:
  CallSuggester(const Bm25Index& index, const Clock& clock, SuggesterConfig config = {});

  // Returns the new suggestions this utterance triggers (often none).
  std::vector<Suggestion> on_utterance(const Utterance& utterance);

  // The query terms the current window produces (for logging/tests).
  std::vector<WeightedTerm> window_terms() const;

 private:
  const Bm25Index& index_;
  const Clock& clock_;
  SuggesterConfig config_;
  std::deque<Utterance> window_;
  std::string last_top_id_;
  double last_top_score_ = 0;
  bool has_emitted_ = false;
  TimePoint last_emit_{};
  std::map<std::string, TimePoint, std::less<>> shown_;  // document id -> last shown
};

}  // namespace vontres::ai::knowledge
