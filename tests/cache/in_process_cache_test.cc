#include "cache/in_process_cache.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <string>

#include "cache/cache_contract.h"

namespace vontres::cache {
namespace {

using std::chrono::seconds;
using testing::CacheBackend;
using testing::CacheContractTest;

INSTANTIATE_TEST_SUITE_P(InProcess, CacheContractTest,
                         ::testing::Values(CacheBackend{"InProcess",
                                                        [](ManualClock& clock) -> std::unique_ptr<Cache> {
                                                          return std::make_unique<InProcessCache>(CacheConfig{}, clock);
                                                        }}),
                         CacheContractTest::backend_name);

CacheConfig small_config(uint64_t max_bytes, int shards) {
  CacheConfig config;
  config.max_bytes = max_bytes;
  config.shards = shards;
  return config;
}

double metric_value(prometheus::Registry& registry, const std::string& name, const std::string& reason = {}) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      bool matches = reason.empty();
      for (const auto& label : metric.label) matches = matches || (label.name == "reason" && label.value == reason);
      if (!matches) continue;
      return family.type == prometheus::MetricType::Gauge ? metric.gauge.value : metric.counter.value;
    }
  }
  return -1;
}

TEST(InProcessCacheTest, ExpiryAndRemainingTtlAreExactOnTheManualClock) {
  ManualClock clock;
  InProcessCache cache(CacheConfig{}, clock);
  ASSERT_TRUE(cache.set("otp", "123456", std::chrono::milliseconds(1500)).is_ok());
  ASSERT_TRUE(cache.set("timed", "v", seconds(10)).is_ok());
  clock.advance(std::chrono::milliseconds(1499));
  EXPECT_EQ(*cache.get("otp"), "123456");
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(*cache.get("otp"), std::nullopt);
  clock.advance(std::chrono::milliseconds(2500));
  EXPECT_EQ(**cache.ttl("timed"), std::chrono::milliseconds(6000));
}

TEST(InProcessCacheTest, MemoryNeverExceedsTheBoundAndTheRecentlyUsedKeySurvives) {
  ManualClock clock;
  // One shard of 4 KiB: room for about 20 entries of 100-byte values.
  InProcessCache cache(small_config(4096, 1), clock);
  const std::string value(100, 'x');
  ASSERT_TRUE(cache.set("hot", value).is_ok());
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(cache.set("cold:" + std::to_string(i), value).is_ok());
    ASSERT_LE(cache.bytes_used(), cache.max_bytes());
    // Touching "hot" keeps it at the front of the LRU list.
    auto hot = cache.get("hot");
    ASSERT_TRUE(hot.is_ok());
    ASSERT_EQ(*hot, value) << "evicted after " << i << " inserts";
  }
  EXPECT_EQ(*cache.get("cold:0"), std::nullopt) << "the least recently used key was evicted";
  EXPECT_EQ(*cache.get("cold:499"), value);
  EXPECT_GT(cache.entry_count(), 10u);
}

TEST(InProcessCacheTest, BoundHoldsAcrossShards) {
  ManualClock clock;
  InProcessCache cache(small_config(64 * 1024, 8), clock);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(cache.set("key:" + std::to_string(i), std::string(static_cast<size_t>(i % 300), 'v')).is_ok());
  }
  EXPECT_LE(cache.bytes_used(), 64u * 1024);
  EXPECT_EQ(cache.shard_budget_bytes(), 8u * 1024);
}

TEST(InProcessCacheTest, ValueLargerThanAShardIsRefused) {
  ManualClock clock;
  InProcessCache cache(small_config(4 * 4096, 4), clock);
  ASSERT_TRUE(cache.set("small", "v").is_ok());
  const Status status = cache.set("huge", std::string(4096, 'x'));
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.kind(), ErrorKind::kResourceExhausted);
  EXPECT_EQ(status.code(), "cache_value_too_large");
  EXPECT_EQ(*cache.get("small"), "v") << "refusing a value evicts nothing";
  EXPECT_EQ(*cache.get("huge"), std::nullopt);

  auto swapped = cache.compare_and_set("small", std::string("v"), std::string(4096, 'x'));
  EXPECT_EQ(swapped.status().code(), "cache_value_too_large");
}

TEST(InProcessCacheTest, ExpiredEntriesAreEvictedBeforeLiveOnes) {
  ManualClock clock;
  InProcessCache cache(small_config(2048, 1), clock);
  const std::string value(200, 'x');
  ASSERT_TRUE(cache.set("live", value).is_ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cache.set("short:" + std::to_string(i), value, seconds(1)).is_ok());
  clock.advance(seconds(2));
  // "live" is the least recently used, but the expired entries must make room first.
  ASSERT_TRUE(cache.set("new", value).is_ok());
  ASSERT_TRUE(cache.set("new2", value).is_ok());
  EXPECT_EQ(*cache.get("live"), value);
  EXPECT_EQ(cache.entry_count(), 3u);
}

TEST(InProcessCacheTest, ChargesKeyValueAndOverheadAndReleasesOnErase) {
  ManualClock clock;
  InProcessCache cache(small_config(1 << 20, 4), clock);
  ASSERT_TRUE(cache.set("abc", "12345").is_ok());
  EXPECT_EQ(cache.bytes_used(), 3 + 5 + InProcessCache::kEntryOverheadBytes);
  ASSERT_TRUE(cache.set("abc", "1").is_ok());
  EXPECT_EQ(cache.bytes_used(), 3 + 1 + InProcessCache::kEntryOverheadBytes);
  ASSERT_TRUE(cache.increment("abc", 9).is_ok());
  EXPECT_EQ(cache.bytes_used(), 3 + 2 + InProcessCache::kEntryOverheadBytes);
  ASSERT_TRUE(*cache.erase("abc"));
  EXPECT_EQ(cache.bytes_used(), 0u);
}

TEST(InProcessCacheTest, ExportsHitMissEvictionAndByteMetrics) {
  ManualClock clock;
  prometheus::Registry registry;
  InProcessCache cache(small_config(1024, 1), clock, &registry);
  ASSERT_TRUE(cache.set("a", std::string(300, 'x')).is_ok());
  (void)cache.get("a");
  (void)cache.get("b");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cache.set("k" + std::to_string(i), std::string(300, 'x')).is_ok());
  cache.publish_metrics();
  EXPECT_EQ(metric_value(registry, "vontres_cache_hits_total"), 1);
  EXPECT_EQ(metric_value(registry, "vontres_cache_misses_total"), 1);
  EXPECT_GE(metric_value(registry, "vontres_cache_evictions_total", "memory"), 3);
  EXPECT_EQ(metric_value(registry, "vontres_cache_bytes"), static_cast<double>(cache.bytes_used()));
}

TEST(InProcessCacheTest, MetricsArePublishedInBatchesWithoutBeingAsked) {
  ManualClock clock;
  prometheus::Registry registry;
  InProcessCache cache(small_config(1 << 20, 1), clock, &registry);
  ASSERT_TRUE(cache.set("a", "1").is_ok());
  for (uint32_t i = 0; i < InProcessCache::kMetricsBatch; ++i) (void)cache.get("a");
  EXPECT_GE(metric_value(registry, "vontres_cache_hits_total"), InProcessCache::kMetricsBatch - 1);
}

TEST(InProcessCacheTest, DestroyedCacheGivesBackItsBytesInASharedGauge) {
  ManualClock clock;
  prometheus::Registry registry;
  InProcessCache keeper(small_config(1 << 20, 2), clock, &registry);
  ASSERT_TRUE(keeper.set("kept", "v").is_ok());
  {
    InProcessCache temporary(small_config(1 << 20, 2), clock, &registry);
    ASSERT_TRUE(temporary.set("gone", "v").is_ok());
    temporary.publish_metrics();
  }
  keeper.publish_metrics();
  EXPECT_EQ(metric_value(registry, "vontres_cache_bytes"), static_cast<double>(keeper.bytes_used()));
}

TEST(InProcessCacheTest, CallbackMayUnsubscribeItself) {
  ManualClock clock;
  InProcessCache cache(CacheConfig{}, clock);
  std::unique_ptr<InvalidationSubscription> subscription;
  int calls = 0;
  auto made = cache.subscribe_invalidations([&](std::string_view) {
    ++calls;
    subscription.reset();
  });
  ASSERT_TRUE(made.is_ok());
  subscription = std::move(*made);
  ASSERT_TRUE(cache.invalidate("a").is_ok());
  ASSERT_TRUE(cache.invalidate("b").is_ok());
  EXPECT_EQ(calls, 1);
}

TEST(InProcessCacheTest, SubscriptionMayOutliveTheCache) {
  ManualClock clock;
  std::unique_ptr<InvalidationSubscription> subscription;
  {
    InProcessCache cache(CacheConfig{}, clock);
    subscription = cache.subscribe_invalidations([](std::string_view) {}).value();
  }
  subscription.reset();  // must not touch the destroyed cache
}

}  // namespace
}  // namespace vontres::cache
