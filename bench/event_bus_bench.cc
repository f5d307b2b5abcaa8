// InProcessEventBus throughput and publish-to-consume latency, read as ratios against a baseline
// measured in the same run: the plainest possible hand-off of the same Event objects between two
// threads (a std::deque under a mutex with a condition variable). The bus does more (partitioning,
// group bookkeeping, ack tracking, redelivery deadlines, metrics), so the ratio says what that costs.
//
// Each iteration moves a batch of events from one producer to the consumers and waits until all
// were consumed (and, for the bus, acknowledged). Two modes (`paced` argument):
//   paced:0  saturated: the producer publishes as fast as it can; measures throughput, and the
//            latency it reports is mostly queueing behind the backlog.
//   paced:1  one event in flight: the producer waits until each event was consumed before the
//            next; measures the unloaded hand-off latency, including waking a blocked consumer.
// Counters:
//   events/s (items_per_second), p50_us / p99_us publish-to-consume latency,
//   rate_vs_baseline and p50_vs_baseline / p99_vs_baseline against a baseline batch run in every
//   iteration of the bus benchmark (BM_Baseline_MutexDequeHandoff shows the baseline on its own).
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

constexpr int kBatch = 20'000;      // saturated mode
constexpr int kPacedBatch = 2'000;  // paced mode: one event in flight at a time
constexpr int kKeys = 64;           // distinct call ids, spread over the partitions

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
    const size_t index =
        std::min(samples_ns.size() - 1, static_cast<size_t>(q * static_cast<double>(samples_ns.size())));
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

int batch_size(bool paced) { return paced ? kPacedBatch : kBatch; }

// In paced mode the producer waits for each event to be consumed before publishing the next.
void wait_if_paced(bool paced, const std::atomic<int>& received, int seq) {
  if (!paced) return;
  while (received.load(std::memory_order_acquire) <= seq) std::this_thread::yield();
}

// Moves one batch; returns the wall time it took.
SteadyClock::duration baseline_batch(Latencies& latencies, bool paced) {
  Handoff handoff;
  const int count = batch_size(paced);
  std::atomic<int> received_total{0};
  const auto start = SteadyClock::now();
  std::thread consumer([&] {
    std::vector<int64_t> local;
    local.reserve(static_cast<size_t>(count));
    for (int received = 0; received < count;) {
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
      received_total.store(received, std::memory_order_release);
    }
    latencies.add(local);
  });
  for (int seq = 0; seq < count; ++seq) {
    Event event = bench_event(seq);
    latencies.sent_ns[static_cast<size_t>(seq)] = steady_ns();
    {
      std::lock_guard lock(handoff.mu);
      handoff.queue.push_back(std::move(event));
    }
    handoff.cv.notify_one();
    wait_if_paced(paced, received_total, seq);
  }
  consumer.join();
  return SteadyClock::now() - start;
}

Summary summarize(benchmark::State& state, Latencies& latencies, SteadyClock::duration elapsed, bool paced) {
  const double events = static_cast<double>(state.iterations()) * batch_size(paced);
  Summary s;
  s.events_per_second = events / std::chrono::duration<double>(elapsed).count();
  s.p50_us = latencies.percentile_us(0.50);
  s.p99_us = latencies.percentile_us(0.99);
  return s;
}

void report(benchmark::State& state, const Summary& measured, bool paced) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * batch_size(paced));
  state.counters["p50_us"] = measured.p50_us;
  state.counters["p99_us"] = measured.p99_us;
}

void BM_Baseline_MutexDequeHandoff(benchmark::State& state) {
  const bool paced = state.range(0) != 0;
  Latencies latencies;
  SteadyClock::duration elapsed{};
  for (auto _ : state) elapsed += baseline_batch(latencies, paced);
  report(state, summarize(state, latencies, elapsed, paced), paced);
}
BENCHMARK(BM_Baseline_MutexDequeHandoff)
    ->ArgName("paced")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---- InProcessEventBus: one producer, state.range(0) members of one consumer group ----

void BM_InProcessBus_PublishToConsume(benchmark::State& state) {
  const int members = static_cast<int>(state.range(0));
  const bool paced = state.range(1) != 0;
  const int count = batch_size(paced);
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
  Latencies latencies;
  Latencies baseline_latencies;
  SteadyClock::duration elapsed{};
  SteadyClock::duration baseline_elapsed{};
  for (auto _ : state) {
    // A baseline batch in every iteration, so both see the same machine load (the ratio is what
    // this benchmark reports; absolute figures move with whatever else the host is running).
    baseline_elapsed += baseline_batch(baseline_latencies, paced);

    std::atomic<int> received{0};
    const auto start = SteadyClock::now();
    std::vector<std::thread> threads;
    for (auto& consumer : consumers) {
      threads.emplace_back([&, c = consumer.get()] {
        std::vector<int64_t> local;
        local.reserve(static_cast<size_t>(count));
        while (received.load(std::memory_order_relaxed) < count) {
          auto batch = c->poll(256, 1ms);
          if (!batch.is_ok()) break;
          const int64_t now = steady_ns();
          for (const Delivery& d : *batch) {
            local.push_back(now - latencies.sent_ns[static_cast<size_t>(std::stoi(d.event.payload))]);
            (void)c->ack(d);
          }
          received.fetch_add(static_cast<int>(batch->size()), std::memory_order_release);
        }
        latencies.add(local);
      });
    }
    for (int seq = 0; seq < count; ++seq) {
      Event event = bench_event(seq);
      latencies.sent_ns[static_cast<size_t>(seq)] = steady_ns();
      if (!bus.publish(std::move(event), 10s).is_ok()) {
        state.SkipWithError("publish failed");
        received.store(count);  // lets the consumer threads finish
        break;
      }
      wait_if_paced(paced, received, seq);
    }
    for (auto& t : threads) t.join();
    const auto batch_time = SteadyClock::now() - start;
    elapsed += batch_time;
    state.SetIterationTime(std::chrono::duration<double>(batch_time).count());
  }
  const Summary bus_summary = summarize(state, latencies, elapsed, paced);
  const Summary base = summarize(state, baseline_latencies, baseline_elapsed, paced);
  report(state, bus_summary, paced);
  state.counters["rate_vs_baseline"] = bus_summary.events_per_second / base.events_per_second;
  state.counters["p50_vs_baseline"] = base.p50_us > 0 ? bus_summary.p50_us / base.p50_us : 0;
  state.counters["p99_vs_baseline"] = base.p99_us > 0 ? bus_summary.p99_us / base.p99_us : 0;
}
BENCHMARK(BM_InProcessBus_PublishToConsume)
    ->ArgNames({"members", "paced"})
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vontres::bus

BENCHMARK_MAIN();
