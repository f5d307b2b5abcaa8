// The gateway shell without sockets: the in-process bus, the manual clock and fake WebSocket
// connections that record what they were sent. The consumer thread is not started; each test
// pumps the bus itself.
#include "gateway/desktop_gateway.h"

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <nlohmann/json.hpp>

#include "bus/in_process_bus.h"
#include "core/clock.h"

namespace vontres::gateway {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class FakeConnection final : public api::WebSocketConnection {
 public:
  void send_text(std::string message) override {
    std::lock_guard lock(mu_);
    if (closed_) return;
    frames_.push_back(json::parse(message));
  }
  void close(std::string reason) override { close_with(kCloseNormal, std::move(reason)); }
  void close_with(uint16_t code, std::string reason) override {
    std::lock_guard lock(mu_);
    closed_ = true;
    close_code_ = code;
    close_reason_ = std::move(reason);
  }
  // A client that reads nothing: every frame stays queued.
  size_t queued_messages() const override {
    std::lock_guard lock(mu_);
    return stalled_ ? frames_.size() : 0;
  }

  void stall() {
    std::lock_guard lock(mu_);
    stalled_ = true;
  }
  std::vector<json> frames() const {
    std::lock_guard lock(mu_);
    return frames_;
  }
  // Event frames only (those with an id).
  std::vector<std::string> event_ids() const {
    std::vector<std::string> out;
    for (const auto& f : frames()) {
      if (f.contains("id")) out.push_back(f["id"].get<std::string>());
    }
    return out;
  }
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& f : frames()) out.push_back(f.value("type", ""));
    return out;
  }
  uint16_t close_code() const {
    std::lock_guard lock(mu_);
    return close_code_;
  }
  std::string close_reason() const {
    std::lock_guard lock(mu_);
    return close_reason_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<json> frames_;
  bool closed_ = false;
  bool stalled_ = false;
  uint16_t close_code_ = 0;
  std::string close_reason_;
};

class DesktopGatewayTest : public ::testing::Test {
 protected:
  DesktopGatewayTest() {
    options_.metrics = &registry_;
    options_.poll_timeout = 0ms;
    options_.client_queue = 8;
  }

  DesktopGateway& gateway() {
    if (!gateway_) {
      gateway_ = std::make_unique<DesktopGateway>(clock_, bus_, "node-7", options_);
      EXPECT_TRUE(gateway_->subscribe().is_ok());
    }
    return *gateway_;
  }

  std::string publish(const std::string& topic, const std::string& type, const json& payload,
                      const std::string& org = "org-a") {
    bus::Event e;
    e.topic = topic;
    e.key = payload.value("call_id", "");
    e.type = type;
    e.payload = payload.dump();
    e.headers["org_id"] = org;
    auto id = bus_.publish(std::move(e), 0ms);
    EXPECT_TRUE(id.is_ok());
    return id.is_ok() ? *id : std::string();
  }

  // Pumps until the bus has nothing more for the gateway (bounded).
  void drain() {
    for (int i = 0; i < 100; ++i) {
      auto n = gateway().pump(0ms);
      ASSERT_TRUE(n.is_ok());
      if (*n == 0) return;
    }
    FAIL() << "the bus never ran dry";
  }

  std::shared_ptr<FakeConnection> connect(const Audience& audience, std::optional<std::string> since = std::nullopt) {
    auto connection = std::make_shared<FakeConnection>();
    auto session = gateway().connect(audience, since, connection);
    EXPECT_TRUE(session.is_ok());
    if (session.is_ok()) sessions_.push_back(std::move(*session));
    return connection;
  }

  double metric(const std::string& line_prefix) {
    const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
    auto at = text.find("\n" + line_prefix + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + line_prefix.size() + 2));
  }

  ManualClock clock_;
  bus::InProcessEventBus bus_{BusConfig{}, clock_};
  prometheus::Registry registry_;
  DesktopGatewayOptions options_;
  std::unique_ptr<DesktopGateway> gateway_;
  std::vector<std::unique_ptr<api::WebSocketSession>> sessions_;
};

const Audience kSupervisor{"org-a", "", true};
const Audience kAnn{"org-a", "ann", false};
const Audience kOtherOrg{"org-b", "", true};

TEST_F(DesktopGatewayTest, JoinsAConsumerGroupOfItsOwnPerNode) {
  EXPECT_EQ(DesktopGateway::consumer_group("api-1:8080"), "gateway.api-1:8080");
  EXPECT_EQ(gateway().group(), "gateway.node-7");
  // Two api processes each see every event: their groups differ.
  DesktopGateway other(clock_, bus_, "node-8", DesktopGatewayOptions{});
  ASSERT_TRUE(other.subscribe().is_ok());
  auto sup = connect(kSupervisor);
  auto other_conn = std::make_shared<FakeConnection>();
  auto other_session = other.connect(kSupervisor, std::nullopt, other_conn);
  ASSERT_TRUE(other_session.is_ok());
  const std::string id = publish("call.events", "call.started", {{"call_id", "c1"}});
  drain();
  for (int i = 0; i < 10 && other_conn->event_ids().empty(); ++i) ASSERT_TRUE(other.pump(0ms).is_ok());
  EXPECT_EQ(sup->event_ids(), std::vector<std::string>{id});
  EXPECT_EQ(other_conn->event_ids(), std::vector<std::string>{id});
}

TEST_F(DesktopGatewayTest, PushesEachEventToWhoMaySeeIt) {
  auto sup = connect(kSupervisor);
  auto ann = connect(kAnn);
  auto other = connect(kOtherOrg);
  EXPECT_EQ(sup->types(), std::vector<std::string>{"gateway.live"});
  // The bus orders events per partition, not across topics: each is consumed before the next.
  const std::string started = publish("call.events", "call.started", {{"call_id", "c1"}});
  drain();
  const std::string offered = publish("routing.events", "route.offered", {{"call_id", "c1"}, {"agent_id", "ann"}});
  drain();
  const std::string transcript = publish("ai.events", "ai.transcript", {{"call_id", "c1"}, {"text", "hi"}});
  drain();
  const std::string bob = publish("routing.events", "agent.state_changed", {{"agent_id", "bob"}});
  drain();
  const std::string theirs = publish("call.events", "call.started", {{"call_id", "c9"}}, "org-b");
  drain();
  EXPECT_EQ(sup->event_ids(), (std::vector<std::string>{started, offered, transcript, bob}));
  EXPECT_EQ(ann->event_ids(), (std::vector<std::string>{offered, transcript}));
  EXPECT_EQ(other->event_ids(), std::vector<std::string>{theirs});
  const json frame = sup->frames()[2];
  EXPECT_EQ(frame["topic"], "routing.events");
  EXPECT_EQ(frame["type"], "route.offered");
  EXPECT_EQ(frame["data"]["agent_id"], "ann");
  EXPECT_TRUE(frame["ts"].is_number_integer());
  EXPECT_EQ(metric("vontres_gateway_pushed_total"), 7);
  EXPECT_EQ(metric("vontres_gateway_clients"), 3);
}

TEST_F(DesktopGatewayTest, OnlyTheConfiguredTopicsArePushed) {
  options_.topics = {"call.events"};
  auto sup = connect(kSupervisor);
  publish("ai.events", "ai.transcript", {{"call_id", "c1"}});
  const std::string id = publish("call.events", "call.started", {{"call_id", "c1"}});
  drain();
  EXPECT_EQ(sup->event_ids(), std::vector<std::string>{id});
}

TEST_F(DesktopGatewayTest, ARedeliveredEventIsNotPushedTwice) {
  auto sup = connect(kSupervisor);
  bus::Event e;
  e.id = "ev-1";
  e.topic = "call.events";
  e.type = "call.started";
  e.payload = json{{"call_id", "c1"}}.dump();
  e.headers["org_id"] = "org-a";
  EXPECT_EQ(gateway().ingest(e), Accepted::kNew);
  EXPECT_EQ(gateway().ingest(e), Accepted::kDuplicate);
  EXPECT_EQ(sup->event_ids(), std::vector<std::string>{"ev-1"});
  EXPECT_EQ(metric("vontres_gateway_events_total{outcome=\"duplicate\"}"), 1);
}

TEST_F(DesktopGatewayTest, DeliveriesAreAcknowledgedOnceRetained) {
  (void)gateway();
  publish("call.events", "call.started", {{"call_id", "c1"}});
  publish("call.events", "call.started", {{"call_id", "c2"}});  // nobody connected: retained anyway
  drain();
  EXPECT_EQ(bus_.retained("call.events"), 0u);  // the group acknowledged both
  // Even after the ack timeout, nothing comes back.
  clock_.advance(60s);
  auto again = gateway().pump(0ms);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(*again, 0u);
}

TEST_F(DesktopGatewayTest, EventsOfNoOrganisationAreAcknowledgedAndShownToNobody) {
  auto sup = connect(kSupervisor);
  bus::Event e;
  e.topic = "call.events";
  e.type = "call.started";
  e.payload = json{{"call_id", "c1"}}.dump();
  ASSERT_TRUE(bus_.publish(std::move(e), 0ms).is_ok());
  drain();
  EXPECT_TRUE(sup->event_ids().empty());
  EXPECT_EQ(bus_.retained("call.events"), 0u);
  EXPECT_EQ(metric("vontres_gateway_events_total{outcome=\"unscoped\"}"), 1);
}

TEST_F(DesktopGatewayTest, ResumeReplaysExactlyTheMissedEventsTheClientMaySee) {
  auto first = connect(kAnn);
  const std::string offered = publish("routing.events", "route.offered", {{"call_id", "c1"}, {"agent_id", "ann"}});
  drain();
  ASSERT_EQ(first->event_ids(), std::vector<std::string>{offered});
  // Ann's desktop goes away; meanwhile her call goes on and other things happen.
  sessions_.back()->on_close();
  EXPECT_EQ(gateway().clients(), 0u);
  const std::string t1 = publish("ai.events", "ai.transcript", {{"call_id", "c1"}});
  drain();
  publish("call.events", "call.started", {{"call_id", "c2"}});  // not Ann's
  publish("call.events", "call.started", {{"call_id", "c3"}}, "org-b");
  drain();
  const std::string t2 = publish("ai.events", "ai.sentiment", {{"call_id", "c1"}});
  drain();
  auto again = connect(kAnn, offered);
  EXPECT_EQ(again->event_ids(), (std::vector<std::string>{t1, t2}));
  EXPECT_EQ(again->types().back(), "gateway.live");
  EXPECT_EQ(again->frames().back()["data"]["replayed"], 2);
  // Then live, without repeating the replay.
  const std::string t3 = publish("ai.events", "ai.transcript", {{"call_id", "c1"}});
  drain();
  EXPECT_EQ(again->event_ids(), (std::vector<std::string>{t1, t2, t3}));
}

TEST_F(DesktopGatewayTest, ResumeFromAnUnknownIdAsksForAResync) {
  publish("call.events", "call.started", {{"call_id", "c1"}});
  const std::string theirs = publish("call.events", "call.started", {{"call_id", "c2"}}, "org-b");
  drain();
  for (const std::string& since : {std::string("no-such-id"), theirs}) {
    auto sup = connect(kSupervisor, since);
    EXPECT_EQ(sup->types(), (std::vector<std::string>{"gateway.resync_required", "gateway.live"})) << since;
    EXPECT_EQ(sup->frames()[0], json({{"type", "gateway.resync_required"}}));
  }
}

TEST_F(DesktopGatewayTest, ResumeFromAnExpiredIdAsksForAResync) {
  options_.log.retention = 30s;
  const std::string old = publish("call.events", "call.started", {{"call_id", "c1"}});
  drain();
  clock_.advance(31s);
  auto sup = connect(kSupervisor, old);
  EXPECT_EQ(sup->types().front(), "gateway.resync_required");
}

TEST_F(DesktopGatewayTest, ResumeFurtherBackThanOneClientQueueAsksForAResync) {
  const std::string from = publish("call.events", "call.started", {{"call_id", "c0"}});
  for (int i = 1; i <= 10; ++i) publish("call.events", "call.started", {{"call_id", "c" + std::to_string(i)}});
  drain();
  auto sup = connect(kSupervisor, from);  // 10 missed, queue of 8
  EXPECT_EQ(sup->types(), (std::vector<std::string>{"gateway.resync_required", "gateway.live"}));
}

TEST_F(DesktopGatewayTest, ASlowClientIsDroppedWithACloseCodeAndCounted) {
  auto slow = connect(kSupervisor);
  auto fast = connect(kSupervisor);
  slow->stall();
  for (int i = 0; i < 20; ++i) publish("call.events", "call.started", {{"call_id", "c" + std::to_string(i)}});
  drain();
  EXPECT_EQ(slow->close_code(), api::WebSocketConnection::kCloseTryAgainLater);
  EXPECT_EQ(slow->close_reason(), "slow_consumer");
  EXPECT_LE(slow->frames().size(), options_.client_queue);
  EXPECT_EQ(fast->event_ids().size(), 20u);  // the others are not held back
  EXPECT_EQ(gateway().clients(), 1u);
  EXPECT_EQ(metric("vontres_gateway_clients_dropped_total{reason=\"slow_consumer\"}"), 1);
  EXPECT_EQ(bus_.retained("call.events"), 0u);  // and the bus consumer was never held up
}

TEST_F(DesktopGatewayTest, AudienceComesFromThePrincipalsPermissions) {
  api::Principal supervisor;
  supervisor.subject = "usr-1";
  supervisor.org_id = "org-a";
  supervisor.permissions = {"calls.monitor", "calls.read"};
  auto a = DesktopGateway::audience_of(supervisor);
  ASSERT_TRUE(a.is_ok());
  EXPECT_TRUE(a->whole_organisation);
  EXPECT_EQ(a->org_id, "org-a");

  api::Principal agent;
  agent.subject = "usr-2";
  agent.org_id = "org-a";
  agent.permissions = {"calls.handle"};
  auto b = DesktopGateway::audience_of(agent);
  ASSERT_TRUE(b.is_ok());
  EXPECT_FALSE(b->whole_organisation);
  EXPECT_EQ(b->agent_id, "usr-2");

  api::Principal neither;
  neither.subject = "key-1";
  neither.org_id = "org-a";
  neither.permissions = {"queues.read"};
  auto c = DesktopGateway::audience_of(neither);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), "forbidden");
}

TEST_F(DesktopGatewayTest, RefusesClientsBeyondTheLimit) {
  options_.max_clients = 1;
  connect(kSupervisor);
  auto connection = std::make_shared<FakeConnection>();
  auto refused = gateway().connect(kSupervisor, std::nullopt, connection);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), "too_many_clients");
}

TEST_F(DesktopGatewayTest, RegistersAnAuthenticatedWebSocketRoute) {
  api::Router router;
  gateway().register_routes(router);
  auto match = router.match(api::Method::kGet, "/api/v1/events");
  ASSERT_EQ(match.outcome, api::Router::MatchOutcome::kFound);
  EXPECT_TRUE(static_cast<bool>(match.route->websocket_open));
  EXPECT_FALSE(match.route->options.public_route);
  EXPECT_EQ(match.route->options.tag, "gateway");
}

TEST_F(DesktopGatewayTest, StartAndStopRunTheConsumerThread) {
  options_.poll_timeout = 10ms;
  DesktopGateway running(clock_, bus_, "node-9", DesktopGatewayOptions{options_.topics, {}, 8, 10, 10ms, nullptr});
  ASSERT_TRUE(running.start().is_ok());
  auto sup = std::make_shared<FakeConnection>();
  auto session = running.connect(kSupervisor, std::nullopt, sup);
  ASSERT_TRUE(session.is_ok());
  const std::string id = publish("call.events", "call.started", {{"call_id", "c1"}});
  for (int i = 0; i < 500 && sup->event_ids().empty(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(sup->event_ids(), std::vector<std::string>{id});
  running.stop();
  running.stop();  // idempotent
  EXPECT_EQ(running.clients(), 0u);
}

}  // namespace
}  // namespace vontres::gateway
