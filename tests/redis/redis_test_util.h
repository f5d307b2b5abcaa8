// Shared pieces of the tests/redis binary: the one cluster (RedisClusterEnvironment, registered in
// environment_test.cc), one client on it, and fresh key prefixes so every test starts empty.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "redis/cluster_client.h"
#include "support/redis_cluster.h"

namespace vontres::redis::testing {

inline ClientOptions options_for(const vontres::testing::RedisCluster& cluster) {
  ClientOptions options;
  for (const auto& seed : cluster.seeds()) {
    bool tls = false;
    auto endpoint = parse_endpoint(seed, &tls);
    if (endpoint.is_ok()) options.seeds.push_back(*endpoint);
    options.tls = tls;
  }
  if (options.tls) options.tls_ca_file = cluster.ca_file();
  options.password = cluster.options().password;
  return options;
}

// The binary's shared client, or null (with a test failure) when the cluster is not running.
inline std::shared_ptr<ClusterClient> shared_client() {
  static std::shared_ptr<ClusterClient> client;
  if (client) return client;
  auto* cluster = vontres::testing::RedisClusterEnvironment::cluster();
  if (cluster == nullptr) {
    ADD_FAILURE() << "no Redis cluster running";
    return nullptr;
  }
  auto made = ClusterClient::connect(options_for(*cluster));
  if (!made.is_ok()) {
    ADD_FAILURE() << "cannot connect to the Redis cluster: " << made.status().to_string();
    return nullptr;
  }
  client = std::move(made).value();
  return client;
}

inline std::string fresh_prefix(const std::string& what) {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(getpid()) + ":" + what + std::to_string(counter.fetch_add(1)) + ":";
}

}  // namespace vontres::redis::testing
