#include "redis/cluster_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "redis/redis_test_util.h"
#include "redis/slot.h"

namespace vontres::redis {
namespace {

using std::chrono::milliseconds;
using vontres::testing::RedisCluster;
using vontres::testing::RedisClusterEnvironment;

RedisCluster& cluster() {
  RedisCluster* running = RedisClusterEnvironment::cluster();
  if (running == nullptr) throw std::runtime_error("no Redis cluster");
  return *running;
}

std::string must_text(ClusterClient& client, const std::vector<std::string>& args) {
  auto reply = client.command(args);
  EXPECT_TRUE(reply.is_ok()) << reply.status().to_string();
  return reply.is_ok() ? reply->text : std::string();
}

class ClusterClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(RedisClusterEnvironment::cluster(), nullptr) << "the Redis cluster did not start";
    client_ = testing::shared_client();
    ASSERT_NE(client_, nullptr);
  }
  std::shared_ptr<ClusterClient> client_;
};

TEST_F(ClusterClientTest, LoadsTheTopologyOfThreeMastersAndThreeReplicas) {
  ASSERT_TRUE(client_->refresh_topology().is_ok());
  EXPECT_EQ(client_->known_nodes().size(), 6u);
  std::set<std::string> masters;
  for (int slot = 0; slot < kSlotCount; ++slot) {
    auto master = client_->master_for_slot(static_cast<uint16_t>(slot));
    ASSERT_TRUE(master.has_value()) << "slot " << slot;
    masters.insert(master->to_string());
  }
  EXPECT_EQ(masters.size(), 3u);
}

TEST_F(ClusterClientTest, SlotsAgreeWithClusterKeyslot) {
  std::vector<std::string> keys = {"foo", "bar", "{user1000}.following",     "{user1000}.followers", "a{b}c",
                                   "{}x", "x{",  std::string("bin\0\xff", 5)};
  for (int i = 0; i < 100; ++i) keys.push_back("key:" + std::to_string(i * 7919));
  for (const auto& key : keys) {
    auto reply = client_->command({"CLUSTER", "KEYSLOT", key});
    ASSERT_TRUE(reply.is_ok());
    EXPECT_EQ(reply->integer, key_slot(key)) << key;
  }
}

TEST_F(ClusterClientTest, WritesAndReadsKeysOnEveryMaster) {
  const std::string prefix = testing::fresh_prefix("spread");
  std::set<std::string> owners;
  for (int i = 0; i < 300; ++i) {
    const std::string key = prefix + std::to_string(i);
    auto set = client_->command({"SET", key, "v" + std::to_string(i)});
    ASSERT_TRUE(set.is_ok()) << set.status().to_string();
    ASSERT_EQ(set->text, "OK");
    owners.insert(client_->master_for_slot(key_slot(key))->to_string());
  }
  for (int i = 0; i < 300; ++i)
    EXPECT_EQ(must_text(*client_, {"GET", prefix + std::to_string(i)}), "v" + std::to_string(i));
  EXPECT_EQ(owners.size(), 3u);
}

TEST_F(ClusterClientTest, ConcurrentRequestsFromManyThreadsGetTheirOwnReplies) {
  const std::string prefix = testing::fresh_prefix("pipelined");
  constexpr int kThreads = 8;
  constexpr int kOps = 300;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        const std::string key = prefix + std::to_string(t) + ":" + std::to_string(i);
        const std::string value = std::to_string(t * 100000 + i);
        auto set = client_->command({"SET", key, value});
        auto get = client_->command({"GET", key});
        if (!set.is_ok() || !get.is_ok() || get->text != value) wrong.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(ClusterClientTest, RunsScriptsWithEvalshaAndFallsBackOnNoscript) {
  const Script script("return redis.call('SET', KEYS[1], ARGV[1])");
  for (const auto& node : client_->known_nodes()) (void)client_->command_on(node, {"SCRIPT", "FLUSH"});
  const std::string key = testing::fresh_prefix("script") + "k";
  auto first = client_->eval(script, {key}, {"one"});
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->text, "OK") << first->debug_string();
  auto second = client_->eval(script, {key}, {"two"});
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(must_text(*client_, {"GET", key}), "two");
  auto exists = client_->command({"SCRIPT", "EXISTS", script.sha1()});
  ASSERT_TRUE(exists.is_ok());
}

TEST_F(ClusterClientTest, RefusesScriptsWhoseKeysSpanSlots) {
  const Script script("return 1");
  auto result = client_->eval(script, {"foo", "bar"}, {});
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), "redis_cross_slot");
  EXPECT_TRUE(client_->eval(script, {"{t}foo", "{t}bar"}, {}).is_ok());
}

TEST_F(ClusterClientTest, ErrorRepliesAreRepliesNotStatuses) {
  const std::string key = testing::fresh_prefix("wrongtype") + "h";
  ASSERT_TRUE(client_->command({"HSET", key, "f", "v"}).is_ok());
  auto reply = client_->command({"GET", key});
  ASSERT_TRUE(reply.is_ok());
  EXPECT_TRUE(reply->is_error());
  EXPECT_EQ(reply->error_code(), "WRONGTYPE");
}

TEST_F(ClusterClientTest, PubSubDeliversMessagesPublishedThroughAnyNode) {
  const std::string channel = testing::fresh_prefix("channel") + "c";
  std::mutex mutex;
  std::vector<std::string> heard;
  auto subscription = client_->subscribe(channel, [&](std::string_view message) {
    std::lock_guard lock(mutex);
    heard.emplace_back(message);
  });
  ASSERT_TRUE(subscription.is_ok()) << subscription.status().to_string();
  for (const auto& node : client_->known_nodes()) {
    auto published = client_->command_on(node, {"PUBLISH", channel, node.to_string()});
    ASSERT_TRUE(published.is_ok());
  }
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mutex);
      if (heard.size() >= 6) break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::lock_guard lock(mutex);
  EXPECT_EQ(heard.size(), 6u);
}

TEST_F(ClusterClientTest, FollowsMovedWhenASlotChangesOwner) {
  auto& redis = cluster();
  const std::string prefix = testing::fresh_prefix("moved");
  const std::string key = prefix + "k";
  ASSERT_TRUE(client_->command({"SET", key, "before"}).is_ok());
  const uint16_t slot = key_slot(key);
  const auto source = client_->master_for_slot(slot);
  ASSERT_TRUE(source.has_value());
  uint16_t target_port = 0;
  for (const auto& [port, role] : redis.roles()) {
    if (role == "master" && port != source->port) target_port = port;
  }
  ASSERT_NE(target_port, 0);
  const std::string source_id = redis.node_id(source->port);
  const std::string target_id = redis.node_id(target_port);
  const std::string slot_text = std::to_string(slot);
  ASSERT_EQ(redis.cli_out(target_port, {"CLUSTER", "SETSLOT", slot_text, "IMPORTING", source_id}), "OK");
  ASSERT_EQ(redis.cli_out(source->port, {"CLUSTER", "SETSLOT", slot_text, "MIGRATING", target_id}), "OK");
  for (int round = 0; round < 100; ++round) {  // every key of the slot, in batches
    const std::string keys = redis.cli_out(source->port, {"CLUSTER", "GETKEYSINSLOT", slot_text, "100"});
    if (keys.empty()) break;
    std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", std::to_string(target_port), "", "0", "5000", "KEYS"};
    std::istringstream words(keys);
    for (std::string k; words >> k;) migrate.push_back(k);
    ASSERT_EQ(redis.cli_out(source->port, migrate), "OK");
  }
  for (const auto& [port, role] : redis.roles()) {
    if (role == "master") (void)redis.cli_out(port, {"CLUSTER", "SETSLOT", slot_text, "NODE", target_id});
  }
  // The client still routes the slot to the old owner, which answers MOVED.
  EXPECT_EQ(client_->master_for_slot(slot)->port, source->port);
  EXPECT_EQ(must_text(*client_, {"GET", key}), "before");
  EXPECT_EQ(client_->master_for_slot(slot)->port, target_port) << "MOVED updated the slot at once";
  ASSERT_TRUE(client_->command({"SET", key, "after"}).is_ok());
  EXPECT_EQ(redis.cli_out(target_port, {"GET", key}), "after");
  ASSERT_TRUE(redis.wait_until_ok(std::chrono::seconds(20)));
}

TEST_F(ClusterClientTest, FollowsAskWhileASlotIsMigrating) {
  auto& redis = cluster();
  const std::string prefix = testing::fresh_prefix("ask");
  const std::string moved_key = "{" + prefix + "}moved";
  const std::string staying_key = "{" + prefix + "}staying";
  const std::string new_key = "{" + prefix + "}new";
  ASSERT_TRUE(client_->command({"SET", moved_key, "m"}).is_ok());
  ASSERT_TRUE(client_->command({"SET", staying_key, "s"}).is_ok());
  const uint16_t slot = key_slot(moved_key);
  const auto source = client_->master_for_slot(slot);
  ASSERT_TRUE(source.has_value());
  uint16_t target_port = 0;
  for (const auto& [port, role] : redis.roles()) {
    if (role == "master" && port != source->port) target_port = port;
  }
  const std::string source_id = redis.node_id(source->port);
  const std::string target_id = redis.node_id(target_port);
  const std::string slot_text = std::to_string(slot);
  ASSERT_EQ(redis.cli_out(target_port, {"CLUSTER", "SETSLOT", slot_text, "IMPORTING", source_id}), "OK");
  ASSERT_EQ(redis.cli_out(source->port, {"CLUSTER", "SETSLOT", slot_text, "MIGRATING", target_id}), "OK");
  ASSERT_EQ(redis.cli_out(source->port, {"MIGRATE", "127.0.0.1", std::to_string(target_port), moved_key, "0", "5000"}),
            "OK");

  EXPECT_EQ(must_text(*client_, {"GET", moved_key}), "m") << "ASK to the importing node";
  EXPECT_EQ(must_text(*client_, {"GET", staying_key}), "s") << "still served by the migrating node";
  ASSERT_TRUE(client_->command({"SET", new_key, "n"}).is_ok());
  EXPECT_EQ(redis.cli_out(target_port, {"ASKING"}), "OK");
  EXPECT_EQ(client_->master_for_slot(slot)->port, source->port) << "ASK does not change the slot map";

  // Finish the migration so the cluster is whole again.
  ASSERT_EQ(
      redis.cli_out(source->port, {"MIGRATE", "127.0.0.1", std::to_string(target_port), staying_key, "0", "5000"}),
      "OK");
  for (const auto& [port, role] : redis.roles()) {
    if (role == "master") (void)redis.cli_out(port, {"CLUSTER", "SETSLOT", slot_text, "NODE", target_id});
  }
  EXPECT_EQ(must_text(*client_, {"GET", new_key}), "n");
  EXPECT_EQ(must_text(*client_, {"GET", staying_key}), "s");
  ASSERT_TRUE(redis.wait_until_ok(std::chrono::seconds(20)));
}

TEST_F(ClusterClientTest, ReconnectsAfterTheServerDropsItsConnections) {
  auto& redis = cluster();
  const std::string key = testing::fresh_prefix("reconnect") + "k";
  ASSERT_TRUE(client_->command({"SET", key, "v"}).is_ok());
  for (const auto& [port, role] : redis.roles()) (void)redis.cli_out(port, {"CLIENT", "KILL", "TYPE", "normal"});
  std::this_thread::sleep_for(milliseconds(200));  // let the client notice the closed sockets
  EXPECT_EQ(must_text(*client_, {"GET", key}), "v");
}

double counter(prometheus::Registry& registry, const std::string& name, const std::string& label_value = {}) {
  double total = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      bool matches = label_value.empty();
      for (const auto& label : metric.label) matches = matches || label.value == label_value;
      if (matches) total += metric.counter.value;
    }
  }
  return total;
}

TEST(ClusterClientStandaloneTest, ExportsCommandConnectionAndTopologyMetrics) {
  ASSERT_NE(RedisClusterEnvironment::cluster(), nullptr);
  prometheus::Registry registry;
  ClientOptions options = testing::options_for(cluster());
  options.metrics = &registry;
  auto client = ClusterClient::connect(options);
  ASSERT_TRUE(client.is_ok());
  const std::string key = testing::fresh_prefix("metrics") + "h";
  ASSERT_TRUE((*client)->command({"HSET", key, "f", "v"}).is_ok());
  ASSERT_TRUE((*client)->command({"GET", key}).is_ok());  // WRONGTYPE: an error reply
  EXPECT_EQ(counter(registry, "vontres_redis_commands_total", "ok"), 1);
  EXPECT_EQ(counter(registry, "vontres_redis_commands_total", "error_reply"), 1);
  EXPECT_GE(counter(registry, "vontres_redis_connections_opened_total"), 2);
  EXPECT_GE(counter(registry, "vontres_redis_topology_refreshes_total"), 1);
}

TEST(ClusterClientStandaloneTest, ParsesEndpoints) {
  bool tls = true;
  auto plain = parse_endpoint("127.0.0.1:7000", &tls);
  ASSERT_TRUE(plain.is_ok());
  EXPECT_EQ(plain->port, 7000);
  EXPECT_FALSE(tls);
  auto secure = parse_endpoint("rediss://localhost:6380", &tls);
  ASSERT_TRUE(secure.is_ok());
  EXPECT_EQ(secure->host, "localhost");
  EXPECT_TRUE(tls);
  auto v6 = parse_endpoint("[::1]:6379");
  ASSERT_TRUE(v6.is_ok());
  EXPECT_EQ(v6->host, "::1");
  for (const char* bad : {"localhost", "host:", "host:0", "host:70000", ":6379", "h:12x"}) {
    EXPECT_FALSE(parse_endpoint(bad).is_ok()) << bad;
  }
}

TEST(ClusterClientStandaloneTest, ConnectFailsWhenNoSeedAnswers) {
  ClientOptions options;
  options.seeds = {Endpoint{"127.0.0.1", 1}};
  options.connect_timeout = milliseconds(300);
  auto client = ClusterClient::connect(options);
  ASSERT_FALSE(client.is_ok());
  EXPECT_EQ(client.status().code(), "redis_unavailable");
}

TEST(ClusterClientStandaloneTest, SkipsSeedsThatDoNotAnswer) {
  ASSERT_NE(RedisClusterEnvironment::cluster(), nullptr);
  ClientOptions options = testing::options_for(cluster());
  options.seeds.insert(options.seeds.begin(), Endpoint{"127.0.0.1", 1});
  auto client = ClusterClient::connect(options);
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  EXPECT_TRUE((*client)->command({"PING"}).is_ok());
}

TEST(ClusterClientStandaloneTest, RequestTimesOutAgainstAServerThatNeverAnswers) {
  ASSERT_NE(RedisClusterEnvironment::cluster(), nullptr);
  // A listening socket that never accepts: the kernel completes the handshake, nobody answers.
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  const Endpoint silent{"127.0.0.1", ntohs(addr.sin_port)};

  ClientOptions options = testing::options_for(cluster());
  options.request_timeout = milliseconds(200);
  auto client = ClusterClient::connect(options);
  ASSERT_TRUE(client.is_ok());
  auto reply = (*client)->command_on(silent, {"PING"});
  ASSERT_FALSE(reply.is_ok());
  EXPECT_EQ(reply.status().code(), "redis_timeout");
  EXPECT_TRUE((*client)->command({"PING"}).is_ok()) << "other nodes are unaffected";
  close(listener);
}

}  // namespace
}  // namespace vontres::redis
