// Cache SET/GET through our Redis Cluster client (RedisClusterCache -> ClusterClient) against a
// real 3+3 Redis 7 cluster started for the run, with `redis-benchmark --cluster` on the same cluster
// in the same run as the baseline. Prints ops/s and p99 for both and their ratio (ours / baseline).
// Not a test: nothing is asserted.
//
//   build/bench/vontres_redis_cluster_bench [--clients 50] [--requests 100000] [--value-bytes 64]
//
// Both sides use the same number of concurrent clients, requests and value size, without pipelining
// (redis-benchmark -P 1; each of our clients is a thread doing one synchronous call at a time, the
// threads sharing the client's few pipelined connections per node).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "redis/cluster_client.h"
#include "redis/redis_cluster_cache.h"
#include "support/redis_cluster.h"
#include "support/subprocess.h"

namespace {

using vontres::redis::ClientOptions;
using vontres::redis::ClusterClient;
using vontres::redis::RedisClusterCache;
using SteadyClock = std::chrono::steady_clock;

struct Figures {
  double ops_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

// "SET","20833.33","0.351","0.024","0.135","2.295","4.951","8.199"
std::map<std::string, Figures> parse_csv(const std::string& csv) {
  std::map<std::string, Figures> out;
  std::istringstream lines(csv);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream cells(line);
    while (std::getline(cells, field, ',')) {
      if (field.size() >= 2 && field.front() == '"') field = field.substr(1, field.size() - 2);
      fields.push_back(field);
    }
    if (fields.size() < 7 || fields[0] == "test") continue;
    out[fields[0]] = Figures{std::atof(fields[1].c_str()), std::atof(fields[4].c_str()), std::atof(fields[6].c_str())};
  }
  return out;
}

Figures run_ours(RedisClusterCache& cache, bool set, int clients, int requests, const std::string& value) {
  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  std::atomic<int> next{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(clients));
  const auto started = SteadyClock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto& mine = latencies[static_cast<size_t>(c)];
      for (int i = next.fetch_add(1); i < requests; i = next.fetch_add(1)) {
        const std::string key = "key:" + std::to_string(i % 100000);
        const auto t0 = SteadyClock::now();
        const bool ok = set ? cache.set(key, value).is_ok() : cache.get(key).is_ok();
        mine.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
        if (!ok) errors.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  std::vector<double> all;
  for (auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
  std::sort(all.begin(), all.end());
  Figures figures;
  figures.ops_per_second = static_cast<double>(all.size()) / seconds;
  figures.p50_ms = all.empty() ? 0 : all[all.size() / 2];
  figures.p99_ms = all.empty() ? 0 : all[std::min(all.size() - 1, all.size() * 99 / 100)];
  if (errors.load() > 0) std::fprintf(stderr, "warning: %d failed operations\n", errors.load());
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  int clients = 50;
  int requests = 100000;
  int value_bytes = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--clients") clients = std::max(1, value);
    if (flag == "--requests") requests = std::max(1, value);
    if (flag == "--value-bytes") value_bytes = std::max(1, value);
  }
  std::string error;
  auto cluster = vontres::testing::RedisCluster::start({}, &error);
  if (!cluster) {
    std::fprintf(stderr, "cannot start the Redis cluster: %s\n", error.c_str());
    return 1;
  }
  ClientOptions options;
  options.seeds.push_back({"127.0.0.1", cluster->ports().front()});
  auto client = ClusterClient::connect(options);
  if (!client.is_ok()) {
    std::fprintf(stderr, "cannot connect: %s\n", client.status().to_string().c_str());
    return 1;
  }
  std::shared_ptr<ClusterClient> shared = std::move(client).value();
  auto cache = RedisClusterCache::create(shared, "");
  if (!cache.is_ok()) {
    std::fprintf(stderr, "cannot create the cache: %s\n", cache.status().to_string().c_str());
    return 1;
  }
  const std::string value(static_cast<size_t>(value_bytes), 'x');

  // Baseline first, then ours, then the baseline again, so drift on a shared machine shows.
  auto baseline = [&] {
    auto result = vontres::testing::run({"redis-benchmark", "--cluster", "-h", "127.0.0.1", "-p",
                                         std::to_string(cluster->ports().front()), "-t", "set,get", "-n",
                                         std::to_string(requests), "-c", std::to_string(clients), "-d",
                                         std::to_string(value_bytes), "-r", "100000", "--csv", "-q"});
    if (result.exit_code != 0) std::fprintf(stderr, "redis-benchmark failed: %s\n", result.err.c_str());
    return parse_csv(result.out);
  };
  auto first = baseline();
  const Figures our_set = run_ours(**cache, true, clients, requests, value);
  const Figures our_get = run_ours(**cache, false, clients, requests, value);
  auto second = baseline();

  std::printf("Redis Cluster 3 masters + 3 replicas on 127.0.0.1, %d clients, %d requests, %d-byte values\n", clients,
              requests, value_bytes);
  std::printf("%-28s %12s %10s %10s\n", "", "ops/s", "p50 ms", "p99 ms");
  for (const char* op : {"SET", "GET"}) {
    const Figures ours = std::string(op) == "SET" ? our_set : our_get;
    const Figures base1 = first[op];
    const Figures base2 = second[op];
    const double base_ops = (base1.ops_per_second + base2.ops_per_second) / 2;
    const double base_p99 = (base1.p99_ms + base2.p99_ms) / 2;
    std::printf("%-4s redis-benchmark (run 1)   %12.0f %10.3f %10.3f\n", op, base1.ops_per_second, base1.p50_ms,
                base1.p99_ms);
    std::printf("%-4s redis-benchmark (run 2)   %12.0f %10.3f %10.3f\n", op, base2.ops_per_second, base2.p50_ms,
                base2.p99_ms);
    std::printf("%-4s vontres RedisClusterCache %12.0f %10.3f %10.3f\n", op, ours.ops_per_second, ours.p50_ms,
                ours.p99_ms);
    std::printf("%-4s ratio ours/baseline       %12.2f %10s %10.2f\n", op,
                base_ops > 0 ? ours.ops_per_second / base_ops : 0.0, "", base_p99 > 0 ? ours.p99_ms / base_p99 : 0.0);
  }
  return 0;
}
