// The Cache and StateStore contract suites against Redis Cluster (the binary's shared cluster).
// TTLs there run on the servers' clocks, so "advancing time" sleeps for real.
#include <gtest/gtest.h>

#include <thread>

#include "cache/cache_contract.h"
#include "redis/redis_cluster_cache.h"
#include "redis/redis_cluster_state_store.h"
#include "redis/redis_test_util.h"
#include "state/state_store_contract.h"

namespace vontres::redis {
namespace {

void sleep_for(ManualClock& /*clock*/, std::chrono::milliseconds by) { std::this_thread::sleep_for(by); }

std::unique_ptr<state::StateStore> make_state_store(ManualClock& /*clock*/) {
  auto client = testing::shared_client();
  if (!client) return nullptr;
  return std::make_unique<RedisClusterStateStore>(client, testing::fresh_prefix("state"));
}

std::unique_ptr<cache::Cache> make_cache(ManualClock& /*clock*/) {
  auto client = testing::shared_client();
  if (!client) return nullptr;
  auto cache = RedisClusterCache::create(client, testing::fresh_prefix("cache"));
  if (!cache.is_ok()) {
    ADD_FAILURE() << cache.status().to_string();
    return nullptr;
  }
  return std::move(cache).value();
}

using cache::testing::CacheBackend;
using cache::testing::CacheContractTest;
using state::testing::StateBackend;
using state::testing::StateStoreContractTest;

INSTANTIATE_TEST_SUITE_P(RedisCluster, StateStoreContractTest,
                         ::testing::Values(StateBackend{"RedisCluster", make_state_store, sleep_for}),
                         StateStoreContractTest::backend_name);

INSTANTIATE_TEST_SUITE_P(RedisCluster, CacheContractTest,
                         ::testing::Values(CacheBackend{"RedisCluster", make_cache, sleep_for}),
                         CacheContractTest::backend_name);

TEST(RedisClusterStateStoreTest, LeaseAndItsKeysLiveUnderThePrefixInOneKey) {
  auto client = testing::shared_client();
  ASSERT_NE(client, nullptr);
  const std::string prefix = testing::fresh_prefix("lease");
  RedisClusterStateStore store(client, prefix);
  auto lease = store.acquire_lease("{org-7}routing", "node-a", std::chrono::milliseconds(5000));
  ASSERT_TRUE(lease.is_ok() && lease->has_value());
  auto fields = client->command({"HGETALL", prefix + "l:{org-7}routing"});
  ASSERT_TRUE(fields.is_ok());
  EXPECT_EQ(fields->elements.size(), 6u) << fields->debug_string();
  ASSERT_TRUE(store.set("{org-7}calls", "1").is_ok());
  auto raw = client->command({"GET", prefix + "k:{org-7}calls"});
  ASSERT_TRUE(raw.is_ok());
  EXPECT_EQ(raw->text, "1");
}

TEST(RedisClusterStateStoreTest, IncrementKeepsSixtyFourBitValuesExact) {
  auto client = testing::shared_client();
  ASSERT_NE(client, nullptr);
  RedisClusterStateStore store(client, testing::fresh_prefix("big"));
  ASSERT_TRUE(store.set("n", "9007199254740993").is_ok());  // 2^53 + 1: not a double
  auto next = store.increment("n", 2);
  ASSERT_TRUE(next.is_ok()) << next.status().to_string();
  EXPECT_EQ(*next, 9007199254740995);
}

TEST(RedisClusterCacheTest, InvalidationsReachAnotherCacheOnTheSamePrefix) {
  auto client = testing::shared_client();
  ASSERT_NE(client, nullptr);
  const std::string prefix = testing::fresh_prefix("shared");
  auto first = RedisClusterCache::create(client, prefix);
  auto second = RedisClusterCache::create(client, prefix);
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  std::atomic<int> heard{0};
  auto subscription = (*second)->subscribe_invalidations([&](std::string_view key) {
    if (key == "queue:1") heard.fetch_add(1);
  });
  ASSERT_TRUE(subscription.is_ok());
  ASSERT_TRUE((*first)->set("queue:1", "v").is_ok());
  ASSERT_TRUE((*first)->invalidate("queue:1").is_ok());
  for (int i = 0; i < 500 && heard.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(heard.load(), 1);
  EXPECT_EQ(*(*second)->get("queue:1"), std::nullopt);
}

TEST(RedisClusterCacheTest, CallbackMayCallBackIntoTheCache) {
  auto client = testing::shared_client();
  ASSERT_NE(client, nullptr);
  auto cache = RedisClusterCache::create(client, testing::fresh_prefix("reentrant"));
  ASSERT_TRUE(cache.is_ok());
  std::atomic<bool> done{false};
  auto subscription = (*cache)->subscribe_invalidations([&](std::string_view) {
    (void)(*cache)->set("seen", "yes");
    done.store(true);
  });
  ASSERT_TRUE(subscription.is_ok());
  ASSERT_TRUE((*cache)->invalidate("k").is_ok());
  for (int i = 0; i < 500 && !done.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(*(*cache)->get("seen"), "yes");
}

}  // namespace
}  // namespace vontres::redis
