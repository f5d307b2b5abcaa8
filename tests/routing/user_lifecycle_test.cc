// The routing service follows the users service's lifecycle events (issue 11, finding 7): the
// agent of a deactivated user is offline and cannot be made available, calls are not offered to
// it, and a deleted user's agent leaves the ACD and its stored profile. Real in-process bus and a
// temporary SQLite store; the events come over the bus as the users service publishes them.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "api/dispatch.h"
#include "bus/in_process_bus.h"
#include "core/config.h"
#include "routing/service.h"
#include "store/sqlite_store.h"
#include "users/events.h"

namespace vontres::routing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class SupervisorAuthenticator final : public api::Authenticator {
 public:
  Result<api::Principal> authenticate(const api::Request&) override {
    return api::Principal{
        "sup-1", "org-a", {"supervisor"}, {"queues.read", "queues.write", "agents.read", "agents.write"}, "jwt", "t1"};
  }
};

class UserLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("vontres-routing-users-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    open_service();
    ASSERT_EQ(call(api::Method::kPost, "/api/v1/queues", {{"id", "q1"}}).status, 201);
    ASSERT_EQ(call(api::Method::kPut, "/api/v1/agents/ana/routing-profile",
                   {{"name", "Ana"}, {"queues", {{{"queue", "q1"}, {"penalty", 0}}}}})
                  .status,
              200);
    ASSERT_EQ(state("ana"), "available");
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
    ASSERT_TRUE(service_->follow_user_events("routing-test").is_ok());
    router_ = std::make_unique<api::Router>();
    service_->register_routes(*router_);
    dispatcher_ = std::make_unique<api::Dispatcher>(*router_, &auth_, clock_);
  }

  api::Response call(api::Method method, const std::string& path, const json& body = nullptr) {
    api::Request req;
    req.method = method;
    req.target = path;
    req.path = path;
    req.headers.emplace_back("authorization", "Bearer supervisor");
    if (!body.is_null()) {
      req.body = body.dump();
      req.headers.emplace_back("content-type", "application/json");
    }
    return dispatcher_->handle(req);
  }
  // Sets ana's state through the API (available unless told otherwise) and answers the new state,
  // or the error code.
  std::string state(const std::string& agent, const std::string& to = "available") {
    auto reply = call(api::Method::kPut, "/api/v1/agents/" + agent + "/state", {{"state", to}});
    json body = json::parse(reply.body, nullptr, false);
    if (reply.status != 200) return body["error"].value("code", "");
    return body.value("state", "");
  }
  std::string current_state(const std::string& agent) {
    auto reply = call(api::Method::kGet, "/api/v1/agents/" + agent + "/state");
    if (reply.status != 200) return std::to_string(reply.status);
    return json::parse(reply.body).value("state", "");
  }
  void publish(std::string_view type, const std::string& org = "org-a", const std::string& user = "ana") {
    users::events::UserLifecycle change{std::string(type), org, user, clock_.now_unix_ms()};
    ASSERT_TRUE(bus_.publish(users::events::to_event(change), 1s).is_ok());
  }
  // Waits (bounded) until the follower has turned ana's state into `expected`.
  bool eventually(const std::string& agent, const std::string& expected) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until) {
      if (current_state(agent) == expected) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  ManualClock clock_;
  BusConfig bus_config_;
  bus::InProcessEventBus bus_{bus_config_, clock_};
  SupervisorAuthenticator auth_;
  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<RoutingService> service_;
  std::unique_ptr<api::Router> router_;
  std::unique_ptr<api::Dispatcher> dispatcher_;
};

TEST_F(UserLifecycleTest, ADeactivatedUsersAgentIsOfflineAndNotOfferedCalls) {
  publish(users::events::kUserDeactivated);
  ASSERT_TRUE(eventually("ana", "offline"));
  EXPECT_EQ(state("ana"), "agent_inactive");
  EXPECT_EQ(state("ana", "break"), "agent_inactive");

  CallRequest request;
  request.id = CallId("call-1");
  request.org = OrgId("org-a");
  request.queue = QueueId("q1");
  ASSERT_TRUE(service_->run([&](Engine& e) { return e.enqueue_call(request).status(); }).is_ok());
  auto view = service_->run([&](Engine& e) { return e.call(request.id); });
  ASSERT_TRUE(view.is_ok());
  EXPECT_EQ(view->state, CallState::kWaiting);
  EXPECT_TRUE(view->offered_to.empty());

  // Reactivated: offline still, but the agent may log in again and takes the waiting call.
  publish(users::events::kUserReactivated);
  const auto until = std::chrono::steady_clock::now() + 5s;
  std::string now = state("ana");
  while (now != "available" && now != "reserved" && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(20ms);
    now = state("ana");
  }
  EXPECT_TRUE(now == "available" || now == "reserved") << now;
  auto offered = service_->run([&](Engine& e) { return e.call(request.id); });
  ASSERT_TRUE(offered.is_ok());
  EXPECT_EQ(offered->offered_to, std::vector<AgentId>{AgentId("ana")});
}

TEST_F(UserLifecycleTest, ADeletedUsersAgentLeavesTheAcdAndItsStoredProfile) {
  publish(users::events::kUserDeleted);
  ASSERT_TRUE(eventually("ana", "404"));
  open_service();  // the stored profile is gone too
  EXPECT_EQ(current_state("ana"), "404");
}

TEST_F(UserLifecycleTest, AnotherOrganisationsUserOfTheSameIdChangesNothing) {
  for (std::string_view type : {users::events::kUserDeactivated, users::events::kUserDeleted}) {
    users::events::UserLifecycle change{std::string(type), "org-b", "ana", clock_.now_unix_ms()};
    ASSERT_TRUE(service_->apply_user_event(users::events::to_event(change)).is_ok());
  }
  EXPECT_EQ(current_state("ana"), "available");
  EXPECT_EQ(state("ana", "break"), "break");
  EXPECT_EQ(state("ana"), "available");
}

}  // namespace
}  // namespace vontres::routing
