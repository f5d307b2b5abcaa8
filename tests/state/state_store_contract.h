// The behaviour every StateStore backend promises (state/state_store.h), as a parameterised suite.
// A backend's test file instantiates it with a factory that builds a fresh, empty store and a hook
// that lets time pass:
//
//   INSTANTIATE_TEST_SUITE_P(InProcess, StateStoreContractTest,
//       ::testing::Values(StateBackend{"InProcess", make, advance}), StateStoreContractTest::backend_name);
//
// The embedded store advances the ManualClock it was built on; a distributed one, whose TTLs run on
// the server's clock, sleeps for real. So TTLs here are short (hundreds of milliseconds) and every
// check keeps a margin of at least 100 ms on either side of an expiry; nothing asserts a duration.
//
// This header defines the TEST_Ps, so include it from exactly one .cc per test binary and put every
// backend's INSTANTIATE_TEST_SUITE_P of that binary in that file.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "state/state_store.h"

namespace vontres::state::testing {

struct StateBackend {
  std::string name;
  // Returns an empty store; the embedded one measures TTLs on `clock` (which outlives the store).
  std::function<std::unique_ptr<StateStore>(ManualClock& clock)> make;
  // Lets `by` pass for the store: advances `clock`, or sleeps for a store on a real clock.
  std::function<void(ManualClock& clock, std::chrono::milliseconds by)> advance;

  friend void PrintTo(const StateBackend& backend, std::ostream* out) { *out << backend.name; }
};

class StateStoreContractTest : public ::testing::TestWithParam<StateBackend> {
 public:
  static std::string backend_name(const ::testing::TestParamInfo<StateBackend>& info) { return info.param.name; }

 protected:
  void SetUp() override {
    store_ = GetParam().make(clock_);
    ASSERT_NE(store_, nullptr);
  }

  StateStore& store() { return *store_; }
  void advance(std::chrono::milliseconds by) { GetParam().advance(clock_, by); }

  std::optional<std::string> must_get(std::string_view key) {
    auto result = store_->get(key);
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return result.is_ok() ? *result : std::nullopt;
  }
  bool must(Result<bool> result) {
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return result.is_ok() && *result;
  }
  std::optional<Lease> must_acquire(std::string_view name, std::string_view holder, std::chrono::milliseconds ttl) {
    auto result = store_->acquire_lease(name, holder, ttl);
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return result.is_ok() ? *result : std::nullopt;
  }
  std::optional<Lease> must_current(std::string_view name) {
    auto result = store_->current_lease(name);
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return result.is_ok() ? *result : std::nullopt;
  }

  ManualClock clock_;
  std::unique_ptr<StateStore> store_;
};

using std::chrono::milliseconds;

// --- plain keys

TEST_P(StateStoreContractTest, GetOfMissingKeyIsEmpty) { EXPECT_EQ(must_get("nobody"), std::nullopt); }

TEST_P(StateStoreContractTest, SetOverwritesAndValuesAreOpaqueBytes) {
  const std::string binary("a\0b\xff\r\n", 6);
  ASSERT_TRUE(store().set("call:1", "ringing").is_ok());
  EXPECT_EQ(must_get("call:1"), "ringing");
  ASSERT_TRUE(store().set("call:1", binary).is_ok());
  EXPECT_EQ(must_get("call:1"), binary);
  ASSERT_TRUE(store().set("empty", "").is_ok());
  EXPECT_EQ(must_get("empty"), "");
}

TEST_P(StateStoreContractTest, EraseReportsWhetherTheKeyExisted) {
  ASSERT_TRUE(store().set("k", "v").is_ok());
  EXPECT_TRUE(must(store().erase("k")));
  EXPECT_FALSE(must(store().erase("k")));
  EXPECT_EQ(must_get("k"), std::nullopt);
}

TEST_P(StateStoreContractTest, KeyExpiresWhenItsTtlPasses) {
  ASSERT_TRUE(store().set("registration:alice", "sip:alice@127.0.0.1", milliseconds(300)).is_ok());
  advance(milliseconds(100));
  EXPECT_EQ(must_get("registration:alice"), "sip:alice@127.0.0.1");
  advance(milliseconds(400));
  EXPECT_EQ(must_get("registration:alice"), std::nullopt);
  EXPECT_FALSE(must(store().erase("registration:alice"))) << "an expired key no longer exists";
}

TEST_P(StateStoreContractTest, SetWithoutTtlClearsAnEarlierTtl) {
  ASSERT_TRUE(store().set("k", "short", milliseconds(200)).is_ok());
  ASSERT_TRUE(store().set("k", "forever").is_ok());
  advance(milliseconds(400));
  EXPECT_EQ(must_get("k"), "forever");
}

TEST_P(StateStoreContractTest, RejectsNonPositiveTtls) {
  EXPECT_EQ(store().set("k", "v", milliseconds(0)).code(), "state_invalid_ttl");
  EXPECT_EQ(store().set("k", "v", milliseconds(-5)).code(), "state_invalid_ttl");
  EXPECT_EQ(store().compare_and_set("k", std::nullopt, "v", milliseconds(0)).status().code(), "state_invalid_ttl");
  EXPECT_EQ(store().increment("n", 1, milliseconds(0)).status().code(), "state_invalid_ttl");
  ASSERT_TRUE(store().set("k", "v").is_ok());
  EXPECT_EQ(store().set_ttl("k", milliseconds(0)).status().code(), "state_invalid_ttl");
  EXPECT_EQ(store().acquire_lease("l", "node-a", milliseconds(0)).status().code(), "state_invalid_ttl");
  EXPECT_EQ(must_get("k"), "v") << "a refused TTL changes nothing";
  EXPECT_EQ(must_get("n"), std::nullopt);
}

// --- compare-and-set

TEST_P(StateStoreContractTest, CompareAndSetWithAbsentExpectationOnlySetsMissingKeys) {
  EXPECT_TRUE(must(store().compare_and_set("owner:queue", std::nullopt, "node-a")));
  EXPECT_FALSE(must(store().compare_and_set("owner:queue", std::nullopt, "node-b")));
  EXPECT_EQ(must_get("owner:queue"), "node-a");
}

TEST_P(StateStoreContractTest, CompareAndSetSwapsOnlyWhenTheCurrentValueMatches) {
  ASSERT_TRUE(store().set("state", "ringing").is_ok());
  EXPECT_FALSE(must(store().compare_and_set("state", std::string("idle"), "talking")));
  EXPECT_EQ(must_get("state"), "ringing");
  EXPECT_TRUE(must(store().compare_and_set("state", std::string("ringing"), "talking")));
  EXPECT_EQ(must_get("state"), "talking");
  EXPECT_FALSE(must(store().compare_and_set("missing", std::string("anything"), "x")))
      << "an expected value never matches an absent key";
  EXPECT_EQ(must_get("missing"), std::nullopt);
  const std::string binary("\0\xff", 2);
  ASSERT_TRUE(store().set("bin", binary).is_ok());
  EXPECT_TRUE(must(store().compare_and_set("bin", binary, "text"))) << "expectations compare bytes";
}

TEST_P(StateStoreContractTest, CompareAndSetTreatsExpiredKeysAsAbsentAndAppliesItsTtl) {
  ASSERT_TRUE(store().set("owner", "node-a", milliseconds(200)).is_ok());
  advance(milliseconds(300));
  EXPECT_TRUE(must(store().compare_and_set("owner", std::nullopt, "node-b", milliseconds(300))));
  EXPECT_EQ(must_get("owner"), "node-b");
  advance(milliseconds(400));
  EXPECT_EQ(must_get("owner"), std::nullopt);
}

TEST_P(StateStoreContractTest, ConcurrentCompareAndSetHasExactlyOneWinner) {
  constexpr int kThreads = 8;
  std::atomic<int> winners{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto won = store().compare_and_set("leader", std::nullopt, "node-" + std::to_string(t));
      if (!won.is_ok()) failures.fetch_add(1);
      if (won.is_ok() && *won) winners.fetch_add(1);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(winners.load(), 1);
}

// --- increment

TEST_P(StateStoreContractTest, IncrementTreatsAbsentAsZeroAndAddsSignedDeltas) {
  auto first = store().increment("calls:waiting", 1);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(*first, 1);
  EXPECT_EQ(*store().increment("calls:waiting", 5), 6);
  EXPECT_EQ(*store().increment("calls:waiting", -10), -4);
  EXPECT_EQ(must_get("calls:waiting"), "-4");
  ASSERT_TRUE(store().set("preset", "41").is_ok());
  EXPECT_EQ(*store().increment("preset", 1), 42);
}

TEST_P(StateStoreContractTest, IncrementAppliesTtlOnlyWhenCreatingAndKeepsItLater) {
  ASSERT_EQ(*store().increment("window", 1, milliseconds(400)), 1);
  advance(milliseconds(150));
  ASSERT_EQ(*store().increment("window", 1, milliseconds(5000)), 2) << "the later TTL is ignored";
  advance(milliseconds(450));
  EXPECT_EQ(must_get("window"), std::nullopt) << "the first TTL still applies";
  EXPECT_EQ(*store().increment("window", 1, milliseconds(400)), 1) << "a new window starts at one";
}

TEST_P(StateStoreContractTest, IncrementOfANonIntegerFailsAndLeavesTheValue) {
  ASSERT_TRUE(store().set("name", "alice").is_ok());
  EXPECT_EQ(store().increment("name", 1).status().code(), "state_not_integer");
  EXPECT_EQ(must_get("name"), "alice");
  ASSERT_TRUE(store().set("decimal", "1.5").is_ok());
  EXPECT_EQ(store().increment("decimal", 1).status().code(), "state_not_integer");
}

TEST_P(StateStoreContractTest, IncrementThatWouldOverflowFails) {
  ASSERT_TRUE(store().set("big", std::to_string(INT64_MAX)).is_ok());
  EXPECT_FALSE(store().increment("big", 1).is_ok());
  EXPECT_EQ(must_get("big"), std::to_string(INT64_MAX));
}

TEST_P(StateStoreContractTest, ConcurrentIncrementsSumExactly) {
  constexpr int kThreads = 4;
  constexpr int kIncrementsPerThread = 250;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrementsPerThread; ++i) {
        if (!store().increment("shared", 1).is_ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(must_get("shared"), std::to_string(kThreads * kIncrementsPerThread));
}

// --- set_ttl

TEST_P(StateStoreContractTest, SetTtlOfAnAbsentKeyReturnsFalse) {
  EXPECT_FALSE(must(store().set_ttl("absent", milliseconds(1000))));
  EXPECT_FALSE(must(store().set_ttl("absent", std::nullopt)));
  EXPECT_EQ(must_get("absent"), std::nullopt);
}

TEST_P(StateStoreContractTest, SetTtlGivesAKeyAnExpiryAndClearingItKeepsTheKey) {
  ASSERT_TRUE(store().set("heartbeat:node-a", "up").is_ok());
  EXPECT_TRUE(must(store().set_ttl("heartbeat:node-a", milliseconds(300))));
  advance(milliseconds(100));
  EXPECT_EQ(must_get("heartbeat:node-a"), "up");
  advance(milliseconds(400));
  EXPECT_EQ(must_get("heartbeat:node-a"), std::nullopt);

  ASSERT_TRUE(store().set("pinned", "v", milliseconds(200)).is_ok());
  EXPECT_TRUE(must(store().set_ttl("pinned", std::nullopt)));
  advance(milliseconds(400));
  EXPECT_EQ(must_get("pinned"), "v");
}

// --- hashes

TEST_P(StateStoreContractTest, HashFieldsAreSetReadAndListedInFieldOrder) {
  ASSERT_TRUE(store().hash_set("org:1:calls", "c2", "queued").is_ok());
  ASSERT_TRUE(store().hash_set("org:1:calls", "c1", "talking").is_ok());
  ASSERT_TRUE(store().hash_set("org:1:calls", "c3", std::string("\0x", 2)).is_ok());
  ASSERT_TRUE(store().hash_set("org:1:calls", "c2", "ringing").is_ok()) << "overwrites a field";
  auto c2 = store().hash_get("org:1:calls", "c2");
  ASSERT_TRUE(c2.is_ok());
  EXPECT_EQ(*c2, "ringing");
  EXPECT_EQ(*store().hash_get("org:1:calls", "c9"), std::nullopt);
  EXPECT_EQ(*store().hash_get("org:2:calls", "c1"), std::nullopt);
  auto all = store().hash_get_all("org:1:calls");
  ASSERT_TRUE(all.is_ok());
  EXPECT_EQ(*all,
            (std::map<std::string, std::string>{{"c1", "talking"}, {"c2", "ringing"}, {"c3", std::string("\0x", 2)}}));
  auto none = store().hash_get_all("org:2:calls");
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StateStoreContractTest, HashDisappearsWithItsLastField) {
  ASSERT_TRUE(store().hash_set("h", "a", "1").is_ok());
  ASSERT_TRUE(store().hash_set("h", "b", "2").is_ok());
  EXPECT_TRUE(must(store().hash_erase("h", "a")));
  EXPECT_FALSE(must(store().hash_erase("h", "a")));
  EXPECT_FALSE(must(store().hash_erase("absent", "a")));
  EXPECT_TRUE(must(store().hash_erase("h", "b")));
  EXPECT_TRUE(store().hash_get_all("h")->empty());
  EXPECT_FALSE(must(store().set_ttl("h", milliseconds(1000)))) << "the hash key is gone";
  EXPECT_FALSE(must(store().erase("h")));
}

TEST_P(StateStoreContractTest, HashExpiresAsAWholeWithItsKeyTtl) {
  ASSERT_TRUE(store().hash_set("org:1:agents", "alice", "ready").is_ok());
  EXPECT_TRUE(must(store().set_ttl("org:1:agents", milliseconds(300))));
  ASSERT_TRUE(store().hash_set("org:1:agents", "bob", "busy").is_ok());
  advance(milliseconds(100));
  EXPECT_EQ(store().hash_get_all("org:1:agents")->size(), 2u);
  advance(milliseconds(400));
  EXPECT_TRUE(store().hash_get_all("org:1:agents")->empty());
  EXPECT_EQ(*store().hash_get("org:1:agents", "alice"), std::nullopt);
}

TEST_P(StateStoreContractTest, EraseRemovesAWholeHash) {
  ASSERT_TRUE(store().hash_set("h", "a", "1").is_ok());
  EXPECT_TRUE(must(store().erase("h")));
  EXPECT_TRUE(store().hash_get_all("h")->empty());
}

TEST_P(StateStoreContractTest, PlainAndHashOperationsRefuseTheOtherType) {
  ASSERT_TRUE(store().set("plain", "v").is_ok());
  ASSERT_TRUE(store().hash_set("hash", "f", "v").is_ok());
  EXPECT_EQ(store().hash_set("plain", "f", "v").code(), "state_wrong_type");
  EXPECT_EQ(store().hash_get("plain", "f").status().code(), "state_wrong_type");
  EXPECT_EQ(store().hash_get_all("plain").status().code(), "state_wrong_type");
  EXPECT_EQ(store().get("hash").status().code(), "state_wrong_type");
  EXPECT_EQ(store().increment("hash", 1).status().code(), "state_wrong_type");
  EXPECT_EQ(must_get("plain"), "v");
  ASSERT_TRUE(store().set("hash", "now plain").is_ok()) << "set replaces whatever the key held";
  EXPECT_EQ(must_get("hash"), "now plain");
}

// --- leases

TEST_P(StateStoreContractTest, LeaseIsExclusiveWhileLive) {
  auto lease = must_acquire("routing:shard-1", "node-a", milliseconds(5000));
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->holder, "node-a");
  EXPECT_GT(lease->token, 0);
  EXPECT_GT(lease->expires_at_ms, 0);
  EXPECT_EQ(must_acquire("routing:shard-1", "node-b", milliseconds(5000)), std::nullopt);
  auto current = must_current("routing:shard-1");
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->holder, "node-a");
  EXPECT_EQ(current->token, lease->token);
  EXPECT_EQ(must_current("routing:shard-2"), std::nullopt);
}

TEST_P(StateStoreContractTest, ReacquiringByTheSameHolderRenewsAndKeepsTheToken) {
  auto first = must_acquire("l", "node-a", milliseconds(300));
  ASSERT_TRUE(first.has_value());
  advance(milliseconds(200));
  auto again = must_acquire("l", "node-a", milliseconds(300));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->token, first->token);
  EXPECT_GE(again->expires_at_ms, first->expires_at_ms);
  advance(milliseconds(200));  // past the first expiry, within the renewed one
  auto current = must_current("l");
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->holder, "node-a");
}

TEST_P(StateStoreContractTest, ExpiredLeaseGoesToTheNextHolderWithAHigherToken) {
  auto first = must_acquire("l", "node-a", milliseconds(200));
  ASSERT_TRUE(first.has_value());
  advance(milliseconds(300));
  EXPECT_EQ(must_current("l"), std::nullopt);
  auto second = must_acquire("l", "node-b", milliseconds(5000));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->holder, "node-b");
  EXPECT_GT(second->token, first->token);
}

TEST_P(StateStoreContractTest, FencingTokensOnlyIncreaseAcrossExpiryAndRelease) {
  int64_t last = 0;
  for (int round = 0; round < 4; ++round) {
    const std::string holder = "node-" + std::to_string(round % 2);
    auto lease = must_acquire("fenced", holder, milliseconds(150));
    ASSERT_TRUE(lease.has_value()) << "round " << round;
    EXPECT_GT(lease->token, last) << "round " << round;
    last = lease->token;
    if (round % 2 == 0) {
      ASSERT_TRUE(store().release_lease("fenced", *lease).is_ok());
    } else {
      advance(milliseconds(250));  // let it expire
    }
  }
  auto same_holder_again = must_acquire("fenced", "node-1", milliseconds(1000));
  ASSERT_TRUE(same_holder_again.has_value());
  EXPECT_GT(same_holder_again->token, last) << "a lapsed holder coming back gets a new token";
}

TEST_P(StateStoreContractTest, RenewExtendsAHeldLease) {
  auto lease = must_acquire("l", "node-a", milliseconds(300));
  ASSERT_TRUE(lease.has_value());
  advance(milliseconds(150));
  EXPECT_TRUE(must(store().renew_lease("l", *lease, milliseconds(600))));
  advance(milliseconds(300));  // 450 ms after acquiring: past the first TTL
  auto current = must_current("l");
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->token, lease->token);
  EXPECT_EQ(must_acquire("l", "node-b", milliseconds(300)), std::nullopt);
}

TEST_P(StateStoreContractTest, RenewAfterLosingTheLeaseReturnsFalseAndChangesNothing) {
  auto lost = must_acquire("l", "node-a", milliseconds(150));
  ASSERT_TRUE(lost.has_value());
  advance(milliseconds(250));
  EXPECT_FALSE(must(store().renew_lease("l", *lost, milliseconds(5000)))) << "expired, even with no new holder";
  EXPECT_EQ(must_current("l"), std::nullopt);
  auto taken = must_acquire("l", "node-b", milliseconds(5000));
  ASSERT_TRUE(taken.has_value());
  EXPECT_FALSE(must(store().renew_lease("l", *lost, milliseconds(5000))));
  Lease forged = *taken;
  forged.holder = "node-a";
  EXPECT_FALSE(must(store().renew_lease("l", forged, milliseconds(5000)))) << "holder must match";
  Lease stale = *taken;
  stale.token = lost->token;
  EXPECT_FALSE(must(store().renew_lease("l", stale, milliseconds(5000)))) << "token must match";
  auto current = must_current("l");
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->holder, "node-b");
  EXPECT_EQ(current->token, taken->token);
  EXPECT_FALSE(must(store().renew_lease("never-leased", *taken, milliseconds(5000))));
}

TEST_P(StateStoreContractTest, ReleaseFreesTheLeaseAndIgnoresStaleLeases) {
  auto lease = must_acquire("l", "node-a", milliseconds(5000));
  ASSERT_TRUE(lease.has_value());
  ASSERT_TRUE(store().release_lease("l", *lease).is_ok());
  EXPECT_EQ(must_current("l"), std::nullopt);
  EXPECT_FALSE(must(store().renew_lease("l", *lease, milliseconds(5000)))) << "released means lost";
  auto next = must_acquire("l", "node-b", milliseconds(5000));
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(next->token, lease->token);
  ASSERT_TRUE(store().release_lease("l", *lease).is_ok()) << "releasing a stale lease is a no-op";
  auto current = must_current("l");
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->holder, "node-b");
  ASSERT_TRUE(store().release_lease("never-leased", *lease).is_ok());
}

TEST_P(StateStoreContractTest, LeaseNamesDoNotCollideWithKeys) {
  ASSERT_TRUE(store().set("shared-name", "value").is_ok());
  ASSERT_TRUE(must_acquire("shared-name", "node-a", milliseconds(5000)).has_value());
  EXPECT_EQ(must_get("shared-name"), "value");
  EXPECT_TRUE(must(store().erase("shared-name")));
  EXPECT_TRUE(must_current("shared-name").has_value());
}

TEST_P(StateStoreContractTest, ConcurrentAcquisitionHasExactlyOneWinner) {
  constexpr int kThreads = 8;
  std::atomic<int> winners{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto won = store().acquire_lease("contended", "node-" + std::to_string(t), milliseconds(5000));
      if (!won.is_ok()) failures.fetch_add(1);
      if (won.is_ok() && won->has_value()) winners.fetch_add(1);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(winners.load(), 1);
}

TEST_P(StateStoreContractTest, PingSucceeds) { EXPECT_TRUE(store().ping().is_ok()); }

}  // namespace vontres::state::testing
