// InProcessCache: the single-node Cache backend. Keys are hashed to one of `config.shards`
// shards, each with its own mutex, LRU list and an equal share of `config.max_bytes`. An entry
// costs key bytes + value bytes + kEntryOverheadBytes; inserting past a shard's budget first drops
// expired entries, then the least recently used ones. A single entry larger than a shard's budget
// is refused with resource_exhausted "cache_value_too_large". TTLs are measured on the injected
// Clock; expired keys are removed lazily on access and eagerly before any LRU eviction.
//
// Metrics (hits, misses, evictions by reason, bytes) are counted per shard under its lock and
// published to Prometheus every kMetricsBatch operations of a shard and on publish_metrics(), so
// the hot path touches no cache line shared between shards.
//
// Thread-safety: every method may be called from any thread. Invalidation callbacks run
// synchronously on the invalidating thread after the shard lock is released; one subscriber's
// callback is never run concurrently with itself. Destroying a subscription waits for a running
// call of its callback to finish (a callback may destroy its own subscription).
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/cache.h"
#include "cache/invalidation_hub.h"
#include "core/clock.h"
#include "core/config.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
}  // namespace prometheus

namespace vontres::cache {

class InProcessCache final : public Cache {
 public:
  // Bookkeeping charged per entry on top of key and value bytes (list node, index slot, expiry).
  static constexpr uint64_t kEntryOverheadBytes = 96;
  static constexpr uint32_t kMetricsBatch = 256;  // operations per shard between metric publications

  // `clock` must outlive the cache. With a null `registry` the metrics are kept in a private one.
  InProcessCache(const CacheConfig& config, const Clock& clock, prometheus::Registry* registry = nullptr);
  ~InProcessCache() override;

  InProcessCache(const InProcessCache&) = delete;
  InProcessCache& operator=(const InProcessCache&) = delete;

  Result<std::optional<std::string>> get(std::string_view key) override;
  Status set(std::string_view key, std::string_view value, Ttl ttl = std::nullopt) override;
  Result<bool> erase(std::string_view key) override;
  Result<int64_t> increment(std::string_view key, int64_t delta, Ttl ttl_if_created = std::nullopt) override;
  Result<bool> compare_and_set(std::string_view key, const std::optional<std::string>& expected, std::string_view value,
                               Ttl ttl = std::nullopt) override;
  Result<std::optional<std::chrono::milliseconds>> ttl(std::string_view key) override;
  Status invalidate(std::string_view key) override;
  Result<std::unique_ptr<InvalidationSubscription>> subscribe_invalidations(
      std::function<void(std::string_view key)> callback) override;
  Status ping() override;

  // Introspection for tests and the admin API: bytes charged now (summed over shards) and the bound.
  uint64_t bytes_used() const;
  uint64_t max_bytes() const { return shard_budget_bytes_ * shards_.size(); }
  uint64_t shard_budget_bytes() const { return shard_budget_bytes_; }
  size_t entry_count() const;
  // Publishes every shard's pending metric counts now (scrape handlers and tests).
  void publish_metrics();

 private:
  struct Entry;
  using LruList = std::list<Entry>;
  using ExpiryIndex = std::multimap<TimePoint, LruList::iterator>;
  struct Entry {
    std::string key;
    std::string value;
    std::optional<ExpiryIndex::iterator> expiry;  // position in Shard::expiries when the key has a TTL
    uint64_t charged_bytes() const { return key.size() + value.size() + kEntryOverheadBytes; }
  };
  struct PendingMetrics {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evicted_for_memory = 0;
    uint64_t expired = 0;
    uint32_t operations = 0;
  };
  struct Shard {
    mutable std::mutex mutex;
    LruList lru;                                                    // GUARDED_BY(mutex); front = most recent
    std::unordered_map<std::string_view, LruList::iterator> index;  // GUARDED_BY(mutex); views Entry::key
    ExpiryIndex expiries;                                           // GUARDED_BY(mutex)
    uint64_t bytes = 0;                                             // GUARDED_BY(mutex)
    uint64_t published_bytes = 0;                                   // GUARDED_BY(mutex); in the gauge
    PendingMetrics pending;                                         // GUARDED_BY(mutex)
  };
  enum class RemovalReason { kErased, kExpired, kEvicted };
  struct Metrics;

  Shard& shard_for(std::string_view key);
  // Each helper REQUIRES: shard.mutex held.
  // Returns the live entry (moved to the LRU front) or null, dropping it if it has expired.
  Entry* find_live(Shard& shard, std::string_view key, TimePoint now);
  void remove(Shard& shard, LruList::iterator it, RemovalReason reason);
  void drop_expired(Shard& shard, TimePoint now);
  // Stores `value` under `key` with expiry `expires_at`, replacing any entry, evicting as needed.
  Status store(Shard& shard, std::string_view key, std::string_view value, std::optional<TimePoint> expires_at,
               TimePoint now);
  void set_expiry(Shard& shard, LruList::iterator it, std::optional<TimePoint> expires_at);
  void count_operation(Shard& shard);
  void publish_locked(Shard& shard);

  const Clock& clock_;
  uint64_t shard_budget_bytes_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<prometheus::Registry> own_registry_;  // only when no registry was given
  std::unique_ptr<Metrics> metrics_;
  std::shared_ptr<InvalidationHub> hub_;  // shared with subscriptions, which may outlive the cache
};

}  // namespace vontres::cache
