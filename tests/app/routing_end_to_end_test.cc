// The routing service as `vontres serve` wires it (app::Services on the embedded platform, the
// system clock, the real timer thread), behind the real HTTP server and the users service's JWT
// authentication and permissions: an admin sets up a queue, a skill and an agent, a call arrives
// through the service API, and the live view, the decisions endpoint, the bus and the metrics tell
// the same story. The only timing here is the timer thread's, with generous bounds.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "api/server.h"
#include "app/platform.h"
#include "app/services.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/log.h"
#include "routing/service.h"
#include "support/backends.h"
#include "support/subprocess.h"
#include "users/users_fixture.h"
#include "users/users_service.h"

namespace vontres::app {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using users::testing::http_call;
using users::testing::Reply;

const std::string kAdminPassword = "admin-Pa55word-horse";
const std::string kAgentPassword = "agent-Pa55word-battery";

class RoutingEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::Options log_options;
    log_options.to_stderr = false;
    log::init(log_options);

    config_.data_dir = dir_.path();
    config_.auth = users::testing::fast_auth_config();
    config_.http.listen = {"127.0.0.1", 0};
    config_.http.io_threads = 1;
    config_.http.worker_threads = 2;
    config_.telephony.enabled = false;  // routing only: no SIP ports
    config_.routing.intent_rules.push_back({"billing_dispute", "billing", {{"billing", 5}}, 0});
    config_.routing.tick_resolution = 5ms;
    // Under vontres_with_backends (distributed:routing_end_to_end): Kafka, Redis Cluster, PostgreSQL.
    if (const std::string yaml = vontres::testing::shared_backends_yaml(); !yaml.empty()) {
      auto shared = parse_config(yaml, {});
      ASSERT_TRUE(shared.is_ok()) << shared.status().to_string();
      config_.bus = shared->bus;
      config_.cache = shared->cache;
      config_.state = shared->state;
      config_.store = shared->store;
    }
    ASSERT_TRUE(validate_config(config_).is_ok());

    auto platform = open_platform(config_, clock_, registry_);
    ASSERT_TRUE(platform.is_ok()) << platform.status().to_string();
    platform_ = std::move(platform).value();
    auto services = Services::start(config_, platform_, clock_, ids_, router_, &registry_);
    ASSERT_TRUE(services.is_ok()) << services.status().to_string();
    services_ = std::move(services).value();
    server_ = std::make_unique<api::HttpServer>(config_.http, router_, services_->authenticator(), registry_, clock_);
    ASSERT_TRUE(server_->start().is_ok());
    ASSERT_TRUE(users::create_admin(services_->users(), "Acme", "admin@acme.test", kAdminPassword).is_ok());
    admin_token_ = login("admin@acme.test", kAdminPassword);
  }

  void TearDown() override {
    if (server_) {
      server_->shutdown(1s);
      server_->wait();
    }
    if (services_) services_->stop();
  }

  Reply call(const std::string& method, const std::string& target, const std::string& token,
             const json& body = nullptr) {
    return http_call(server_->port(), method, target, body.is_null() ? std::string() : body.dump(),
                     users::testing::bearer(token));
  }

  std::string login(const std::string& email, const std::string& password) {
    Reply reply =
        http_call(server_->port(), "POST", "/api/v1/auth/login", json{{"email", email}, {"password", password}}.dump());
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json().value("access_token", "");
  }

  std::string metrics_text() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

  testing::TempDir dir_;
  Config config_;
  Clock& clock_ = SystemClock::instance();
  prometheus::Registry registry_;
  IdGenerator ids_{clock_};
  Platform platform_;
  api::Router router_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<api::HttpServer> server_;
  std::string admin_token_;
};

TEST_F(RoutingEndToEndTest, AdminSetsUpAQueueAndACallIsOfferedThenTimedOutByTheTimerThread) {
  // An agent user, who may change its own state but not the queues.
  Reply created = call("POST", "/api/v1/users", admin_token_,
                       {{"email", "ana@acme.test"}, {"password", kAgentPassword}, {"roles", {"agent"}}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string agent_id = created.json()["id"];
  const std::string agent_token = login("ana@acme.test", kAgentPassword);
  Reply me = call("GET", "/api/v1/auth/me", admin_token_);
  ASSERT_EQ(me.status, 200) << me.body;
  const std::string org_id = me.json()["user"]["org_id"];

  auto consumer = platform_.bus->subscribe({"routing.events"}, "end-to-end-test");
  ASSERT_TRUE(consumer.is_ok());

  EXPECT_EQ(call("POST", "/api/v1/queues", agent_token, {{"id", "sneaky"}}).status, 403);
  ASSERT_EQ(call("PUT", "/api/v1/skills/billing", admin_token_, {{"description", "Invoices"}}).status, 200);
  Reply queue = call("POST", "/api/v1/queues", admin_token_,
                     {{"id", "billing"},
                      {"name", "Billing"},
                      {"offer_timeout_ms", 300},
                      {"reoffer_delay_ms", 600000},
                      {"max_missed_offers", 0}});
  ASSERT_EQ(queue.status, 201) << queue.body;
  Reply profile = call("PUT", "/api/v1/agents/" + agent_id + "/routing-profile", admin_token_,
                       {{"name", "Ana"}, {"skills", {{"billing", 7}}}, {"queues", {{{"queue", "billing"}}}}});
  ASSERT_EQ(profile.status, 200) << profile.body;
  Reply rules = call("GET", "/api/v1/routing/rules", agent_token);
  ASSERT_EQ(rules.status, 200) << rules.body;
  EXPECT_EQ(rules.json()["source"], "configuration");
  EXPECT_EQ(rules.json()["rules"]["intents"][0]["queue"], "billing");
  Reply available = call("PUT", "/api/v1/agents/" + agent_id + "/state", agent_token, {{"state", "available"}});
  ASSERT_EQ(available.status, 200) << available.body;
  EXPECT_EQ(available.json()["state"], "available");

  // The AI service's view of the call picks the queue through the configured intent rule.
  routing::CallRequest request;
  request.id = CallId("call-e2e-1");
  request.org = OrgId(org_id);
  request.intent = "billing_dispute";
  auto placed = services_->routing()->run([&](routing::Engine& e) { return e.enqueue_call(request); });
  ASSERT_TRUE(placed.is_ok()) << placed.status().to_string();
  EXPECT_EQ(placed->queue, QueueId("billing"));

  Reply decisions = call("GET", "/api/v1/calls/call-e2e-1/routing-decisions", admin_token_);
  ASSERT_EQ(decisions.status, 200) << decisions.body;
  const json first = decisions.json()["decisions"][0];
  EXPECT_TRUE(first["offered"].get<bool>()) << decisions.body;
  EXPECT_EQ(first["offered_to"][0], agent_id);
  EXPECT_EQ(first["required_skills"][0]["skill"], "billing");
  EXPECT_EQ(call("GET", "/api/v1/calls/call-e2e-1/routing-decisions", agent_token).status, 403);

  Reply live = call("GET", "/api/v1/queues/billing/live", admin_token_);
  ASSERT_EQ(live.status, 200) << live.body;
  // Either still ringing, or already timed out by the timer thread if this machine is very slow.
  EXPECT_EQ(live.json()["offering"].get<int>() + live.json()["waiting"].get<int>(), 1) << live.body;
  EXPECT_EQ(live.json()["calls"][0]["id"], "call-e2e-1");

  // Nobody answers: the timer thread (woken early by the enqueue) times the offer out at ~300 ms.
  std::vector<std::string> call_events;
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < give_up &&
         std::find(call_events.begin(), call_events.end(), "route.timeout") == call_events.end()) {
    auto batch = (*consumer)->poll(16, 500ms);
    ASSERT_TRUE(batch.is_ok());
    for (const auto& delivery : *batch) {
      EXPECT_EQ(delivery.event.headers.at("org_id"), org_id);
      if (delivery.event.key == "call-e2e-1") call_events.push_back(delivery.event.type);
      ASSERT_TRUE((*consumer)->ack(delivery).is_ok());
    }
  }
  EXPECT_EQ(call_events, (std::vector<std::string>{"route.queued", "route.offered", "route.timeout"}));

  Reply after = call("GET", "/api/v1/queues/billing/live", admin_token_);
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.json()["waiting"], 1) << after.body;
  EXPECT_EQ(after.json()["offering"], 0) << after.body;
  const std::string metrics = metrics_text();
  EXPECT_NE(metrics.find("vontres_routing_calls_waiting{org_id=\"" + org_id + "\",queue_id=\"billing\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(vontres_routing_events_total{type="timeout"} 1)"), std::string::npos) << metrics;
}

TEST_F(RoutingEndToEndTest, ServicesStopTheTimerThreadAndCanBeStoppedTwice) {
  services_->stop();
  services_->stop();
  // Commands still work without the timer thread; only timers wait for the next command.
  auto listed = call("GET", "/api/v1/queues", admin_token_);
  EXPECT_EQ(listed.status, 200) << listed.body;
}

}  // namespace
}  // namespace vontres::app
