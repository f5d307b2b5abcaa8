#include "ai/knowledge/bm25.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <unordered_map>

#include "ai/knowledge/tokenizer.h"

namespace vontres::ai::knowledge {
namespace detail {

struct Unit {
  const Document* document;
  std::uint32_t passage;
  double length;
};

struct Posting {
  std::uint32_t unit;
  double frequency;  // weighted term frequency
};

struct Snapshot {
  std::map<std::string, std::shared_ptr<const Document>, std::less<>> documents;
  std::vector<Unit> units;
  std::unordered_map<std::string, std::vector<Posting>> postings;
  double average_length = 1;
};

}  // namespace detail

namespace {

using detail::Snapshot;
using Documents = std::map<std::string, std::shared_ptr<const Document>, std::less<>>;

void add_tokens(std::string_view text, double weight, std::unordered_map<std::string, double>& frequencies) {
  if (weight <= 0) return;
  for (std::string& token : tokenize(text)) frequencies[std::move(token)] += weight;
}

std::shared_ptr<const Snapshot> build(Documents documents, const IndexOptions& options) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->documents = std::move(documents);
  double total_length = 0;
  std::unordered_map<std::string, double> meta;
  std::unordered_map<std::string, double> frequencies;
  for (const auto& [id, document] : snapshot->documents) {
    meta.clear();
    add_tokens(document->title, options.title_weight, meta);
    for (const std::string& tag : document->tags) add_tokens(tag, options.tags_weight, meta);
    for (const std::string& intent : document->intents) add_tokens(intent, options.tags_weight, meta);
    for (std::size_t p = 0; p < document->passages.size(); ++p) {
      const Passage& passage = document->passages[p];
      frequencies = meta;
      add_tokens(passage.heading, options.heading_weight, frequencies);
      add_tokens(passage.text, 1.0, frequencies);
      double length = 0;
      const auto unit = static_cast<std::uint32_t>(snapshot->units.size());
      for (const auto& [term, frequency] : frequencies) {
        length += frequency;
        snapshot->postings[term].push_back({unit, frequency});
      }
      snapshot->units.push_back({document.get(), static_cast<std::uint32_t>(p), length});
      total_length += length;
    }
  }
  if (!snapshot->units.empty()) snapshot->average_length = std::max(1.0, total_length / snapshot->units.size());
  return snapshot;
}

}  // namespace

Bm25Index::Bm25Index(IndexOptions options) : options_(options), snapshot_(build({}, options_)) {}
Bm25Index::~Bm25Index() = default;

std::shared_ptr<const Snapshot> Bm25Index::snapshot() const {
  const std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void Bm25Index::publish(std::shared_ptr<const Snapshot> next) {
  const std::lock_guard lock(snapshot_mutex_);
  snapshot_ = std::move(next);
}

Status Bm25Index::add(Document document) {
  std::vector<Document> one;
  one.push_back(std::move(document));
  return add_all(std::move(one));
}

Status Bm25Index::add_all(std::vector<Document> documents) {
  const std::lock_guard lock(write_mutex_);
  Documents next = snapshot()->documents;
  for (Document& document : documents) {
    std::string id = document.id;
    if (next.contains(id)) return already_exists("document '" + id + "' is already indexed", "knowledge_duplicate_id");
    next.emplace(std::move(id), std::make_shared<const Document>(std::move(document)));
  }
  publish(build(std::move(next), options_));
  return Status::ok();
}

void Bm25Index::upsert(Document document) {
  const std::lock_guard lock(write_mutex_);
  Documents next = snapshot()->documents;
  std::string id = document.id;
  next.insert_or_assign(std::move(id), std::make_shared<const Document>(std::move(document)));
  publish(build(std::move(next), options_));
}

Status Bm25Index::remove(std::string_view id) {
  const std::lock_guard lock(write_mutex_);
  Documents next = snapshot()->documents;
  const auto it = next.find(id);
  if (it == next.end()) return not_found("no document '" + std::string(id) + "'", "knowledge_document_not_found");
  next.erase(it);
  publish(build(std::move(next), options_));
  return Status::ok();
}

std::vector<SearchHit> Bm25Index::search(std::string_view query, std::size_t k) const {
  std::vector<std::string> tokens = tokenize(query);
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  std::vector<WeightedTerm> terms;
  terms.reserve(tokens.size());
  for (std::string& token : tokens) terms.push_back({std::move(token), 1.0});
  return search_terms(terms, k);
}

std::vector<SearchHit> Bm25Index::search_terms(const std::vector<WeightedTerm>& terms, std::size_t k) const {
  const std::shared_ptr<const Snapshot> snap = snapshot();
  std::vector<SearchHit> hits;
  if (k == 0 || snap->units.empty()) return hits;
  std::unordered_map<std::string_view, double> query;
  for (const WeightedTerm& term : terms) {
    if (term.weight > 0 && std::isfinite(term.weight)) query[term.term] += term.weight;
  }
  const double n = static_cast<double>(snap->units.size());
  std::unordered_map<std::uint32_t, double> scores;
  for (const auto& [term, weight] : query) {
    const auto it = snap->postings.find(std::string(term));
    if (it == snap->postings.end()) continue;
    const double df = static_cast<double>(it->second.size());
    const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    for (const detail::Posting& posting : it->second) {
      const double length = snap->units[posting.unit].length;
      const double tf = posting.frequency;
      const double norm = options_.k1 * (1.0 - options_.b + options_.b * length / snap->average_length);
      scores[posting.unit] += weight * idf * tf * (options_.k1 + 1.0) / (tf + norm);
    }
  }
  // Best passage per document.
  std::unordered_map<const Document*, std::pair<std::uint32_t, double>> best;
  for (const auto& [unit, score] : scores) {
    if (!(score > 0)) continue;
    const Document* document = snap->units[unit].document;
    auto [it, inserted] = best.try_emplace(document, unit, score);
    if (!inserted && (score > it->second.second || (score == it->second.second && unit < it->second.first))) {
      it->second = {unit, score};
    }
  }
  std::vector<std::pair<std::uint32_t, double>> ranked;
  ranked.reserve(best.size());
  for (const auto& [document, entry] : best) ranked.push_back(entry);
  const auto by_score = [&](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return snap->units[a.first].document->id < snap->units[b.first].document->id;
  };
  const std::size_t count = std::min(k, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(count), ranked.end(), by_score);
  hits.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const detail::Unit& unit = snap->units[ranked[i].first];
    const Passage& passage = unit.document->passages[unit.passage];
    hits.push_back({unit.document->id, unit.document->title, passage.heading, passage.text, ranked[i].second});
  }
  return hits;
}

std::shared_ptr<const Document> Bm25Index::document(std::string_view id) const {
  const std::shared_ptr<const Snapshot> snap = snapshot();
  const auto it = snap->documents.find(id);
  return it == snap->documents.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Document>> Bm25Index::documents() const {
  const std::shared_ptr<const Snapshot> snap = snapshot();
  std::vector<std::shared_ptr<const Document>> out;
  out.reserve(snap->documents.size());
  for (const auto& [id, document] : snap->documents) out.push_back(document);
  return out;
}

std::size_t Bm25Index::document_count() const { return snapshot()->documents.size(); }
std::size_t Bm25Index::passage_count() const { return snapshot()->units.size(); }

}  // namespace vontres::ai::knowledge
