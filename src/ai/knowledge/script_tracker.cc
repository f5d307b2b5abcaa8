#include "ai/knowledge/script_tracker.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "ai/knowledge/tokenizer.h"

namespace vontres::ai::knowledge {
namespace {

// Stemmed word -> canonical stem. Small on purpose: call-center verbs agents paraphrase most.
struct Synonym {
  std::string_view word;
  std::string_view canonical;
};
constexpr std::array<Synonym, 14> kSynonyms = {{
    {"confirm", "verifi"},
    {"check", "verifi"},
    {"validate", "verifi"},
    {"terminate", "cancel"},
    {"terminat", "cancel"},
    {"stop", "cancel"},
    {"dob", "birth"},
    {"birthday", "birth"},
    {"born", "birth"},
    {"explain", "read"},
    {"tell", "read"},
    {"inform", "read"},
    {"condition", "term"},
    {"fee", "charg"},
}};

std::set<std::string> canonical_tokens(std::string_view text) {
  std::set<std::string> out;
  for (const std::string& token : tokenize(text)) out.insert(canonical_token(token));
  return out;
}

}  // namespace

std::string canonical_token(std::string_view stemmed) {
  for (const Synonym& synonym : kSynonyms) {
    if (synonym.word == stemmed) return std::string(synonym.canonical);
  }
  return std::string(stemmed);
}

double phrase_coverage(std::string_view phrase, std::string_view utterance, std::size_t min_matched_tokens) {
  const std::set<std::string> wanted = canonical_tokens(phrase);
  if (wanted.empty()) return 0;
  const std::set<std::string> said = canonical_tokens(utterance);
  std::size_t matched = 0;
  for (const std::string& token : wanted) matched += said.contains(token) ? 1 : 0;
  if (matched < std::min(min_matched_tokens, wanted.size())) return 0;
  return static_cast<double>(matched) / static_cast<double>(wanted.size());
}

Result<ScriptTracker> ScriptTracker::create(const Document& script, const Clock& clock, ScriptTrackerConfig config) {
  if (script.required_steps.empty()) {
    return failed_precondition("document '" + script.id + "' has no required steps", "knowledge_no_required_steps");
  }
  ScriptTracker tracker(script.id, clock, config);
  for (const RequiredStep& step : script.required_steps) {
    tracker.steps_.push_back({step.id, step.text, false, std::nullopt});
    tracker.alternatives_.push_back(step.alternatives);
  }
  return tracker;
}

std::vector<std::string> ScriptTracker::on_agent_utterance(std::string_view text) {
  std::vector<std::string> newly_done;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i].done) continue;
    const bool matched = std::any_of(alternatives_[i].begin(), alternatives_[i].end(), [&](const std::string& phrase) {
      return phrase_coverage(phrase, text, config_.min_matched_tokens) >= config_.match_threshold;
    });
    if (!matched) continue;
    steps_[i].done = true;
    steps_[i].when = clock_->now();
    newly_done.push_back(steps_[i].id);
  }
  return newly_done;
}

bool ScriptTracker::complete() const {
  return std::all_of(steps_.begin(), steps_.end(), [](const StepProgress& s) { return s.done; });
}

std::size_t ScriptTracker::done_count() const {
  return static_cast<std::size_t>(
      std::count_if(steps_.begin(), steps_.end(), [](const StepProgress& s) { return s.done; }));
}

}  // namespace vontres::ai::knowledge
