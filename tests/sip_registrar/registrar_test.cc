// The registrar as phones see it: REGISTER flows with digest (answered by our own DigestClient),
// bindings, expiry on a ManualClock, Call-ID/CSeq ordering, wildcard removal, NAT flows, listeners.
#include "telephony/registrar/registrar.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

namespace vontres::telephony::registrar {
namespace {

using namespace std::chrono_literals;
constexpr char kDomain[] = "vontres.test";
constexpr char kPassword[] = "correct horse battery";

sip::Message make_register(const std::string& user, const std::vector<std::string>& contacts,
                           const std::string& call_id, uint32_t cseq,
                           const std::optional<std::string>& expires = std::nullopt) {
  auto m = sip::Message::request("REGISTER", std::string("sip:") + kDomain);
  m.add_header("Via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-" + call_id + "-" + std::to_string(cseq) + ";rport");
  m.add_header("Max-Forwards", "70");
  m.add_header("From", "<sip:" + user + "@" + kDomain + ">;tag=from1");
  m.add_header("To", "<sip:" + user + "@" + kDomain + ">");
  m.add_header("Call-ID", call_id);
  m.add_header("CSeq", std::to_string(cseq) + " REGISTER");
  m.add_header("User-Agent", "baresip v3.0.0");
  for (const auto& contact : contacts) m.add_header("Contact", contact);
  if (expires) m.add_header("Expires", *expires);
  return m;
}

class RegistrarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DigestServerOptions digest_options;
    digest_options.realm = kDomain;
    digest_options.secret = std::string(32, 'k');
    digest_options.nonce_ttl = 5min;
    digest_ = std::move(DigestServer::create(digest_options, clock_)).value();
    add_account("alice", "agent-a");
    add_account("bob", "agent-b");
    RegistrarOptions options;
    options.domains = {kDomain};
    options.max_bindings_per_user = 3;
    registrar_ = std::make_unique<Registrar>(clock_, *digest_, credentials_, options);
    registrar_->add_listener([this](const BindingEvent& e) {
      std::lock_guard lock(events_mu_);  // the concurrency test notifies from several threads
      events_.push_back(e);
    });
  }

  void add_account(const std::string& username, const std::string& agent, bool enabled = true) {
    SipAccount account;
    account.username = username;
    account.org_id = "org-1";
    account.agent_id = agent;
    account.enabled = enabled;
    ASSERT_TRUE(set_sip_password(account, kDomain, kPassword).is_ok());
    credentials_.put(account);
  }

  // What a softphone does: send, and on 401 answer the challenge once with the next CSeq.
  struct Phone {
    std::string user;
    std::string password = kPassword;
    std::string call_id;
    uint32_t cseq = 1;
    Flow flow{"203.0.113.7", 40000, "UDP"};
    DigestClient client{user, password};
    std::optional<sip::Header> pending;
  };
  Phone phone(const std::string& user, const std::string& call_id = "call-1") {
    return Phone{user, kPassword, call_id, 1, Flow{"203.0.113.7", 40000, "UDP"}, DigestClient{user, kPassword}, {}};
  }
  RegisterOutcome send(Phone& p, const std::vector<std::string>& contacts,
                       const std::optional<std::string>& expires = std::nullopt, const std::string& to_user = {}) {
    auto attempt = [&] {
      auto request = make_register(p.user, contacts, p.call_id, p.cseq++, expires);
      if (!to_user.empty()) request.set_header("To", "<sip:" + to_user + "@" + kDomain + ">");
      if (auto auth = p.client.authorization("REGISTER", request.request_uri())) {
        request.add_header(auth->name, auth->value);
      }
      return registrar_->handle(request, p.flow);
    };
    RegisterOutcome out = attempt();
    if (out.response.status() == 401 && p.client.on_challenge(out.response).is_ok()) out = attempt();
    return out;
  }

  ManualClock clock_;
  std::unique_ptr<DigestServer> digest_;
  InMemoryCredentialStore credentials_;
  std::unique_ptr<Registrar> registrar_;
  std::mutex events_mu_;
  std::vector<BindingEvent> events_;
};

TEST_F(RegistrarTest, UnauthenticatedRegisterGets401WithSha256AndMd5ChallengesAndDialogHeaders) {
  auto request = make_register("alice", {"<sip:alice@10.0.0.5:5060>"}, "c1", 1);
  auto out = registrar_->handle(request, Flow{"203.0.113.7", 40000, "UDP"});
  EXPECT_EQ(out.response.status(), 401);
  EXPECT_EQ(out.status.code(), "digest_missing");
  const auto challenges = out.response.headers_named("WWW-Authenticate");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_NE(challenges[0].find("algorithm=SHA-256"), std::string_view::npos);
  EXPECT_NE(challenges[1].find("algorithm=MD5"), std::string_view::npos);
  EXPECT_EQ(out.response.header("Call-ID"), "c1");
  EXPECT_EQ(out.response.header("CSeq"), "1 REGISTER");
  EXPECT_EQ(out.response.header("From"), request.header("From"));
  EXPECT_EQ(out.response.headers_named("Via").size(), 1u);
  auto to = sip::parse_name_addr(*out.response.header("To"));
  ASSERT_TRUE(to.is_ok());
  EXPECT_TRUE(to->param("tag").has_value());
  EXPECT_EQ(registrar_->binding_count(), 0u);
  // The serialized response parses back (what goes on the wire is valid SIP).
  EXPECT_TRUE(sip::parse_message(out.response.serialize()));
}

TEST_F(RegistrarTest, AuthenticatedRegisterCreatesABindingWithItsFlowAndNotifies) {
  Phone p = phone("alice");
  auto out = send(p, {"<sip:alice@10.0.0.5:5060;transport=udp>;+sip.instance=\"<urn:uuid:1>\""}, "600");
  ASSERT_EQ(out.response.status(), 200) << out.status.to_string();
  const auto contacts = out.response.headers_named("Contact");
  ASSERT_EQ(contacts.size(), 1u);
  auto listed = sip::parse_name_addr(contacts[0]);
  ASSERT_TRUE(listed.is_ok());
  EXPECT_EQ(listed->param("expires"), "600");
  EXPECT_EQ(listed->uri.host, "10.0.0.5");
  EXPECT_TRUE(out.response.has_header("Date"));

  auto bindings = registrar_->lookup("alice");
  ASSERT_EQ(bindings.size(), 1u);
  const Binding& b = bindings[0];
  EXPECT_EQ(b.agent_id, "agent-a");
  EXPECT_EQ(b.org_id, "org-1");
  EXPECT_EQ(b.flow.ip, "203.0.113.7");
  EXPECT_EQ(b.flow.port, 40000);
  EXPECT_EQ(b.flow.transport, "UDP");
  EXPECT_TRUE(b.behind_nat);
  EXPECT_EQ(b.instance_id, "<urn:uuid:1>");
  EXPECT_EQ(b.user_agent, "baresip v3.0.0");
  EXPECT_EQ(b.remaining_seconds(clock_.now()), 600);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, BindingEvent::Kind::kRegistered);
  EXPECT_EQ(events_[0].agent_id, "agent-a");
  EXPECT_EQ(events_[0].remaining_bindings, 1u);
  EXPECT_TRUE(registrar_->lookup("bob").empty());
}

TEST_F(RegistrarTest, ContactOnThePublicAddressIsNotBehindNat) {
  Phone p = phone("alice");
  p.flow = Flow{"198.51.100.2", 5060, "UDP"};
  ASSERT_EQ(send(p, {"<sip:alice@198.51.100.2>"}).response.status(), 200);
  EXPECT_FALSE(registrar_->lookup("alice").at(0).behind_nat);
}

TEST_F(RegistrarTest, UserMayOnlyRegisterItsOwnAddressOfRecord) {
  Phone p = phone("alice");
  auto out = send(p, {"<sip:bob@10.0.0.5>"}, std::nullopt, "bob");
  EXPECT_EQ(out.response.status(), 403);
  EXPECT_EQ(out.status.code(), "registrar_to_mismatch");
  EXPECT_TRUE(registrar_->lookup("bob").empty());
}

TEST_F(RegistrarTest, WrongPasswordUnknownUserAndDisabledAccount) {
  Phone wrong = phone("alice");
  wrong.client = DigestClient("alice", "not the password");
  auto out = send(wrong, {"<sip:alice@10.0.0.5>"});
  EXPECT_EQ(out.response.status(), 401);
  EXPECT_EQ(out.status.code(), "digest_bad_response");
  EXPECT_EQ(out.response.headers_named("WWW-Authenticate").size(), 2u);

  Phone unknown = phone("mallory");
  out = send(unknown, {"<sip:mallory@10.0.0.5>"});
  EXPECT_EQ(out.response.status(), 401);  // same answer as a wrong password: no user enumeration
  EXPECT_EQ(out.status.code(), "digest_unknown_user");

  add_account("carol", "agent-c", /*enabled=*/false);
  Phone disabled = phone("carol");
  out = send(disabled, {"<sip:carol@10.0.0.5>"});
  EXPECT_EQ(out.response.status(), 403);
  EXPECT_EQ(out.status.code(), "digest_account_disabled");
  EXPECT_EQ(registrar_->binding_count(), 0u);
}

TEST_F(RegistrarTest, AccountForAnotherRealmIsRejected) {
  SipAccount account;
  account.username = "dave";
  account.org_id = "org-1";
  account.agent_id = "agent-d";
  ASSERT_TRUE(set_sip_password(account, "old.realm", kPassword).is_ok());
  credentials_.put(account);
  Phone p = phone("dave");
  EXPECT_EQ(send(p, {"<sip:dave@10.0.0.5>"}).status.code(), "digest_realm_changed");
}

TEST_F(RegistrarTest, ExpiresFromParamOrHeaderOrDefaultClampedAndMinimumEnforced) {
  Phone p = phone("alice");
  auto out = send(p, {"<sip:alice@10.0.0.5:5060>", "<sip:alice@10.0.0.5:5070>;expires=120"}, "300");
  ASSERT_EQ(out.response.status(), 200);
  auto bindings = registrar_->lookup("alice");
  ASSERT_EQ(bindings.size(), 2u);
  for (const auto& b : bindings) {
    EXPECT_EQ(b.remaining_seconds(clock_.now()), b.contact.uri.port == 5070 ? 120 : 300) << b.contact_uri;
  }
  out = send(p, {"<sip:alice@10.0.0.5:5080>"});
  ASSERT_EQ(out.response.status(), 200);
  EXPECT_EQ(registrar_->lookup("alice").front().remaining_seconds(clock_.now()), 3600);  // default, newest first
  out = send(p, {"<sip:alice@10.0.0.5:5080>"}, "999999999999999999999");
  ASSERT_EQ(out.response.status(), 200);
  EXPECT_EQ(registrar_->lookup("alice").front().remaining_seconds(clock_.now()), 7200);  // clamped

  out = send(p, {"<sip:alice@10.0.0.5:5090>"}, "30");
  EXPECT_EQ(out.response.status(), 423);
  EXPECT_EQ(out.response.header("Min-Expires"), "60");
  EXPECT_EQ(out.status.code(), "registrar_interval_too_brief");
  EXPECT_EQ(registrar_->lookup("alice").size(), 3u);  // nothing changed

  out = send(p, {"<sip:alice@10.0.0.5:5060>"}, "soon");
  EXPECT_EQ(out.response.status(), 400);
}

TEST_F(RegistrarTest, ExpiresZeroRemovesOneBindingAndWildcardRemovesAll) {
  Phone p = phone("alice");
  ASSERT_EQ(send(p, {"<sip:alice@10.0.0.5:5060>", "<sip:alice@10.0.0.6:5060>"}).response.status(), 200);
  events_.clear();
  auto out = send(p, {"<sip:alice@10.0.0.5:5060>;expires=0"});
  ASSERT_EQ(out.response.status(), 200);
  EXPECT_EQ(out.response.headers_named("Contact").size(), 1u);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, BindingEvent::Kind::kUnregistered);
  EXPECT_EQ(events_[0].remaining_bindings, 1u);

  EXPECT_EQ(send(p, {"*"}).response.status(), 400);  // no Expires: 0
  EXPECT_EQ(send(p, {"*", "<sip:alice@10.0.0.7>"}, "0").response.status(), 400);
  out = send(p, {"*"}, "0");
  ASSERT_EQ(out.response.status(), 200);
  EXPECT_TRUE(out.response.headers_named("Contact").empty());
  EXPECT_TRUE(registrar_->lookup("alice").empty());
  EXPECT_EQ(events_.back().kind, BindingEvent::Kind::kUnregistered);
  EXPECT_EQ(events_.back().remaining_bindings, 0u);
}

TEST_F(RegistrarTest, OlderOrRepeatedCSeqForTheSameCallIdIsRejected) {
  Phone p = phone("alice", "call-x");
  ASSERT_EQ(send(p, {"<sip:alice@10.0.0.5>"}).response.status(), 200);  // CSeq 1 (401), 2 (200)
  const uint32_t stored = p.cseq - 1;
  for (uint32_t cseq : {stored, stored - 1}) {
    auto request = make_register("alice", {"<sip:alice@10.0.0.5>"}, "call-x", cseq);
    request.add_header("Authorization", p.client.authorization("REGISTER", request.request_uri())->value);
    auto out = registrar_->handle(request, p.flow);
    EXPECT_EQ(out.response.status(), 500) << cseq;
    EXPECT_EQ(out.status.code(), "registrar_out_of_order");
  }
  // The same for a wildcard removal.
  auto wildcard = make_register("alice", {"*"}, "call-x", stored, "0");
  wildcard.add_header("Authorization", p.client.authorization("REGISTER", wildcard.request_uri())->value);
  EXPECT_EQ(registrar_->handle(wildcard, p.flow).response.status(), 500);
  EXPECT_EQ(registrar_->lookup("alice").size(), 1u);

  // A new Call-ID (the phone restarted) takes over the binding whatever its CSeq.
  Phone restarted = phone("alice", "call-y");
  ASSERT_EQ(send(restarted, {"<sip:alice@10.0.0.5>"}).response.status(), 200);
  auto bindings = registrar_->lookup("alice");
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].call_id, "call-y");
}

TEST_F(RegistrarTest, RefreshUpdatesFlowAndExpiryWithoutANewRegisteredEvent) {
  Phone p = phone("alice");
  ASSERT_EQ(send(p, {"<sip:alice@10.0.0.5>"}, "300").response.status(), 200);
  clock_.advance(100s);
  p.flow.port = 40001;  // the NAT picked a new port
  ASSERT_EQ(send(p, {"<sip:alice@10.0.0.5>"}, "300").response.status(), 200);
  auto bindings = registrar_->lookup("alice");
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].flow.port, 40001);
  EXPECT_EQ(bindings[0].remaining_seconds(clock_.now()), 300);
  EXPECT_EQ(clock_.now() - bindings[0].registered_at, 100s);
  EXPECT_EQ(events_.size(), 1u);
}

TEST_F(RegistrarTest, Rfc5626InstanceAndRegIdReplaceTheBindingFromANewAddress) {
  Phone p = phone("alice");
  const std::string params = ";+sip.instance=\"<urn:uuid:abc>\";reg-id=1";
  ASSERT_EQ(send(p, {"<sip:alice@10.0.0.5:5060>" + params}).response.status(), 200);
  ASSERT_EQ(send(p, {"<sip:alice@192.168.1.9:5060>" + params}).response.status(), 200);
  auto bindings = registrar_->lookup("alice");
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].contact.uri.host, "192.168.1.9");
}

TEST_F(RegistrarTest, BindingsExpireLazilyAndByTheClockDrivenSweep) {
  Phone a = phone("alice");
  Phone b = phone("bob");
  ASSERT_EQ(send(a, {"<sip:alice@10.0.0.5>"}, "120").response.status(), 200);
  ASSERT_EQ(send(b, {"<sip:bob@10.0.0.6>"}, "600").response.status(), 200);
  EXPECT_EQ(registrar_->next_expiry(), clock_.now() + 120s);
  events_.clear();

  clock_.advance(119s);
  EXPECT_EQ(registrar_->lookup("alice").size(), 1u);
  clock_.advance(1s);
  EXPECT_TRUE(registrar_->lookup("alice").empty());  // lazily
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, BindingEvent::Kind::kExpired);
  EXPECT_EQ(events_[0].username, "alice");
  EXPECT_EQ(events_[0].remaining_bindings, 0u);

  EXPECT_EQ(registrar_->expire(), 0u);
  clock_.advance(480s);
  EXPECT_EQ(registrar_->expire(), 1u);
  EXPECT_EQ(events_.back().username, "bob");
  EXPECT_EQ(events_.back().kind, BindingEvent::Kind::kExpired);
  EXPECT_EQ(registrar_->binding_count(), 0u);
  EXPECT_FALSE(registrar_->next_expiry().has_value());
}

TEST_F(RegistrarTest, RegisterWithoutContactQueriesBindingsWithRemainingTime) {
  Phone p = phone("alice");
  ASSERT_EQ(send(p, {"<sip:alice@10.0.0.5>"}, "300").response.status(), 200);
  clock_.advance(50s);
  auto out = send(p, {});
  ASSERT_EQ(out.response.status(), 200);
  const auto contacts = out.response.headers_named("Contact");
  ASSERT_EQ(contacts.size(), 1u);
  EXPECT_EQ(sip::parse_name_addr(contacts[0])->param("expires"), "250");
}

TEST_F(RegistrarTest, TooManyBindingsAreRefused) {
  Phone p = phone("alice");
  ASSERT_EQ(send(p, {"<sip:alice@10.0.0.1>", "<sip:alice@10.0.0.2>", "<sip:alice@10.0.0.3>"}).response.status(), 200);
  auto out = send(p, {"<sip:alice@10.0.0.4>"});
  EXPECT_EQ(out.response.status(), 403);
  EXPECT_EQ(out.status.code(), "registrar_too_many_bindings");
  EXPECT_EQ(registrar_->lookup("alice").size(), 3u);
}

TEST_F(RegistrarTest, RejectsForeignDomainRequiredExtensionsOtherMethodsAndBrokenRequests) {
  auto foreign = make_register("alice", {"<sip:alice@10.0.0.5>"}, "c", 1);
  foreign.set_request_uri("sip:elsewhere.test");
  EXPECT_EQ(registrar_->handle(foreign, {}).response.status(), 404);

  auto require = make_register("alice", {"<sip:alice@10.0.0.5>"}, "c", 1);
  require.add_header("Require", "path");
  auto out = registrar_->handle(require, {});
  EXPECT_EQ(out.response.status(), 420);
  EXPECT_EQ(out.response.header("Unsupported"), "path");

  auto invite = sip::Message::request("INVITE", "sip:alice@vontres.test");
  EXPECT_EQ(registrar_->handle(invite, {}).response.status(), 405);

  auto no_call_id = make_register("alice", {"<sip:alice@10.0.0.5>"}, "c", 1);
  no_call_id.remove_header("Call-ID");
  EXPECT_EQ(registrar_->handle(no_call_id, {}).response.status(), 400);
}

TEST_F(RegistrarTest, StaleNonceIsAnsweredWithStaleTrueAndThePhoneRecovers) {
  Phone p = phone("alice");
  ASSERT_EQ(send(p, {"<sip:alice@10.0.0.5>"}, "3600").response.status(), 200);
  clock_.advance(10min);                                 // past the nonce TTL, the binding still lives
  auto out = send(p, {"<sip:alice@10.0.0.5>"}, "3600");  // stale -> challenge -> retry
  ASSERT_EQ(out.response.status(), 200) << out.status.to_string();

  auto request = make_register("alice", {"<sip:alice@10.0.0.5>"}, p.call_id, p.cseq++, "3600");
  clock_.advance(10min);
  request.add_header("Authorization", p.client.authorization("REGISTER", request.request_uri())->value);
  auto stale = registrar_->handle(request, p.flow);
  EXPECT_EQ(stale.response.status(), 401);
  EXPECT_EQ(stale.status.code(), "digest_stale");
  EXPECT_NE(stale.response.header("WWW-Authenticate")->find("stale=true"), std::string_view::npos);
}

TEST_F(RegistrarTest, ParsesARawSoftphoneRegisterAndAnswersItsChallenge) {
  const std::string raw =
      "REGISTER sip:vontres.test SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK83a1b2c3;rport\r\n"
      "Contact: <sip:alice-0x55@192.168.1.20:5060;transport=udp>;expires=900\r\n"
      "Max-Forwards: 70\r\n"
      "To: <sip:alice@vontres.test>\r\n"
      "From: <sip:alice@vontres.test>;tag=9f2e1c\r\n"
      "Call-ID: 5e1b7a3f9c2d\r\n"
      "CSeq: 38871 REGISTER\r\n"
      "User-Agent: baresip v3.10.1 (x86_64/linux)\r\n"
      "Allow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,SUBSCRIBE,INFO,MESSAGE,UPDATE,REFER\r\n"
      "Content-Length: 0\r\n\r\n";
  auto first = sip::parse_message(raw);
  ASSERT_TRUE(first) << first.error->detail;
  auto challenge = registrar_->handle(*first.message, Flow{"203.0.113.9", 61000, "UDP"});
  ASSERT_EQ(challenge.response.status(), 401);

  // Over the wire and back, as the phone would see it.
  auto seen = sip::parse_message(challenge.response.serialize());
  ASSERT_TRUE(seen);
  DigestClient client("alice", kPassword);
  ASSERT_TRUE(client.on_challenge(*seen.message).is_ok());
  std::string second = raw;
  second.replace(second.find("CSeq: 38871"), 11, "CSeq: 38872");
  const auto auth = client.authorization("REGISTER", "sip:vontres.test");
  second.insert(second.find("Content-Length"), auth->name + ": " + auth->value + "\r\n");
  auto again = sip::parse_message(second);
  ASSERT_TRUE(again) << again.error->detail;
  auto ok = registrar_->handle(*again.message, Flow{"203.0.113.9", 61000, "UDP"});
  ASSERT_EQ(ok.response.status(), 200) << ok.status.to_string();
  auto bindings = registrar_->lookup("alice");
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].contact.uri.user, "alice-0x55");
  EXPECT_EQ(bindings[0].remaining_seconds(clock_.now()), 900);
  EXPECT_EQ(bindings[0].flow.port, 61000);
  EXPECT_TRUE(bindings[0].behind_nat);
}

TEST_F(RegistrarTest, ListenersMayCallBackIntoTheRegistrar) {
  size_t seen_bindings = 99;
  registrar_->add_listener([&](const BindingEvent& e) { seen_bindings = registrar_->lookup(e.username).size(); });
  Phone p = phone("alice");
  ASSERT_EQ(send(p, {"<sip:alice@10.0.0.5>"}).response.status(), 200);
  EXPECT_EQ(seen_bindings, 1u);
  EXPECT_EQ(registrar_->remove_user("alice"), 1u);
  EXPECT_EQ(seen_bindings, 0u);
  EXPECT_EQ(events_.back().kind, BindingEvent::Kind::kUnregistered);
}

TEST_F(RegistrarTest, ConcurrentRegistrationsOfManyUsersStayConsistent) {
  constexpr int kUsers = 8;
  for (int u = 0; u < kUsers; ++u) add_account("user" + std::to_string(u), "agent-" + std::to_string(u));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int u = 0; u < kUsers; ++u) {
    threads.emplace_back([&, u] {
      const std::string user = "user" + std::to_string(u);
      DigestClient client(user, kPassword);
      uint32_t cseq = 1;
      for (int i = 0; i < 25; ++i) {
        auto request = make_register(user, {"<sip:" + user + "@10.0.1." + std::to_string(i % 3) + ">"}, "cid-" + user,
                                     cseq++, "300");
        if (auto auth = client.authorization("REGISTER", request.request_uri()))
          request.add_header(auth->name, auth->value);
        auto out = registrar_->handle(request, Flow{"203.0.113.1", static_cast<uint16_t>(1000 + u), "UDP"});
        if (out.response.status() == 401) {
          if (!client.on_challenge(out.response).is_ok()) {
            ++failures;
            return;
          }
          --i;
          continue;
        }
        if (out.response.status() != 200) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(registrar_->binding_count(), kUsers * 3u);
}

// Issue 11, finding 10: digest guessing backs off and locks out, per account and per source.
class RegistrarLockoutTest : public RegistrarTest {
 protected:
  void SetUp() override {
    RegistrarTest::SetUp();
    RegistrarOptions options;
    options.domains = {kDomain};
    options.lockout.max_failures_per_account = 3;
    options.lockout.max_failures_per_source = 5;
    options.lockout.failure_window = 10min;
    options.lockout.lockout_base = 60s;
    options.lockout.lockout_max = 5min;
    registrar_ = std::make_unique<Registrar>(clock_, *digest_, credentials_, options);
  }
  // One wrong-password REGISTER answered to its challenge, like a guesser does.
  RegisterOutcome guess(const std::string& user, const std::string& ip = "198.51.100.9",
                        const std::string& password = "a wrong guess") {
    Phone p = phone(user, "guess-" + std::to_string(++guesses_));
    p.client = DigestClient(user, password);
    p.flow.ip = ip;
    return send(p, {"<sip:" + user + "@10.0.0.5>"});
  }
  RegisterOutcome right(const std::string& user, const std::string& ip = "198.51.100.9") {
    Phone p = phone(user, "right-" + std::to_string(++guesses_));
    p.flow.ip = ip;
    return send(p, {"<sip:" + user + "@10.0.0.5>"});
  }
  int guesses_ = 0;
};

TEST_F(RegistrarLockoutTest, WrongPasswordsLockTheAccountAndEvenTheRightPasswordWaitsForTheLockToEnd) {
  for (int i = 0; i < 2; ++i) EXPECT_EQ(guess("alice").response.status(), 401) << i;
  EXPECT_EQ(guess("alice").status.code(), "digest_bad_response");  // the third failure locks

  // Locked: refused before the credentials are looked at, from any address, even with the password.
  auto locked = right("alice", "192.0.2.44");
  EXPECT_EQ(locked.response.status(), 403);
  EXPECT_EQ(locked.status.code(), "registrar_locked_out");
  EXPECT_EQ(locked.status.kind(), ErrorKind::kResourceExhausted);
  EXPECT_EQ(locked.response.header("Retry-After"), "60");
  EXPECT_NE(locked.response.header("Warning").value_or("").find("399"), std::string_view::npos);
  EXPECT_TRUE(locked.response.headers_named("WWW-Authenticate").empty()) << "no challenge to answer";
  EXPECT_EQ(registrar_->binding_count(), 0u);
  EXPECT_EQ(right("bob", "192.0.2.44").response.status(), 200) << "other accounts are not affected";

  clock_.advance(59s);
  EXPECT_EQ(right("alice", "192.0.2.44").response.header("Retry-After"), "1");
  clock_.advance(1s);
  EXPECT_EQ(right("alice", "192.0.2.44").response.status(), 200) << "the lock has ended";
}

TEST_F(RegistrarLockoutTest, EachFurtherLockOutDoublesUpToTheMaximum) {
  std::vector<std::string> retry_after;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 3; ++i) guess("alice");
    auto out = right("alice");
    ASSERT_EQ(out.response.status(), 403) << round;
    retry_after.emplace_back(out.response.header("Retry-After").value_or(""));
    clock_.advance(10min);
  }
  EXPECT_EQ(retry_after, (std::vector<std::string>{"60", "120", "240", "300", "300"}));
  // A success clears the history: the next lock-out is the base again.
  ASSERT_EQ(right("alice").response.status(), 200);
  for (int i = 0; i < 3; ++i) guess("alice");
  EXPECT_EQ(right("alice").response.header("Retry-After"), "60");
}

TEST_F(RegistrarLockoutTest, FailuresOutsideTheWindowAreForgotten) {
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 2; ++i) EXPECT_EQ(guess("alice").response.status(), 401);
    clock_.advance(11min);
  }
  EXPECT_EQ(right("alice").response.status(), 200);
}

TEST_F(RegistrarLockoutTest, OneSourceGuessingManyNamesIsLockedOutWhateverTheName) {
  // Unknown names count too (under the name tried), and every failure counts for the address.
  for (const char* user : {"mallory", "trudy", "eve", "oscar"}) EXPECT_EQ(guess(user).response.status(), 401);
  EXPECT_EQ(guess("alice").response.status(), 401);  // the fifth failure from this address locks it
  auto out = right("bob");
  EXPECT_EQ(out.response.status(), 403);
  EXPECT_EQ(out.status.code(), "registrar_locked_out");
  // Even a REGISTER without credentials from the locked address gets no challenge.
  auto bare =
      registrar_->handle(make_register("bob", {"<sip:bob@10.0.0.5>"}, "bare", 1), Flow{"198.51.100.9", 1, "UDP"});
  EXPECT_EQ(bare.response.status(), 403);
  EXPECT_EQ(right("bob", "192.0.2.44").response.status(), 200) << "another address is not locked";
}

TEST_F(RegistrarLockoutTest, ATrustedSourceIsNotLockedButItsAccountsAre) {
  auto guess_via_edge = [&](const std::string& user) {
    Phone p = phone(user, "edge-" + std::to_string(++guesses_));
    p.client = DigestClient(user, "wrong");
    p.flow = Flow{"10.9.9.9", 5060, "UDP", /*trusted=*/true};
    return send(p, {"<sip:" + user + "@10.0.0.5>"});
  };
  for (const char* user : {"u1", "u2", "u3", "u4", "u5", "u6"}) guess_via_edge(user);
  Phone bob = phone("bob");
  bob.flow = Flow{"10.9.9.9", 5060, "UDP", /*trusted=*/true};
  EXPECT_EQ(send(bob, {"<sip:bob@10.0.0.5>"}).response.status(), 200) << "the edge's address is not locked";
  for (int i = 0; i < 3; ++i) guess_via_edge("alice");
  Phone alice = phone("alice");
  alice.flow = Flow{"10.9.9.9", 5060, "UDP", /*trusted=*/true};
  EXPECT_EQ(send(alice, {"<sip:alice@10.0.0.5>"}).response.status(), 403) << "the account still is";
}

TEST_F(RegistrarLockoutTest, RoutineChallengesAndStaleNoncesAreNotCounted) {
  for (int i = 0; i < 10; ++i) {
    auto bare = registrar_->handle(make_register("alice", {"<sip:alice@10.0.0.5>"}, "bare-" + std::to_string(i), 1),
                                   Flow{"198.51.100.9", 1, "UDP"});
    EXPECT_EQ(bare.response.status(), 401);
  }
  // Credentials on an expired nonce (a phone that slept) are stale, not wrong.
  Phone p = phone("alice", "sleepy");
  p.flow.ip = "198.51.100.9";
  ASSERT_EQ(send(p, {"<sip:alice@10.0.0.5>"}).response.status(), 200);
  clock_.advance(10min);
  for (int i = 0; i < 6; ++i) {
    auto request = make_register("alice", {"<sip:alice@10.0.0.5>"}, p.call_id, p.cseq++);
    request.add_header("Authorization", p.client.authorization("REGISTER", request.request_uri())->value);
    auto stale = registrar_->handle(request, p.flow);
    EXPECT_EQ(stale.status.code(), "digest_stale") << i;
  }
  EXPECT_EQ(right("alice").response.status(), 200);
}

TEST(AuthLockoutTest, TracksAtMostTheConfiguredNumberOfSubjects) {
  ManualClock clock;
  LockoutOptions options;
  options.max_tracked = 100;
  AuthLockout lockout(clock, options);
  for (int i = 0; i < 1000; ++i) {
    lockout.record_failure("user" + std::to_string(i), "");
    clock.advance(1ms);
  }
  EXPECT_LE(lockout.tracked(), 100u);
  EXPECT_FALSE(lockout.locked("user999", ""));
}

}  // namespace
}  // namespace vontres::telephony::registrar
