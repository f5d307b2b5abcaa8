// Routing engine benchmarks at contact-centre scale: 10,000 agents, 500 queues, 100 skills.
//   BM_RouteArrivingCall             a call arrives and the engine picks an agent (or queues it);
//                                    about half the agents are busy. Reports decisions/s and
//                                    p50/p99 decision latency.
//   BM_RouteArrivingCall_NoExplain   the same with explain records off (their cost).
//   BM_RouteArrivingCall_LinearScan  the baseline: a naive router scanning all agents per call,
//                                    measured in the same run for the ratio.
//   BM_AgentReadyTakesWaitingCall    every agent busy, 50,000 calls waiting; an agent frees up
//                                    and the engine picks its next call.
//   BM_MemoryPerWaitingCall          live heap bytes per waiting call (glibc mallinfo2).
// Benchmarks never assert; see docs/routing.md for figures.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "routing/engine.h"

namespace vontres::routing {
namespace {

using namespace std::chrono_literals;

constexpr int kAgents = 10'000;
constexpr int kQueues = 500;
constexpr int kSkills = 100;

class NullSink final : public RoutingEventSink {
 public:
  void on_event(const RoutingEvent& event) override {
    if (event.type == RoutingEventType::kOffered) offers.push_back({event.call, event.agent});
  }
  std::vector<std::pair<CallId, AgentId>> offers;
};

std::string skill_name(int i) { return "skill-" + std::to_string(i); }
std::string queue_name(int i) { return "queue-" + std::to_string(i); }

// The same random contact centre for the engine and the baseline.
struct Centre {
  struct Agent {
    std::vector<std::pair<int, int>> skills;  // (skill, proficiency)
    std::vector<std::pair<int, int>> queues;  // (queue, penalty)
  };
  struct Queue {
    std::vector<std::pair<int, int>> required;  // (skill, min proficiency)
  };
  std::vector<Agent> agents;
  std::vector<Queue> queues;

  explicit Centre(uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto uniform = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    queues.resize(kQueues);
    // Each queue needs one skill at a low level, so about a third of its members qualify.
    for (auto& q : queues) q.required = {{uniform(0, kSkills - 1), uniform(1, 3)}};
    agents.resize(kAgents);
    for (int i = 0; i < kAgents; ++i) {
      Agent& a = agents[static_cast<size_t>(i)];
      const int queue_count = uniform(3, 5);
      for (int k = 0; k < queue_count; ++k) {
        const int q = uniform(0, kQueues - 1);
        a.queues.emplace_back(q, uniform(0, 1));
        // Give the agent its queue's skill more often than not.
        if (uniform(0, 2) > 0) a.skills.emplace_back(queues[static_cast<size_t>(q)].required[0].first, uniform(1, 10));
      }
      const int extra = uniform(1, 5);
      for (int k = 0; k < extra; ++k) a.skills.emplace_back(uniform(0, kSkills - 1), uniform(1, 10));
    }
  }

  void load(Engine& engine, const OrgId& org, bool login) const {
    for (int i = 0; i < kQueues; ++i) {
      QueueConfig q;
      q.id = QueueId(queue_name(i));
      q.org = org;
      q.strategy = Strategy::kLongestIdle;
      q.offer_timeout = 3600s;  // the benchmark answers every offer itself
      for (const auto& [skill, min] : queues[static_cast<size_t>(i)].required)
        q.required_skills.push_back({skill_name(skill), min});
      (void)engine.upsert_queue(q);
    }
    for (int i = 0; i < kAgents; ++i) {
      AgentConfig a;
      a.id = AgentId("agent-" + std::to_string(i));
      a.org = org;
      a.name = a.id.str();
      for (const auto& [skill, level] : agents[static_cast<size_t>(i)].skills) a.skills[skill_name(skill)] = level;
      for (const auto& [queue, penalty] : agents[static_cast<size_t>(i)].queues)
        a.queues.push_back({QueueId(queue_name(queue)), penalty});
      (void)engine.upsert_agent(a);
      if (login) (void)engine.set_presence(org, a.id, Presence::kAvailable);
    }
  }
};

const Centre& centre() {
  static const Centre c(2026);
  return c;
}

void report_latency(benchmark::State& state, std::vector<double>& ns) {
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  state.counters["p50_ns"] = ns[ns.size() / 2];
  state.counters["p99_ns"] = ns[ns.size() * 99 / 100];
}

CallRequest make_call(uint64_t n, int queue, const OrgId& org) {
  CallRequest c;
  c.id = CallId("call-" + std::to_string(n));
  c.org = org;
  c.queue = QueueId(queue_name(queue));
  c.intent = "billing_question";
  c.customer_tier = n % 10 == 0 ? "vip" : "standard";
  c.sentiment = 0.1;
  return c;
}

void route_arriving_calls(benchmark::State& state, size_t decisions_per_call) {
  ManualClock clock;
  NullSink sink;
  EngineOptions options;
  options.decisions_per_call = decisions_per_call;
  Engine engine(clock, sink, options);
  const OrgId org("bench");
  centre().load(engine, org, true);
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> queue_pick(0, kQueues - 1);
  std::deque<CallId> connected;
  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  uint64_t n = 0;
  for (auto _ : state) {
    const CallRequest call = make_call(++n, queue_pick(rng), org);
    clock.advance(50ms);
    const auto t0 = std::chrono::steady_clock::now();
    auto placed = engine.enqueue_call(call);
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(placed);
    if (latencies.size() < latencies.capacity())
      latencies.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    state.PauseTiming();
    // Answer what was offered; keep about half the agents on calls by ending the oldest.
    for (const auto& [c, a] : sink.offers) {
      if (engine.accept_offer(c, a).is_ok()) connected.push_back(c);
    }
    sink.offers.clear();
    while (connected.size() > kAgents / 2) {
      (void)engine.call_ended(connected.front());
      connected.pop_front();
      for (const auto& [c, a] : sink.offers) {
        if (engine.accept_offer(c, a).is_ok()) connected.push_back(c);
      }
      sink.offers.clear();
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  report_latency(state, latencies);
  state.counters["waiting"] = static_cast<double>(engine.counters().waiting);
}

void BM_RouteArrivingCall(benchmark::State& state) { route_arriving_calls(state, 16); }
void BM_RouteArrivingCall_NoExplain(benchmark::State& state) { route_arriving_calls(state, 0); }

// Baseline: what a straightforward ACD does, scanning every agent for membership, readiness and
// skills and keeping the longest idle.
void BM_RouteArrivingCall_LinearScan(benchmark::State& state) {
  const Centre& c = centre();
  struct AgentState {
    bool ready = true;
    int64_t idle_since = 0;
  };
  std::vector<AgentState> agents(kAgents);
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> queue_pick(0, kQueues - 1);
  std::deque<int> busy;
  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  int64_t now = 0;
  uint64_t n = 0;
  for (auto _ : state) {
    const int q = queue_pick(rng);
    ++n;
    now += 50;
    const auto t0 = std::chrono::steady_clock::now();
    int best = -1;
    int best_penalty = 1 << 30;
    for (int i = 0; i < kAgents; ++i) {
      const AgentState& s = agents[static_cast<size_t>(i)];
      if (!s.ready) continue;
      const auto& a = c.agents[static_cast<size_t>(i)];
      int penalty = -1;
      for (const auto& [queue, p] : a.queues) {
        if (queue == q) penalty = p;
      }
      if (penalty < 0) continue;
      bool ok = true;
      for (const auto& [skill, min] : c.queues[static_cast<size_t>(q)].required) {
        bool has = false;
        for (const auto& [s2, level] : a.skills) has = has || (s2 == skill && level >= min);
        ok = ok && has;
      }
      if (!ok) continue;
      if (best < 0 || penalty < best_penalty ||
          (penalty == best_penalty && s.idle_since < agents[static_cast<size_t>(best)].idle_since)) {
        best = i;
        best_penalty = penalty;
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(best);
    if (latencies.size() < latencies.capacity())
      latencies.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    if (best >= 0) {
      agents[static_cast<size_t>(best)].ready = false;
      busy.push_back(best);
    }
    while (busy.size() > kAgents / 2) {
      agents[static_cast<size_t>(busy.front())].ready = true;
      agents[static_cast<size_t>(busy.front())].idle_since = now;
      busy.pop_front();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  report_latency(state, latencies);
}

void BM_AgentReadyTakesWaitingCall(benchmark::State& state) {
  ManualClock clock;
  NullSink sink;
  Engine engine(clock, sink);
  const OrgId org("bench");
  centre().load(engine, org, true);
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int> queue_pick(0, kQueues - 1);
  std::deque<CallId> connected;
  uint64_t n = 0;
  auto answer_all = [&] {
    for (const auto& [c, a] : sink.offers) {
      if (engine.accept_offer(c, a).is_ok()) connected.push_back(c);
    }
    sink.offers.clear();
  };
  // Fill: every agent that can be reached gets a call, then 50,000 more wait.
  while (engine.counters().waiting < 50'000) {
    (void)engine.enqueue_call(make_call(++n, queue_pick(rng), org));
    answer_all();
  }
  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  uint64_t decisions = 0;
  for (auto _ : state) {
    clock.advance(50ms);
    const CallId done = connected.front();
    connected.pop_front();
    const auto t0 = std::chrono::steady_clock::now();
    (void)engine.call_ended(done);  // the agent is ready again and takes its next call
    const auto t1 = std::chrono::steady_clock::now();
    if (latencies.size() < latencies.capacity())
      latencies.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    state.PauseTiming();
    decisions += sink.offers.size();
    answer_all();
    (void)engine.enqueue_call(make_call(++n, queue_pick(rng), org));  // keep the backlog
    answer_all();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(decisions));
  report_latency(state, latencies);
  state.counters["waiting"] = static_cast<double>(engine.counters().waiting);
}

// range(0): explain records kept per call (16 is the default, 0 turns them off).
void BM_MemoryPerWaitingCall(benchmark::State& state) {
  for (auto _ : state) {
    ManualClock clock;
    NullSink sink;
    EngineOptions options;
    options.decisions_per_call = static_cast<size_t>(state.range(0));
    Engine engine(clock, sink, options);
    const OrgId org("bench");
    centre().load(engine, org, /*login=*/false);  // nobody answers: every call waits
    std::vector<CallRequest> calls;
    const int count = 100'000;
    calls.reserve(count);
    for (int i = 0; i < count; ++i) calls.push_back(make_call(static_cast<uint64_t>(i), i % kQueues, org));
    const auto before = static_cast<int64_t>(mallinfo2().uordblks);
    for (const auto& c : calls) (void)engine.enqueue_call(c);
    const auto after = static_cast<int64_t>(mallinfo2().uordblks);
    state.counters["bytes_per_waiting_call"] = static_cast<double>(after - before) / count;
    state.counters["waiting"] = static_cast<double>(engine.counters().waiting);
  }
}

BENCHMARK(BM_RouteArrivingCall)->Unit(benchmark::kMicrosecond)->Iterations(200'000);
BENCHMARK(BM_RouteArrivingCall_NoExplain)->Unit(benchmark::kMicrosecond)->Iterations(200'000);
BENCHMARK(BM_RouteArrivingCall_LinearScan)->Unit(benchmark::kMicrosecond)->Iterations(200'000);
BENCHMARK(BM_AgentReadyTakesWaitingCall)->Unit(benchmark::kMicrosecond)->Iterations(100'000);
BENCHMARK(BM_MemoryPerWaitingCall)->Arg(16)->Arg(0)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace vontres::routing

BENCHMARK_MAIN();
