// CallAnalyzer: the pure per-call core of the AI service. It takes the recogniser's hypotheses for
// both sides of one call (and keyed DTMF digits), and returns the events to publish: redacted
// transcripts, per-utterance and rolling sentiment, the sentiment alert, knowledge-base suggestions,
// script progress and in-call protection (pause/resume while a card number is given). It keeps the
// call's redacted transcript for summaries; utterances said while protection is on are not kept.
//
// Invariant: no event data and no kept line carries text that has not gone through redaction, and
// nothing of an utterance said while protection is paused is kept or published except its timing.
//
// Requires: every dependency outlives the analyzer. Thread-safety: none; one call's analyzer is used
// by one strand.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ai/knowledge/bm25.h"
#include "ai/knowledge/script_tracker.h"
#include "ai/knowledge/suggester.h"
#include "ai/redaction/card_guard.h"
#include "ai/redaction/redactor.h"
#include "ai/sentiment/tracker.h"
#include "ai/sentiment/vader.h"
#include "core/clock.h"

namespace vontres::ai::service {

enum class Side { kCaller, kAgent };
std::string_view side_name(Side side);  // "caller", "agent"

// A recogniser result as the analyzer needs it (decoupled from the STT engine's type).
struct Heard {
  std::string text;
  double confidence = 0;
  int64_t start_ms = 0;  // offsets from the start of that side's audio
  int64_t end_ms = 0;
  bool is_final = true;
};

struct AnalyzerOptions {
  redaction::RedactionOptions redaction;
  bool pause_on_card = true;
  redaction::CardGuardOptions card_guard;
  sentiment::SentimentTrackerOptions sentiment;
  knowledge::SuggesterConfig suggester;
  size_t max_lines = 2'000;  // kept transcript lines per call (older ones are dropped for summaries)
};

struct AnalyzerEvent {
  std::string type;  // "ai.transcript", "ai.sentiment", "ai.sentiment_alert", "ai.suggestion",
                     // "ai.script_progress", "ai.protection_paused", "ai.protection_resumed"
  nlohmann::json data;
};

struct TranscriptEntry {
  Side side = Side::kCaller;
  std::string text;  // redacted
  double confidence = 0;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  double sentiment = 0;  // VADER compound of the redacted text
  TimePoint at;
};

struct AnalyzerDeps {
  const sentiment::SentimentAnalyzer& vader;
  const knowledge::Bm25Index& knowledge;
  const Clock& clock;
};

class CallAnalyzer {
 public:
  // Fails when an option set is invalid (the redaction, card guard or sentiment codes).
  static Result<std::unique_ptr<CallAnalyzer>> create(std::string call_id, AnalyzerDeps deps,
                                                      const AnalyzerOptions& options);

  // One hypothesis of one side; partials produce at most a partial ai.transcript.
  std::vector<AnalyzerEvent> on_heard(Side side, const Heard& heard);
  // A DTMF key on one side (keyed card digits pause protection; nothing is published about the key).
  std::vector<AnalyzerEvent> on_dtmf(Side side, char key);
  // Timers: the sentiment alert and the protection's quiet timeout.
  std::vector<AnalyzerEvent> poll();

  bool protection_paused() const { return guard_.paused(); }
  const std::vector<TranscriptEntry>& transcript() const { return lines_; }
  std::vector<knowledge::Utterance> recent(size_t count) const;
  std::optional<double> rolling_score(Side side) const;
  // Caller sentiment per kept caller line, in order (for the summary's sentiment arc).
  std::vector<double> caller_sentiments() const;
  // Suggestions shown so far (ids, in order) and the tracked script, if any.
  const std::vector<std::string>& suggested_documents() const { return suggested_; }
  std::optional<std::vector<knowledge::StepProgress>> script_progress() const;

 private:
  CallAnalyzer(std::string call_id, AnalyzerDeps deps, const AnalyzerOptions& options,
               const sentiment::SentimentTracker& tracker);
  void apply_guard(const std::vector<redaction::GuardTransition>& transitions, std::vector<AnalyzerEvent>& out);
  void suggest(Side side, const std::string& redacted, std::vector<AnalyzerEvent>& out);

  std::string call_id_;
  AnalyzerDeps deps_;
  AnalyzerOptions options_;
  sentiment::SentimentTracker tracker_;
  knowledge::CallSuggester suggester_;
  redaction::CardGuard guard_;
  std::optional<knowledge::ScriptTracker> script_;
  std::vector<TranscriptEntry> lines_;
  std::vector<std::string> suggested_;
};

}  // namespace vontres::ai::service
