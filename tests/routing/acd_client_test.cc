// The call host's view of the ACD (routing/acd_client.h) in both shapes: in process, and over the
// bus with the routing process's RoutingCommandHandler. The same commands must leave the engine in
// the same state either way, and every command delivered twice must leave it as delivered once.
#include "routing/acd_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "bus/in_process_bus.h"
#include "core/config.h"
#include "routing/command_handler.h"
#include "routing/service.h"
#include "store/sqlite_store.h"

namespace vontres::routing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const OrgId kOrg("org-a");
const QueueId kQueue("support");
const AgentId kAgent("ana");

class AcdClientTest : public ::testing::TestWithParam<bool> {  // true: over the bus
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vontres-acd-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = store::SqliteStore::open(StoreConfig{}, (dir_ / "db.sqlite").string(), clock_);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    service_ = std::make_unique<RoutingService>(clock_, bus_, *store_);
    ASSERT_TRUE(service_->start().is_ok());
    QueueConfig queue;
    queue.id = kQueue;
    queue.org = kOrg;
    queue.name = "Support";
    ASSERT_TRUE(service_->run([&](Engine& e) { return e.upsert_queue(queue); }).is_ok());
    AgentConfig agent;
    agent.id = kAgent;
    agent.org = kOrg;
    agent.queues = {{kQueue, 0}};
    ASSERT_TRUE(service_->run([&](Engine& e) { return e.upsert_agent(agent); }).is_ok());
    // The look-ups of the bus client read what the routing service persisted.
    ASSERT_TRUE(store_
                    ->execute("INSERT INTO routing_queues (org_id, id, config, updated_at_ms) VALUES ($1, $2, '{}', 0)",
                              {kOrg.str(), kQueue.str()})
                    .is_ok());
    ASSERT_TRUE(
        store_
            ->execute("INSERT INTO routing_agents (org_id, id, profile, updated_at_ms) VALUES ($1, $2, '{}', 0)",
                      {kOrg.str(), kAgent.str()})
            .is_ok());
    auto events = bus_.subscribe({"routing.events"}, "test-events", {.from_beginning = false});
    ASSERT_TRUE(events.is_ok());
    events_ = std::move(events).value();
    if (GetParam()) {
      auto commands = bus_.subscribe({"routing.commands"}, "routing", {.from_beginning = true});
      ASSERT_TRUE(commands.is_ok());
      commands_ = std::move(commands).value();
      handler_ = std::make_unique<RoutingCommandHandler>(bus_, *service_);
      client_ = std::make_unique<BusAcdClient>(bus_, *store_, BusAcdClientOptions{});
    } else {
      client_ = std::make_unique<InProcessAcdClient>(*service_);
    }
  }
  void TearDown() override {
    client_.reset();
    handler_.reset();
    commands_.reset();
    events_.reset();
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Over the bus: hands every command sent so far to the handler `times` times (the second time as
  // a redelivery with the same event id, later ones as duplicate publishes with a new id, as a
  // sender retrying after a timeout makes), then acknowledges it.
  void deliver(int times = 1) {
    if (!GetParam()) return;
    auto polled = commands_->poll(100, 200ms);
    ASSERT_TRUE(polled.is_ok());
    for (const auto& d : *polled) {
      for (int i = 0; i < times; ++i) {
        bus::Event copy = d.event;
        if (i >= 2) copy.id += "-again-" + std::to_string(i);
        EXPECT_TRUE(handler_->handle(copy).is_ok()) << copy.type;
      }
      ASSERT_TRUE(commands_->ack(d).is_ok());
    }
  }

  std::vector<std::string> event_types() {
    std::vector<std::string> out;
    auto polled = events_->poll(100, 100ms);
    if (!polled.is_ok()) return out;
    for (const auto& d : *polled) {
      out.push_back(d.event.type);
      (void)events_->ack(d);
    }
    return out;
  }

  QueueView queue() {
    auto view = service_->run([&](Engine& e) { return e.queue_view(kOrg, kQueue, 10); });
    EXPECT_TRUE(view.is_ok());
    return view.is_ok() ? *view : QueueView{};
  }

  CallRequest call(const std::string& id) {
    CallRequest r;
    r.id = CallId(id);
    r.org = kOrg;
    r.queue = kQueue;
    return r;
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  ManualClock clock_;
  bus::InProcessEventBus bus_{BusConfig{}, clock_};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<RoutingService> service_;
  std::unique_ptr<bus::Consumer> events_;
  std::unique_ptr<bus::Consumer> commands_;
  std::unique_ptr<RoutingCommandHandler> handler_;
  std::unique_ptr<AcdClient> client_;
};

TEST_P(AcdClientTest, EveryCommandDeliveredTwiceLeavesTheAcdAsDeliveredOnce) {
  ASSERT_TRUE(client_->enqueue(call("c1")).is_ok());
  ASSERT_TRUE(client_->enqueue(call("c2")).is_ok());
  deliver(3);
  EXPECT_EQ(queue().waiting, 2u);
  EXPECT_EQ(queue().stats.arrived, 2u);

  ASSERT_TRUE(client_->agent_phone(kOrg, kAgent, true).is_ok());
  deliver(3);
  auto offered = service_->run([&](Engine& e) { return e.agent(kOrg, kAgent); });
  ASSERT_TRUE(offered.is_ok());
  ASSERT_TRUE(client_->accept_offer(kOrg, CallId("c1"), kAgent).is_ok());
  deliver(3);
  EXPECT_EQ(queue().stats.answered, 1u);
  EXPECT_EQ(queue().waiting, 1u);

  ASSERT_TRUE(client_->call_ended(kOrg, CallId("c2")).is_ok());  // c2 hangs up while waiting
  deliver(3);
  EXPECT_EQ(queue().stats.abandoned, 1u);
  ASSERT_TRUE(client_->call_ended(kOrg, CallId("c1")).is_ok());
  deliver(3);
  EXPECT_EQ(queue().waiting, 0u);
  EXPECT_EQ(queue().stats.answered, 1u);
  EXPECT_EQ(queue().stats.abandoned, 1u);
  EXPECT_EQ(queue().stats.arrived, 2u);
}

TEST_P(AcdClientTest, AnEnqueueTheAcdRefusesReachesTheCallHost) {
  CallRequest unknown = call("c9");
  unknown.queue = QueueId("no-such-queue");
  Status sent = client_->enqueue(unknown);
  deliver();
  if (GetParam()) {
    // Over the bus the refusal is an event for the call, as every other outcome is.
    ASSERT_TRUE(sent.is_ok());
    std::vector<std::string> types = event_types();
    EXPECT_NE(std::find(types.begin(), types.end(), "route.rejected"), types.end());
  } else {
    EXPECT_EQ(sent.code(), "queue_not_found");
  }
}

TEST_P(AcdClientTest, LookUpsAnswerTheSameEitherWay) {
  EXPECT_TRUE(*client_->queue_exists(kOrg, kQueue));
  EXPECT_FALSE(*client_->queue_exists(kOrg, QueueId("nope")));
  EXPECT_FALSE(*client_->queue_exists(OrgId("org-b"), kQueue));
  EXPECT_TRUE(*client_->agent_exists(kOrg, kAgent));
  EXPECT_FALSE(*client_->agent_exists(OrgId("org-b"), kAgent));
}

TEST_P(AcdClientTest, AMalformedCommandIsDroppedWithAnError) {
  if (!GetParam()) GTEST_SUCCEED() << "only commands on the bus can be malformed";
  if (!GetParam()) return;
  bus::Event junk;
  junk.id = "junk-1";
  junk.type = "acd.enqueue";
  junk.payload = "not json";
  EXPECT_EQ(handler_->handle(junk).code(), "invalid_command");
  junk.payload = "{}";
  junk.type = "acd.nonsense";
  junk.id = "junk-2";
  EXPECT_EQ(handler_->handle(junk).code(), "invalid_command");
}

INSTANTIATE_TEST_SUITE_P(Shapes, AcdClientTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "Bus" : "InProcess"; });

}  // namespace
}  // namespace vontres::routing
