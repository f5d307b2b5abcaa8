#include "state/in_process_state_store.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <string>

#include "state/state_store_contract.h"

namespace vontres::state {
namespace {

using std::chrono::milliseconds;
using testing::StateBackend;
using testing::StateStoreContractTest;

INSTANTIATE_TEST_SUITE_P(InProcess, StateStoreContractTest,
                         ::testing::Values(StateBackend{
                             "InProcess",
                             [](ManualClock& clock) -> std::unique_ptr<StateStore> {
                               return std::make_unique<InProcessStateStore>(clock);
                             },
                             [](ManualClock& clock, milliseconds by) { clock.advance(by); }}),
                         StateStoreContractTest::backend_name);

double metric_value(prometheus::Registry& registry, const std::string& name, const std::string& result = {}) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      bool matches = result.empty();
      for (const auto& label : metric.label) matches = matches || (label.name == "result" && label.value == result);
      if (!matches) continue;
      return family.type == prometheus::MetricType::Gauge ? metric.gauge.value : metric.counter.value;
    }
  }
  return -1;
}

TEST(InProcessStateStoreTest, ExpiryIsExactOnTheManualClock) {
  ManualClock clock;
  InProcessStateStore store(clock);
  ASSERT_TRUE(store.set("k", "v", milliseconds(1500)).is_ok());
  clock.advance(milliseconds(1499));
  EXPECT_EQ(*store.get("k"), "v");
  clock.advance(milliseconds(1));
  EXPECT_EQ(*store.get("k"), std::nullopt);

  auto lease = store.acquire_lease("l", "node-a", milliseconds(1000));
  ASSERT_TRUE(lease.is_ok() && lease->has_value());
  EXPECT_EQ((*lease)->expires_at_ms, clock.now_unix_ms() + 1000);
  clock.advance(milliseconds(999));
  EXPECT_TRUE(store.current_lease("l")->has_value());
  clock.advance(milliseconds(1));
  EXPECT_FALSE(store.current_lease("l")->has_value());
}

TEST(InProcessStateStoreTest, ExpiredKeysAreDroppedByLaterWritesWithoutBeingRead) {
  ManualClock clock;
  InProcessStateStore store(clock);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store.set("short:" + std::to_string(i), "v", milliseconds(10)).is_ok());
  ASSERT_TRUE(store.hash_set("h", "f", "v").is_ok());
  ASSERT_TRUE(*store.set_ttl("h", milliseconds(10)));
  ASSERT_TRUE(store.set("long", "v").is_ok());
  EXPECT_EQ(store.key_count(), 102u);
  clock.advance(milliseconds(10));
  ASSERT_TRUE(store.set("other", "v").is_ok());
  EXPECT_EQ(store.key_count(), 2u);
}

TEST(InProcessStateStoreTest, ManyKeysNeverEvict) {
  ManualClock clock;
  InProcessStateStore store(clock);
  const std::string value(1000, 'x');
  for (int i = 0; i < 20000; ++i) ASSERT_TRUE(store.set("k" + std::to_string(i), value).is_ok());
  EXPECT_EQ(store.key_count(), 20000u);
  EXPECT_EQ(*store.get("k0"), value);
}

TEST(InProcessStateStoreTest, ExportsKeyExpiryAndLeaseMetrics) {
  ManualClock clock;
  prometheus::Registry registry;
  InProcessStateStore store(clock, &registry);
  ASSERT_TRUE(store.set("a", "1", milliseconds(10)).is_ok());
  ASSERT_TRUE(store.hash_set("h", "f", "v").is_ok());
  EXPECT_EQ(metric_value(registry, "vontres_state_keys"), 2);
  clock.advance(milliseconds(10));
  EXPECT_EQ(*store.get("a"), std::nullopt);
  EXPECT_EQ(metric_value(registry, "vontres_state_keys"), 1);
  EXPECT_EQ(metric_value(registry, "vontres_state_expired_total"), 1);
  ASSERT_TRUE(store.acquire_lease("l", "a", milliseconds(100))->has_value());
  ASSERT_TRUE(store.acquire_lease("l", "a", milliseconds(100))->has_value());
  ASSERT_FALSE(store.acquire_lease("l", "b", milliseconds(100))->has_value());
  EXPECT_EQ(metric_value(registry, "vontres_state_lease_acquisitions_total", "acquired"), 1);
  EXPECT_EQ(metric_value(registry, "vontres_state_lease_acquisitions_total", "renewed"), 1);
  EXPECT_EQ(metric_value(registry, "vontres_state_lease_acquisitions_total", "refused"), 1);
}

TEST(InProcessStateStoreTest, DestroyedStoreGivesBackItsKeysInASharedGauge) {
  ManualClock clock;
  prometheus::Registry registry;
  InProcessStateStore keeper(clock, &registry);
  ASSERT_TRUE(keeper.set("kept", "v").is_ok());
  {
    InProcessStateStore temporary(clock, &registry);
    ASSERT_TRUE(temporary.set("gone", "v").is_ok());
  }
  EXPECT_EQ(metric_value(registry, "vontres_state_keys"), 1);
}

}  // namespace
}  // namespace vontres::state
