// Integration tests of the routing service shell: the real in-process bus, a temporary SQLite
// store and the API dispatcher (routing, authentication, permissions) with a fake Authenticator.
// Not yet globbed into vontres_routing_tests: it needs vontres_bus, vontres_store and vontres_api
// linked (see docs/routing.md, "Service shell").
#include "routing/service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

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
    service_ = std::make_unique<RoutingService>(clock_, bus_, *store_);
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
  EXPECT_EQ(body_of(bad)["error"]["code"], "invalid_queue");
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

TEST_F(RoutingServiceTest, SkillsCatalogueIsPerOrganisation) {
  ASSERT_EQ(call(api::Method::kPut, "/api/v1/skills/billing", "supervisor", {{"description", "Invoices"}}).status, 200);
  EXPECT_EQ(body_of(call(api::Method::kGet, "/api/v1/skills", "supervisor"))["skills"].size(), 1u);
  EXPECT_EQ(body_of(call(api::Method::kGet, "/api/v1/skills", "other-org"))["skills"].size(), 0u);
  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/skills/billing", "other-org").status, 404);
  EXPECT_EQ(call(api::Method::kDelete, "/api/v1/skills/billing", "supervisor").status, 204);
}

}  // namespace
}  // namespace vontres::routing
