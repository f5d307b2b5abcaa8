// A deactivated or deleted user's phone (issue 11, finding 7): the registrar refuses REGISTER for an
// account whose agent the users service reports inactive, even with the right password and without
// any event, and SipAccountsApi::revoke_agent drops the bindings of every account of the agent (and
// disables them for a deleted user). The registrar, a real digest client and a ManualClock.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "store/sqlite_store.h"
#include "support/subprocess.h"
#include "telephony/registrar/accounts.h"
#include "telephony/registrar/registrar.h"

namespace vontres::telephony::registrar {
namespace {

using namespace std::chrono_literals;
constexpr char kDomain[] = "vontres.test";
constexpr char kPassword[] = "correct horse battery";

// What the users service answers, settable per agent; unknown agents are kUnknown.
class FakeDirectory final : public AgentDirectory {
 public:
  Result<Standing> standing(std::string_view org_id, std::string_view agent_id) override {
    std::lock_guard lock(mu_);
    if (!available_) return unavailable("users store down", "store_busy");
    auto it = standings_.find(std::string(org_id) + "/" + std::string(agent_id));
    return it == standings_.end() ? Standing::kUnknown : it->second;
  }
  void set(const std::string& org, const std::string& agent, Standing standing) {
    std::lock_guard lock(mu_);
    standings_[org + "/" + agent] = standing;
  }
  void set_available(bool available) {
    std::lock_guard lock(mu_);
    available_ = available;
  }

 private:
  std::mutex mu_;
  std::map<std::string, Standing> standings_;  // GUARDED_BY(mu_)
  bool available_ = true;                      // GUARDED_BY(mu_)
};

SipAccount make_account(const std::string& username, const std::string& agent) {
  SipAccount account;
  account.username = username;
  account.org_id = "org-1";
  account.agent_id = agent;
  EXPECT_TRUE(set_sip_password(account, kDomain, kPassword).is_ok());
  return account;
}

class AgentGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DigestServerOptions digest_options;
    digest_options.realm = kDomain;
    digest_options.secret = std::string(32, 'k');
    digest_ = std::move(DigestServer::create(digest_options, clock_)).value();
    auto store = store::SqliteStore::open(StoreConfig{}, dir_.path() + "/db.sqlite", clock_);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->migrate(StoreCredentialStore::migrations()).is_ok());
    accounts_ = std::make_unique<StoreCredentialStore>(*store_, clock_);
    for (const auto& [username, agent] : std::vector<std::pair<std::string, std::string>>{
             {"ann", "user-ann"}, {"ann-desk", "user-ann"}, {"bob", "bob"}}) {
      ASSERT_TRUE(accounts_->upsert(make_account(username, agent)).is_ok());
    }
    gated_ = std::make_unique<AgentGatedCredentialStore>(*accounts_, directory_);
    RegistrarOptions options;
    options.domains = {kDomain};
    registrar_ = std::make_unique<Registrar>(clock_, *digest_, *gated_, options);
    api_ = std::make_unique<SipAccountsApi>(*accounts_, kDomain,
                                            [this](const std::string& username) { registrar_->remove_user(username); });
    directory_.set("org-1", "user-ann", AgentDirectory::Standing::kActive);
  }

  // A softphone's REGISTER: send, answer the 401 challenge once.
  RegisterOutcome register_phone(const std::string& user) {
    DigestClient client{user, kPassword};
    auto attempt = [&](uint32_t cseq) {
      auto m = sip::Message::request("REGISTER", std::string("sip:") + kDomain);
      m.add_header("Via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-" + user + std::to_string(cseq) + ";rport");
      m.add_header("Max-Forwards", "70");
      m.add_header("From", "<sip:" + user + "@" + kDomain + ">;tag=from1");
      m.add_header("To", "<sip:" + user + "@" + kDomain + ">");
      m.add_header("Call-ID", "call-" + user + "-" + std::to_string(calls_++));
      m.add_header("CSeq", std::to_string(cseq) + " REGISTER");
      m.add_header("Contact", "<sip:" + user + "@10.0.0.5:5060>");
      if (auto auth = client.authorization("REGISTER", m.request_uri())) m.add_header(auth->name, auth->value);
      return registrar_->handle(m, Flow{"203.0.113.7", 40000, "UDP"});
    };
    RegisterOutcome out = attempt(1);
    if (out.response.status() == 401 && client.on_challenge(out.response).is_ok()) out = attempt(2);
    return out;
  }

  testing::TempDir dir_;
  ManualClock clock_;
  FakeDirectory directory_;
  std::unique_ptr<DigestServer> digest_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<StoreCredentialStore> accounts_;
  std::unique_ptr<AgentGatedCredentialStore> gated_;
  std::unique_ptr<Registrar> registrar_;
  std::unique_ptr<SipAccountsApi> api_;
  int calls_ = 0;
};

TEST_F(AgentGateTest, ADeactivatedAgentsPhoneIsRefusedEvenWithoutAnyEvent) {
  EXPECT_EQ(register_phone("ann").response.status(), 200);
  directory_.set("org-1", "user-ann", AgentDirectory::Standing::kInactive);
  RegisterOutcome refused = register_phone("ann");
  EXPECT_EQ(refused.response.status(), 403);
  EXPECT_EQ(refused.status.code(), "digest_account_disabled");
  // An agent id the users service does not know is the ACD's business, not the registrar's.
  EXPECT_EQ(register_phone("bob").response.status(), 200);
  // Reactivated: the phone registers again.
  directory_.set("org-1", "user-ann", AgentDirectory::Standing::kActive);
  EXPECT_EQ(register_phone("ann").response.status(), 200);
}

TEST_F(AgentGateTest, AnUnansweredDirectoryFailsClosedWith503) {
  directory_.set_available(false);
  RegisterOutcome out = register_phone("ann");
  EXPECT_EQ(out.response.status(), 503);
  EXPECT_EQ(registrar_->lookup("ann").size(), 0u);
}

TEST_F(AgentGateTest, RevokingAnAgentDropsTheRegistrationsOfAllItsAccounts) {
  ASSERT_EQ(register_phone("ann").response.status(), 200);
  ASSERT_EQ(register_phone("ann-desk").response.status(), 200);
  ASSERT_EQ(register_phone("bob").response.status(), 200);
  ASSERT_TRUE(api_->revoke_agent("org-1", "user-ann", /*disable=*/false).is_ok());
  EXPECT_TRUE(registrar_->lookup("ann").empty());
  EXPECT_TRUE(registrar_->lookup("ann-desk").empty());
  EXPECT_EQ(registrar_->lookup("bob").size(), 1u);
  EXPECT_TRUE(accounts_->find("ann")->enabled);  // a deactivation alone leaves the accounts to the gate

  // Another organisation's agent of the same id touches nothing.
  ASSERT_TRUE(api_->revoke_agent("org-2", "bob", /*disable=*/true).is_ok());
  EXPECT_EQ(registrar_->lookup("bob").size(), 1u);
  EXPECT_TRUE(accounts_->find("bob")->enabled);

  // Deleted: disabled for good, so the phone is refused even where no directory is asked.
  ASSERT_TRUE(api_->revoke_agent("org-1", "user-ann", /*disable=*/true).is_ok());
  EXPECT_FALSE(accounts_->find("ann")->enabled);
  EXPECT_FALSE(accounts_->find("ann-desk")->enabled);
  RegisterOutcome refused = register_phone("ann");
  EXPECT_EQ(refused.response.status(), 403);
  EXPECT_EQ(refused.status.code(), "digest_account_disabled");
}

}  // namespace
}  // namespace vontres::telephony::registrar
