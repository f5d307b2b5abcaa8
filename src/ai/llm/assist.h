// Retrieval-augmented features built on OpenAiClient: live script suggestions (streamed, with the
// knowledge-base passages in the prompt and the KB suggestion as the fallback), intent
// classification with a JSON-schema answer, LLM call summaries, and an extractive summary that
// needs no LLM (the fallback when none is configured or it fails).
//
// Thread-safety: SuggestionAssistant and the functions may be called from any thread (the client
// is thread-safe); they block on the network, so keep them off media/strand threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ai/knowledge/suggester.h"
#include "ai/llm/openai_client.h"
#include "core/status.h"

namespace vontres::ai::llm {

struct SuggestionOutput {
  std::string text;
  bool from_llm = false;
  std::string article_id;  // the KB document the suggestion rests on (the top passage)
  std::string title;
};

class SuggestionAssistant {
 public:
  // Requires: `client` outlives the assistant.
  SuggestionAssistant(OpenAiClient& client, std::chrono::milliseconds budget);

  // `recent`: last utterances (already redacted); `kb`: top knowledge-base suggestions for them.
  // With a configured client: streams an answer whose prompt carries the KB passages and returns it
  // when complete within the budget; otherwise (not configured, timeout, breaker open, any error)
  // returns the best KB suggestion (from_llm = false; empty text when `kb` is empty too).
  // `on_partial` (may be empty) sees the streamed deltas.
  SuggestionOutput suggest(std::span<const knowledge::Utterance> recent, std::span<const knowledge::Suggestion> kb,
                           const std::function<void(std::string_view)>& on_partial = {});

 private:
  OpenAiClient& client_;
  std::chrono::milliseconds budget_;
};

// The chat request suggest() sends (exposed for tests).
ChatRequest build_suggestion_request(std::span<const knowledge::Utterance> recent,
                                     std::span<const knowledge::Suggestion> kb);

struct IntentAnswer {
  std::string intent;
  double confidence = 0;
};

// Chat with a strict JSON schema {intent: one of `intents` or "unknown", confidence: number in
// [0, 1]}. An answer outside the enum, or not matching the schema, is "llm_bad_response".
Result<IntentAnswer> classify_intent(OpenAiClient& client, std::string_view text, std::span<const std::string> intents);

enum class SummaryKind { kHandoff, kPostCall };

struct TranscriptLine {
  std::string speaker;   // "caller" or "agent"
  std::string text;      // already redacted
  double sentiment = 0;  // compound score in [-1, 1]
};

// LLM summary of a (redacted) transcript. Callers fall back to extractive_summary() on error.
Result<std::string> summarize_call(OpenAiClient& client, SummaryKind kind, std::span<const TranscriptLine> lines,
                                   std::string_view intent);

struct ExtractiveSummary {
  std::string intent;
  std::vector<std::string> key_sentences;  // in transcript order
  std::vector<double> sentiment_arc;       // caller sentiment at start, middle, end (empty: no caller lines)
  std::string disposition;
  std::string text;  // all of the above as one readable paragraph
};

// Picks the highest-information sentences (TF-IDF over the call's sentences, caller sentences and
// earlier sentences weighted up, very short sentences skipped) and the caller's sentiment arc. Pure.
ExtractiveSummary extractive_summary(std::span<const TranscriptLine> lines, std::string_view intent,
                                     std::string_view disposition, std::size_t max_sentences = 3);

}  // namespace vontres::ai::llm
