// The knowledge base as organisations see it. Each organisation has its own search index: the
// deployment's shared articles (the configured knowledge folder, read-only) plus the articles the
// organisation saved through the API, minus the shared ones it removed for itself. No organisation
// can list, read, change, delete or be suggested another organisation's articles; a saved article
// with a shared article's id replaces it for that organisation only.
//
// Saved articles live in the Store (table kb_articles, keyed by organisation and id; a removed
// shared article is a tombstone row). Every change is written to the audit trail.
//
// Routes (register_routes, in knowledge_routes.cc): GET /api/v1/knowledge, GET/PUT/DELETE
// /api/v1/knowledge/{id} (Markdown body; read needs calls.handle, write settings.write).
//
// Thread-safety: every method may be called from any thread. index_for() returns a reference that
// stays valid for the life of the KnowledgeBase (indexes are created once and never dropped); the
// index itself is safe to search while it is being written.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ai/knowledge/bm25.h"
#include "ai/knowledge/document.h"
#include "api/http.h"
#include "core/audit.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/status.h"
#include "store/store.h"

namespace vontres::ai::service {

class KnowledgeBase {
 public:
  // `store`, `clock` and `audit` (may be null: no audit trail) must outlive the knowledge base.
  KnowledgeBase(store::Store& store, const Clock& clock, AuditSink* audit);

  // Migration 2 of component "ai": kb_articles gains org_id. Rows saved before (no organisation)
  // are kept with org_id '' and are shown to nobody; load() logs how many there are.
  static store::Migration migration();

  // `shared`: the folder's articles. Then loads every organisation's saved articles.
  Status load(std::vector<knowledge::Document> shared);

  // The organisation's index (created from the shared articles on first use).
  const knowledge::Bm25Index& index_for(const std::string& org_id);
  size_t shared_count() const;

  void register_routes(api::Router& router);

 private:
  struct OrgArticles {
    std::unique_ptr<knowledge::Bm25Index> index;
    std::set<std::string> own;  // saved by the organisation (possibly replacing a shared one)
  };
  // REQUIRES: mu_ held.
  OrgArticles& org_locked(const std::string& org_id);
  Status save(const api::Request& req, const std::string& id);
  Status remove(const api::Request& req, const std::string& id);
  void audit(const api::Request& req, const char* action, const std::string& id);

  store::Store& store_;
  const Clock& clock_;
  AuditSink* audit_;
  log::Logger log_{"ai.knowledge"};
  std::vector<knowledge::Document> shared_;  // written by load() only, before serving
  std::set<std::string> shared_ids_;
  // Serialises writers (store + index stay equal) and guards the map; searches take no lock here.
  mutable std::mutex mu_;
  std::map<std::string, OrgArticles> orgs_;  // GUARDED_BY(mu_)
};

}  // namespace vontres::ai::service
