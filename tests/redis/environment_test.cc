// The one Redis cluster of this test binary (3 masters, 3 replicas, node timeout 2 s).
#include <gtest/gtest.h>

#include "support/redis_cluster.h"

namespace {
// gtest takes ownership of registered environments.
[[maybe_unused]] auto* const kRedisCluster =
    ::testing::AddGlobalTestEnvironment(new vontres::testing::RedisClusterEnvironment());  // NOLINT
}  // namespace
