// The client against a TLS-only, password-protected Redis cluster (CA made by the test helper with
// openssl; nodes on --tls-port with --port 0, --tls-cluster and --tls-replication).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "app/platform.h"
#include "redis/cluster_client.h"
#include "redis/redis_cluster_state_store.h"
#include "redis/redis_test_util.h"
#include "support/redis_cluster.h"
#include "support/subprocess.h"

namespace vontres::redis {
namespace {

using std::chrono::milliseconds;
using vontres::testing::RedisClusterEnvironment;
using vontres::testing::RedisClusterOptions;

RedisClusterOptions tls_cluster() {
  RedisClusterOptions options;
  options.tls = true;
  options.password = "tls-test-password";
  return options;
}

[[maybe_unused]] auto* const kRedisCluster =
    ::testing::AddGlobalTestEnvironment(new RedisClusterEnvironment(tls_cluster()));  // NOLINT: gtest owns it

class TlsClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(RedisClusterEnvironment::cluster(), nullptr) << "the TLS Redis cluster did not start";
    options_ = testing::options_for(*RedisClusterEnvironment::cluster());
    options_.connect_timeout = milliseconds(2000);
  }
  ClientOptions options_;
};

TEST_F(TlsClusterTest, SeedsAreRedissUrls) {
  ASSERT_TRUE(options_.tls);
  EXPECT_FALSE(options_.tls_ca_file.empty());
  EXPECT_EQ(RedisClusterEnvironment::cluster()->seeds().front().rfind("rediss://", 0), 0u);
}

TEST_F(TlsClusterTest, ConnectsVerifiesAndServesEveryMaster) {
  auto client = ClusterClient::connect(options_);
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  EXPECT_EQ((*client)->known_nodes().size(), 6u);
  for (int i = 0; i < 100; ++i) {
    const std::string key = "tls:" + std::to_string(i);
    auto set = (*client)->command({"SET", key, std::to_string(i)});
    ASSERT_TRUE(set.is_ok()) << set.status().to_string();
    ASSERT_EQ(set->text, "OK") << set->debug_string();
  }
  for (int i = 0; i < 100; ++i) {
    auto get = (*client)->command({"GET", "tls:" + std::to_string(i)});
    ASSERT_TRUE(get.is_ok());
    EXPECT_EQ(get->text, std::to_string(i));
  }
}

TEST_F(TlsClusterTest, StateStoreLeasesWorkOverTls) {
  auto client = ClusterClient::connect(options_);
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  RedisClusterStateStore store(std::move(client).value(), "tls-state:");
  auto lease = store.acquire_lease("shard-1", "node-a", milliseconds(5000));
  ASSERT_TRUE(lease.is_ok()) << lease.status().to_string();
  ASSERT_TRUE(lease->has_value());
  EXPECT_FALSE(store.acquire_lease("shard-1", "node-b", milliseconds(5000))->has_value());
}

TEST_F(TlsClusterTest, PubSubWorksOverTls) {
  auto client = ClusterClient::connect(options_);
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  std::atomic<int> heard{0};
  auto subscription = (*client)->subscribe("tls-channel", [&](std::string_view message) {
    if (message == "hello") heard.fetch_add(1);
  });
  ASSERT_TRUE(subscription.is_ok()) << subscription.status().to_string();
  ASSERT_TRUE((*client)->publish("tls-channel", "hello").is_ok());
  for (int i = 0; i < 500 && heard.load() == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(heard.load(), 1);
}

TEST_F(TlsClusterTest, AnUnrelatedCaIsRefused) {
  options_.tls_ca_file = RedisClusterEnvironment::cluster()->other_ca_file();
  auto client = ClusterClient::connect(options_);
  ASSERT_FALSE(client.is_ok());
  EXPECT_EQ(client.status().code(), "redis_unavailable");
  EXPECT_NE(client.status().message().find("TLS handshake"), std::string::npos) << client.status().message();
}

TEST_F(TlsClusterTest, ACertificateForAnotherNameIsRefused) {
  options_.tls_server_name = "redis.other.example";
  auto client = ClusterClient::connect(options_);
  ASSERT_FALSE(client.is_ok());
  EXPECT_NE(client.status().message().find("TLS handshake"), std::string::npos) << client.status().message();
}

TEST_F(TlsClusterTest, PlainTcpToATlsPortFails) {
  options_.tls = false;
  options_.request_timeout = milliseconds(500);
  auto client = ClusterClient::connect(options_);
  EXPECT_FALSE(client.is_ok());
}

TEST_F(TlsClusterTest, AMissingCaFileIsAConfigurationError) {
  options_.tls_ca_file = RedisClusterEnvironment::cluster()->dir() + "/no-such-ca.crt";
  auto client = ClusterClient::connect(options_);
  ASSERT_FALSE(client.is_ok());
  EXPECT_EQ(client.status().code(), "redis_tls_failed");
}

TEST_F(TlsClusterTest, AWrongPasswordIsRefused) {
  options_.password = "not-the-password";
  auto client = ClusterClient::connect(options_);
  ASSERT_FALSE(client.is_ok());
  EXPECT_NE(client.status().message().find("AUTH"), std::string::npos) << client.status().message();
}

TEST_F(TlsClusterTest, NoPasswordIsRefused) {
  options_.password.clear();
  auto client = ClusterClient::connect(options_);
  ASSERT_FALSE(client.is_ok());
  EXPECT_NE(client.status().message().find("NOAUTH"), std::string::npos) << client.status().message();
}

Config redis_platform_config(const std::string& data_dir) {
  const auto& cluster = *RedisClusterEnvironment::cluster();
  Config config;
  config.data_dir = data_dir;
  config.cache.backend = "redis_cluster";
  config.cache.redis.seeds = cluster.seeds();
  config.cache.redis.tls_ca_file = cluster.ca_file();
  config.cache.redis.password_file = cluster.password_file();
  config.state.backend = "redis_cluster";  // no state.redis.seeds: shares cache.redis
  return config;
}

TEST_F(TlsClusterTest, PlatformOpensCacheAndStateOnTheClusterFromConfiguration) {
  vontres::testing::TempDir data;
  prometheus::Registry metrics;
  auto platform = app::open_platform(redis_platform_config(data.path()), SystemClock::instance(), metrics);
  ASSERT_TRUE(platform.is_ok()) << platform.status().to_string();
  ASSERT_NE(platform->state, nullptr);
  ASSERT_TRUE(platform->cache->set("platform:k", "v").is_ok());
  EXPECT_EQ(*platform->cache->get("platform:k"), "v");
  auto lease = platform->state->acquire_lease("platform-lease", "node-a", milliseconds(5000));
  ASSERT_TRUE(lease.is_ok()) << lease.status().to_string();
  EXPECT_TRUE(lease->has_value());
  ASSERT_TRUE(platform->state->set("platform:k", "state").is_ok());
  EXPECT_EQ(*platform->cache->get("platform:k"), "v") << "cache and state keep apart by prefix";
}

TEST_F(TlsClusterTest, PlatformNamesAnUnreadablePasswordFile) {
  vontres::testing::TempDir data;
  prometheus::Registry metrics;
  Config config = redis_platform_config(data.path());
  config.cache.redis.password_file = data.path() + "/missing";
  auto platform = app::open_platform(config, SystemClock::instance(), metrics);
  ASSERT_FALSE(platform.is_ok());
  EXPECT_EQ(platform.status().code(), "config_invalid");
  EXPECT_NE(platform.status().message().find("cache.redis.password_file"), std::string::npos);
}

TEST_F(TlsClusterTest, InProcessStateIsTheDefault) {
  vontres::testing::TempDir data;
  prometheus::Registry metrics;
  Config config;
  config.data_dir = data.path();
  auto platform = app::open_platform(config, SystemClock::instance(), metrics);
  ASSERT_TRUE(platform.is_ok()) << platform.status().to_string();
  ASSERT_NE(platform->state, nullptr);
  EXPECT_TRUE(platform->state->ping().is_ok());
}

}  // namespace
}  // namespace vontres::redis
