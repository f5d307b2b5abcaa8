// A BM25 index over knowledge-base passages (k1 1.2, b 0.75 by default). Each passage is scored as
// one BM25F-style unit: its body tokens, plus its heading path and its document's title, tags and
// intents with configurable weights, so a title or tag match lifts every passage of that document.
// Documents can be added, replaced and removed at runtime.
//
// Thread-safety: copy-on-write. Searches read an immutable snapshot (a shared_ptr copied under a
// mutex held only for that copy) and may run from any thread concurrently with writers; writers are
// serialised by a second mutex and rebuild the snapshot (O(total passages) per write; batch with
// add_all()).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ai/knowledge/document.h"
#include "core/status.h"

namespace vontres::ai::knowledge {

struct IndexOptions {
  double k1 = 1.2;
  double b = 0.75;
  double title_weight = 2.0;    // title tokens count as this many body occurrences
  double tags_weight = 1.5;     // tags and intents
  double heading_weight = 1.0;  // the passage's heading path
};

struct SearchHit {
  std::string document_id;
  std::string title;
  std::string heading;
  std::string passage;
  double score = 0;
};

// A stemmed token (as produced by tokenize()) and its query weight.
struct WeightedTerm {
  std::string term;
  double weight = 1;
};

namespace detail {
struct Snapshot;
}

class Bm25Index {
 public:
  explicit Bm25Index(IndexOptions options = {});
  ~Bm25Index();
  Bm25Index(const Bm25Index&) = delete;
  Bm25Index& operator=(const Bm25Index&) = delete;

  // Fails with knowledge_duplicate_id if the id is indexed (or repeated in `documents`).
  Status add(Document document);
  Status add_all(std::vector<Document> documents);
  // Adds or replaces the document with the same id.
  void upsert(Document document);
  // Fails with knowledge_document_not_found.
  Status remove(std::string_view id);

  // Best passage per document, at most `k` documents, highest score first (ties by id); only hits
  // with a positive score. The query is tokenized with tokenize(); repeated query words count once.
  std::vector<SearchHit> search(std::string_view query, std::size_t k) const;
  // As search(), with caller-supplied weighted terms (repeated terms add their weights).
  std::vector<SearchHit> search_terms(const std::vector<WeightedTerm>& terms, std::size_t k) const;

  // The indexed document, or nullptr.
  std::shared_ptr<const Document> document(std::string_view id) const;
  std::size_t document_count() const;
  // Every indexed document, sorted by id (one consistent snapshot).
  std::vector<std::shared_ptr<const Document>> documents() const;
  std::size_t passage_count() const;

 private:
  std::shared_ptr<const detail::Snapshot> snapshot() const;
  // REQUIRES: write_mutex_ held.
  void publish(std::shared_ptr<const detail::Snapshot> next);

  const IndexOptions options_;
  std::mutex write_mutex_;             // serialises writers
  mutable std::mutex snapshot_mutex_;  // guards snapshot_ (the pointer only)
  std::shared_ptr<const detail::Snapshot> snapshot_;
};

}  // namespace vontres::ai::knowledge
