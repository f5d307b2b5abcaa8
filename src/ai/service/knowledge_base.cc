#include "ai/service/knowledge_base.h"

#include <utility>

namespace vontres::ai::service {

KnowledgeBase::KnowledgeBase(store::Store& store, const Clock& clock, AuditSink* audit)
    : store_(store), clock_(clock), audit_(audit) {}

store::Migration KnowledgeBase::migration() {
  return {"ai", 2, "knowledge articles belong to an organisation",
          // Build the new table under another name and rename it last: renaming the old one first
          // would leave its primary-key index named kb_articles_pkey on PostgreSQL, clashing with
          // the new table's.
          "CREATE TABLE kb_articles_v2 (org_id TEXT NOT NULL, id TEXT NOT NULL, markdown TEXT NOT NULL, "
          "deleted INTEGER NOT NULL, updated_at_ms BIGINT NOT NULL, PRIMARY KEY (org_id, id));"
          "INSERT INTO kb_articles_v2 (org_id, id, markdown, deleted, updated_at_ms) "
          "SELECT '', id, markdown, deleted, updated_at_ms FROM kb_articles;"
          "DROP TABLE kb_articles;"
          "ALTER TABLE kb_articles_v2 RENAME TO kb_articles"};
}

Status KnowledgeBase::load(std::vector<knowledge::Document> shared) {
  shared_ = std::move(shared);
  for (const auto& d : shared_) shared_ids_.insert(d.id);
  VONTRES_ASSIGN_OR_RETURN(auto rows,
                           store_.query("SELECT org_id, id, markdown, deleted FROM kb_articles ORDER BY org_id, id"));
  std::lock_guard lock(mu_);
  size_t orphans = 0;
  for (const auto& row : rows.rows) {
    const std::string org = row.get_string(0);
    const std::string id = row.get_string(1);
    if (org.empty()) {
      ++orphans;
      continue;
    }
    OrgArticles& articles = org_locked(org);
    if (row.get_int(3) != 0) {
      (void)articles.index->remove(id);
      articles.own.erase(id);
      continue;
    }
    auto document = knowledge::parse_markdown(id, row.get_string(2));
    if (!document.is_ok()) {
      log_.warn("saved knowledge article skipped",
                {{"organization.id", org}, {"id", id}, {"error", document.status().to_string()}});
      continue;
    }
    articles.index->upsert(std::move(*document));
    articles.own.insert(id);
  }
  if (orphans > 0) {
    log_.warn("knowledge articles saved before articles belonged to an organisation are not shown",
              {{"count", std::to_string(orphans)},
               {"hint", "assign them with UPDATE kb_articles SET org_id = '<organisation id>' WHERE org_id = ''"}});
  }
  return Status::ok();
}

KnowledgeBase::OrgArticles& KnowledgeBase::org_locked(const std::string& org_id) {
  auto it = orgs_.find(org_id);
  if (it != orgs_.end()) return it->second;
  OrgArticles articles;
  articles.index = std::make_unique<knowledge::Bm25Index>();
  // The shared articles were validated (unique ids) when the folder was loaded.
  (void)articles.index->add_all(shared_);
  return orgs_.emplace(org_id, std::move(articles)).first->second;
}

const knowledge::Bm25Index& KnowledgeBase::index_for(const std::string& org_id) {
  std::lock_guard lock(mu_);
  return *org_locked(org_id).index;
}

size_t KnowledgeBase::shared_count() const { return shared_.size(); }

void KnowledgeBase::audit(const api::Request& req, const char* action, const std::string& id) {
  if (audit_ == nullptr) return;
  AuditRecord record;
  record.action = action;
  record.org_id = req.principal->org_id;
  record.actor_id = req.principal->subject;
  record.target_id = id;
  record.remote_address = req.remote_address;
  audit_->record(std::move(record));
}

Status KnowledgeBase::save(const api::Request& req, const std::string& id) {
  const std::string& org = req.principal->org_id;
  VONTRES_ASSIGN_OR_RETURN(auto document, knowledge::parse_markdown(id, req.body));
  const int64_t now = clock_.now_unix_ms();
  std::lock_guard lock(mu_);
  VONTRES_RETURN_IF_ERROR(store_.transaction([&](store::Session& s) -> Status {
    VONTRES_RETURN_IF_ERROR(s.execute("DELETE FROM kb_articles WHERE org_id = $1 AND id = $2", {org, id}).status());
    return s
        .execute("INSERT INTO kb_articles (org_id, id, markdown, deleted, updated_at_ms) VALUES ($1, $2, $3, 0, $4)",
                 {org, id, req.body, now})
        .status();
  }));
  OrgArticles& articles = org_locked(org);
  articles.index->upsert(std::move(document));
  articles.own.insert(id);
  return Status::ok();
}

Status KnowledgeBase::remove(const api::Request& req, const std::string& id) {
  const std::string& org = req.principal->org_id;
  const int64_t now = clock_.now_unix_ms();
  std::lock_guard lock(mu_);
  OrgArticles& articles = org_locked(org);
  if (!articles.index->document(id)) return not_found("no article " + id, "article_not_found");
  VONTRES_RETURN_IF_ERROR(store_.transaction([&](store::Session& s) -> Status {
    VONTRES_RETURN_IF_ERROR(s.execute("DELETE FROM kb_articles WHERE org_id = $1 AND id = $2", {org, id}).status());
    if (!shared_ids_.contains(id)) return Status::ok();
    // A shared article stays in the folder: the tombstone hides it for this organisation.
    return s
        .execute("INSERT INTO kb_articles (org_id, id, markdown, deleted, updated_at_ms) VALUES ($1, $2, '', 1, $3)",
                 {org, id, now})
        .status();
  }));
  (void)articles.index->remove(id);
  articles.own.erase(id);
  return Status::ok();
}

}  // namespace vontres::ai::service
