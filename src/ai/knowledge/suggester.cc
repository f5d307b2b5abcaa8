#include "ai/knowledge/suggester.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "ai/knowledge/tokenizer.h"

namespace vontres::ai::knowledge {

CallSuggester::CallSuggester(const Bm25Index& index, const Clock& clock, SuggesterConfig config)
    : index_(index), clock_(clock), config_(config) {
  if (config_.window_utterances == 0) config_.window_utterances = 1;
}

std::vector<WeightedTerm> CallSuggester::window_terms() const {
  // Each distinct word counts once per utterance, with the speaker's weight; later utterances count
  // the same as earlier ones inside the window (the window itself provides recency).
  std::unordered_map<std::string, double> weights;
  std::vector<std::string> order;
  for (const Utterance& utterance : window_) {
    const double weight = utterance.speaker == Speaker::kCaller ? config_.caller_weight : config_.agent_weight;
    std::vector<std::string> tokens = tokenize(utterance.text);
    std::sort(tokens.begin(), tokens.end());
    tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
    for (std::string& token : tokens) {
      auto [it, inserted] = weights.try_emplace(token, 0.0);
      if (inserted) order.push_back(std::move(token));
      it->second += weight;
    }
  }
  std::vector<WeightedTerm> terms;
  terms.reserve(order.size());
  for (std::string& term : order) {
    const double weight = weights[term];
    terms.push_back({std::move(term), weight});
  }
  return terms;
}

std::vector<Suggestion> CallSuggester::on_utterance(const Utterance& utterance) {
  const TimePoint now = clock_.now();
  window_.push_back(utterance);
  while (window_.size() > config_.window_utterances) window_.pop_front();
  std::erase_if(shown_, [&](const auto& entry) { return now - entry.second >= config_.dedupe_window; });

  std::vector<Suggestion> out;
  if (has_emitted_ && now - last_emit_ < config_.min_interval) return out;  // rate limit; re-evaluated later

  const std::size_t k = config_.max_suggestions + shown_.size();
  std::vector<SearchHit> hits = index_.search_terms(window_terms(), k);
  std::erase_if(hits, [&](const SearchHit& hit) { return hit.score < config_.min_score; });
  if (hits.empty()) return out;

  const SearchHit& top = hits.front();
  const bool changed = top.document_id != last_top_id_;
  const bool jumped = !changed && top.score >= last_top_score_ * config_.score_jump_ratio;
  if (!changed && !jumped) return out;
  last_top_id_ = top.document_id;
  last_top_score_ = top.score;

  for (SearchHit& hit : hits) {
    if (out.size() >= config_.max_suggestions) break;
    if (shown_.contains(hit.document_id)) continue;
    out.push_back(
        {std::move(hit.document_id), std::move(hit.title), std::move(hit.heading), std::move(hit.passage), hit.score});
  }
  if (out.empty()) return out;
  for (const Suggestion& suggestion : out) shown_[suggestion.document_id] = now;
  has_emitted_ = true;
  last_emit_ = now;
  return out;
}

}  // namespace vontres::ai::knowledge
