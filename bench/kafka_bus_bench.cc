// KafkaEventBus publish-to-consume throughput and latency on librdkafka's mock cluster (three
// brokers in this process, Kafka protocol over loopback), read as ratios against the
// InProcessEventBus measured with the same load in every iteration of the same run.
//
// Each iteration moves one batch from `publishers` threads to one consumer-group member, which
// acknowledges every delivery; the batch ends when all were consumed. publish() on Kafka returns
// once the brokers confirmed the event (acks=all), so one publisher has one event in flight: the
// publisher count is the offered concurrency. Two shapes (`publishers` argument):
//   1   one event in flight end to end: unloaded latency, publish round trip included;
//   16  sixteen concurrent publishers: throughput (batched by librdkafka's linger.ms=1).
// Counters: items_per_second (Kafka events/s), p50_us / p99_us (publish start to consume),
// rate_vs_inprocess, p50_vs_inprocess, p99_vs_inprocess (Kafka divided by the in-process bus).
// The mock cluster keeps everything in memory and skips replication, so these figures bound the
// client's own cost; a real broker adds disk and network. Not a test: nothing asserts timings.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "bus/in_process_bus.h"
#include "bus/kafka_bus.h"
#include "core/clock.h"
#include "core/config.h"

namespace vontres::bus {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr int kKeys = 64;

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

struct Summary {
  double events_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
};

// One publish-to-consume batch over `bus`; `count` events from `publishers` threads.
Summary run_batch(EventBus& bus, Consumer& consumer, const std::string& topic, int count, int publishers) {
  std::vector<int64_t> sent_ns(static_cast<size_t>(count));
  std::vector<int64_t> samples;
  samples.reserve(static_cast<size_t>(count));
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  const auto start = SteadyClock::now();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(publishers));
  for (int t = 0; t < publishers; ++t) {
    threads.emplace_back([&] {
      for (int seq = next.fetch_add(1); seq < count; seq = next.fetch_add(1)) {
        Event event;
        event.topic = topic;
        event.key = "call-" + std::to_string(seq % kKeys);
        event.type = "call.updated";
        event.payload = std::to_string(seq);
        sent_ns[static_cast<size_t>(seq)] = steady_ns();  // read by the consumer after delivery
        if (!bus.publish(std::move(event), 10s).is_ok()) failed = true;
      }
    });
  }
  int received = 0;
  const auto deadline = SteadyClock::now() + 120s;
  while (received < count && !failed && SteadyClock::now() < deadline) {
    auto batch = consumer.poll(512, 5ms);
    if (!batch.is_ok()) break;
    const int64_t now = steady_ns();
    for (const Delivery& d : *batch) {
      samples.push_back(now - sent_ns[static_cast<size_t>(std::stoi(d.event.payload))]);
      (void)consumer.ack(d);
      ++received;
    }
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  Summary s;
  if (received < count) return s;  // reported as zeros: the batch did not complete
  s.events_per_second = count / seconds;
  auto percentile = [&](double q) {
    const size_t index = std::min(samples.size() - 1, static_cast<size_t>(q * static_cast<double>(samples.size())));
    std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(index), samples.end());
    return static_cast<double>(samples[index]) / 1'000.0;
  };
  s.p50_us = percentile(0.50);
  s.p99_us = percentile(0.99);
  return s;
}

// The mock cluster, shared by every benchmark of this binary.
class MockCluster {
 public:
  MockCluster() {
    std::array<char, 256> error{};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", error.data(), error.size());
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error.data(), error.size());
    cluster_ = rd_kafka_mock_cluster_new(handle_, 3);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

void BM_KafkaMockVsInProcess_PublishToConsume(benchmark::State& state) {
  const int publishers = static_cast<int>(state.range(0));
  const int count = publishers == 1 ? 500 : 5'000;
  static MockCluster cluster;
  BusConfig config;
  config.partitions = 4;
  config.kafka.bootstrap_servers = cluster.bootstrap();
  config.kafka.partitions = 4;
  config.kafka.topic_creation = "broker";
  // The mock cluster answers an empty fetch only after fetch.wait.max.ms (a real broker answers as
  // soon as data arrives), so a short wait keeps that artefact out of the latency.
  config.kafka.client_properties = {
      {"session.timeout.ms", "4000"}, {"heartbeat.interval.ms", "300"}, {"fetch.wait.max.ms", "5"}};
  auto kafka = KafkaEventBus::create(config, SystemClock::instance());
  if (!kafka.is_ok()) {
    state.SkipWithError(kafka.status().to_string().c_str());
    return;
  }
  const std::string topic = "bench.kafka." + std::to_string(publishers);
  auto kafka_consumer = (*kafka)->subscribe({topic}, "bench");
  InProcessEventBus in_process(config, SystemClock::instance());
  auto local_consumer = in_process.subscribe({topic}, "bench");
  if (!kafka_consumer.is_ok() || !local_consumer.is_ok()) {
    state.SkipWithError("subscribe failed");
    return;
  }
  Summary kafka_total;
  Summary local_total;
  for (auto _ : state) {
    const Summary local = run_batch(in_process, **local_consumer, topic, count, publishers);
    const Summary remote = run_batch(**kafka, **kafka_consumer, topic, count, publishers);
    if (remote.events_per_second == 0 || local.events_per_second == 0) {
      state.SkipWithError("a batch did not complete");
      return;
    }
    state.SetIterationTime(count / remote.events_per_second);
    // Per-iteration figures averaged over iterations (each iteration is a full batch).
    kafka_total.events_per_second += remote.events_per_second;
    kafka_total.p50_us += remote.p50_us;
    kafka_total.p99_us += remote.p99_us;
    local_total.events_per_second += local.events_per_second;
    local_total.p50_us += local.p50_us;
    local_total.p99_us += local.p99_us;
  }
  const auto n = static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * count);
  state.counters["p50_us"] = kafka_total.p50_us / n;
  state.counters["p99_us"] = kafka_total.p99_us / n;
  state.counters["inprocess_events_per_s"] = local_total.events_per_second / n;
  state.counters["rate_vs_inprocess"] = kafka_total.events_per_second / local_total.events_per_second;
  state.counters["p50_vs_inprocess"] = local_total.p50_us > 0 ? kafka_total.p50_us / local_total.p50_us : 0;
  state.counters["p99_vs_inprocess"] = local_total.p99_us > 0 ? kafka_total.p99_us / local_total.p99_us : 0;
}
BENCHMARK(BM_KafkaMockVsInProcess_PublishToConsume)
    ->ArgName("publishers")
    ->Arg(1)
    ->Arg(16)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vontres::bus

BENCHMARK_MAIN();
