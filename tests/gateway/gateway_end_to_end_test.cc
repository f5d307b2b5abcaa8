// The desktop gateway end to end: a real `vontres serve` with two organisations; desktops of
// Alpha's supervisor, Alpha's admin, Alpha's agents Ann and Bob, and Beta's admin connect to
// GET /api/v1/events; a SIPp caller dials Alpha's number, the ACD offers the call to Ann's SIPp
// phone, which answers; the caller hangs up. Who sees which events, a resume with ?since= and the
// refusal of unauthenticated upgrades are checked on what the clients actually received.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/node.h"
#include "support/peers.h"
#include "support/subprocess.h"
#include "support/websocket_client.h"

namespace vontres {
namespace {

using nlohmann::json;
using testing::HttpReply;
using testing::Node;
using testing::Subprocess;
using testing::WebSocketClient;
using namespace std::chrono_literals;

const std::string kScenarios = std::string(VONTRES_SOURCE_DIR) + "/tests/telephony/scenarios";
constexpr const char* kNumber = "+15550100";
constexpr const char* kSipPassword = "ann-sip-password-123";
constexpr const char* kUserPassword = "a-user-password-for-tests";

bool is_type(const json& m, const std::string& type) { return m.value("type", "") == type; }
bool is_event(const json& m) { return m.is_object() && m.contains("id"); }
bool about_call(const json& m, const std::string& call_id) {
  return is_event(m) && m["data"].is_object() && m["data"].value("call_id", "") == call_id;
}

std::vector<std::string> event_ids(const WebSocketClient& client) {
  std::vector<std::string> out;
  for (const auto& m : client.messages()) {
    if (is_event(m)) out.push_back(m["id"].get<std::string>());
  }
  return out;
}

std::string dump_all(const WebSocketClient& client) {
  std::string out;
  for (const auto& m : client.messages()) out += m.dump() + "\n";
  return out;
}

class GatewayEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* program : {"sipp", "curl"}) {
      if (!testing::have_program(program)) GTEST_FAIL() << program << " is not installed: run scripts/install-deps";
    }
    Node::Options options;
    options.binary = VONTRES_BINARY;
    options.orgs = {"Alpha", "Beta"};
    options.extra_yaml = "routing: {offer_timeout: 10s}\n";
    node_ = std::make_unique<Node>(options);
    ASSERT_EQ(node_->error(), "");
    port_ = testing::port_of(node_->url());
    ann_id_ = create_user("ann@alpha.example", "agent");
    bob_id_ = create_user("bob@alpha.example", "agent");
    ASSERT_FALSE(create_user("sue@alpha.example", "supervisor").empty());
    ASSERT_FALSE(ann_id_.empty());
    ASSERT_FALSE(bob_id_.empty());
    expect_ok(as_alpha("POST", "/api/v1/queues", {{"id", "support"}, {"name", "Support"}}), "queue");
    // Ann's user id is her agent id: the ACD's profile and her phone are bound to it.
    expect_ok(as_alpha("PUT", "/api/v1/agents/" + ann_id_ + "/routing-profile",
                       {{"name", "Ann"}, {"queues", json::array({json{{"queue", "support"}}})}}),
              "routing profile");
    expect_ok(as_alpha("PUT", "/api/v1/sip-accounts/annphone", {{"agent_id", ann_id_}, {"password", kSipPassword}}),
              "sip account");
    expect_ok(as_alpha("PUT", std::string("/api/v1/numbers/") + kNumber, {{"queue_id", "support"}}), "number");
    ann_token_ = node_->login("ann@alpha.example", kUserPassword);
    bob_token_ = node_->login("bob@alpha.example", kUserPassword);
    sue_token_ = node_->login("sue@alpha.example", kUserPassword);
    ASSERT_FALSE(ann_token_.empty());
    ASSERT_FALSE(bob_token_.empty());
    ASSERT_FALSE(sue_token_.empty());
  }

  void TearDown() override {
    if (HasFailure() && node_) {
      const std::string log = node_->server_log();
      std::cerr << "server log (tail):\n" << log.substr(log.size() > 8000 ? log.size() - 8000 : 0) << "\n";
    }
  }

  HttpReply as_alpha(const std::string& method, const std::string& path, const json& body = nullptr) {
    return node_->request(method, path, body, node_->token(0));
  }
  static void expect_ok(const HttpReply& r, const std::string& what) {
    EXPECT_TRUE(r.status == 200 || r.status == 201) << what << ": " << r.status << " " << r.raw;
  }
  std::string create_user(const std::string& email, const std::string& role) {
    HttpReply r = as_alpha("POST", "/api/v1/users",
                           {{"email", email}, {"display_name", email}, {"password", kUserPassword}, {"roles", {role}}});
    expect_ok(r, "user " + email);
    return r.body.is_object() ? r.body.value("id", "") : "";
  }

  // A desktop on /api/v1/events<query>, live (gateway.live received) or a test failure.
  std::unique_ptr<WebSocketClient> desktop(const std::string& token, const std::string& query = {}) {
    auto client = std::make_unique<WebSocketClient>(port_, token, "/api/v1/events" + query);
    EXPECT_TRUE(client->wait_for([](const json& m) { return is_type(m, "gateway.live"); }, 10s).has_value())
        << "no gateway.live for " << query << ": " << dump_all(*client);
    return client;
  }

  std::string sipp_media_port(int slot) const {
    return std::to_string(30000 + static_cast<int>(getpid() % 200) * 100 - 1000 * slot);
  }

  std::unique_ptr<Node> node_;
  uint16_t port_ = 0;
  std::string ann_id_;
  std::string bob_id_;
  std::string ann_token_;
  std::string bob_token_;
  std::string sue_token_;
};

TEST_F(GatewayEndToEndTest, UnauthenticatedUpgradesAreRefused) {
  EXPECT_THROW(WebSocketClient(port_, "", "/api/v1/events"), std::exception);
  EXPECT_THROW(WebSocketClient(port_, "not-a-token", "/api/v1/events"), std::exception);
  // A plain GET is not an upgrade.
  HttpReply plain = node_->request("GET", "/api/v1/events", nullptr, node_->token(0));
  EXPECT_EQ(plain.status, 426) << plain.raw;
}

TEST_F(GatewayEndToEndTest, EachDesktopSeesWhatItMayOfARealCallAndAResumeReplaysWhatItMissed) {
  auto admin = desktop(node_->token(0));  // Alpha's admin: the whole organisation, connected throughout
  auto sue = desktop(sue_token_);         // Alpha's supervisor: leaves during the call, then resumes
  auto ann = desktop(ann_token_);
  auto bob = desktop(bob_token_);
  auto beta = desktop(node_->token(1));

  const uint16_t phone_port = testing::free_port();
  ASSERT_TRUE(testing::sipp_register(kScenarios + "/register.xml", node_->dir(), node_->sip_target(), "annphone",
                                     kSipPassword, phone_port))
      << "Ann's phone did not register";
  Subprocess phone = Subprocess::start(
      {"sh", "-c",
       "exec sipp -sf " + testing::local_sipp_scenario(kScenarios + "/agent_answer.xml", node_->dir()) +
           " -i 127.0.0.1 -p " + std::to_string(phone_port) + " -m 1 -rtp_echo -mp " + sipp_media_port(1) +
           " -nostdin -timeout 60s -timeout_error >" + node_->dir() + "/phone.log 2>&1"});
  Subprocess caller = Subprocess::start(
      {"sh", "-c",
       "exec sipp -sf " + testing::local_sipp_scenario(kScenarios + "/caller.xml", node_->dir()) + " -s " + kNumber +
           " " + node_->sip_target() + " -i 127.0.0.1 -p " + std::to_string(testing::free_port()) + " -mp " +
           sipp_media_port(2) + " -m 1 -d 4000 -nostdin -timeout 60s -timeout_error >" + node_->dir() +
           "/caller.log 2>&1"});

  // The supervisor sees the call start, then goes away.
  auto started = sue->wait_for([](const json& m) { return is_event(m) && is_type(m, "call.started"); }, 20s);
  ASSERT_TRUE(started.has_value()) << dump_all(*sue);
  const std::string call_id = (*started)["data"]["call_id"].get<std::string>();
  const std::string last_seen = event_ids(*sue).back();
  sue.reset();

  EXPECT_EQ(caller.wait(60s), 0) << "the caller's call failed";
  EXPECT_EQ(phone.wait(30s), 0) << "Ann's phone did not see INVITE, ACK and BYE";
  // The call is over once the admin has its end and the post-call summary (published after it).
  ASSERT_TRUE(admin->wait_for([&](const json& m) { return about_call(m, call_id) && is_type(m, "call.ended"); }, 20s))
      << dump_all(*admin);
  auto post_call = [&](const json& m) {
    return about_call(m, call_id) && is_type(m, "ai.summary") && m["data"].value("kind", "") == "post_call";
  };
  EXPECT_TRUE(admin->wait_for(post_call, 20s)) << dump_all(*admin);

  // The supervisor resumes from the last event they saw: exactly what they missed, then live.
  auto resumed = std::make_unique<WebSocketClient>(port_, sue_token_, "/api/v1/events?since=" + last_seen);
  auto live = resumed->wait_for([](const json& m) { return is_type(m, "gateway.live"); }, 10s);
  ASSERT_TRUE(live.has_value()) << dump_all(*resumed);
  EXPECT_GT((*live)["data"]["replayed"].get<int>(), 0);
  for (const auto& m : resumed->messages()) EXPECT_FALSE(is_type(m, "gateway.resync_required"));
  std::this_thread::sleep_for(1s);  // anything still arriving reaches both
  std::vector<std::string> missed;
  bool after_cut = false;
  for (const std::string& id : event_ids(*admin)) {
    if (after_cut) missed.push_back(id);
    after_cut = after_cut || id == last_seen;
  }
  ASSERT_TRUE(after_cut) << "the admin never saw " << last_seen;
  EXPECT_EQ(event_ids(*resumed), missed) << "resumed:\n" << dump_all(*resumed) << "admin:\n" << dump_all(*admin);

  // The organisation's view: the call from start to end, routing and AI included.
  std::set<std::string> admin_types;
  for (const auto& m : admin->messages()) {
    if (about_call(m, call_id)) admin_types.insert(m["type"].get<std::string>());
  }
  for (const char* type : {"call.started", "route.offered", "call.answered", "call.ended", "ai.summary"}) {
    EXPECT_TRUE(admin_types.contains(type)) << type << " missing: " << dump_all(*admin);
  }

  // Ann: her own state and her call from the offer on, nothing else.
  const auto ann_messages = ann->messages();
  bool ann_state = false;
  bool ann_offer = false;
  bool ann_summary = false;
  for (const auto& m : ann_messages) {
    if (!is_event(m)) continue;
    const json& data = m["data"];
    const bool own_state = is_type(m, "agent.state_changed") && data.value("agent_id", "") == ann_id_;
    ann_state = ann_state || own_state;
    ann_offer = ann_offer || (is_type(m, "route.offered") && data.value("agent_id", "") == ann_id_);
    ann_summary = ann_summary || post_call(m);
    EXPECT_TRUE(own_state || about_call(m, call_id)) << "not Ann's: " << m.dump();
    EXPECT_FALSE(is_type(m, "call.started")) << "Ann was not on the call yet: " << m.dump();
    EXPECT_EQ(data.value("org_id", node_->org_id(0)), node_->org_id(0));
  }
  EXPECT_TRUE(ann_state) << dump_all(*ann);
  EXPECT_TRUE(ann_offer) << dump_all(*ann);
  EXPECT_TRUE(ann_summary) << "the AI's post-call summary of Ann's call did not reach her: " << dump_all(*ann);

  // Bob, an agent of the same organisation, and Beta's admin: nothing of the call.
  for (const WebSocketClient* other : {bob.get(), beta.get()}) {
    for (const auto& m : other->messages()) {
      EXPECT_EQ(m.dump().find(call_id), std::string::npos) << "leaked: " << m.dump();
      EXPECT_EQ(m.dump().find(node_->org_id(0)), std::string::npos) << "leaked: " << m.dump();
    }
  }
  EXPECT_TRUE(event_ids(*beta).empty()) << dump_all(*beta);

  // The gateway's metrics count clients and pushed events.
  HttpReply metrics = node_->request("GET", "/metrics");
  EXPECT_NE(metrics.raw.find("vontres_gateway_clients "), std::string::npos);
  EXPECT_NE(metrics.raw.find("vontres_gateway_pushed_total "), std::string::npos);
  EXPECT_EQ(metrics.raw.find("vontres_gateway_pushed_total 0\n"), std::string::npos);
}

TEST_F(GatewayEndToEndTest, AResumeFromAnUnknownIdAsksForAResync) {
  auto client = std::make_unique<WebSocketClient>(port_, sue_token_, "/api/v1/events?since=no-such-event");
  EXPECT_TRUE(client->wait_for([](const json& m) { return is_type(m, "gateway.live"); }, 10s));
  const auto messages = client->messages();
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(messages.front(), json({{"type", "gateway.resync_required"}}));
}

TEST_F(GatewayEndToEndTest, TheServerLogsItsNodeId) {
  EXPECT_NE(node_->server_log().find("\"vontres.node_id\""), std::string::npos);
  EXPECT_NE(node_->server_log().find("gateway."), std::string::npos);
}

}  // namespace
}  // namespace vontres
