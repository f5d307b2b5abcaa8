// Tracks which required steps of a call script the agent has said. A step is done when one agent
// utterance covers enough of one of the step's key phrases: after tokenize() (stop words out,
// stemmed) and a small synonym table (e.g. confirm/check -> verify, terminate -> cancel),
// |phrase tokens found in the utterance| / |phrase tokens| >= threshold. Caller utterances never
// complete a step.
//
// Requires: the clock outlives the tracker. Thread-safety: one tracker per call, one thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ai/knowledge/document.h"
#include "core/clock.h"
#include "core/status.h"

namespace vontres::ai::knowledge {

struct ScriptTrackerConfig {
  double match_threshold = 0.6;        // fraction of a key phrase's tokens the utterance must contain
  std::size_t min_matched_tokens = 2;  // unless the phrase has fewer tokens
};

struct StepProgress {
  std::string id;
  std::string text;
  bool done = false;
  std::optional<TimePoint> when;
};

// The canonical form of a stemmed token under the tracker's synonym table (identity if none).
std::string canonical_token(std::string_view stemmed);

// Fraction of `phrase`'s canonical tokens present in `utterance` (0 when the phrase has no tokens),
// or 0 if fewer than min(min_matched_tokens, phrase tokens) matched.
double phrase_coverage(std::string_view phrase, std::string_view utterance, std::size_t min_matched_tokens = 2);

class ScriptTracker {
 public:
  // Fails with knowledge_no_required_steps if the document has none.
  static Result<ScriptTracker> create(const Document& script, const Clock& clock, ScriptTrackerConfig config = {});

  // Marks the steps this agent utterance completes; returns their ids (steps already done are not
  // repeated).
  std::vector<std::string> on_agent_utterance(std::string_view text);

  const std::string& document_id() const { return document_id_; }
  std::vector<StepProgress> progress() const { return steps_; }
  bool complete() const;
  std::size_t done_count() const;

 private:
  ScriptTracker(std::string document_id, const Clock& clock, ScriptTrackerConfig config)
      : document_id_(std::move(document_id)), clock_(&clock), config_(config) {}

  std::string document_id_;
  const Clock* clock_;  // borrowed
  ScriptTrackerConfig config_;
  std::vector<StepProgress> steps_;
  std::vector<std::vector<std::string>> alternatives_;  // per step
};

}  // namespace vontres::ai::knowledge
