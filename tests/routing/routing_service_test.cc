// Integration tests of the routing service shell: the real in-process bus, a temporary SQLite
// store and the API dispatcher (routing, authentication, permissions) with a fake Authenticator.
#include "routing/service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <prometheus/text_serializer.h>

#include "api/dispatch.h"
#include "bus/in_process_bus.h"
#include "core/config.h"
#include "store/sqlite_store.h"

namespace vontres::routing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class FakeAuthenticator final : public api::Authenticator {
 public:
  Result<api::Principal> authenticate(const api::Request& request) override {
    const auto header = request.header("authorization");
    if (header == "Bearer supervisor") {
      return api::Principal{
          "sup-1",        "org-a",
          {"supervisor"}, {"queues.read", "queues.write", "agents.read", "agents.write", "calls.monitor"},
          "jwt",          "t1"};
    }
    if (header == "Bearer agent")
      return api::Principal{"ana", "org-a", {"agent"}, {"queues.read", "calls.handle"}, "jwt", "t2"};
    if (header == "Bearer other-org") {
      return api::Principal{
          "sup-2",        "org-b",
          {"supervisor"}, {"queues.read", "queues.write", "agents.read", "agents.write", "calls.monitor"},
          "jwt",          "t3"};
    }
    return unauthenticated("no token", "token_missing");
  }
};

class RoutingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("vontres-routing-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    open_service();
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void open_service() {
    service_.reset();
    store_.reset();
    auto store = store::SqliteStore::open(StoreConfig{}, (dir_ / "db.sqlite").string(), clock_);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    service_ = std::make_unique<RoutingService>(clock_, bus_, *store_, options_);
    ASSERT_TRUE(service_->start().is_ok());
    router_ = std::make_unique<api::Router>();
    service_->register_routes(*router_);
    dispatcher_ = std::make_unique<api::Dispatcher>(*router_, &auth_, clock_);
  }

  api::Response call(api::Method method, const std::string& path, const std::string& token,
                     const json& body = nullptr) {
    api::Request req;
    req.method = method;
    req.target = path;
    req.path = path.substr(0, path.find('?'));
    req.headers.emplace_back("authorization", "Bearer " + token);
    if (!body.is_null()) {
      req.body = body.dump();
      req.headers.emplace_back("content-type", "application/json");
    }
    return dispatcher_->handle(req);
  }
  static json body_of(const api::Response& r) { return json::parse(r.body); }

  ManualClock clock_;
  RoutingServiceOptions options_;  // set before open_service()
  BusConfig bus_config_;
  bus::InProcessEventBus bus_{bus_config_, clock_};
  FakeAuthenticator auth_;
  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<RoutingService> service_;
  std::unique_ptr<api::Router> router_;
  std::unique_ptr<api::Dispatcher> dispatcher_;
};

TEST_F(RoutingServiceTest, SupervisorCreatesAQueueThatSurvivesARestart) {
  auto created = call(api::Method::kPost, "/api/v1/queues", "supervisor",
                      {{"id", "billing"},
                       {"name", "Billing"},
                       {"strategy", "skills_weighted"},
                       {"required_skills", {{{"skill", "billing"}, {"min_proficiency", 3}}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(body_of(created)["strategy"], "skills_weighted");
  EXPECT_EQ(call(api::Method::kPost, "/api/v1/queues", "supervisor", {{"id", "billing"}}).status, 409);
  open_service();  // a new engine loads what the store holds
  auto listed = call(api::Method::kGet, "/api/v1/queues", "supervisor");
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(body_of(listed)["queues"].size(), 1u);
  EXPECT_EQ(body_of(listed)["queues"][0]["required_skills"][0]["min_proficiency"], 3);
}

TEST_F(RoutingServiceTest, QueuesAreInvisibleToOtherOrganisationsAndNeedPermissions) {
  ASSERT_EQ(call(api::Method::kPost, "/api/v1/queues", "supervisor", {{"id", "q1"}}).status, 201);
  EXPECT_EQ(call(api::Method::kGet, "/api/v1/queues/q1", "other-org").status, 404);
  EXPECT_EQ(call(api::Method::kPut, "/api/v1/queues/q1", "other-org", {{"name", "mine"}}).status, 404);
  EXPECT_EQ(call(api::Method::kPost, "/api/v1/queues", "agent", {{"id", "q2"}}).status, 403);
  EXPECT_EQ(call(api::Method::kGet, "/api/v1/queues/q1/live", "agent").status, 403);
  EXPECT_EQ(call(api::Method::kGet, "/api/v1/queues/q1", "agent").status, 200);
  auto bad = call(api::Method::kPost, "/api/v1/queues", "supervisor", {{"strategy", "telepathy"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(body_of(bad)["error"]["code"], "invalid_field");
  EXPECT_EQ(body_of(bad)["error"]["field"], "strategy");
}

TEST_F(RoutingServiceTest, AgentChangesItsOwnStateAndEventsReachTheBus) {
  auto consumer = bus_.subscribe({"routing.events"}, "test", {});
  ASSERT_TRUE(consumer.is_ok());
  ASSERT_EQ(call(api::Method::kPost, "/api/v1/queues", "supervisor", {{"id", "q1"}}).status, 201);
  auto profile = call(api::Method::kPut, "/api/v1/agents/ana/routing-profile", "supervisor",
                      {{"name", "Ana"}, {"skills", {{"lang:es", 8}}}, {"queues", {{{"queue", "q1"}, {"penalty", 0}}}}});
  ASSERT_EQ(profile.status, 200) << profile.body;
  EXPECT_EQ(call(api::Method::kPut, "/api/v1/agents/bob/state", "agent", {{"state", "available"}}).status, 403);
  auto own = call(api::Method::kPut, "/api/v1/agents/ana/state", "agent", {{"state", "available"}});
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(body_of(own)["state"], "available");

  CallRequest request;
  request.id = CallId("call-1");
  request.org = OrgId("org-a");
  request.queue = QueueId("q1");
  request.language = "es";
  ASSERT_TRUE(service_->run([&](Engine& e) { return e.enqueue_call(request); }).is_ok());

  std::vector<std::string> types;
  for (int i = 0; i < 3 && types.size() < 4; ++i) {
    auto batch = (*consumer)->poll(10, 200ms);
    ASSERT_TRUE(batch.is_ok());
    for (const auto& d : *batch) {
      types.push_back(d.event.type);
      if (d.event.type == "route.offered") {
        EXPECT_EQ(d.event.key, "call-1");
        EXPECT_EQ(json::parse(d.event.payload)["agent_id"], "ana");
      }
      EXPECT_TRUE((*consumer)->ack(d).is_ok());
    }
  }
  // Order holds per key (partition): agent events and call events may interleave differently.
  std::sort(types.begin(), types.end());
  EXPECT_EQ(types,
            (std::vector<std::string>{"agent.state_changed", "agent.state_changed", "route.offered", "route.queued"}));

  auto decisions = call(api::Method::kGet, "/api/v1/calls/call-1/routing-decisions", "supervisor");
  ASSERT_EQ(decisions.status, 200);
  EXPECT_EQ(body_of(decisions)["decisions"][0]["offered_to"][0], "ana");
  EXPECT_EQ(call(api::Method::kGet, "/api/v1/calls/call-1/routing-decisions", "other-org").status, 404);
  auto live = call(api::Method::kGet, "/api/v1/queues/q1/live", "supervisor");
  ASSERT_EQ(live.status, 200);
  EXPECT_EQ(body_of(live)["offering"], 1);
}

// Options as `vontres serve` builds them from a `routing:` section with one intent rule.
RoutingServiceOptions options_with_billing_rule() {
  RoutingConfig config;
  config.intent_rules.push_back({"billing_dispute", "billing", {{"billing", 4}}, 2});
  config.tier_boost = {{"platinum", 20}};
  config.offer_timeout = 7s;
  config.explain_decisions = false;
  return options_from_config(config);
}

TEST_F(RoutingServiceTest, ConfigurationBecomesTheDefaultRulesAndQueueDefaults) {
  RoutingServiceOptions options = options_with_billing_rule();
  ASSERT_EQ(options.engine.default_rules.intents.size(), 1u);
  EXPECT_EQ(options.engine.default_rules.intents[0].queue, QueueId("billing"));
  EXPECT_EQ(options.engine.default_rules.intents[0].skills[0].min_proficiency, 4);
  EXPECT_EQ(options.engine.default_rules.tier_boost.at("platinum"), 20);
  EXPECT_EQ(options.engine.decisions_per_call, 0u);  // explain records off
  EXPECT_EQ(options.queue_defaults.offer_timeout, 7s);

  options_ = options;
  open_service();
  auto created = call(api::Method::kPost, "/api/v1/queues", "supervisor", {{"id", "billing"}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(body_of(created)["offer_timeout_ms"], 7000);
  EXPECT_EQ(body_of(created)["reoffer_delay_ms"], 5000);

  CallRequest request;
  request.id = CallId("call-1");
  request.org = OrgId("org-a");
  request.intent = "billing_dispute";
  request.customer_tier = "platinum";
  auto placed = service_->run([&](Engine& e) { return e.enqueue_call(request); });
  ASSERT_TRUE(placed.is_ok()) << placed.status().to_string();
  EXPECT_EQ(placed->queue, QueueId("billing"));
  EXPECT_EQ(placed->priority, 22);
}

TEST_F(RoutingServiceTest, OrganisationRulesReplaceTheDefaultsAndSurviveARestart) {
  options_ = options_with_billing_rule();
  open_service();
  auto defaults = call(api::Method::kGet, "/api/v1/routing/rules", "supervisor");
  ASSERT_EQ(defaults.status, 200) << defaults.body;
  EXPECT_EQ(body_of(defaults)["source"], "configuration");
  EXPECT_EQ(body_of(defaults)["rules"]["intents"][0]["intent"], "billing_dispute");

  ASSERT_EQ(call(api::Method::kPost, "/api/v1/queues", "supervisor", {{"id", "sales"}}).status, 201);
  auto put = call(
      api::Method::kPut, "/api/v1/routing/rules", "supervisor",
      {{"intents", {{{"intent", "buy"}, {"queue", "sales"}, {"priority_boost", 1}}}}, {"tier_boost", {{"vip", 3}}}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(body_of(put)["source"], "organisation");
  EXPECT_EQ(body_of(call(api::Method::kGet, "/api/v1/routing/rules", "other-org"))["source"], "configuration");

  open_service();  // the organisation's rules come back from the store
  auto reloaded = body_of(call(api::Method::kGet, "/api/v1/routing/rules", "supervisor"));
  EXPECT_EQ(reloaded["source"], "organisation");
  EXPECT_EQ(reloaded["rules"]["intents"][0]["queue"], "sales");
  CallRequest request;
  request.id = CallId("call-1");
  request.org = OrgId("org-a");
  request.intent = "buy";
  request.customer_tier = "vip";
  auto placed = service_->run([&](Engine& e) { return e.enqueue_call(request); });
  ASSERT_TRUE(placed.is_ok()) << placed.status().to_string();
  EXPECT_EQ(placed->queue, QueueId("sales"));
  EXPECT_EQ(placed->priority, 4);

  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/routing/rules", "supervisor").status, 204);
  EXPECT_EQ(body_of(call(api::Method::kGet, "/api/v1/routing/rules", "supervisor"))["source"], "configuration");
  open_service();
  EXPECT_EQ(body_of(call(api::Method::kGet, "/api/v1/routing/rules", "supervisor"))["source"], "configuration");
}

TEST_F(RoutingServiceTest, ReplacingRulesNeedsQueuesWriteAndInvalidRulesNameTheField) {
  EXPECT_EQ(call(api::Method::kGet, "/api/v1/routing/rules", "agent").status, 200);
  EXPECT_EQ(call(api::Method::kPut, "/api/v1/routing/rules", "agent", json::object()).status, 403);
  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/routing/rules", "agent").status, 403);
  struct Case {
    json body;
    std::string field;
    std::string code = "invalid_field";  // the body schema's; the handler's own checks say invalid_rules
  };
  const std::vector<Case> cases = {
      {{{"intents", {{{"intent", "a"}, {"queue", ""}}}}}, "intents[0].queue"},
      {{{"intents", {{{"intent", "a"}}, {{"intent", "a"}}}}}, "intents[1].intent", "invalid_rules"},
      {{{"intents", {{{"intent", "a"}, {"skills", {{{"skill", "x"}, {"min_proficiency", 0}}}}}}}},
       "intents[0].skills[0].min_proficiency"},
      {{{"negative_sentiment_threshold", -3}}, "negative_sentiment_threshold"},
      {{{"tier_boost", {{"vip", 1000}}}}, "tier_boost.vip"},
      {{{"colour", "red"}}, "colour: unknown field"},
      {{{"intents", "billing"}}, "intents"},
  };
  for (const auto& c : cases) {
    auto reply = call(api::Method::kPut, "/api/v1/routing/rules", "supervisor", c.body);
    EXPECT_EQ(reply.status, 400) << c.body.dump();
    EXPECT_EQ(body_of(reply)["error"]["code"], c.code) << reply.body;
    EXPECT_NE(body_of(reply)["error"]["message"].get<std::string>().find(c.field), std::string::npos) << reply.body;
  }
}

TEST_F(RoutingServiceTest, MetricsCountOffersTimeoutsAndWaitingCallsPerQueue) {
  prometheus::Registry registry;
  options_.metrics = &registry;
  open_service();
  ASSERT_EQ(call(api::Method::kPost, "/api/v1/queues", "supervisor", {{"id", "q1"}, {"offer_timeout_ms", 1000}}).status,
            201);
  ASSERT_EQ(call(api::Method::kPut, "/api/v1/agents/ana/routing-profile", "supervisor",
                 {{"name", "Ana"}, {"queues", {{{"queue", "q1"}}}}})
                .status,
            200);
  ASSERT_EQ(call(api::Method::kPut, "/api/v1/agents/ana/state", "supervisor", {{"state", "available"}}).status, 200);
  for (const char* id : {"call-1", "call-2"}) {
    CallRequest request;
    request.id = CallId(id);
    request.org = OrgId("org-a");
    request.queue = QueueId("q1");
    ASSERT_TRUE(service_->run([&](Engine& e) { return e.enqueue_call(request); }).is_ok());
  }
  auto text = [&] { return prometheus::TextSerializer().Serialize(registry.Collect()); };
  EXPECT_NE(text().find(R"(vontres_routing_calls_waiting{org_id="org-a",queue_id="q1"} 1)"), std::string::npos)
      << text();
  EXPECT_NE(text().find(R"(vontres_routing_events_total{type="offered"} 1)"), std::string::npos) << text();

  clock_.advance(1001ms);
  service_->tick();  // call-1's offer times out; call-2 (not declined by Ana) is offered to her
  const std::string after = text();
  EXPECT_NE(after.find(R"(vontres_routing_events_total{type="timeout"} 1)"), std::string::npos) << after;
  EXPECT_NE(after.find(R"(vontres_routing_events_total{type="offered"} 2)"), std::string::npos) << after;
  EXPECT_NE(after.find(R"(vontres_routing_calls_waiting{org_id="org-a",queue_id="q1"} 1)"), std::string::npos) << after;
  EXPECT_NE(after.find("vontres_routing_decision_duration_seconds_count"), std::string::npos) << after;

  ASSERT_TRUE(service_->run([](Engine& e) { return e.accept_offer(CallId("call-2"), AgentId("ana")); }).is_ok());
  EXPECT_NE(text().find(R"(vontres_routing_events_total{type="accepted"} 1)"), std::string::npos) << text();
}

TEST_F(RoutingServiceTest, SkillsCatalogueIsPerOrganisation) {
  ASSERT_EQ(call(api::Method::kPut, "/api/v1/skills/billing", "supervisor", {{"description", "Invoices"}}).status, 200);
  EXPECT_EQ(body_of(call(api::Method::kGet, "/api/v1/skills", "supervisor"))["skills"].size(), 1u);
  EXPECT_EQ(body_of(call(api::Method::kGet, "/api/v1/skills", "other-org"))["skills"].size(), 0u);
  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/skills/billing", "other-org").status, 404);
  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/skills/billing", "supervisor").status, 204);
}

}  // namespace
}  // namespace vontres::routing
