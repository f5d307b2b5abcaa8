// RedisClusterCache: the Cache (cache/cache.h) on Redis Cluster through our ClusterClient. Keys are
// stored as <key_prefix><key>; TTLs run on the Redis servers' clocks (SET PX, PTTL), not the
// injected Clock. Eviction under memory pressure is Redis' own (configure maxmemory and an
// allkeys-lru policy on the servers); this class has no byte budget of its own.
//
// invalidate() deletes the key, then PUBLISHes it on the channel <key_prefix>invalidations; in a
// Redis 7 cluster PUBLISH reaches every node, so each cache instance keeps one SUBSCRIBE on one
// node (any node; the client moves it to another when that node fails, and invalidations published
// during the gap are lost: a holder of copies that must never be stale should also bound them by a
// TTL). Messages are handed to subscribers on a dispatch thread of this cache, so a callback may
// call back into the cache; one subscriber's callback never runs concurrently with itself, and
// destroying a subscription waits for a running call of its callback.
//
// Compare-and-set and increment-with-TTL-if-created are Lua scripts (EVALSHA, EVAL on NOSCRIPT).
//
// Thread-safety: every method may be called from any thread. The client must outlive the cache.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cache/cache.h"
#include "cache/invalidation_hub.h"
#include "redis/cluster_client.h"

namespace vontres::redis {

class RedisClusterCache final : public cache::Cache {
 public:
  static constexpr size_t kMaxQueuedInvalidations = 65'536;  // beyond this, the oldest are dropped

  // Subscribes to the invalidation channel before returning.
  static Result<std::unique_ptr<RedisClusterCache>> create(std::shared_ptr<ClusterClient> client,
                                                           std::string key_prefix);
  ~RedisClusterCache() override;
  RedisClusterCache(const RedisClusterCache&) = delete;
  RedisClusterCache& operator=(const RedisClusterCache&) = delete;

  Result<std::optional<std::string>> get(std::string_view key) override;
  Status set(std::string_view key, std::string_view value, cache::Ttl ttl = std::nullopt) override;
  Result<bool> erase(std::string_view key) override;
  Result<int64_t> increment(std::string_view key, int64_t delta, cache::Ttl ttl_if_created = std::nullopt) override;
  Result<bool> compare_and_set(std::string_view key, const std::optional<std::string>& expected, std::string_view value,
                               cache::Ttl ttl = std::nullopt) override;
  Result<std::optional<std::chrono::milliseconds>> ttl(std::string_view key) override;
  Status invalidate(std::string_view key) override;
  Result<std::unique_ptr<cache::InvalidationSubscription>> subscribe_invalidations(
      std::function<void(std::string_view key)> callback) override;
  Status ping() override;

  uint64_t dropped_invalidations() const { return dropped_.load(); }

 private:
  RedisClusterCache(std::shared_ptr<ClusterClient> client, std::string key_prefix);
  std::string key_for(std::string_view key) const { return key_prefix_ + std::string(key); }
  Result<Reply> run(const std::string& key, const std::vector<std::string>& args, bool write);
  void dispatch_loop();

  std::shared_ptr<ClusterClient> client_;
  std::string key_prefix_;
  std::string channel_;
  std::shared_ptr<cache::InvalidationHub> hub_;

  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::deque<std::string> queue_;  // GUARDED_BY(queue_mutex_)
  bool stopping_ = false;          // GUARDED_BY(queue_mutex_)
  std::atomic<uint64_t> dropped_{0};
  std::thread dispatcher_;
  std::unique_ptr<PubSubSubscription> subscription_;  // destroyed first, in the destructor
};

}  // namespace vontres::redis
