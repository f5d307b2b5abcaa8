// Fault tests against a real 3+3 cluster (node timeout 2 s): a manual failover and a kill -9 of a
// master while a writer runs. The guarantee checked: every write that was acknowledged is readable
// afterwards, and the client follows the new topology by itself.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "redis/cluster_client.h"
#include "redis/redis_cluster_cache.h"
#include "redis/redis_test_util.h"
#include "redis/slot.h"
#include "support/redis_cluster.h"

namespace vontres::redis {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using vontres::testing::RedisCluster;
using vontres::testing::RedisClusterEnvironment;

[[maybe_unused]] auto* const kRedisCluster =
    ::testing::AddGlobalTestEnvironment(new RedisClusterEnvironment());  // NOLINT: gtest owns it

// Writes key_<i> = <i> in a loop from its own thread and remembers every acknowledged write.
class Writer {
 public:
  Writer(ClusterClient& client, std::string prefix) : client_(client), prefix_(std::move(prefix)) {
    thread_ = std::thread([this] { run(); });
  }
  ~Writer() { stop(); }

  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int acknowledged() const { return acknowledged_.load(); }
  int failed() const { return failed_.load(); }
  // Acknowledged writes into `slots` since `since`.
  int acknowledged_in(const std::set<uint16_t>& slots, steady_clock::time_point since) {
    std::lock_guard lock(mutex_);
    int count = 0;
    for (const auto& [key, write] : acked_) {
      if (write.at >= since && slots.contains(key_slot(key))) ++count;
    }
    return count;
  }
  std::optional<steady_clock::time_point> first_ack_in(const std::set<uint16_t>& slots,
                                                       steady_clock::time_point since) {
    std::lock_guard lock(mutex_);
    std::optional<steady_clock::time_point> first;
    for (const auto& [key, write] : acked_) {
      if (write.at >= since && slots.contains(key_slot(key)) && (!first || write.at < *first)) first = write.at;
    }
    return first;
  }
  std::map<std::string, std::string> acked_values() {
    std::lock_guard lock(mutex_);
    std::map<std::string, std::string> out;
    for (const auto& [key, write] : acked_) out[key] = write.value;
    return out;
  }

 private:
  struct Write {
    std::string value;
    steady_clock::time_point at;
  };
  void run() {
    for (int i = 0; i < 1'000'000 && !stop_.load(); ++i) {
      const std::string key = prefix_ + std::to_string(i);
      const std::string value = std::to_string(i);
      auto reply = client_.command_for_key(key, {"SET", key, value}, /*write=*/true);
      if (reply.is_ok() && !reply->is_error()) {
        std::lock_guard lock(mutex_);
        acked_[key] = Write{value, steady_clock::now()};
        acknowledged_.fetch_add(1);
      } else {
        failed_.fetch_add(1);
        std::this_thread::sleep_for(milliseconds(5));
      }
    }
  }

  ClusterClient& client_;
  std::string prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acknowledged_{0};
  std::atomic<int> failed_{0};
  std::mutex mutex_;
  std::map<std::string, Write> acked_;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

template <typename Predicate>
bool wait_for(Predicate predicate, std::chrono::milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return predicate();
}

std::set<uint16_t> slots_of(ClusterClient& client, uint16_t master_port) {
  std::set<uint16_t> slots;
  for (int slot = 0; slot < kSlotCount; ++slot) {
    auto master = client.master_for_slot(static_cast<uint16_t>(slot));
    if (master && master->port == master_port) slots.insert(static_cast<uint16_t>(slot));
  }
  return slots;
}

void expect_all_readable(ClusterClient& client, const std::map<std::string, std::string>& acked) {
  int missing = 0;
  for (const auto& [key, value] : acked) {
    auto reply = client.command({"GET", key});
    if (!reply.is_ok() || reply->text != value) {
      if (++missing <= 5) ADD_FAILURE() << "acknowledged write " << key << "=" << value << " lost";
    }
  }
  EXPECT_EQ(missing, 0) << "of " << acked.size() << " acknowledged writes";
}

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = RedisClusterEnvironment::cluster();
    ASSERT_NE(cluster_, nullptr) << "the Redis cluster did not start";
    ASSERT_TRUE(cluster_->wait_until_ok(std::chrono::seconds(30)));
    ASSERT_TRUE(cluster_->wait_replicas_in_sync(std::chrono::seconds(30)));
  }
  RedisCluster* cluster_ = nullptr;
};

TEST_F(FailoverTest, ManualFailoverLosesNoAcknowledgedWriteAndTheClientFollows) {
  auto made = ClusterClient::connect(testing::options_for(*cluster_));
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  ClusterClient& client = **made;
  const auto replicas = cluster_->replica_to_master();
  ASSERT_FALSE(replicas.empty());
  const uint16_t replica = replicas.begin()->first;
  const uint16_t old_master = replicas.begin()->second;
  const std::set<uint16_t> moved_slots = slots_of(client, old_master);
  ASSERT_FALSE(moved_slots.empty());

  Writer writer(client, testing::fresh_prefix("manual"));
  ASSERT_TRUE(wait_for([&] { return writer.acknowledged() >= 300; }, std::chrono::seconds(20)));
  ASSERT_EQ(cluster_->cli_out(replica, {"CLUSTER", "FAILOVER"}), "OK");
  const auto failover_at = steady_clock::now();
  ASSERT_TRUE(wait_for([&] { return cluster_->roles()[replica] == "master"; }, std::chrono::seconds(20)))
      << "the replica was not promoted";
  // The writer keeps landing writes on the moved slots, now served by the promoted replica.
  EXPECT_TRUE(wait_for(
      [&] {
        return client.master_for_slot(*moved_slots.begin())->port == replica &&
               writer.acknowledged_in(moved_slots, failover_at) >= 100;
      },
      std::chrono::seconds(20)))
      << "the client did not follow the failover";
  writer.stop();
  std::printf("[ failover ] manual: %d acknowledged, %d failed writes\n", writer.acknowledged(), writer.failed());
  expect_all_readable(client, writer.acked_values());
  ASSERT_TRUE(cluster_->wait_until_ok(std::chrono::seconds(30)));
}

TEST_F(FailoverTest, KillingAMasterLosesNoWriteAcknowledgedByAReplica) {
  ClientOptions options = testing::options_for(*cluster_);
  options.wait_replicas = 1;  // a write counts as acknowledged once a replica has it
  options.wait_timeout = milliseconds(500);
  options.request_timeout = milliseconds(1000);
  auto made = ClusterClient::connect(options);
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  ClusterClient& client = **made;
  const auto replicas = cluster_->replica_to_master();
  ASSERT_FALSE(replicas.empty());
  const uint16_t replica = replicas.begin()->first;
  const uint16_t victim = replicas.begin()->second;
  const std::set<uint16_t> victim_slots = slots_of(client, victim);
  ASSERT_FALSE(victim_slots.empty());

  // A second client with the default durability (no WAIT) probes when the failed master's slots are
  // writable again: that is when the client has followed the new topology.
  auto probe = ClusterClient::connect(testing::options_for(*cluster_));
  ASSERT_TRUE(probe.is_ok());
  std::string probe_key;
  for (int i = 0; i < 100000 && probe_key.empty(); ++i) {
    if (victim_slots.contains(key_slot("probe:" + std::to_string(i)))) probe_key = "probe:" + std::to_string(i);
  }

  Writer writer(client, testing::fresh_prefix("kill"));
  ASSERT_TRUE(wait_for([&] { return writer.acknowledged() >= 300; }, std::chrono::seconds(20)));
  cluster_->kill_node(victim);
  const auto killed_at = steady_clock::now();
  bool probe_written = false;
  for (int attempt = 0; attempt < 1000 && !probe_written && steady_clock::now() - killed_at < std::chrono::seconds(30);
       ++attempt) {
    auto reply = (*probe)->command_for_key(probe_key, {"SET", probe_key, "after-kill"});
    probe_written = reply.is_ok() && !reply->is_error();
  }
  ASSERT_TRUE(probe_written) << "the failed master's slots never became writable again";
  const auto followed_after = steady_clock::now() - killed_at;
  ASSERT_TRUE(wait_for([&] { return cluster_->roles()[replica] == "master"; }, std::chrono::seconds(30)))
      << "the replica was not promoted";
  const auto promoted_after = steady_clock::now() - killed_at;
  // The promoted master has no replica until the killed node returns as one.
  ASSERT_TRUE(cluster_->restart_node(victim));
  ASSERT_TRUE(cluster_->wait_until_ok(std::chrono::seconds(30)));
  ASSERT_TRUE(cluster_->wait_replicas_in_sync(std::chrono::seconds(30)));
  EXPECT_TRUE(
      wait_for([&] { return writer.acknowledged_in(victim_slots, killed_at) >= 100; }, std::chrono::seconds(30)))
      << "no acknowledged writes on the failed master's slots after the failover";
  writer.stop();
  const auto first = writer.first_ack_in(victim_slots, killed_at);
  std::printf(
      "[ failover ] kill -9: slots writable again after %lld ms (node timeout %d ms), promotion seen after "
      "%lld ms, first write acknowledged by a replica after %lld ms; %d acknowledged, %d failed writes\n",
      static_cast<long long>(std::chrono::duration_cast<milliseconds>(followed_after).count()),
      cluster_->options().node_timeout_ms,
      static_cast<long long>(std::chrono::duration_cast<milliseconds>(promoted_after).count()),
      first ? static_cast<long long>(std::chrono::duration_cast<milliseconds>(*first - killed_at).count()) : -1LL,
      writer.acknowledged(), writer.failed());
  EXPECT_EQ(client.master_for_slot(*victim_slots.begin())->port, replica);
  expect_all_readable(client, writer.acked_values());
}

// The port of the node holding a subscription to `channel`, if any (PUBSUB NUMSUB is per node).
std::optional<uint16_t> subscribed_node(const RedisCluster& cluster, const std::string& channel) {
  for (uint16_t port : cluster.ports()) {
    if (!cluster.alive(port)) continue;
    const std::string out = cluster.cli_out(port, {"PUBSUB", "NUMSUB", channel});
    if (out.size() >= 2 && out.substr(out.size() - 2) == "\n1") return port;
  }
  return std::nullopt;
}

TEST_F(FailoverTest, CacheInvalidationsResumeAfterTheSubscribedNodeDies) {
  auto made = ClusterClient::connect(testing::options_for(*cluster_));
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  std::shared_ptr<ClusterClient> client = std::move(made).value();
  const std::string prefix = testing::fresh_prefix("resubscribe");
  auto cache = RedisClusterCache::create(client, prefix);
  ASSERT_TRUE(cache.is_ok()) << cache.status().to_string();
  std::mutex mutex;
  std::set<std::string> heard;
  auto subscription = (*cache)->subscribe_invalidations([&](std::string_view key) {
    std::lock_guard lock(mutex);
    heard.emplace(key);
  });
  ASSERT_TRUE(subscription.is_ok());
  auto heard_key = [&](const std::string& key) {
    return wait_for(
        [&] {
          std::lock_guard lock(mutex);
          return heard.contains(key);
        },
        std::chrono::seconds(10));
  };
  ASSERT_TRUE((*cache)->invalidate("before").is_ok());
  ASSERT_TRUE(heard_key("before"));

  const auto holder = subscribed_node(*cluster_, prefix + "invalidations");
  ASSERT_TRUE(holder.has_value()) << "no node holds the cache's subscription";
  EXPECT_EQ(cluster_->roles()[*holder], "slave") << "subscriptions prefer replicas";
  cluster_->kill_node(*holder);
  ASSERT_TRUE(wait_for([&] { return subscribed_node(*cluster_, prefix + "invalidations").has_value(); },
                       std::chrono::seconds(10)))
      << "the subscription did not move to another node";
  ASSERT_TRUE((*cache)->invalidate("after").is_ok());
  EXPECT_TRUE(heard_key("after")) << "invalidations did not resume";

  subscription->reset();
  cache->reset();
  ASSERT_TRUE(cluster_->restart_node(*holder));
  ASSERT_TRUE(cluster_->wait_until_ok(std::chrono::seconds(30)));
  ASSERT_TRUE(cluster_->wait_replicas_in_sync(std::chrono::seconds(30)));
}

}  // namespace
}  // namespace vontres::redis
