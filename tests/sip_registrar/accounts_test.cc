// SIP accounts: password policy, the Store-backed credential store on a temporary SQLite file, and
// the admin routes through the real API dispatcher (authentication, permissions, org scoping).
#include "telephony/registrar/accounts.h"

#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "api/dispatch.h"
#include "core/config.h"
#include "core/log.h"
#include "store/sqlite_store.h"
#include "support/subprocess.h"
#include "telephony/registrar/digest.h"

namespace vontres::telephony::registrar {
namespace {

using nlohmann::json;
constexpr char kRealm[] = "vontres.test";
constexpr char kPassword[] = "a long enough secret";

TEST(SipAccountPolicy, UsernamesAndPasswordsAreValidated) {
  EXPECT_TRUE(validate_sip_username("agent.ana-01+x~_").is_ok());
  for (const char* bad : {"", "with space", "a@b", "a:b", "a;b", "ñ"}) {
    EXPECT_EQ(validate_sip_username(bad).code(), "invalid_sip_username") << bad;
  }
  EXPECT_EQ(validate_sip_username(std::string(65, 'a')).code(), "invalid_sip_username");
  EXPECT_EQ(validate_sip_password("elevenchars").code(), "weak_sip_password");
  EXPECT_TRUE(validate_sip_password("twelve chars").is_ok());
  EXPECT_EQ(validate_sip_password(std::string(257, 'a')).code(), "invalid_sip_password");
  EXPECT_EQ(validate_sip_password("twelve\nchars").code(), "invalid_sip_password");
}

TEST(SipAccountPolicy, SetPasswordStoresBothHa1sForTheRealm) {
  SipAccount account;
  account.username = "ana";
  ASSERT_TRUE(set_sip_password(account, kRealm, kPassword).is_ok());
  EXPECT_EQ(account.realm, kRealm);
  EXPECT_EQ(account.ha1_md5, compute_ha1(DigestAlgorithm::kMd5, "ana", kRealm, kPassword));
  EXPECT_EQ(account.ha1_sha256, compute_ha1(DigestAlgorithm::kSha256, "ana", kRealm, kPassword));
  EXPECT_EQ(account.ha1_md5.size(), 32u);
  EXPECT_EQ(account.ha1_sha256.size(), 64u);
  EXPECT_EQ(set_sip_password(account, kRealm, "short").code(), "weak_sip_password");
}

class FakeAuthenticator final : public api::Authenticator {
 public:
  Result<api::Principal> authenticate(const api::Request& request) override {
    const auto header = request.header("authorization");
    if (header == "Bearer admin-a")
      return api::Principal{"u1", "org-a", {"admin"}, {"agents.read", "agents.write"}, "jwt", "t1"};
    if (header == "Bearer admin-b")
      return api::Principal{"u2", "org-b", {"admin"}, {"agents.read", "agents.write"}, "jwt", "t2"};
    if (header == "Bearer reader") return api::Principal{"u3", "org-a", {"supervisor"}, {"agents.read"}, "jwt", "t3"};
    if (header == "Bearer agent") return api::Principal{"u4", "org-a", {"agent"}, {"calls.handle"}, "jwt", "t4"};
    return unauthenticated("no token", "token_missing");
  }
};

class SipAccountsStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    router_.reset();
    api_.reset();
    accounts_.reset();
    store_.reset();
    auto store = store::SqliteStore::open(StoreConfig{}, dir_.path() + "/db.sqlite", clock_);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->migrate(StoreCredentialStore::migrations()).is_ok());
    accounts_ = std::make_unique<StoreCredentialStore>(*store_, clock_);
    api_ = std::make_unique<SipAccountsApi>(*accounts_, kRealm,
                                            [this](const std::string& username) { revoked_.push_back(username); });
    router_ = std::make_unique<api::Router>();
    api_->register_routes(*router_);
    dispatcher_ = std::make_unique<api::Dispatcher>(*router_, &auth_, clock_);
  }

  api::Response call(api::Method method, const std::string& path, const std::string& token,
                     const json& body = nullptr) {
    api::Request req;
    req.method = method;
    req.target = path;
    req.path = path;
    req.headers.emplace_back("authorization", "Bearer " + token);
    if (!body.is_null()) {
      req.body = body.dump();
      req.headers.emplace_back("content-type", "application/json");
    }
    return dispatcher_->handle(req);
  }
  static json body_of(const api::Response& r) { return json::parse(r.body); }
  static std::string error_code(const api::Response& r) { return body_of(r)["error"]["code"]; }

  SipAccount account(std::string username, std::string org, std::string agent) {
    SipAccount a;
    a.username = std::move(username);
    a.org_id = std::move(org);
    a.agent_id = std::move(agent);
    EXPECT_TRUE(set_sip_password(a, kRealm, kPassword).is_ok());
    return a;
  }

  std::vector<std::string> revoked_;
  testing::TempDir dir_;
  ManualClock clock_;
  FakeAuthenticator auth_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<StoreCredentialStore> accounts_;
  std::unique_ptr<SipAccountsApi> api_;
  std::unique_ptr<api::Router> router_;
  std::unique_ptr<api::Dispatcher> dispatcher_;
};

TEST_F(SipAccountsStoreTest, UpsertFindListRemove) {
  auto created = accounts_->upsert(account("ana", "org-a", "agent-1"));
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  EXPECT_TRUE(*created);
  clock_.advance(std::chrono::seconds(5));
  SipAccount changed = account("ana", "org-a", "agent-2");
  changed.enabled = false;
  EXPECT_FALSE(*accounts_->upsert(changed));
  ASSERT_TRUE(accounts_->upsert(account("bob", "org-a", "agent-3")).is_ok());
  ASSERT_TRUE(accounts_->upsert(account("carl", "org-b", "agent-9")).is_ok());

  auto found = accounts_->find("ana");
  ASSERT_TRUE(found.is_ok());
  EXPECT_EQ(found->agent_id, "agent-2");
  EXPECT_FALSE(found->enabled);
  EXPECT_EQ(found->ha1_sha256, compute_ha1(DigestAlgorithm::kSha256, "ana", kRealm, kPassword));
  EXPECT_EQ(found->updated_at_ms - found->created_at_ms, 5000);
  EXPECT_EQ(accounts_->find("nobody").status().code(), "sip_account_not_found");

  auto listed = accounts_->list("org-a");
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].username, "ana");
  EXPECT_EQ((*listed)[1].username, "bob");

  EXPECT_EQ(accounts_->remove("org-b", "ana").code(), "sip_account_not_found");
  EXPECT_TRUE(accounts_->remove("org-a", "ana").is_ok());
  EXPECT_EQ(accounts_->find("ana").status().code(), "sip_account_not_found");
  open();  // persisted across reopen; migrations are idempotent
  EXPECT_TRUE(accounts_->find("bob").is_ok());
}

TEST_F(SipAccountsStoreTest, AnotherOrganisationCannotTakeAUsername) {
  ASSERT_TRUE(accounts_->upsert(account("ana", "org-a", "agent-1")).is_ok());
  auto taken = accounts_->upsert(account("ana", "org-b", "agent-x"));
  EXPECT_EQ(taken.status().code(), "sip_account_taken");
  EXPECT_EQ(accounts_->find("ana")->org_id, "org-a");
}

TEST_F(SipAccountsStoreTest, PutCreatesThenUpdatesAndNeverReturnsOrStoresThePassword) {
  log::Options options;
  options.to_stderr = false;
  options.level = log::Level::kTrace;
  log::init(options);
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  log::add_sink(sink);
  auto created = call(api::Method::kPut, "/api/v1/sip-accounts/ana", "admin-a",
                      {{"agent_id", "agent-1"}, {"password", kPassword}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(body_of(created)["username"], "ana");
  EXPECT_EQ(body_of(created)["agent_id"], "agent-1");
  EXPECT_EQ(body_of(created)["enabled"], true);
  EXPECT_FALSE(body_of(created).contains("ha1_md5"));
  EXPECT_EQ(created.body.find(kPassword), std::string::npos);

  // Update without a password keeps the HA1s.
  auto updated = call(api::Method::kPut, "/api/v1/sip-accounts/ana", "admin-a", {{"enabled", false}});
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(body_of(updated)["enabled"], false);
  EXPECT_EQ(body_of(updated)["agent_id"], "agent-1");
  EXPECT_EQ(accounts_->find("ana")->ha1_md5, compute_ha1(DigestAlgorithm::kMd5, "ana", kRealm, kPassword));

  log::flush();
  log::remove_sink(sink);
  EXPECT_NE(captured.str().find("sip account created"), std::string::npos);
  EXPECT_EQ(captured.str().find(kPassword), std::string::npos);
  EXPECT_EQ(captured.str().find(accounts_->find("ana")->ha1_md5), std::string::npos);

  // The password never reaches the database file either.
  auto rows = store_->query("SELECT * FROM sip_accounts");
  ASSERT_TRUE(rows.is_ok());
  for (const auto& value : rows->rows[0].values) {
    if (const auto* text = std::get_if<std::string>(&value)) {
      EXPECT_EQ(text->find(kPassword), std::string::npos);
    }
  }
}

TEST_F(SipAccountsStoreTest, PutValidatesBodyAndPasswordPolicy) {
  const std::string path = "/api/v1/sip-accounts/ana";
  auto weak = call(api::Method::kPut, path, "admin-a", {{"agent_id", "agent-1"}, {"password", "short"}});
  EXPECT_EQ(weak.status, 400);
  EXPECT_EQ(error_code(weak), "weak_sip_password");
  EXPECT_EQ(error_code(call(api::Method::kPut, path, "admin-a", {{"agent_id", "agent-1"}})), "sip_password_required");
  EXPECT_EQ(error_code(call(api::Method::kPut, path, "admin-a", {{"password", kPassword}})), "invalid_sip_account");
  // Wrong types are the body schema's: 400 invalid_field naming the field.
  EXPECT_EQ(error_code(call(api::Method::kPut, path, "admin-a", {{"agent_id", 7}, {"password", kPassword}})),
            "invalid_field");
  EXPECT_EQ(error_code(call(api::Method::kPut, path, "admin-a",
                            {{"agent_id", "a"}, {"password", kPassword}, {"enabled", "yes"}})),
            "invalid_field");
  EXPECT_EQ(error_code(call(api::Method::kPut, "/api/v1/sip-accounts/bad%40name", "admin-a",
                            {{"agent_id", "a"}, {"password", kPassword}})),
            "invalid_sip_username");
  EXPECT_EQ(call(api::Method::kPut, path, "admin-a", json::array()).status, 400);
  EXPECT_EQ(accounts_->find("ana").status().code(), "sip_account_not_found");
}

TEST_F(SipAccountsStoreTest, RoutesNeedPermissionsAndAreScopedToTheOrganisation) {
  const json body = {{"agent_id", "agent-1"}, {"password", kPassword}};
  EXPECT_EQ(call(api::Method::kPut, "/api/v1/sip-accounts/ana", "reader", body).status, 403);
  EXPECT_EQ(call(api::Method::kPut, "/api/v1/sip-accounts/ana", "nobody", body).status, 401);
  ASSERT_EQ(call(api::Method::kPut, "/api/v1/sip-accounts/ana", "admin-a", body).status, 201);

  auto taken = call(api::Method::kPut, "/api/v1/sip-accounts/ana", "admin-b", body);
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(error_code(taken), "sip_account_taken");

  auto listed = call(api::Method::kGet, "/api/v1/sip-accounts", "reader");
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(body_of(listed)["sip_accounts"].size(), 1u);
  EXPECT_EQ(body_of(listed)["sip_accounts"][0]["username"], "ana");
  EXPECT_EQ(listed.body.find("ha1"), std::string::npos);
  EXPECT_EQ(body_of(call(api::Method::kGet, "/api/v1/sip-accounts", "admin-b"))["sip_accounts"].size(), 0u);
  EXPECT_EQ(call(api::Method::kGet, "/api/v1/sip-accounts", "agent").status, 403);

  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/sip-accounts/ana", "reader").status, 403);
  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/sip-accounts/ana", "admin-b").status, 404);
  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/sip-accounts/ana", "admin-a").status, 204);
  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/sip-accounts/ana", "admin-a").status, 404);
}

TEST_F(SipAccountsStoreTest, DisablingMovingOrDeletingAnAccountRevokesItsBindings) {
  const std::string path = "/api/v1/sip-accounts/ana";
  ASSERT_EQ(call(api::Method::kPut, path, "admin-a", {{"agent_id", "agent-1"}, {"password", kPassword}}).status, 201);
  ASSERT_EQ(call(api::Method::kPut, path, "admin-a", {{"password", "another long secret"}}).status, 200);
  EXPECT_TRUE(revoked_.empty());  // a new password does not cut the phone off; its next REGISTER re-authenticates
  ASSERT_EQ(call(api::Method::kPut, path, "admin-a", {{"agent_id", "agent-2"}}).status, 200);
  EXPECT_EQ(revoked_, std::vector<std::string>{"ana"});
  ASSERT_EQ(call(api::Method::kPut, path, "admin-a", {{"enabled", false}}).status, 200);
  EXPECT_EQ(revoked_.size(), 2u);
  ASSERT_EQ(call(api::Method::kPut, path, "admin-a", {{"enabled", true}}).status, 200);
  EXPECT_EQ(revoked_.size(), 2u);
  ASSERT_EQ(call(api::Method::kDelete, path, "admin-a").status, 204);
  EXPECT_EQ(revoked_.size(), 3u);
  EXPECT_EQ(accounts_->find("ana").status().code(), "sip_account_not_found");
}

TEST(InMemoryCredentialStoreTest, PutFindRemove) {
  InMemoryCredentialStore store;
  SipAccount a;
  a.username = "ana";
  a.agent_id = "agent-1";
  store.put(a);
  EXPECT_EQ(store.find("ana")->agent_id, "agent-1");
  EXPECT_TRUE(store.remove("ana"));
  EXPECT_FALSE(store.remove("ana"));
  EXPECT_EQ(store.find("ana").status().code(), "sip_account_not_found");
}

}  // namespace
}  // namespace vontres::telephony::registrar
