// InProcessCache get/set throughput against a baseline measured in the same run: one
// std::unordered_map behind one std::mutex, with no TTL, LRU or memory accounting. After the
// Google Benchmark table, prints items/s of each cache benchmark as a ratio of its baseline twin
// (BM_Cache<Op> vs BM_Baseline<Op> at the same thread count). Not a test: nothing is asserted.
#include <benchmark/benchmark.h>

#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/in_process_cache.h"
#include "core/clock.h"

namespace {

constexpr int kKeys = 10'000;

const std::vector<std::string>& keys() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> made;
    for (int i = 0; i < kKeys; ++i) made.push_back("session:" + std::to_string(i));
    return made;
  }();
  return all;
}

const std::string kValue(64, 'v');

vontres::cache::InProcessCache& shared_cache() {
  static vontres::SystemClock clock;
  static vontres::cache::InProcessCache cache(vontres::CacheConfig{}, clock);
  return cache;
}

struct MutexMap {
  std::mutex mutex;
  std::unordered_map<std::string, std::string> map;  // GUARDED_BY(mutex)
};
MutexMap& shared_map() {
  static MutexMap map;
  return map;
}

void fill() {
  for (const auto& key : keys()) {
    (void)shared_cache().set(key, kValue);
    std::lock_guard lock(shared_map().mutex);
    shared_map().map[key] = kValue;
  }
}

void BM_CacheGet(benchmark::State& state) {
  if (state.thread_index() == 0) fill();
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto value = shared_cache().get(keys()[i++ % kKeys]);
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BaselineGet(benchmark::State& state) {
  if (state.thread_index() == 0) fill();
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    std::optional<std::string> value;
    {
      MutexMap& map = shared_map();
      std::lock_guard lock(map.mutex);
      auto found = map.map.find(keys()[i++ % kKeys]);
      if (found != map.map.end()) value = found->second;
    }
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CacheSet(benchmark::State& state) {
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    benchmark::DoNotOptimize(shared_cache().set(keys()[i++ % kKeys], kValue));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_BaselineSet(benchmark::State& state) {
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    MutexMap& map = shared_map();
    std::lock_guard lock(map.mutex);
    map.map[keys()[i++ % kKeys]] = kValue;
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_CacheGet)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_BaselineGet)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_CacheSet)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();
BENCHMARK(BM_BaselineSet)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// Prints the usual table and remembers items/s per run name for the ratio summary.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto found = run.counters.find("items_per_second");
      if (found != run.counters.end()) items_per_second_[run.benchmark_name()] = found->second.value;
    }
  }

  void print_ratios() const {
    for (const auto& [name, rate] : items_per_second_) {
      if (name.rfind("BM_Cache", 0) != 0) continue;
      const std::string baseline = "BM_Baseline" + name.substr(std::string("BM_Cache").size());
      auto found = items_per_second_.find(baseline);
      if (found == items_per_second_.end() || found->second <= 0) continue;
      std::printf("%-32s %12.0f ops/s  = %.2fx of %s\n", name.c_str(), rate, rate / found->second, baseline.c_str());
    }
  }

 private:
  std::map<std::string, double> items_per_second_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}
