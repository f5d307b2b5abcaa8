#include "routing/erlang.h"

#include <gtest/gtest.h>

#include <cmath>

namespace vontres::routing::erlang {
namespace {

TEST(Erlang, ErlangBMatchesTheClassicTableValue) {
  // 10 Erlangs on 10 trunks block about 21.5 % of calls.
  EXPECT_NEAR(erlang_b(10, 10.0), 0.2146, 1e-4);
}

TEST(Erlang, ErlangCMatchesAHandComputedExample) {
  // 2 agents, 1 Erlang: C = (1/2 * 2) / (1 + 1 + 1) = 1/3.
  EXPECT_NEAR(erlang_c(2, 1.0), 1.0 / 3.0, 1e-12);
}

TEST(Erlang, ServiceLevelAndAsaFollowFromErlangC) {
  // 100 calls per 30 min with 180 s AHT is 10 Erlangs. Reference values were computed with the
  // direct factorial form of Erlang C, independently of the recurrence used here.
  const double traffic = 100.0 / 1800.0 * 180.0;
  EXPECT_NEAR(traffic, 10.0, 1e-9);
  EXPECT_NEAR(erlang_c(13, traffic), 0.285270, 1e-6);
  EXPECT_NEAR(service_level(13, traffic, 180, 20), 0.795595, 1e-6);
  EXPECT_NEAR(average_speed_of_answer(13, traffic, 180), 17.1162, 1e-3);
  EXPECT_EQ(agents_for_service_level(traffic, 180, 20, 0.8), 14);  // 13 agents reach only 79.6 %
}

TEST(Erlang, OverloadedQueueNeverMeetsItsServiceLevel) {
  EXPECT_DOUBLE_EQ(erlang_c(5, 5.0), 1.0);
  EXPECT_DOUBLE_EQ(service_level(5, 6.0, 180, 20), 0.0);
  EXPECT_TRUE(std::isinf(average_speed_of_answer(5, 5.0, 180)));
}

}  // namespace
}  // namespace vontres::routing::erlang
