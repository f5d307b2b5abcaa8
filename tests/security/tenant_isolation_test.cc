// Tenant isolation: two organisations on one `vontres serve`. Organisation A ("Alpha") owns one of
// everything (user, role, team, API key, queue, skill, agents, SIP account, knowledge article,
// phone number, AI settings, routing rules, a live call that came in on its number). Organisation
// B's admin, who holds every permission, then walks every route of the OpenAPI document aimed at
// A's objects and must get 404 (or act on its own objects only); no reply to B may contain
// anything of A's, and A's view of its data must be the same afterwards. A route the document
// lists and this table has no probe for fails the suite, so a new route cannot arrive without an
// organisation scope being checked. The SIP paths (inbound by number, register, originate,
// transfer, consult) are probed with SIPp and the API.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
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
using namespace std::chrono_literals;

const std::string kScenarios = std::string(VONTRES_SOURCE_DIR) + "/tests/telephony/scenarios";
constexpr const char* kMark = "ALPHASECRET";  // in every name and text of A's objects
constexpr const char* kNumber = "+15550100";
constexpr const char* kSipPassword = "alpha-sip-password-123";

// What B may get back when it names one of A's objects.
enum class Expect {
  kNotFound,  // 404: A's object does not exist for B
  kOwnScope,  // any status: B acts on its own organisation (checked by "A unchanged" and no leak)
  kTaken,     // 409: a global identifier (SIP user name, phone number) someone owns, nothing more
  kOperator,  // the operator's endpoints (health, readiness, metrics): no organisation's data
              // beyond ids in /metrics labels, which `http.metrics_token_file` puts behind a token
};

struct Probe {
  Probe(std::string method_, std::string pattern_, std::string path_, Expect expect_ = Expect::kNotFound,
        json body_ = nullptr, std::optional<std::string> raw_body_ = std::nullopt,
        std::string content_type_ = "application/json")
      : method(std::move(method_)),
        pattern(std::move(pattern_)),
        path(std::move(path_)),
        expect(expect_),
        body(std::move(body_)),
        raw_body(std::move(raw_body_)),
        content_type(std::move(content_type_)) {}
  std::string method;
  std::string pattern;  // as in the OpenAPI document
  std::string path;     // with A's identifiers
  Expect expect;
  json body;
  std::optional<std::string> raw_body;
  std::string content_type;
};

class TenantIsolationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(testing::have_program("sipp")) << "SIPp (Debian sip-tester) is not installed";
    Node::Options options;
    options.binary = VONTRES_BINARY;
    options.orgs = {"Alpha", "Beta"};
    // Several organisations and no default: a call to a number nobody claimed is refused.
    options.telephony_yaml = "  rtp_inactivity_timeout: 60s\n";
    node_ = new Node(options);  // NOLINT(cppcoreguidelines-owning-memory): one server for the suite
    ASSERT_EQ(node_->error(), "");
    seed_alpha();
  }
  static void TearDownTestSuite() {
    delete node_;  // NOLINT(cppcoreguidelines-owning-memory)
    node_ = nullptr;
  }

  static HttpReply as_a(const std::string& method, const std::string& path, const json& body = nullptr) {
    return node_->request(method, path, body, node_->token(0));
  }
  static HttpReply as_b(const Probe& p) {
    return node_->request(p.method, p.path, p.body, node_->token(1), p.raw_body, p.content_type);
  }

  static void expect_created(const HttpReply& r, const std::string& what) {
    EXPECT_TRUE(r.status == 200 || r.status == 201) << what << ": " << r.status << " " << r.raw;
  }

  static void seed_alpha() {
    const std::string mark = kMark;
    auto user = as_a("POST", "/api/v1/users",
                     {{"email", "alpha-user@alpha.example"},
                      {"display_name", mark + " user"},
                      {"password", "alpha-user-password-1"},
                      {"roles", {"agent"}}});
    expect_created(user, "user");
    ids_["user"] = user.body.value("id", "");
    expect_created(as_a("POST", "/api/v1/roles",
                        {{"name", "alpha-only-role"}, {"description", mark}, {"permissions", {"queues.read"}}}),
                   "role");
    auto team = as_a("POST", "/api/v1/teams", {{"name", mark + " team"}, {"member_ids", {ids_["user"]}}});
    expect_created(team, "team");
    ids_["team"] = team.body.value("id", "");
    auto key = as_a("POST", "/api/v1/api-keys", {{"name", mark + " key"}, {"permissions", {"queues.read"}}});
    expect_created(key, "api key");
    ids_["api_key"] = key.body.value("id", "");
    expect_created(as_a("PUT", "/api/v1/users/" + ids_["user"] + "/agent-profile",
                        {{"extension", "101"}, {"sip_username", "alphaphone"}}),
                   "agent profile");
    expect_created(as_a("POST", "/api/v1/queues", {{"id", "support"}, {"name", mark + " support"}}), "queue");
    expect_created(as_a("POST", "/api/v1/queues", {{"id", "alpha-only"}, {"name", mark + " only"}}), "queue");
    expect_created(as_a("PUT", "/api/v1/skills/alphaskill", {{"description", mark}}), "skill");
    expect_created(as_a("PUT", "/api/v1/agents/agent-a/routing-profile",
                        {{"name", mark + " agent"}, {"queues", json::array({json{{"queue", "support"}}})}}),
                   "routing profile");
    expect_created(as_a("PUT", "/api/v1/agents/agent-alpha/routing-profile",
                        {{"name", mark + " only agent"}, {"queues", json::array({json{{"queue", "alpha-only"}}})}}),
                   "routing profile");
    expect_created(
        as_a("PUT", "/api/v1/sip-accounts/alphaphone", {{"agent_id", "agent-a"}, {"password", kSipPassword}}),
        "sip account");
    auto article = node_->request("PUT", "/api/v1/knowledge/alpha-article", nullptr, node_->token(0),
                                  "# " + mark + " refunds\n\nAlpha refunds take " + mark + " days.\n", "text/markdown");
    expect_created(article, "knowledge article");
    expect_created(as_a("PUT", std::string("/api/v1/numbers/") + kNumber, {{"queue_id", "support"}}), "number");
    expect_created(as_a("PUT", "/api/v1/ai/settings", {{"redact", {"card", "email"}}, {"pause_on_card", false}}),
                   "ai settings");
    expect_created(as_a("PUT", "/api/v1/routing/rules", {{"default_queue", "support"}}), "routing rules");
  }

  // A's own view of everything it owns, compared before and after B's probes.
  static std::map<std::string, std::string> alpha_view() {
    std::map<std::string, std::string> view;
    const std::vector<std::string> paths = {"/api/v1/users",
                                            "/api/v1/users/" + ids_["user"],
                                            "/api/v1/users/" + ids_["user"] + "/agent-profile",
                                            std::string("/api/v1/roles"),
                                            std::string("/api/v1/roles/alpha-only-role"),
                                            std::string("/api/v1/teams"),
                                            "/api/v1/teams/" + ids_["team"],
                                            std::string("/api/v1/api-keys"),
                                            std::string("/api/v1/queues"),
                                            std::string("/api/v1/queues/support"),
                                            std::string("/api/v1/queues/alpha-only"),
                                            std::string("/api/v1/skills"),
                                            std::string("/api/v1/agents/agent-a/state"),
                                            std::string("/api/v1/agents/agent-alpha/state"),
                                            std::string("/api/v1/sip-accounts"),
                                            std::string("/api/v1/knowledge"),
                                            std::string("/api/v1/knowledge/alpha-article"),
                                            std::string("/api/v1/numbers"),
                                            std::string("/api/v1/ai/settings"),
                                            std::string("/api/v1/routing/rules")};
    for (const std::string& path : paths) {
      HttpReply r = as_a("GET", path);
      json body = r.body;
      // Fields that move by themselves (time in state) are not A's data changing.
      std::function<void(json&)> scrub = [&](json& j) {
        if (j.is_object()) {
          for (const char* volatile_field : {"state_since", "idle_since", "last_used_at", "longest_wait_ms"}) {
            j.erase(volatile_field);
          }
          for (auto& [k, v] : j.items()) scrub(v);
        } else if (j.is_array()) {
          for (auto& v : j) scrub(v);
        }
      };
      scrub(body);
      view[path] = std::to_string(r.status) + " " + body.dump();
    }
    return view;
  }

  // Every probe B runs. Identifiers B chooses itself (queue "support", agent "agent-a", a role
  // named like A's) are B's own, so those are kOwnScope and must leave A untouched.
  static std::vector<Probe> probes(const std::string& call_id) {
    const std::string u = ids_["user"];
    const std::string t = ids_["team"];
    const std::string k = ids_["api_key"];
    const std::string c = call_id;
    const std::string n = kNumber;
    const json own_queue = {{"queue_id", "alpha-only"}};
    return {
        // users
        {"GET", "/api/v1/users", "/api/v1/users", Expect::kOwnScope},
        {"POST",
         "/api/v1/users",
         "/api/v1/users",
         Expect::kOwnScope,
         {{"email", "beta-user@beta.example"}, {"password", "beta-user-password-1"}, {"roles", {"agent"}}}},
        {"GET", "/api/v1/users/{id}", "/api/v1/users/" + u},
        {"PATCH", "/api/v1/users/{id}", "/api/v1/users/" + u, Expect::kNotFound, {{"active", false}}},
        {"DELETE", "/api/v1/users/{id}", "/api/v1/users/" + u},
        {"POST",
         "/api/v1/users/{id}/password",
         "/api/v1/users/" + u + "/password",
         Expect::kNotFound,
         {{"new_password", "a-new-password-for-alpha"}}},
        {"GET", "/api/v1/users/{id}/agent-profile", "/api/v1/users/" + u + "/agent-profile"},
        {"PUT",
         "/api/v1/users/{id}/agent-profile",
         "/api/v1/users/" + u + "/agent-profile",
         Expect::kNotFound,
         {{"extension", "999"}}},
        // roles, teams, keys, audit
        {"GET", "/api/v1/roles", "/api/v1/roles", Expect::kOwnScope},
        {"POST",
         "/api/v1/roles",
         "/api/v1/roles",
         Expect::kOwnScope,
         {{"name", "alpha-only-role"}, {"permissions", {"queues.read"}}}},
        {"GET", "/api/v1/roles/{name}", "/api/v1/roles/alpha-only-role-x"},
        {"PATCH", "/api/v1/roles/{name}", "/api/v1/roles/alpha-only-role-x", Expect::kNotFound, {{"description", "x"}}},
        {"DELETE", "/api/v1/roles/{name}", "/api/v1/roles/alpha-only-role-x"},
        {"GET", "/api/v1/teams", "/api/v1/teams", Expect::kOwnScope},
        {"POST", "/api/v1/teams", "/api/v1/teams", Expect::kOwnScope, {{"name", "beta team"}}},
        {"GET", "/api/v1/teams/{id}", "/api/v1/teams/" + t},
        {"PATCH", "/api/v1/teams/{id}", "/api/v1/teams/" + t, Expect::kNotFound, {{"name", "taken over"}}},
        {"DELETE", "/api/v1/teams/{id}", "/api/v1/teams/" + t},
        {"GET", "/api/v1/api-keys", "/api/v1/api-keys", Expect::kOwnScope},
        {"POST",
         "/api/v1/api-keys",
         "/api/v1/api-keys",
         Expect::kOwnScope,
         {{"name", "beta key"}, {"permissions", {"queues.read"}}}},
        {"DELETE", "/api/v1/api-keys/{id}", "/api/v1/api-keys/" + k},
        {"GET", "/api/v1/audit", "/api/v1/audit", Expect::kOwnScope},
        // auth (B's own session; logout runs last, on a second session)
        {"GET", "/api/v1/auth/me", "/api/v1/auth/me", Expect::kOwnScope},
        {"POST",
         "/api/v1/auth/password",
         "/api/v1/auth/password",
         Expect::kOwnScope,
         {{"current_password", "not-the-password"}, {"new_password", "another-password-123"}}},
        {"POST",
         "/api/v1/auth/login",
         "/api/v1/auth/login",
         Expect::kOwnScope,
         {{"email", "alpha-user@alpha.example"}, {"password", "wrong-password-here"}}},
        {"POST", "/api/v1/auth/refresh", "/api/v1/auth/refresh", Expect::kOwnScope, {{"refresh_token", "x"}}},
        {"GET", "/api/v1/openapi.json", "/api/v1/openapi.json", Expect::kOwnScope},
        {"GET", "/healthz", "/healthz", Expect::kOperator},
        {"GET", "/readyz", "/readyz", Expect::kOperator},
        {"GET", "/metrics", "/metrics", Expect::kOperator},
        // routing: "support" and "agent-a" are B's own ids too; "alpha-only"/"agent-alpha" only A's
        {"GET", "/api/v1/queues", "/api/v1/queues", Expect::kOwnScope},
        {"POST", "/api/v1/queues", "/api/v1/queues", Expect::kOwnScope, {{"id", "support"}, {"name", "beta support"}}},
        {"GET", "/api/v1/queues/{id}", "/api/v1/queues/alpha-only"},
        {"PUT", "/api/v1/queues/{id}", "/api/v1/queues/alpha-only", Expect::kNotFound, {{"name", "taken over"}}},
        {"DELETE", "/api/v1/queues/{id}", "/api/v1/queues/alpha-only"},
        {"GET", "/api/v1/queues/{id}/live", "/api/v1/queues/alpha-only/live"},
        {"GET", "/api/v1/skills", "/api/v1/skills", Expect::kOwnScope},
        {"PUT", "/api/v1/skills/{name}", "/api/v1/skills/alphaskill", Expect::kOwnScope, {{"description", "beta"}}},
        {"DELETE", "/api/v1/skills/{name}", "/api/v1/skills/alphaskill-x"},
        {"PUT",
         "/api/v1/agents/{id}/routing-profile",
         "/api/v1/agents/agent-a/routing-profile",
         Expect::kOwnScope,
         {{"name", "beta agent"}, {"queues", json::array({json{{"queue", "support"}}})}}},
        {"GET", "/api/v1/agents/{id}/state", "/api/v1/agents/agent-alpha/state"},
        {"PUT",
         "/api/v1/agents/{id}/state",
         "/api/v1/agents/agent-alpha/state",
         Expect::kNotFound,
         {{"state", "available"}}},
        {"GET", "/api/v1/routing/rules", "/api/v1/routing/rules", Expect::kOwnScope},
        {"PUT", "/api/v1/routing/rules", "/api/v1/routing/rules", Expect::kOwnScope, {{"default_queue", "support"}}},
        {"DELETE", "/api/v1/routing/rules", "/api/v1/routing/rules", Expect::kOwnScope},
        {"GET", "/api/v1/calls/{id}/routing-decisions", "/api/v1/calls/" + c + "/routing-decisions"},
        // calls: A's live call, A's agents and queues
        {"GET", "/api/v1/calls", "/api/v1/calls", Expect::kOwnScope},
        {"GET", "/api/v1/calls/history", "/api/v1/calls/history", Expect::kOwnScope},
        {"GET", "/api/v1/calls/{id}", "/api/v1/calls/" + c},
        {"POST", "/api/v1/calls/{id}/hangup", "/api/v1/calls/" + c + "/hangup"},
        {"POST", "/api/v1/calls/{id}/hold", "/api/v1/calls/" + c + "/hold"},
        {"POST", "/api/v1/calls/{id}/resume", "/api/v1/calls/" + c + "/resume"},
        {"POST", "/api/v1/calls/{id}/transfer", "/api/v1/calls/" + c + "/transfer", Expect::kNotFound, own_queue},
        {"POST",
         "/api/v1/calls/{id}/consult",
         "/api/v1/calls/" + c + "/consult",
         Expect::kNotFound,
         {{"agent_id", "agent-alpha"}}},
        {"POST", "/api/v1/calls/{id}/consult/complete", "/api/v1/calls/" + c + "/consult/complete"},
        {"POST", "/api/v1/calls/{id}/consult/cancel", "/api/v1/calls/" + c + "/consult/cancel"},
        {"POST",
         "/api/v1/calls",
         "/api/v1/calls",
         Expect::kNotFound,
         {{"agent_id", "agent-alpha"}, {"destination", "sip:alpha@127.0.0.1:9"}}},
        {"GET", "/api/v1/calls/{id}/transcript", "/api/v1/calls/" + c + "/transcript"},
        {"GET", "/api/v1/calls/{id}/summary", "/api/v1/calls/" + c + "/summary"},
        // telephony: SIP user names and numbers are global; B learns only that they are taken
        {"GET", "/api/v1/sip-accounts", "/api/v1/sip-accounts", Expect::kOwnScope},
        {"PUT",
         "/api/v1/sip-accounts/{username}",
         "/api/v1/sip-accounts/alphaphone",
         Expect::kTaken,
         {{"agent_id", "agent-a"}, {"password", "beta-takes-over-123"}}},
        {"DELETE", "/api/v1/sip-accounts/{username}", "/api/v1/sip-accounts/alphaphone"},
        {"GET", "/api/v1/numbers", "/api/v1/numbers", Expect::kOwnScope},
        {"GET", "/api/v1/numbers/{number}", "/api/v1/numbers/" + n},
        {"PUT", "/api/v1/numbers/{number}", "/api/v1/numbers/" + n, Expect::kTaken, {{"queue_id", "support"}}},
        {"DELETE", "/api/v1/numbers/{number}", "/api/v1/numbers/" + n},
        // AI
        {"GET", "/api/v1/ai/settings", "/api/v1/ai/settings", Expect::kOwnScope},
        {"PUT", "/api/v1/ai/settings", "/api/v1/ai/settings", Expect::kOwnScope, {{"pause_on_card", true}}},
        {"GET", "/api/v1/knowledge", "/api/v1/knowledge", Expect::kOwnScope},
        {"GET", "/api/v1/knowledge/{id}", "/api/v1/knowledge/alpha-article"},
        {"PUT", "/api/v1/knowledge/{id}", "/api/v1/knowledge/alpha-article", Expect::kOwnScope, nullptr,
         "# Beta refunds\n\nBeta's own article with the same id.\n", "text/markdown"},
        {"DELETE", "/api/v1/knowledge/{id}", "/api/v1/knowledge/alpha-article-x"},
        {"GET", "/api/v1/ai/stream", "/api/v1/ai/stream", Expect::kOwnScope},  // WebSocket: probed below
        // the desktop gateway
        {"GET", "/api/v1/events", "/api/v1/events", Expect::kOwnScope},  // WebSocket: probed below
        {"POST", "/api/v1/auth/logout", "/api/v1/auth/logout", Expect::kOwnScope},
    };
  }

  // No reply to B may carry anything of A's (an id B itself sent may be echoed back).
  static void expect_no_leak(const Probe& p, const HttpReply& r) {
    EXPECT_EQ(r.raw.find(kMark), std::string::npos) << p.method << " " << p.path << " leaked: " << r.raw;
    const std::string sent = p.path + (p.body.is_null() ? std::string() : p.body.dump()) + p.raw_body.value_or("");
    for (const auto& [what, id] : ids_) {
      if (id.empty() || sent.find(id) != std::string::npos) continue;
      EXPECT_EQ(r.raw.find(id), std::string::npos)
          << p.method << " " << p.path << " leaked A's " << what << " id: " << r.raw;
    }
    EXPECT_EQ(r.raw.find(node_->org_id(0)), std::string::npos) << p.method << " " << p.path << " leaked A's org id";
  }

  static std::string local_scenario(const std::string& scenario) {
    return testing::local_sipp_scenario(kScenarios + "/" + scenario, node_->dir());
  }

  // A SIPp caller dialling `number` (user part), talking for about 50 s; runs in the background.
  static Subprocess dial(const std::string& number, const std::string& errors_file) {
    return Subprocess::start({"sipp",
                              "-sf",
                              local_scenario("caller_long.xml"),
                              "-s",
                              number,
                              node_->sip_target(),
                              "-i",
                              "127.0.0.1",
                              "-p",
                              std::to_string(testing::free_port()),
                              "-m",
                              "1",
                              "-d",
                              "30000",
                              "-nostdin",
                              "-timeout",
                              "90s",
                              "-timeout_error",
                              "-trace_err",
                              "-error_file",
                              errors_file});
  }

  // The live calls `token`'s organisation sees.
  static json live_calls(size_t org) {
    HttpReply r = node_->request("GET", "/api/v1/calls", nullptr, node_->token(org));
    return r.status == 200 ? r.body["calls"] : json::array();
  }

  static inline Node* node_ = nullptr;
  static inline std::map<std::string, std::string> ids_;
};

TEST_F(TenantIsolationTest, EveryRouteAimedAtAnotherOrganisationsObjectsFindsNothingAndChangesNothing) {
  // Both organisations' desktop gateway feeds listen from before A's call (checked further down).
  auto is_live = [](const json& m) { return m.value("type", "") == "gateway.live"; };
  auto a_events_owner =
      std::make_unique<testing::WebSocketClient>(testing::port_of(node_->url()), node_->token(0), "/api/v1/events");
  auto b_events_owner =
      std::make_unique<testing::WebSocketClient>(testing::port_of(node_->url()), node_->token(1), "/api/v1/events");
  ASSERT_TRUE(a_events_owner->wait_for(is_live, 10s));
  ASSERT_TRUE(b_events_owner->wait_for(is_live, 10s));
  // A's call, in on A's number: it waits in A's "support" queue (A's agent has no phone).
  Subprocess caller = dial(kNumber, node_->dir() + "/alpha-caller.log");
  std::string call_id;
  for (int i = 0; i < 100 && call_id.empty(); ++i) {
    for (const auto& c : live_calls(0)) {
      if (c.value("queue", "") == "support") call_id = c.value("id", "");
    }
    if (call_id.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(call_id.empty()) << "A's call never reached A's queue";
  ids_["call"] = call_id;
  EXPECT_TRUE(live_calls(1).empty()) << "B sees A's call: " << live_calls(1).dump();

  const auto before = alpha_view();
  // Every documented route must have a probe.
  HttpReply doc = node_->request("GET", "/api/v1/openapi.json");
  ASSERT_EQ(doc.status, 200);
  std::set<std::string> documented;
  for (const auto& [path, operations] : doc.body["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      std::string upper = method;
      for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      documented.insert(upper + " " + path);
    }
  }
  const std::vector<Probe> table = probes(call_id);
  std::set<std::string> probed;
  for (const auto& p : table) probed.insert(p.method + " " + p.pattern);
  for (const auto& route : documented) {
    EXPECT_TRUE(probed.contains(route)) << "route " << route
                                        << " has no tenant-isolation probe: add one to tests/security";
  }
  for (const auto& route : probed)
    EXPECT_TRUE(documented.contains(route)) << "probe for an undocumented route " << route;

  for (const auto& p : table) {
    if (p.pattern == "/api/v1/ai/stream" || p.pattern == "/api/v1/events") continue;
    if (p.pattern == "/api/v1/auth/logout") continue;
    HttpReply r = as_b(p);
    SCOPED_TRACE(p.method + " " + p.path + " -> " + std::to_string(r.status) + " " + r.raw);
    EXPECT_NE(r.status, 0) << "no answer";
    EXPECT_LT(r.status, 500);
    switch (p.expect) {
      case Expect::kNotFound: EXPECT_EQ(r.status, 404); break;
      case Expect::kTaken: EXPECT_EQ(r.status, 409); break;
      case Expect::kOwnScope: break;
      case Expect::kOperator: continue;
    }
    expect_no_leak(p, r);
  }
  // B's live feed shows none of A's call.
  EXPECT_TRUE(live_calls(1).empty());
  // The live AI feed: B asking for A's call, or for all its calls, gets nothing of A's; A's own
  // feed carries its call (so the check could fail).
  {
    const uint16_t port = testing::port_of(node_->url());
    std::unique_ptr<testing::WebSocketClient> b_one;
    try {
      b_one = std::make_unique<testing::WebSocketClient>(port, node_->token(1), "/api/v1/ai/stream?call_id=" + call_id);
    } catch (const std::exception&) {
      // A refused handshake is an answer too.
    }
    testing::WebSocketClient b_all(port, node_->token(1), "/api/v1/ai/stream");
    testing::WebSocketClient a_all(port, node_->token(0), "/api/v1/ai/stream");
    auto mentions_call = [&](const json& m) { return m.dump().find(call_id) != std::string::npos; };
    EXPECT_TRUE(a_all.wait_for(mentions_call, 30s)) << "A's own feed never showed its call";
    for (const testing::WebSocketClient* feed : {b_one.get(), &b_all}) {
      if (feed == nullptr) continue;
      for (const auto& m : feed->messages()) {
        EXPECT_FALSE(mentions_call(m)) << "B's feed carried A's call: " << m.dump();
        EXPECT_EQ(m.dump().find(kMark), std::string::npos);
      }
    }
  }
  // The desktop gateway: B's organisation-wide feed, even resuming from one of A's event ids,
  // carries nothing of A's; A's own feed has its call's events (so the check could fail).
  {
    const uint16_t port = testing::port_of(node_->url());
    testing::WebSocketClient& a_events = *a_events_owner;
    testing::WebSocketClient& b_events = *b_events_owner;
    auto a_event = a_events.wait_for(
        [&](const json& m) { return m.contains("id") && m.dump().find(call_id) != std::string::npos; }, 20s);
    EXPECT_TRUE(a_event.has_value()) << "A's own gateway feed never showed its call";
    std::optional<testing::WebSocketClient> b_resumed;
    if (a_event) {
      b_resumed.emplace(port, node_->token(1), "/api/v1/events?since=" + (*a_event)["id"].get<std::string>());
      EXPECT_TRUE(b_resumed->wait_for(is_live, 10s));
      EXPECT_TRUE(
          b_resumed->wait_for([](const json& m) { return m.value("type", "") == "gateway.resync_required"; }, 1s));
    }
    for (const testing::WebSocketClient* feed : {&b_events, b_resumed ? &*b_resumed : nullptr}) {
      if (feed == nullptr) continue;
      for (const auto& m : feed->messages()) {
        EXPECT_EQ(m.dump().find(call_id), std::string::npos) << "B's gateway feed carried A's call: " << m.dump();
        EXPECT_EQ(m.dump().find(node_->org_id(0)), std::string::npos) << "B's gateway feed named A: " << m.dump();
        EXPECT_EQ(m.dump().find(kMark), std::string::npos);
      }
    }
  }
  const auto after = alpha_view();
  for (const auto& [path, view] : before) EXPECT_EQ(after.at(path), view) << "A's " << path << " changed";
  if (HasFailure()) {
    const std::string log = node_->server_log();
    std::cerr << "server log (tail):\n" << log.substr(log.size() > 6000 ? log.size() - 6000 : 0) << "\n";
  }

  // B's own queue "support" is B's, not A's; A's call is still A's and still live.
  HttpReply b_queue = node_->request("GET", "/api/v1/queues/support", nullptr, node_->token(1));
  EXPECT_EQ(b_queue.status, 200);
  EXPECT_EQ(b_queue.body.value("name", ""), "beta support");
  bool still_live = false;
  for (const auto& c : live_calls(0)) still_live = still_live || c.value("id", "") == call_id;
  EXPECT_TRUE(still_live);
  EXPECT_EQ(as_a("POST", "/api/v1/calls/" + call_id + "/hangup").status, 202);
  caller.send_signal(SIGTERM);
  caller.wait(10s);
}

TEST_F(TenantIsolationTest, AnotherOrganisationsPhoneRegisteredToTheSameAgentIdNeverRingsOrChangesOurAgent) {
  // B binds a SIP account of its own to the agent id A uses and registers it.
  HttpReply account =
      node_->request("PUT", "/api/v1/sip-accounts/betaphone",
                     {{"agent_id", "agent-alpha"}, {"password", "beta-sip-password-123"}}, node_->token(1));
  ASSERT_EQ(account.status, 201) << account.raw;
  ASSERT_TRUE(testing::sipp_register(kScenarios + "/register.xml", node_->dir(), node_->sip_target(), "betaphone",
                                     "beta-sip-password-123", testing::free_port()))
      << "B's phone did not register";
  // A's agent-alpha stays offline; B's registration made B's own agent-alpha (if any) reachable.
  HttpReply state = node_->request("GET", "/api/v1/agents/agent-alpha/state", nullptr, node_->token(0));
  ASSERT_EQ(state.status, 200);
  EXPECT_EQ(state.body.value("state", ""), "offline") << state.raw;
  // A's click-to-call for agent-alpha must not ring B's phone: A has no phone for it, so 480/failure,
  // never B's registration; B's originate for A's agent is refused outright.
  HttpReply b_originate = node_->request(
      "POST", "/api/v1/calls", {{"agent_id", "agent-a-nope"}, {"destination", "sip:x@127.0.0.1:9"}}, node_->token(1));
  EXPECT_EQ(b_originate.status, 404);
  EXPECT_EQ(b_originate.code(), "agent_not_found");
}

TEST_F(TenantIsolationTest, ACallToANumberNoOrganisationClaimedIsRefusedAndLogged) {
  // Two organisations and no telephony.default_org: nobody owns +15559999.
  testing::RunResult r = testing::run(
      {"sipp", "-sf", local_scenario("caller.xml"), "-s", "+15559999", node_->sip_target(), "-i", "127.0.0.1", "-p",
       std::to_string(testing::free_port()), "-m", "1", "-nostdin", "-timeout", "15s", "-timeout_error"});
  EXPECT_NE(r.exit_code, 0) << "the call was answered";
  bool logged = false;
  for (int i = 0; i < 50 && !logged; ++i) {
    logged = node_->server_log().find("no organisation owns the dialled number") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(logged);
  HttpReply history_a = node_->request("GET", "/api/v1/calls/history", nullptr, node_->token(0));
  for (const auto& c : history_a.body["calls"]) EXPECT_NE(c.value("dialled", ""), "+15559999");
}

TEST_F(TenantIsolationTest, SuggestionsAndArticlesComeOnlyFromTheCallersOrganisation) {
  HttpReply b_list = node_->request("GET", "/api/v1/knowledge", nullptr, node_->token(1));
  ASSERT_EQ(b_list.status, 200);
  EXPECT_EQ(b_list.raw.find(kMark), std::string::npos);
  HttpReply a_list = as_a("GET", "/api/v1/knowledge");
  EXPECT_NE(a_list.raw.find(kMark), std::string::npos) << "A lost its own article";
  // The audit trail of A has the article change; B's does not.
  HttpReply a_audit = as_a("GET", "/api/v1/audit?limit=500");
  EXPECT_NE(a_audit.raw.find("knowledge_article_saved"), std::string::npos) << a_audit.raw;
  HttpReply b_audit = node_->request("GET", "/api/v1/audit?limit=500", nullptr, node_->token(1));
  EXPECT_EQ(b_audit.raw.find(node_->admin_id(0)), std::string::npos) << b_audit.raw;
}

}  // namespace
}  // namespace vontres
