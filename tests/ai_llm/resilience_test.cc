#include "ai/llm/resilience.h"

#include <gtest/gtest.h>

namespace vontres::ai::llm {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, GrowsExponentiallyWithJitterAndIsCapped) {
  uint64_t rng = 42;
  for (int round = 0; round < 200; ++round) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      const int64_t nominal = std::min<int64_t>(250LL << attempt, 5000);
      const auto delay = backoff_delay(attempt, milliseconds(250), milliseconds(5000), rng);
      ASSERT_GE(delay.count(), nominal / 2) << attempt;
      ASSERT_LE(delay.count(), nominal) << attempt;
    }
  }
}

TEST(Backoff, SameSeedSameDelays) {
  uint64_t a = 7;
  uint64_t b = 7;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(backoff_delay(i, milliseconds(100), milliseconds(10000), a),
              backoff_delay(i, milliseconds(100), milliseconds(10000), b));
  }
}

TEST(RetryAfter, ParsesSecondsAndHttpDates) {
  const TimePoint now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(parse_retry_after("3", now), milliseconds(3000));
  EXPECT_EQ(parse_retry_after(" 120 ", now), milliseconds(120000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), milliseconds(0));  // in the past
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-1", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("Wed, 21 Foo 2015 07:28:10 GMT", now), std::nullopt);
}

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresAndHalfOpensAfterCooldown) {
  ManualClock clock;
  CircuitBreaker breaker(clock, 3, milliseconds(30000));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker.allow());
    breaker.record_failure();
  }
  ASSERT_TRUE(breaker.allow());
  breaker.record_success();  // a success resets the count
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(breaker.allow());
    breaker.record_failure();
  }
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  EXPECT_FALSE(breaker.allow());
  clock.advance(milliseconds(29999));
  EXPECT_FALSE(breaker.allow());
  clock.advance(milliseconds(1));
  EXPECT_EQ(breaker.state(), BreakerState::kHalfOpen);
  EXPECT_TRUE(breaker.allow());   // the probe
  EXPECT_FALSE(breaker.allow());  // only one at a time
  breaker.record_failure();       // probe failed: open again for a full cooldown
  EXPECT_EQ(breaker.state(), BreakerState::kOpen);
  EXPECT_FALSE(breaker.allow());
  clock.advance(milliseconds(30000));
  EXPECT_TRUE(breaker.allow());
  breaker.record_success();
  EXPECT_EQ(breaker.state(), BreakerState::kClosed);
  EXPECT_TRUE(breaker.allow());
}

}  // namespace
}  // namespace vontres::ai::llm
