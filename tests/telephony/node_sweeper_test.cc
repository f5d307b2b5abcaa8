// NodeSweeper and CallRecords: two call hosts ("node-a", "node-b") share one Store and one state
// store, as nodes of one deployment do. When node-a's heartbeat lapses, node-b ends node-a's open
// calls with node_lost exactly once (even with two sweepers racing), publishes their call.ended,
// tells the ACD, and leaves live nodes' calls alone; node-a's own late end is then refused.
#include "telephony/node_sweeper.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <set>

#include "bus/in_process_bus.h"
#include "core/config.h"
#include "state/in_process_state_store.h"
#include "store/sqlite_store.h"

namespace vontres::telephony {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class FakeAcd final : public routing::AcdClient {
 public:
  Status enqueue(const routing::CallRequest&) override { return Status::ok(); }
  Status cancel(const OrgId&, const CallId&, const std::string&) override { return Status::ok(); }
  Status accept_offer(const OrgId&, const CallId&, const AgentId&) override { return Status::ok(); }
  Status decline_offer(const OrgId&, const CallId&, const AgentId&, const std::string&) override {
    return Status::ok();
  }
  Status call_ended(const OrgId& org, const CallId& call) override {
    ended.push_back(org.str() + "/" + call.str());
    return Status::ok();
  }
  Status request_callback(const OrgId&, const CallId&) override { return Status::ok(); }
  Status agent_phone(const OrgId&, const AgentId&, bool) override { return Status::ok(); }
  Result<bool> queue_exists(const OrgId&, const QueueId&) override { return true; }
  Result<bool> agent_exists(const OrgId&, const AgentId&) override { return true; }
  std::vector<std::string> ended;
};

class NodeSweeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("vontres-sweeper-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = store::SqliteStore::open(StoreConfig{}, (dir_ / "db.sqlite").string(), clock_);
    ASSERT_TRUE(store.is_ok());
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->migrate(CallRecords::migrations()).is_ok());
    records_ = std::make_unique<CallRecords>(*store_, clock_);
    auto events = bus_.subscribe({"call.events"}, "test", {});
    ASSERT_TRUE(events.is_ok());
    events_ = std::move(events).value();
  }
  void TearDown() override {
    events_.reset();
    records_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<NodeSweeper> sweeper(const std::string& node, FakeAcd* acd) {
    NodeSweeperOptions options;
    options.node_id = node;
    options.heartbeat_ttl = 10s;
    options.sweep_others = true;
    return std::make_unique<NodeSweeper>(state_, *records_, bus_, acd, options);
  }

  CallSnapshot live_call(const std::string& id, const std::string& node) {
    CallSnapshot call;
    call.id = CallId(id);
    call.org = OrgId("org-1");
    call.phase = CallPhase::kQueued;
    call.queue = QueueId("support");
    call.agent = AgentId("ana");
    call.started_at = clock_.now();
    call.queued_at = clock_.now();
    auto written = records_->write(call, json::object(), node);
    EXPECT_TRUE(written.is_ok() && *written);
    return call;
  }

  std::vector<json> ended_events() {
    std::vector<json> out;
    auto polled = events_->poll(100, 100ms);
    if (!polled.is_ok()) return out;
    for (const auto& d : *polled) {
      if (d.event.type == "call.ended") out.push_back(json::parse(d.event.payload));
      (void)events_->ack(d);
    }
    return out;
  }

  std::filesystem::path dir_;
  ManualClock clock_;
  state::InProcessStateStore state_{clock_};
  bus::InProcessEventBus bus_{BusConfig{}, clock_};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CallRecords> records_;
  std::unique_ptr<bus::Consumer> events_;
};

TEST_F(NodeSweeperTest, ALostNodesCallsEndNodeLostOnceAndLiveNodesAreLeftAlone) {
  FakeAcd acd_b;
  FakeAcd acd_c;
  auto a = sweeper("node-a", nullptr);
  auto b = sweeper("node-b", &acd_b);
  auto c = sweeper("node-c", &acd_c);
  ASSERT_TRUE(a->heartbeat().is_ok());
  ASSERT_TRUE(b->heartbeat().is_ok());
  ASSERT_TRUE(c->heartbeat().is_ok());
  live_call("a1", "node-a");
  live_call("a2", "node-a");
  live_call("b1", "node-b");

  // Everyone alive: nothing to sweep.
  EXPECT_EQ(*b->sweep(), 0);
  EXPECT_TRUE(ended_events().empty());

  // node-a dies (stops beating); b and c keep beating past a's TTL.
  clock_.advance(6s);
  ASSERT_TRUE(b->heartbeat().is_ok());
  ASSERT_TRUE(c->heartbeat().is_ok());
  EXPECT_EQ(*c->sweep(), 0) << "a's heartbeat is still within its TTL";
  clock_.advance(6s);
  ASSERT_TRUE(b->heartbeat().is_ok());
  ASSERT_TRUE(c->heartbeat().is_ok());
  EXPECT_FALSE(*b->alive("node-a"));

  // Two survivors race: the calls end once between them.
  const int by_b = *b->sweep();
  const int by_c = *c->sweep();
  EXPECT_EQ(by_b + by_c, 2);
  std::vector<json> ended = ended_events();
  ASSERT_EQ(ended.size(), 2u);
  std::set<std::string> ids;
  for (const auto& e : ended) {
    ids.insert(e.value("call_id", ""));
    EXPECT_EQ(e.value("reason", ""), "node_lost");
    EXPECT_EQ(e.value("owner_node", ""), "node-a");
    EXPECT_EQ(e.value("org_id", ""), "org-1");
    EXPECT_EQ(e.value("agent", ""), "ana");
  }
  EXPECT_EQ(ids, (std::set<std::string>{"a1", "a2"}));
  EXPECT_EQ(acd_b.ended.size() + acd_c.ended.size(), 2u);

  auto open = records_->open_calls();
  ASSERT_TRUE(open.is_ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ(open->front().id, "b1") << "a live node's call is left alone";
  auto a1 = records_->find("org-1", "a1");
  ASSERT_TRUE(a1.is_ok());
  EXPECT_EQ(a1->value("end_reason", ""), "node_lost");

  // node-a comes back and writes its own end of a1: refused, the first end stays.
  CallSnapshot late = live_call("a3", "node-a");  // (a new call of a's is fine)
  CallSnapshot a1_end;
  a1_end.id = CallId("a1");
  a1_end.org = OrgId("org-1");
  a1_end.phase = CallPhase::kEnded;
  a1_end.started_at = clock_.now();
  a1_end.ended_at = clock_.now();
  a1_end.end_reason = EndReason::kCallerHangup;
  auto refused = records_->write(a1_end, json::object(), "node-a");
  ASSERT_TRUE(refused.is_ok());
  EXPECT_FALSE(*refused);
  EXPECT_EQ(records_->find("org-1", "a1")->value("end_reason", ""), "node_lost");
  // Sweeping again changes nothing.
  EXPECT_EQ(*b->sweep() + *c->sweep(), 1) << "only a3, whose node has no heartbeat again";
  (void)late;
}

TEST_F(NodeSweeperTest, ARestartedNodeClosesItsOwnOpenCalls) {
  auto a = sweeper("node-a", nullptr);
  live_call("x1", "node-a");
  live_call("x2", "node-a");
  EXPECT_EQ(*a->close_own(), 2);
  EXPECT_EQ(*a->close_own(), 0);
  EXPECT_EQ(ended_events().size(), 2u);
  EXPECT_TRUE(records_->open_calls()->empty());
}

TEST_F(NodeSweeperTest, WithAPerProcessStateStoreOtherNodesAreNeverSwept) {
  NodeSweeperOptions options;
  options.node_id = "node-b";
  options.sweep_others = false;
  NodeSweeper b(state_, *records_, bus_, nullptr, options);
  live_call("a1", "node-a");  // no heartbeat of node-a visible here
  EXPECT_EQ(*b.sweep(), 0);
  EXPECT_EQ(records_->open_calls()->size(), 1u);
}

}  // namespace
}  // namespace vontres::telephony
