// The behaviour every Cache backend promises (cache/cache.h), as a parameterised suite. A backend's
// test file instantiates it with a factory that builds a fresh, empty cache on a ManualClock:
//
//   INSTANTIATE_TEST_SUITE_P(InProcess, CacheContractTest,
//       ::testing::Values(CacheBackend{"InProcess", [](ManualClock& clock) { return ...; }}),
//       CacheContractTest::backend_name);
//
// This header defines the TEST_Ps, so include it from exactly one .cc per test binary and put every
// backend's INSTANTIATE_TEST_SUITE_P of that binary in that file. Time moves only via advance():
// the ManualClock by default, or a backend's own hook (a distributed cache whose TTLs run on the
// server's clock sleeps for real), so TTLs here are short and every check keeps a margin of at
// least 100 ms on either side of an expiry. Exact expiry boundaries are tested per backend.
// Memory-bound LRU eviction is not part of this suite (it depends on a backend's own budget, e.g.
// InProcessCache's max_bytes, or Redis' maxmemory policy) and is tested per backend.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "cache/cache.h"
#include "core/clock.h"

namespace vontres::cache::testing {

struct CacheBackend {
  std::string name;
  // Returns an empty cache whose TTLs are measured on `clock` (which outlives the cache).
  std::function<std::unique_ptr<Cache>(ManualClock& clock)> make;
  // Lets `by` pass for the cache; unset: advances `clock`.
  std::function<void(ManualClock& clock, std::chrono::milliseconds by)> advance = nullptr;

  friend void PrintTo(const CacheBackend& backend, std::ostream* out) { *out << backend.name; }
};

class CacheContractTest : public ::testing::TestWithParam<CacheBackend> {
 public:
  static std::string backend_name(const ::testing::TestParamInfo<CacheBackend>& info) { return info.param.name; }

 protected:
  void SetUp() override {
    cache_ = GetParam().make(clock_);
    ASSERT_NE(cache_, nullptr);
  }

  Cache& cache() { return *cache_; }
  void advance(std::chrono::milliseconds by) {
    if (GetParam().advance) {
      GetParam().advance(clock_, by);
    } else {
      clock_.advance(by);
    }
  }

  std::optional<std::string> must_get(std::string_view key) {
    auto result = cache_->get(key);
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return result.is_ok() ? *result : std::nullopt;
  }

  ManualClock clock_;
  std::unique_ptr<Cache> cache_;
};

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_P(CacheContractTest, GetOfMissingKeyIsEmpty) { EXPECT_EQ(must_get("nobody"), std::nullopt); }

TEST_P(CacheContractTest, SetThenGetReturnsTheValue) {
  ASSERT_TRUE(cache().set("session:1", "alice").is_ok());
  EXPECT_EQ(must_get("session:1"), "alice");
}

TEST_P(CacheContractTest, SetOverwritesAndValuesAreOpaqueBytes) {
  const std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(cache().set("k", "first").is_ok());
  ASSERT_TRUE(cache().set("k", binary).is_ok());
  EXPECT_EQ(must_get("k"), binary);
  ASSERT_TRUE(cache().set("empty", "").is_ok());
  EXPECT_EQ(must_get("empty"), "");
}

TEST_P(CacheContractTest, EraseReportsWhetherTheKeyExisted) {
  ASSERT_TRUE(cache().set("k", "v").is_ok());
  auto first = cache().erase("k");
  ASSERT_TRUE(first.is_ok());
  EXPECT_TRUE(*first);
  EXPECT_EQ(must_get("k"), std::nullopt);
  auto second = cache().erase("k");
  ASSERT_TRUE(second.is_ok());
  EXPECT_FALSE(*second);
}

TEST_P(CacheContractTest, KeyExpiresWhenItsTtlPasses) {
  ASSERT_TRUE(cache().set("otp", "123456", milliseconds(300)).is_ok());
  advance(milliseconds(100));
  EXPECT_EQ(must_get("otp"), "123456");
  advance(milliseconds(400));
  EXPECT_EQ(must_get("otp"), std::nullopt);
  auto erased = cache().erase("otp");
  ASSERT_TRUE(erased.is_ok());
  EXPECT_FALSE(*erased) << "an expired key does not exist";
}

TEST_P(CacheContractTest, SetWithoutTtlClearsAnEarlierTtl) {
  ASSERT_TRUE(cache().set("k", "v1", milliseconds(200)).is_ok());
  ASSERT_TRUE(cache().set("k", "v2").is_ok());
  advance(milliseconds(400));
  EXPECT_EQ(must_get("k"), "v2");
}

TEST_P(CacheContractTest, TtlReportsRemainingTimeNoExpiryOrNotFound) {
  ASSERT_TRUE(cache().set("timed", "v", milliseconds(1000)).is_ok());
  ASSERT_TRUE(cache().set("forever", "v").is_ok());
  advance(milliseconds(400));

  auto timed = cache().ttl("timed");
  ASSERT_TRUE(timed.is_ok());
  ASSERT_TRUE(timed->has_value());
  EXPECT_LE(**timed, milliseconds(600));
  EXPECT_GE(**timed, milliseconds(400));

  auto forever = cache().ttl("forever");
  ASSERT_TRUE(forever.is_ok());
  EXPECT_FALSE(forever->has_value());

  auto missing = cache().ttl("missing");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().kind(), ErrorKind::kNotFound);

  advance(milliseconds(800));
  auto expired = cache().ttl("timed");
  ASSERT_FALSE(expired.is_ok());
  EXPECT_EQ(expired.status().kind(), ErrorKind::kNotFound);
}

TEST_P(CacheContractTest, IncrementTreatsAbsentAsZero) {
  auto first = cache().increment("calls", 1);
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(*first, 1);
  auto second = cache().increment("calls", 41);
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(*second, 42);
  auto down = cache().increment("calls", -50);
  ASSERT_TRUE(down.is_ok());
  EXPECT_EQ(*down, -8);
  EXPECT_EQ(must_get("calls"), "-8");
}

TEST_P(CacheContractTest, IncrementAppliesTtlOnlyWhenCreatingAndKeepsItLater) {
  ASSERT_TRUE(cache().increment("rate:alice:minute", 1, milliseconds(600)).is_ok());
  advance(milliseconds(200));
  // A later increment must not extend the window, with or without a ttl argument.
  ASSERT_TRUE(cache().increment("rate:alice:minute", 1, milliseconds(600)).is_ok());
  ASSERT_TRUE(cache().increment("rate:alice:minute", 1).is_ok());
  auto ttl = cache().ttl("rate:alice:minute");
  ASSERT_TRUE(ttl.is_ok());
  ASSERT_TRUE(ttl->has_value());
  EXPECT_LE(**ttl, milliseconds(400));
  EXPECT_GE(**ttl, milliseconds(200));
  EXPECT_EQ(must_get("rate:alice:minute"), "3");

  advance(milliseconds(500));
  auto fresh = cache().increment("rate:alice:minute", 1, milliseconds(600));
  ASSERT_TRUE(fresh.is_ok());
  EXPECT_EQ(*fresh, 1) << "the window expired, so the counter starts again";
}

TEST_P(CacheContractTest, IncrementOfANonIntegerFails) {
  ASSERT_TRUE(cache().set("name", "alice").is_ok());
  auto result = cache().increment("name", 1);
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), "cache_not_integer");
  EXPECT_EQ(must_get("name"), "alice") << "a failed increment leaves the value alone";

  ASSERT_TRUE(cache().set("decimal", "1.5").is_ok());
  EXPECT_EQ(cache().increment("decimal", 1).status().code(), "cache_not_integer");
}

TEST_P(CacheContractTest, IncrementThatWouldOverflowFails) {
  ASSERT_TRUE(cache().set("big", std::to_string(INT64_MAX)).is_ok());
  auto result = cache().increment("big", 1);
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(must_get("big"), std::to_string(INT64_MAX));
}

TEST_P(CacheContractTest, CompareAndSetWithAbsentExpectationOnlySetsMissingKeys) {
  auto created = cache().compare_and_set("lock:queue", std::nullopt, "node-a");
  ASSERT_TRUE(created.is_ok());
  EXPECT_TRUE(*created);
  auto again = cache().compare_and_set("lock:queue", std::nullopt, "node-b");
  ASSERT_TRUE(again.is_ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(must_get("lock:queue"), "node-a");
}

TEST_P(CacheContractTest, CompareAndSetSwapsOnlyWhenTheCurrentValueMatches) {
  ASSERT_TRUE(cache().set("state", "ringing").is_ok());
  auto wrong = cache().compare_and_set("state", std::string("idle"), "talking");
  ASSERT_TRUE(wrong.is_ok());
  EXPECT_FALSE(*wrong);
  EXPECT_EQ(must_get("state"), "ringing");

  auto right = cache().compare_and_set("state", std::string("ringing"), "talking");
  ASSERT_TRUE(right.is_ok());
  EXPECT_TRUE(*right);
  EXPECT_EQ(must_get("state"), "talking");

  auto absent = cache().compare_and_set("missing", std::string("anything"), "x");
  ASSERT_TRUE(absent.is_ok());
  EXPECT_FALSE(*absent) << "an expected value never matches an absent key";
}

TEST_P(CacheContractTest, CompareAndSetTreatsExpiredKeysAsAbsentAndAppliesTtl) {
  ASSERT_TRUE(cache().set("lease", "node-a", milliseconds(200)).is_ok());
  advance(milliseconds(300));
  auto taken = cache().compare_and_set("lease", std::nullopt, "node-b", milliseconds(300));
  ASSERT_TRUE(taken.is_ok());
  EXPECT_TRUE(*taken);
  advance(milliseconds(400));
  EXPECT_EQ(must_get("lease"), std::nullopt);
}

TEST_P(CacheContractTest, ConcurrentIncrementsSumExactly) {
  constexpr int kThreads = 8;
  constexpr int kIncrementsPerThread = 2000;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrementsPerThread; ++i) {
        if (!cache().increment("shared", 1).is_ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(must_get("shared"), std::to_string(kThreads * kIncrementsPerThread));
}

TEST_P(CacheContractTest, ConcurrentCompareAndSetHasExactlyOneWinner) {
  constexpr int kThreads = 8;
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto won = cache().compare_and_set("leader", std::nullopt, "node-" + std::to_string(t));
      if (won.is_ok() && *won) winners.fetch_add(1);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST_P(CacheContractTest, InvalidateErasesTheKeyAndReachesEverySubscriber) {
  std::mutex mutex;
  std::vector<std::string> heard_by_first;
  std::vector<std::string> heard_by_second;
  auto first = cache().subscribe_invalidations([&](std::string_view key) {
    std::lock_guard lock(mutex);
    heard_by_first.emplace_back(key);
  });
  auto second = cache().subscribe_invalidations([&](std::string_view key) {
    std::lock_guard lock(mutex);
    heard_by_second.emplace_back(key);
  });
  ASSERT_TRUE(first.is_ok());
  ASSERT_TRUE(second.is_ok());

  ASSERT_TRUE(cache().set("queue:7", "config").is_ok());
  ASSERT_TRUE(cache().invalidate("queue:7").is_ok());
  EXPECT_EQ(must_get("queue:7"), std::nullopt);
  ASSERT_TRUE(cache().invalidate("never-set").is_ok()) << "invalidating an absent key still notifies";

  // Remote backends deliver asynchronously; wait (bounded) for delivery without moving time.
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mutex);
      if (heard_by_first.size() >= 2 && heard_by_second.size() >= 2) break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::lock_guard lock(mutex);
  EXPECT_EQ(heard_by_first, (std::vector<std::string>{"queue:7", "never-set"}));
  EXPECT_EQ(heard_by_second, (std::vector<std::string>{"queue:7", "never-set"}));
}

TEST_P(CacheContractTest, NoCallbackRunsAfterUnsubscribing) {
  std::atomic<int> calls{0};
  auto subscription = cache().subscribe_invalidations([&](std::string_view) { calls.fetch_add(1); });
  ASSERT_TRUE(subscription.is_ok());
  ASSERT_TRUE(cache().invalidate("a").is_ok());
  for (int i = 0; i < 500 && calls.load() == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(calls.load(), 1);

  subscription->reset();
  const int after_unsubscribe = calls.load();
  ASSERT_TRUE(cache().invalidate("b").is_ok());
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(calls.load(), after_unsubscribe);
}

TEST_P(CacheContractTest, UnsubscribingWhileOtherThreadsInvalidateIsSafe) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> invalidators;
  for (int t = 0; t < 2; ++t) {
    invalidators.emplace_back([&, t] {
      int i = 0;
      while (!stop.load()) (void)cache().invalidate("key-" + std::to_string(t) + "-" + std::to_string(i++ % 16));
    });
  }
  for (int round = 0; round < 200; ++round) {
    // The callback touches state owned by this loop iteration; after reset() returns it must not run.
    auto alive = std::make_unique<std::atomic<int>>(0);
    auto subscription =
        cache().subscribe_invalidations([counter = alive.get()](std::string_view) { counter->fetch_add(1); });
    ASSERT_TRUE(subscription.is_ok());
    std::this_thread::yield();
    subscription->reset();
    alive.reset();
  }
  stop.store(true);
  for (auto& thread : invalidators) thread.join();
}

TEST_P(CacheContractTest, RejectsNonPositiveTtl) {
  EXPECT_FALSE(cache().set("k", "v", milliseconds(0)).is_ok());
  EXPECT_FALSE(cache().set("k", "v", milliseconds(-5)).is_ok());
}

TEST_P(CacheContractTest, PingSucceeds) { EXPECT_TRUE(cache().ping().is_ok()); }

}  // namespace vontres::cache::testing
