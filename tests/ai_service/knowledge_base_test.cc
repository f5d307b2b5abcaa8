// The per-organisation knowledge base on a real SQLite store: each organisation searches the
// shared folder articles plus its own, never another organisation's; changes survive a restart
// (a new KnowledgeBase on the same store) and reach the audit trail.
#include "ai/service/knowledge_base.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ai/service/ai_service.h"
#include "core/clock.h"
#include "store/sqlite_store.h"
#include "support/subprocess.h"

namespace vontres::ai::service {
namespace {

class RecordingAudit final : public AuditSink {
 public:
  void record(AuditRecord r) override { records.push_back(std::move(r)); }
  std::vector<AuditRecord> records;
};

api::Request as(const std::string& org, std::string body = {}) {
  api::Request req;
  api::Principal who;
  who.org_id = org;
  who.subject = "user-of-" + org;
  req.principal = who;
  req.body = std::move(body);
  req.remote_address = "127.0.0.1";
  return req;
}

knowledge::Document shared_article() {
  auto d = knowledge::parse_markdown("opening-hours", "# Opening hours\n\nWe are open nine to five on weekdays.\n");
  EXPECT_TRUE(d.is_ok());
  return *d;
}

class KnowledgeBaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::SqliteStore::open(StoreConfig{}, dir_.path() + "/db.sqlite", clock_);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->migrate(AiService::migrations()).is_ok());
    reopen();
  }
  void reopen() {
    kb_ = std::make_unique<KnowledgeBase>(*store_, clock_, &audit_);
    ASSERT_TRUE(kb_->load({shared_article()}).is_ok());
    router_ = std::make_unique<api::Router>();
    kb_->register_routes(*router_);
  }
  api::Response call(api::Method method, const std::string& path, api::Request req) {
    auto match = router_->match(method, path);
    EXPECT_EQ(match.outcome, api::Router::MatchOutcome::kFound) << path;
    req.path_params = match.path_params;
    return match.route->handler(req);
  }
  static std::vector<std::string> hits(const knowledge::Bm25Index& index, const std::string& query) {
    std::vector<std::string> out;
    for (const auto& h : index.search(query, 5)) out.push_back(h.document_id);
    return out;
  }

  testing::TempDir dir_;
  ManualClock clock_;
  RecordingAudit audit_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<KnowledgeBase> kb_;
  std::unique_ptr<api::Router> router_;
};

TEST_F(KnowledgeBaseTest, AnOrganisationsArticlesAreSearchedAndListedForItAlone) {
  const std::string article = "# Alpha refunds\n\nAlpha refunds of a parcel take seven days.\n";
  EXPECT_EQ(call(api::Method::kPut, "/api/v1/knowledge/refunds", as("org-a", article)).status, 200);
  EXPECT_EQ(hits(kb_->index_for("org-a"), "parcel refunds"), std::vector<std::string>{"refunds"});
  EXPECT_TRUE(hits(kb_->index_for("org-b"), "parcel refunds").empty());
  // Both see the shared article.
  EXPECT_EQ(hits(kb_->index_for("org-b"), "opening hours weekdays"), std::vector<std::string>{"opening-hours"});
  EXPECT_EQ(call(api::Method::kGet, "/api/v1/knowledge/refunds", as("org-b")).status, 404);
  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/knowledge/refunds", as("org-b")).status, 404);
  const auto listed = call(api::Method::kGet, "/api/v1/knowledge", as("org-b"));
  EXPECT_EQ(listed.body.find("refunds"), std::string::npos) << listed.body;
  // B saving the same id gets its own article; A's is untouched.
  EXPECT_EQ(call(api::Method::kPut, "/api/v1/knowledge/refunds",
                 as("org-b", "# Beta refunds\n\nBeta refunds arrive by cheque.\n"))
                .status,
            200);
  EXPECT_EQ(hits(kb_->index_for("org-a"), "cheque").size(), 0U);
  EXPECT_EQ(kb_->index_for("org-a").document("refunds")->title, "Alpha refunds");
  EXPECT_EQ(kb_->index_for("org-b").document("refunds")->title, "Beta refunds");
}

TEST_F(KnowledgeBaseTest, RemovingASharedArticleHidesItForThatOrganisationOnlyAndSurvivesARestart) {
  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/knowledge/opening-hours", as("org-a")).status, 204);
  EXPECT_EQ(kb_->index_for("org-a").document("opening-hours"), nullptr);
  EXPECT_NE(kb_->index_for("org-b").document("opening-hours"), nullptr);
  EXPECT_EQ(
      call(api::Method::kPut, "/api/v1/knowledge/own", as("org-a", "# Own article\n\nSomething only alpha knows.\n"))
          .status,
      200);
  reopen();
  EXPECT_EQ(kb_->index_for("org-a").document("opening-hours"), nullptr);
  EXPECT_NE(kb_->index_for("org-a").document("own"), nullptr);
  EXPECT_NE(kb_->index_for("org-b").document("opening-hours"), nullptr);
  EXPECT_EQ(kb_->index_for("org-b").document("own"), nullptr);
}

TEST_F(KnowledgeBaseTest, EveryChangeReachesTheAuditTrailWithTheOrganisationAndTheActor) {
  EXPECT_EQ(call(api::Method::kPut, "/api/v1/knowledge/x", as("org-a", "# X\n\nText.\n")).status, 200);
  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/knowledge/x", as("org-a")).status, 204);
  ASSERT_EQ(audit_.records.size(), 2U);
  EXPECT_EQ(audit_.records[0].action, "knowledge_article_saved");
  EXPECT_EQ(audit_.records[1].action, "knowledge_article_removed");
  for (const auto& r : audit_.records) {
    EXPECT_EQ(r.org_id, "org-a");
    EXPECT_EQ(r.actor_id, "user-of-org-a");
    EXPECT_EQ(r.target_id, "x");
  }
}

TEST_F(KnowledgeBaseTest, ArticlesSavedBeforeOrganisationsOwnedThemAreShownToNobody) {
  ASSERT_TRUE(store_
                  ->execute("INSERT INTO kb_articles (org_id, id, markdown, deleted, updated_at_ms) "
                            "VALUES ('', 'legacy', '# Legacy\n\nOld text.\n', 0, 1)")
                  .is_ok());
  reopen();
  EXPECT_EQ(kb_->index_for("org-a").document("legacy"), nullptr);
  EXPECT_EQ(kb_->index_for("").document("legacy"), nullptr);
}

}  // namespace
}  // namespace vontres::ai::service
