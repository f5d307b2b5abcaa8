// InProcessEventBus throughput and publish-to-consume latency, read as ratios against a baseline
// measured in the same run: the plainest possible hand-off of the same Event objects between two
// threads (a std::deque under a mutex with a condition variable). The bus does more (partitioning,
// group bookkeeping, ack tracking, redelivery deadlines, metrics), so the ratio says what that costs.
//
// Each iteration moves kBatch events from one producer to the consumers and waits until all were
// consumed (and, for the bus, acknowledged). Counters:
//   events/s (items_per_second), p50_us / p99_us publish-to-consume latency,
//   rate_vs_baseline and p50_vs_baseline / p99_vs_baseline against BM_Baseline_MutexDequeHandoff.
// Not a test: nothing here asserts timings.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "bus/in_process_bus.h"
#include "core/clock.h"
#include "core/config.h"

namespace vontres::bus {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr int kBatch = 20'000;
constexpr int kKeys = 64;  // distinct call ids, spread over the partitions

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

Event bench_event(int seq) {
  Event event;
  event.topic = "bench.calls";
  event.key = "call-" + std::to_string(seq % kKeys);
  event.type = "call.updated";
  event.payload = std::to_string(seq);
  return event;
}

struct Summary {
  double events_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
};

// Publish-to-consume samples; the producer stamps sent_ns[seq] before handing an event over, the
// consumer reads it after receiving (the hand-off's own synchronisation orders the two).
struct Latencies {
  std::vector<int64_t> sent_ns = std::vector<int64_t>(kBatch);
  std::vector<int64_t> samples_ns;
  std::mutex samples_mu;

  void add(const std::vector<int64_t>& local) {
    std::lock_guard lock(samples_mu);
    samples_ns.insert(samples_ns.end(), local.begin(), local.end());
  }
  double percentile_us(double q) {
    if (samples_ns.empty()) return 0;
    const size_t index = std::min(samples_ns.size() - 1, static_cast<size_t>(q * static_cast<double>(samples_ns.size())));
    std::nth_element(samples_ns.begin(), samples_ns.begin() + static_cast<std::ptrdiff_t>(index), samples_ns.end());
    return static_cast<double>(samples_ns[index]) / 1'000.0;
  }
};

// ---- Baseline: mutex + condition_variable + std::deque between two threads ----

struct Handoff {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Event> queue;  // GUARDED_BY(mu)
};

// Moves one batch; returns the wall time it took.
SteadyClock::duration baseline_batch(Latencies& latencies) {
  Handoff handoff;
  const auto start = SteadyClock::now();
  std::thread consumer([&] {
    std::vector<int64_t> local;
    local.reserve(kBatch);
    for (int received = 0; received < kBatch;) {
      std::unique_lock lock(handoff.mu);
      handoff.cv.wait(lock, [&] { return !handoff.queue.empty(); });
      // Take everything at once, as the bus's poll(256, ...) does.
      std::deque<Event> taken;
      taken.swap(handoff.queue);
      lock.unlock();
      const int64_t now = steady_ns();
      for (const Event& event : taken) {
        local.push_back(now - latencies.sent_ns[static_cast<size_t>(std::stoi(event.payload))]);
        ++received;
      }
    }
    latencies.add(local);
  });
  for (int seq = 0; seq < kBatch; ++seq) {
    Event event = bench_event(seq);
    latencies.sent_ns[static_cast<size_t>(seq)] = steady_ns();
    {
      std::lock_guard lock(handoff.mu);
      handoff.queue.push_back(std::move(event));
    }
    handoff.cv.notify_one();
  }
  consumer.join();
  return SteadyClock::now() - start;
}

// The baseline figures the bus benchmarks divide by, measured once per process.
const Summary& baseline() {
  static const Summary summary = [] {
    Latencies latencies;
    baseline_batch(latencies);  // warm-up
    latencies.samples_ns.clear();
    SteadyClock::duration total{};
    constexpr int kRuns = 5;
    for (int i = 0; i < kRuns; ++i) total += baseline_batch(latencies);
    Summary s;
    s.events_per_second = kRuns * kBatch / std::chrono::duration<double>(total).count();
    s.p50_us = latencies.percentile_us(0.50);
    s.p99_us = latencies.percentile_us(0.99);
    return s;
  }();
  return summary;
}

void report(benchmark::State& state, Latencies& latencies, SteadyClock::duration elapsed, bool is_baseline) {
  const double events = static_cast<double>(state.iterations()) * kBatch;
  state.SetItemsProcessed(static_cast<int64_t>(events));
  const double rate = events / std::chrono::duration<double>(elapsed).count();
  const double p50 = latencies.percentile_us(0.50);
  const double p99 = latencies.percentile_us(0.99);
  state.counters["p50_us"] = p50;
  state.counters["p99_us"] = p99;
  if (!is_baseline) {
    const Summary& base = baseline();
    state.counters["rate_vs_baseline"] = rate / base.events_per_second;
    state.counters["p50_vs_baseline"] = base.p50_us > 0 ? p50 / base.p50_us : 0;
    state.counters["p99_vs_baseline"] = base.p99_us > 0 ? p99 / base.p99_us : 0;
  }
}

void BM_Baseline_MutexDequeHandoff(benchmark::State& state) {
  Latencies latencies;
  SteadyClock::duration elapsed{};
  for (auto _ : state) elapsed += baseline_batch(latencies);
  report(state, latencies, elapsed, /*is_baseline=*/true);
}
BENCHMARK(BM_Baseline_MutexDequeHandoff)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- InProcessEventBus: one producer, state.range(0) members of one consumer group ----

void BM_InProcessBus_PublishToConsume(benchmark::State& state) {
  const int members = static_cast<int>(state.range(0));
  BusConfig config;  // defaults: 16 partitions, 65536 events per topic
  InProcessEventBus bus(config, SystemClock::instance());
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (int i = 0; i < members; ++i) {
    auto consumer = bus.subscribe({"bench.calls"}, "bench");
    if (!consumer.is_ok()) {
      state.SkipWithError(consumer.status().to_string().c_str());
      return;
    }
    consumers.push_back(std::move(consumer).value());
  }
  baseline();  // measure it now, not inside the timed loop

  Latencies latencies;
  SteadyClock::duration elapsed{};
  for (auto _ : state) {
    std::atomic<int> received{0};
    const auto start = SteadyClock::now();
    std::vector<std::thread> threads;
    for (auto& consumer : consumers) {
      threads.emplace_back([&, c = consumer.get()] {
        std::vector<int64_t> local;
        local.reserve(kBatch);
        while (received.load(std::memory_order_relaxed) < kBatch) {
          auto batch = c->poll(256, 1ms);
          if (!batch.is_ok()) break;
          const int64_t now = steady_ns();
          for (const Delivery& d : *batch) {
            local.push_back(now - latencies.sent_ns[static_cast<size_t>(std::stoi(d.event.payload))]);
            (void)c->ack(d);
          }
          received.fetch_add(static_cast<int>(batch->size()), std::memory_order_relaxed);
        }
        latencies.add(local);
      });
    }
    for (int seq = 0; seq < kBatch; ++seq) {
      Event event = bench_event(seq);
      latencies.sent_ns[static_cast<size_t>(seq)] = steady_ns();
      if (!bus.publish(std::move(event), 10s).is_ok()) {
        state.SkipWithError("publish failed");
        received.store(kBatch);  // lets the consumer threads finish
        break;
      }
    }
    for (auto& t : threads) t.join();
    elapsed += SteadyClock::now() - start;
  }
  report(state, latencies, elapsed, /*is_baseline=*/false);
}
BENCHMARK(BM_InProcessBus_PublishToConsume)
    ->ArgName("members")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vontres::bus

BENCHMARK_MAIN();
