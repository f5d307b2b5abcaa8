#include "bus/in_process_bus.h"

#include <memory>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "bus/event_bus_contract.h"

namespace vontres::bus {
namespace {

using namespace std::chrono_literals;
using testing::EventBusBackend;
using testing::EventBusCapacityContract;
using testing::EventBusContract;

EventBusBackend in_process_backend() {
  return EventBusBackend{"InProcess", [](const BusConfig& config, const Clock& clock) -> std::unique_ptr<EventBus> {
                           return std::make_unique<InProcessEventBus>(config, clock);
                         }};
}

INSTANTIATE_TEST_SUITE_P(InProcess, EventBusContract, ::testing::Values(in_process_backend()),
                         [](const ::testing::TestParamInfo<EventBusBackend>& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(InProcess, EventBusCapacityContract, ::testing::Values(in_process_backend()),
                         [](const ::testing::TestParamInfo<EventBusBackend>& info) { return info.param.name; });

// Reads one sample of a metric family by its topic label; -1 when absent.
double metric_value(prometheus::Registry& registry, const std::string& name, const std::string& topic) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "topic" && label.value == topic) {
          return family.type == prometheus::MetricType::Gauge ? metric.gauge.value : metric.counter.value;
        }
      }
    }
  }
  return -1;
}

class InProcessEventBusTest : public ::testing::Test {
 protected:
  // The bus member is built from config_, so the config must be complete before the body runs.
  static BusConfig small_config() {
    BusConfig config;
    config.partitions = 4;
    config.capacity_per_topic = 3;
    config.ack_timeout = 10s;
    return config;
  }

  Event event(const std::string& key, const std::string& payload) {
    Event e;
    e.topic = "calls";
    e.key = key;
    e.type = "call.started";
    e.payload = payload;
    return e;
  }

  std::unique_ptr<Consumer> join(const std::string& group, bool from_beginning = false) {
    auto consumer = bus_.subscribe({"calls"}, group, ConsumerOptions{from_beginning});
    EXPECT_TRUE(consumer.is_ok());
    return std::move(consumer).value();
  }

  std::vector<Delivery> poll_now(Consumer& consumer) {
    auto got = consumer.poll(100, 0ms);
    EXPECT_TRUE(got.is_ok());
    return got.is_ok() ? *got : std::vector<Delivery>{};
  }

  // Two keys whose partitions differ and map to members 0 and 1 of a two-member group.
  std::pair<std::string, std::string> keys_for_two_members() const {
    std::string even;
    std::string odd;
    for (int i = 0; even.empty() || odd.empty(); ++i) {
      const std::string key = "call-" + std::to_string(i);
      (bus_.partition_for_key(key) % 2 == 0 ? even : odd) = key;
    }
    return {even, odd};
  }

  BusConfig config_ = small_config();
  ManualClock clock_;
  prometheus::Registry registry_;
  InProcessEventBus bus_{config_, clock_, &registry_};
};

TEST_F(InProcessEventBusTest, AKeyAlwaysMapsToTheSamePartitionAndKeysSpreadOverAllPartitions) {
  std::set<int> used;
  for (int i = 0; i < 200; ++i) {
    const std::string key = "call-" + std::to_string(i);
    const int partition = bus_.partition_for_key(key);
    EXPECT_EQ(partition, bus_.partition_for_key(key));
    EXPECT_GE(partition, 0);
    EXPECT_LT(partition, config_.partitions);
    used.insert(partition);
  }
  EXPECT_EQ(used.size(), static_cast<size_t>(config_.partitions));
}

TEST_F(InProcessEventBusTest, DeliveriesCarryTheKeysPartitionAndOffsetsCountFromZero) {
  auto consumer = join("g");
  ASSERT_TRUE(bus_.publish(event("call-1", "a"), 0ms).is_ok());
  ASSERT_TRUE(bus_.publish(event("call-1", "b"), 0ms).is_ok());
  auto got = poll_now(*consumer);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].partition, bus_.partition_for_key("call-1"));
  EXPECT_EQ(got[0].offset, 0u);
  EXPECT_EQ(got[1].offset, 1u);
}

TEST_F(InProcessEventBusTest, ATopicWithoutAGroupEvictsItsOldestEventWhenFullAndCountsIt) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(bus_.publish(event("call-" + std::to_string(i), std::to_string(i)), 0ms).is_ok());
  EXPECT_EQ(bus_.retained("calls"), 3u);
  EXPECT_EQ(metric_value(registry_, "vontres_bus_evicted_total", "calls"), 2);
  auto consumer = join("g", /*from_beginning=*/true);
  std::set<std::string> payloads;
  for (const auto& d : poll_now(*consumer)) payloads.insert(d.event.payload);
  EXPECT_EQ(payloads, (std::set<std::string>{"2", "3", "4"}));
}

TEST_F(InProcessEventBusTest, AGroupStartingAtTheEndReleasesTheBacklogNoGroupNeeds) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(bus_.publish(event("k", std::to_string(i)), 0ms).is_ok());
  auto consumer = join("g");
  EXPECT_EQ(bus_.retained("calls"), 0u);
  auto late = join("late", /*from_beginning=*/true);
  EXPECT_TRUE(poll_now(*late).empty());
}

TEST_F(InProcessEventBusTest, AGroupWhoseMembersAllLeftStillHoldsItsEventsAndBackPressures) {
  join("g").reset();  // the group exists now, with no member
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(bus_.publish(event("k", std::to_string(i)), 0ms).is_ok());
  auto full = bus_.publish(event("k", "3"), 0ms);
  EXPECT_EQ(full.status().code(), "bus_full");
  EXPECT_EQ(metric_value(registry_, "vontres_bus_backpressure_total", "calls"), 1);
  EXPECT_EQ(metric_value(registry_, "vontres_bus_evicted_total", "calls"), 0);
  auto back = join("g");
  EXPECT_EQ(poll_now(*back).size(), 3u);
}

TEST_F(InProcessEventBusTest, AcknowledgedEventsAreReleased) {
  auto a = join("a");
  auto b = join("b");
  ASSERT_TRUE(bus_.publish(event("k", "0"), 0ms).is_ok());
  EXPECT_EQ(bus_.retained("calls"), 1u);
  for (const auto& d : poll_now(*a)) ASSERT_TRUE(a->ack(d).is_ok());
  EXPECT_EQ(bus_.retained("calls"), 1u);
  EXPECT_EQ(metric_value(registry_, "vontres_bus_retained_events", "calls"), 1);
  for (const auto& d : poll_now(*b)) ASSERT_TRUE(b->ack(d).is_ok());
  EXPECT_EQ(bus_.retained("calls"), 0u);
  EXPECT_EQ(metric_value(registry_, "vontres_bus_retained_events", "calls"), 0);
}

TEST_F(InProcessEventBusTest, MetricsCountPublishedDeliveredAndRedelivered) {
  auto consumer = join("g");
  ASSERT_TRUE(bus_.publish(event("k", "0"), 0ms).is_ok());
  ASSERT_TRUE(bus_.publish(event("k", "1"), 0ms).is_ok());
  auto got = poll_now(*consumer);
  ASSERT_EQ(got.size(), 2u);
  ASSERT_TRUE(consumer->nack(got[0]).is_ok());
  auto again = poll_now(*consumer);
  EXPECT_EQ(metric_value(registry_, "vontres_bus_published_total", "calls"), 2);
  EXPECT_EQ(metric_value(registry_, "vontres_bus_delivered_total", "calls"), 3);
  EXPECT_EQ(metric_value(registry_, "vontres_bus_redelivered_total", "calls"), 1);
}

TEST_F(InProcessEventBusTest, AckTimeoutsRunOnTheInjectedClockNotRealTime) {
  auto consumer = join("g");
  ASSERT_TRUE(bus_.publish(event("k", "0"), 0ms).is_ok());
  ASSERT_EQ(poll_now(*consumer).size(), 1u);
  // A real-time wait longer than nothing but far shorter than the timeout changes nothing...
  EXPECT_TRUE(consumer->poll(10, 5ms)->empty());
  // ...while the manual clock alone triggers redelivery.
  clock_.advance(10s);
  EXPECT_EQ(poll_now(*consumer).size(), 1u);
}

TEST_F(InProcessEventBusTest, AnInFlightDeliveryOnAMovedPartitionStaysWithItsHolderUntilTheAckTimeout) {
  auto [key_for_first, key_for_second] = keys_for_two_members();
  auto a = join("g");
  ASSERT_TRUE(bus_.publish(event(key_for_second, "x"), 0ms).is_ok());
  auto held = poll_now(*a);
  ASSERT_EQ(held.size(), 1u);
  auto b = join("g");  // takes over the partition of key_for_second
  EXPECT_TRUE(poll_now(*b).empty()) << "moved before the holder had a chance to ack";
  clock_.advance(config_.ack_timeout);
  auto moved = poll_now(*b);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].attempt, 2);
  // The old holder may still acknowledge it; that settles it for the group and the repeat is a no-op.
  EXPECT_TRUE(a->ack(held[0]).is_ok());
  EXPECT_TRUE(b->ack(moved[0]).is_ok());
  EXPECT_EQ(bus_.retained("calls"), 0u);
}

TEST_F(InProcessEventBusTest, AnExpiredDeliveryWakesTheOwnerWhenAnotherMemberNoticesIt) {
  auto [key_for_first, key_for_second] = keys_for_two_members();
  auto a = join("g");
  auto b = join("g");
  ASSERT_TRUE(bus_.publish(event(key_for_second, "x"), 0ms).is_ok());
  ASSERT_EQ(poll_now(*b).size(), 1u);
  clock_.advance(config_.ack_timeout);
  EXPECT_TRUE(poll_now(*a).empty());  // a notices the expiry, but the partition is b's
  auto again = b->poll(10, 1s);
  ASSERT_TRUE(again.is_ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].attempt, 2);
}

TEST_F(InProcessEventBusTest, NackingAnAcknowledgedDeliveryIsANoOp) {
  auto consumer = join("g");
  ASSERT_TRUE(bus_.publish(event("k", "0"), 0ms).is_ok());
  auto got = poll_now(*consumer);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(consumer->ack(got[0]).is_ok());
  EXPECT_TRUE(consumer->nack(got[0]).is_ok());
  EXPECT_TRUE(poll_now(*consumer).empty());
}

TEST_F(InProcessEventBusTest, AnUnknownDeliveryReportsDeliveryUnknown) {
  auto consumer = join("g");
  Delivery made_up;
  made_up.event.topic = "calls";
  made_up.offset = 7;
  EXPECT_EQ(consumer->ack(made_up).code(), "delivery_unknown");
  EXPECT_EQ(consumer->ack(made_up).kind(), ErrorKind::kNotFound);
}

TEST_F(InProcessEventBusTest, WorksWithoutAMetricsRegistry) {
  InProcessEventBus bus(config_, clock_);
  auto consumer = bus.subscribe({"calls"}, "g");
  ASSERT_TRUE(consumer.is_ok());
  ASSERT_TRUE(bus.publish(event("k", "0"), 0ms).is_ok());
  EXPECT_EQ((*consumer)->poll(10, 0ms)->size(), 1u);
}

}  // namespace
}  // namespace vontres::bus
