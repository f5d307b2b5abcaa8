#include "bus/outbox.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "bus/in_process_bus.h"

namespace vontres::bus {
namespace {

using namespace std::chrono_literals;

// The in-process bus behind a switch: while `failures` > 0, publish() fails with the given code.
class FlakyBus final : public EventBus {
 public:
  FlakyBus(const BusConfig& config, const Clock& clock) : inner_(config, clock) {}
  Result<std::string> publish(Event event, std::chrono::milliseconds max_wait) override {
    ++attempts;
    if (failures.load() > 0) {
      --failures;
      if (failure_code == "topic_invalid") return invalid_argument("refused", failure_code);
      return unavailable("brokers down", failure_code);
    }
    return inner_.publish(std::move(event), max_wait);
  }
  Result<std::unique_ptr<Consumer>> subscribe(const std::vector<std::string>& topics, const std::string& group,
                                              const ConsumerOptions& options) override {
    return inner_.subscribe(topics, group, options);
  }
  Status ping() override { return inner_.ping(); }

  std::atomic<int> failures{0};
  std::atomic<int> attempts{0};
  std::string failure_code = "bus_unavailable";

 private:
  InProcessEventBus inner_;
};

Event event(const std::string& key, const std::string& payload) {
  Event e;
  e.topic = "calls";
  e.key = key;
  e.type = "call.updated";
  e.payload = payload;
  return e;
}

double counter(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name == name && !family.metric.empty()) {
      return family.type == prometheus::MetricType::Gauge ? family.metric[0].gauge.value
                                                          : family.metric[0].counter.value;
    }
  }
  return -1;
}

class OutboxTest : public ::testing::Test {
 protected:
  static OutboxOptions fast() {
    OutboxOptions options;
    options.capacity = 4;
    options.publish_wait = 10ms;
    options.retry_backoff = 1ms;
    options.max_backoff = 5ms;
    options.shutdown_flush = 500ms;
    return options;
  }

  std::vector<Delivery> consume(Consumer& consumer, size_t count) {
    std::vector<Delivery> got;
    for (int i = 0; i < 200 && got.size() < count; ++i) {
      auto batch = consumer.poll(100, 10ms);
      if (!batch.is_ok()) break;
      for (auto& d : *batch) got.push_back(std::move(d));
    }
    return got;
  }

  BusConfig config_;
  ManualClock clock_;
  FlakyBus bus_{config_, clock_};
  prometheus::Registry registry_;
};

TEST_F(OutboxTest, PublishesInEnqueueOrderAndRetriesTransientFailuresWithTheSameId) {
  auto consumer = bus_.subscribe({"calls"}, "g", {});
  ASSERT_TRUE(consumer.is_ok());
  Outbox outbox(bus_, clock_, fast(), &registry_);
  bus_.failures = 3;
  Event first = event("call-1", "0");
  first.id = "fixed-id";
  ASSERT_TRUE(outbox.enqueue(first).is_ok());
  for (int i = 1; i < 4; ++i) ASSERT_TRUE(outbox.enqueue(event("call-1", std::to_string(i))).is_ok());
  ASSERT_TRUE(outbox.flush(5s).is_ok());
  auto got = consume(**consumer, 4);
  ASSERT_EQ(got.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(got[i].event.payload, std::to_string(i));
  EXPECT_EQ(got[0].event.id, "fixed-id");
  EXPECT_EQ(bus_.attempts.load(), 7);
  EXPECT_EQ(counter(registry_, "vontres_bus_outbox_retries_total"), 3);
  EXPECT_EQ(counter(registry_, "vontres_bus_outbox_pending"), 0);
}

TEST_F(OutboxTest, AFullOutboxRefusesAtOnceAndCountsIt) {
  bus_.failures = 1'000'000;  // nothing gets out
  Outbox outbox(bus_, clock_, fast(), &registry_);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(outbox.enqueue(event("k", std::to_string(i))).is_ok());
  const Status full = outbox.enqueue(event("k", "4"));
  EXPECT_EQ(full.code(), "bus_outbox_full");
  EXPECT_EQ(full.kind(), ErrorKind::kResourceExhausted);
  EXPECT_EQ(counter(registry_, "vontres_bus_outbox_full_total"), 1);
  EXPECT_EQ(outbox.flush(20ms).code(), "bus_outbox_flush_timeout");
  bus_.failures = 0;
  EXPECT_TRUE(outbox.flush(5s).is_ok());
}

TEST_F(OutboxTest, InvalidEventsAreRefusedAtEnqueue) {
  Outbox outbox(bus_, clock_, fast());
  Event no_topic = event("k", "x");
  no_topic.topic.clear();
  EXPECT_EQ(outbox.enqueue(no_topic).code(), "topic_invalid");
  Event reserved = event("k", "x");
  reserved.headers["vontres-id"] = "x";
  EXPECT_EQ(outbox.enqueue(reserved).code(), "header_reserved");
}

TEST_F(OutboxTest, APermanentRejectionIsDroppedAndCountedNotRetried) {
  bus_.failure_code = "topic_invalid";
  bus_.failures = 1;
  Outbox outbox(bus_, clock_, fast(), &registry_);
  ASSERT_TRUE(outbox.enqueue(event("k", "x")).is_ok());
  ASSERT_TRUE(outbox.flush(5s).is_ok());
  EXPECT_EQ(bus_.attempts.load(), 1);
  EXPECT_EQ(counter(registry_, "vontres_bus_outbox_dropped_total"), 1);
}

TEST_F(OutboxTest, TheDestructorFlushesWhatIsQueued) {
  auto consumer = bus_.subscribe({"calls"}, "g", {});
  ASSERT_TRUE(consumer.is_ok());
  {
    bus_.failures = 2;
    Outbox outbox(bus_, clock_, fast());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(outbox.enqueue(event("k", std::to_string(i))).is_ok());
  }
  EXPECT_EQ(consume(**consumer, 3).size(), 3u);
}

TEST_F(OutboxTest, TheDestructorGivesUpAfterItsFlushTimeAndCountsTheRest) {
  bus_.failures = 1'000'000;
  {
    Outbox outbox(bus_, clock_, fast(), &registry_);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(outbox.enqueue(event("k", std::to_string(i))).is_ok());
  }
  EXPECT_EQ(counter(registry_, "vontres_bus_outbox_dropped_total"), 3);
}

}  // namespace
}  // namespace vontres::bus
