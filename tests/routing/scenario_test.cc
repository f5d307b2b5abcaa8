// Simulated days: each drives 1,000 callers (Poisson arrivals, exponential handle times, fixed
// seed) and 100 agents through one longest-idle FIFO queue with the manual clock. With infinite
// patience and instant answers that is an M/M/100 queue, so service level, probability of waiting
// and ASA must match Erlang C for the same load. Each day starts in steady state (as many calls in
// progress and waiting drawn from the stationary M/M/c distribution; exponential handle times are
// memoryless), so no warm-up has to be discarded.
//
// One day at 92 % occupancy is a small sample with strongly correlated waits: over 40 seeds the
// per-day standard deviation was 0.20 for service level, 0.21 for P(wait) and 10.7 s for ASA (the
// DISABLED_ calibration test below prints it). So the single-day test reports its figures with a
// loose check (2 standard deviations), and the Erlang comparison pools 200 fixed-seed days
// (200,000 callers, about 1 s), where the standard error is about 0.014, 0.015 and 0.75 s; the
// asserted tolerances are about 2.5 sigma: +-0.04 for service level and P(wait), +-20 % for ASA.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <queue>
#include <random>

#include "routing/engine.h"
#include "routing/erlang.h"
#include "routing/routing_test_support.h"

namespace vontres::routing {
namespace {

using namespace std::chrono_literals;

constexpr int kAgents = 100;
constexpr int kCallers = 1000;
constexpr double kHandleSeconds = 240;
constexpr double kTraffic = 92;  // Erlangs: 92 % occupancy
constexpr double kThresholdSeconds = 20;

struct DayResult {
  double service_level = 0;  // answered within 20 s / (answered + abandoned)
  double waited_fraction = 0;
  double asa_seconds = 0;
  double abandon_rate = 0;
  int answered = 0;
  int abandoned = 0;
};

// One simulated day. `patience_seconds` > 0 gives callers exponential patience (they abandon).
DayResult simulate_day(uint64_t seed, double patience_seconds) {
  ManualClock clock;
  testing::RecordingSink sink;
  Engine engine(clock, sink);
  const OrgId org("sim");
  QueueConfig q;
  q.id = QueueId("main");
  q.org = org;
  q.strategy = Strategy::kLongestIdle;
  q.service_level_threshold = std::chrono::seconds(static_cast<int>(kThresholdSeconds));
  EXPECT_TRUE(engine.upsert_queue(q).is_ok());
  for (int i = 0; i < kAgents; ++i) {
    AgentConfig a;
    a.id = AgentId("agent-" + std::to_string(i));
    a.org = org;
    a.queues = {{q.id, 0}};
    EXPECT_TRUE(engine.upsert_agent(a).is_ok());
    EXPECT_TRUE(engine.set_presence(org, a.id, Presence::kAvailable).is_ok());
  }

  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> interarrival(kTraffic / kHandleSeconds);
  std::exponential_distribution<double> handle(1.0 / kHandleSeconds);
  std::exponential_distribution<double> patience(patience_seconds > 0 ? 1.0 / patience_seconds : 1.0);
  const TimePoint start = clock.now();
  auto at = [start](double seconds) {
    return start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
  };

  using Timed = std::pair<TimePoint, std::string>;
  std::priority_queue<Timed, std::vector<Timed>, std::greater<>> hangups;   // connected calls ending
  std::priority_queue<Timed, std::vector<Timed>, std::greater<>> abandons;  // waiting callers giving up
  std::map<std::string, double> handle_of;
  size_t seen = 0;
  DayResult result;
  int waited = 0;
  double total_wait = 0;
  int within = 0;

  // Answers every new offer at once; the call then lasts its handle time.
  auto answer_offers = [&] {
    while (seen < sink.events.size()) {
      const RoutingEvent e = sink.events[seen++];
      if (e.type == RoutingEventType::kOffered) {
        EXPECT_TRUE(engine.accept_offer(e.call, e.agent).is_ok());
      } else if (e.type == RoutingEventType::kAccepted) {
        hangups.emplace(
            clock.now() + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(handle_of[e.call.str()])),
            e.call.str());
        if (e.call.str().rfind("warm-", 0) == 0) continue;
        const double wait = std::chrono::duration<double>(e.waited).count();
        ++result.answered;
        total_wait += wait;
        if (wait > 0) ++waited;
        if (wait <= kThresholdSeconds) ++within;
      }
    }
  };

  // Steady state at t=0: draw the number of calls in the system from the stationary M/M/c
  // distribution (weights a^n/n! up to c agents, then a geometric tail with ratio a/c); the first c
  // are in progress (residual handle times are exponential again), the rest wait. None is measured.
  std::vector<double> weights{1.0};
  for (int n = 1; n < kAgents + 600; ++n) {
    weights.push_back(weights.back() * (n <= kAgents ? kTraffic / n : kTraffic / kAgents));
  }
  const int in_system = static_cast<int>(std::discrete_distribution<int>(weights.begin(), weights.end())(rng));
  for (int i = 0; i < in_system; ++i) {
    CallRequest c;
    c.id = CallId("warm-" + std::to_string(i));
    c.org = org;
    c.queue = q.id;
    handle_of[c.id.str()] = handle(rng);
    EXPECT_TRUE(engine.enqueue_call(c).is_ok());
    answer_offers();
  }

  double next_arrival = interarrival(rng);
  int arrived = 0;
  for (;;) {
    TimePoint next = TimePoint::max();
    if (arrived < kCallers) next = at(next_arrival);
    if (!hangups.empty()) next = std::min(next, hangups.top().first);
    if (!abandons.empty()) next = std::min(next, abandons.top().first);
    if (next == TimePoint::max()) break;
    clock.set(next);
    if (!hangups.empty() && hangups.top().first == next) {
      const std::string id = hangups.top().second;
      hangups.pop();
      EXPECT_TRUE(engine.call_ended(CallId(id)).is_ok());
    } else if (!abandons.empty() && abandons.top().first == next) {
      const std::string id = abandons.top().second;
      abandons.pop();
      auto view = engine.call(CallId(id));
      if (view.is_ok() && view->state == CallState::kWaiting) {
        EXPECT_TRUE(engine.call_ended(CallId(id)).is_ok());
        ++result.abandoned;
      }
    } else {
      CallRequest c;
      c.id = CallId("caller-" + std::to_string(arrived));
      c.org = org;
      c.queue = q.id;
      handle_of[c.id.str()] = handle(rng);
      const double give_up = patience(rng);
      EXPECT_TRUE(engine.enqueue_call(c).is_ok());
      if (patience_seconds > 0)
        abandons.emplace(next + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(give_up)),
                         c.id.str());
      ++arrived;
      next_arrival += interarrival(rng);
    }
    answer_offers();
  }
  EXPECT_EQ(result.answered + result.abandoned, kCallers);
  result.service_level = static_cast<double>(within) / (result.answered + result.abandoned);
  result.waited_fraction = static_cast<double>(waited) / result.answered;
  result.asa_seconds = total_wait / result.answered;
  result.abandon_rate = static_cast<double>(result.abandoned) / kCallers;
  return result;
}

struct ErlangReference {
  double service_level = erlang::service_level(kAgents, kTraffic, kHandleSeconds, kThresholdSeconds);
  double waited_fraction = erlang::erlang_c(kAgents, kTraffic);
  double asa_seconds = erlang::average_speed_of_answer(kAgents, kTraffic, kHandleSeconds);
};

void print(const char* label, const DayResult& day) {
  const ErlangReference erlang;
  std::printf("[scenario] %s: %d agents, %.0f Erlangs, AHT %.0f s, %d answered, %d abandoned\n", label, kAgents,
              kTraffic, kHandleSeconds, day.answered, day.abandoned);
  std::printf("[scenario]   service level (20 s): simulated %.3f, Erlang C %.3f\n", day.service_level,
              erlang.service_level);
  std::printf("[scenario]   P(wait): simulated %.3f, Erlang C %.3f\n", day.waited_fraction, erlang.waited_fraction);
  std::printf("[scenario]   ASA: simulated %.1f s, Erlang C %.1f s\n", day.asa_seconds, erlang.asa_seconds);
  std::printf("[scenario]   abandonment: %.3f\n", day.abandon_rate);
}

TEST(RoutingScenario, OneSimulatedDayWithAThousandCallersReportsServiceLevelAsaAndAbandonment) {
  const DayResult day = simulate_day(20261125, 0);
  print("one day, 1,000 callers", day);
  const ErlangReference erlang;
  EXPECT_EQ(day.answered, kCallers);
  EXPECT_EQ(day.abandoned, 0);
  // Loose: within 2 per-day standard deviations (see the header comment).
  EXPECT_NEAR(day.service_level, erlang.service_level, 0.4);
  EXPECT_NEAR(day.asa_seconds, erlang.asa_seconds, 20.0);
}

TEST(RoutingScenario, LongestIdleFifoQueueMatchesErlangCOverTwoHundredDays) {
  DayResult pooled;
  const int days = 200;
  for (int d = 0; d < days; ++d) {
    const DayResult day = simulate_day(7000 + static_cast<uint64_t>(d), 0);
    pooled.service_level += day.service_level / days;
    pooled.waited_fraction += day.waited_fraction / days;
    pooled.asa_seconds += day.asa_seconds / days;
    pooled.answered += day.answered;
    pooled.abandoned += day.abandoned;
  }
  print("200 days, 200,000 callers", pooled);
  const ErlangReference erlang;
  EXPECT_EQ(pooled.abandoned, 0);
  EXPECT_NEAR(pooled.service_level, erlang.service_level, 0.04);
  EXPECT_NEAR(pooled.waited_fraction, erlang.waited_fraction, 0.04);
  EXPECT_NEAR(pooled.asa_seconds, erlang.asa_seconds, 0.20 * erlang.asa_seconds);
}

TEST(RoutingScenario, ImpatientCallersAbandonAndTheRestAreServedAtLeastAsWellAsErlangC) {
  const DayResult day = simulate_day(20261125, 180);
  const ErlangReference erlang;
  print("one day, 180 s mean patience", day);
  EXPECT_GT(day.abandoned, 0);
  EXPECT_LT(day.abandon_rate, erlang.waited_fraction);    // only callers who wait can abandon
  EXPECT_LE(day.asa_seconds, erlang.asa_seconds * 1.75);  // abandonment shortens the queue
}

// Calibration of the tolerances above: run with --gtest_also_run_disabled_tests.
TEST(RoutingScenario, DISABLED_CalibrateToleranceOverManySeeds) {
  double sum[3] = {0, 0, 0}, sq[3] = {0, 0, 0};
  const int seeds = 40;
  for (int s = 0; s < seeds; ++s) {
    const DayResult d = simulate_day(1000 + static_cast<uint64_t>(s), 0);
    const double v[3] = {d.service_level, d.waited_fraction, d.asa_seconds};
    for (int i = 0; i < 3; ++i) {
      sum[i] += v[i];
      sq[i] += v[i] * v[i];
    }
  }
  const char* names[3] = {"service_level", "P(wait)", "ASA"};
  for (int i = 0; i < 3; ++i) {
    const double mean = sum[i] / seeds;
    std::printf("[calibration] %s mean %.3f sd %.3f\n", names[i], mean, std::sqrt(sq[i] / seeds - mean * mean));
  }
}

}  // namespace
}  // namespace vontres::routing
