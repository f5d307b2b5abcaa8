#include "cache/in_process_cache.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <functional>

namespace vontres::cache {

struct InProcessCache::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : hits(prometheus::BuildCounter()
                 .Name("vontres_cache_hits_total")
                 .Help("Cache lookups that found a live key")
                 .Register(registry)
                 .Add({{"backend", "in_process"}})),
        misses(prometheus::BuildCounter()
                   .Name("vontres_cache_misses_total")
                   .Help("Cache lookups that found no live key")
                   .Register(registry)
                   .Add({{"backend", "in_process"}})),
        evictions_family(prometheus::BuildCounter()
                             .Name("vontres_cache_evictions_total")
                             .Help("Entries removed by the cache itself, by reason")
                             .Register(registry)),
        evicted_for_memory(evictions_family.Add({{"backend", "in_process"}, {"reason", "memory"}})),
        expired(evictions_family.Add({{"backend", "in_process"}, {"reason", "expired"}})),
        bytes(prometheus::BuildGauge()
                  .Name("vontres_cache_bytes")
                  .Help("Bytes charged for cache entries (keys, values, per-entry overhead)")
                  .Register(registry)
                  .Add({{"backend", "in_process"}})) {}

  prometheus::Counter& hits;
  prometheus::Counter& misses;
  prometheus::Family<prometheus::Counter>& evictions_family;
  prometheus::Counter& evicted_for_memory;
  prometheus::Counter& expired;
  prometheus::Gauge& bytes;
};

namespace {

Result<std::optional<TimePoint>> expiry_from(Ttl ttl, TimePoint now) {
  if (!ttl) return std::optional<TimePoint>();
  if (ttl->count() <= 0) return invalid_argument("cache ttl must be positive", "cache_invalid_ttl");
  return std::optional<TimePoint>(now + std::chrono::duration_cast<Duration>(*ttl));
}

// Spreads std::hash output so the shard choice does not correlate with the bucket the shard's
// own unordered_map picks for the same hash.
size_t mix(size_t h) {
  uint64_t x = static_cast<uint64_t>(h) * 0x9E3779B97F4A7C15ull;
  return static_cast<size_t>(x >> 32);
}

}  // namespace

InProcessCache::InProcessCache(const CacheConfig& config, const Clock& clock, prometheus::Registry* registry)
    : clock_(clock), hub_(std::make_shared<InvalidationHub>()) {
  const size_t shard_count = static_cast<size_t>(std::max(1, config.shards));
  shard_budget_bytes_ = config.max_bytes / shard_count;
  shards_.reserve(shard_count);
  for (size_t i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<Shard>());
  if (registry == nullptr) {
    own_registry_ = std::make_unique<prometheus::Registry>();
    registry = own_registry_.get();
  }
  metrics_ = std::make_unique<Metrics>(*registry);
}

InProcessCache::~InProcessCache() {
  // The gauge may be shared with other caches through the registry; give back what we hold.
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    publish_locked(*shard);
    metrics_->bytes.Decrement(static_cast<double>(shard->published_bytes));
  }
}

InProcessCache::Shard& InProcessCache::shard_for(std::string_view key) {
  return *shards_[mix(std::hash<std::string_view>{}(key)) % shards_.size()];
}

InProcessCache::Entry* InProcessCache::find_live(Shard& shard, std::string_view key, TimePoint now) {
  auto found = shard.index.find(key);
  if (found == shard.index.end()) return nullptr;
  auto it = found->second;
  if (it->expiry && (*it->expiry)->first <= now) {
    remove(shard, it, RemovalReason::kExpired);
    return nullptr;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it);  // iterators stay valid across splice
  return &*it;
}

void InProcessCache::remove(Shard& shard, LruList::iterator it, RemovalReason reason) {
  const uint64_t charged = it->charged_bytes();
  if (it->expiry) shard.expiries.erase(*it->expiry);
  shard.index.erase(std::string_view(it->key));
  shard.lru.erase(it);
  shard.bytes -= charged;
  if (reason == RemovalReason::kExpired) ++shard.pending.expired;
  if (reason == RemovalReason::kEvicted) ++shard.pending.evicted_for_memory;
}

void InProcessCache::drop_expired(Shard& shard, TimePoint now) {
  while (!shard.expiries.empty() && shard.expiries.begin()->first <= now) {
    remove(shard, shard.expiries.begin()->second, RemovalReason::kExpired);
  }
}

void InProcessCache::set_expiry(Shard& shard, LruList::iterator it, std::optional<TimePoint> expires_at) {
  if (it->expiry) {
    shard.expiries.erase(*it->expiry);
    it->expiry.reset();
  }
  if (expires_at) it->expiry = shard.expiries.emplace(*expires_at, it);
}

Status InProcessCache::store(Shard& shard, std::string_view key, std::string_view value,
                             std::optional<TimePoint> expires_at, TimePoint now) {
  const uint64_t needed = key.size() + value.size() + kEntryOverheadBytes;
  if (needed > shard_budget_bytes_) {
    return resource_exhausted("cache entry of " + std::to_string(needed) + " bytes exceeds the shard budget of " +
                                  std::to_string(shard_budget_bytes_) + " bytes",
                              "cache_value_too_large");
  }
  if (auto found = shard.index.find(key); found != shard.index.end()) {
    // Overwrite in place: reusing the node and the value's buffer avoids four allocations.
    auto it = found->second;
    const uint64_t old_bytes = it->charged_bytes();
    it->value.assign(value);
    set_expiry(shard, it, expires_at);
    shard.lru.splice(shard.lru.begin(), shard.lru, it);
    shard.bytes = shard.bytes - old_bytes + needed;
    // The entry is now live and at the front, and fits on its own, so neither loop reaches it.
    drop_expired(shard, now);
    while (shard.bytes > shard_budget_bytes_) remove(shard, std::prev(shard.lru.end()), RemovalReason::kEvicted);
    return Status::ok();
  }
  drop_expired(shard, now);
  while (shard.bytes + needed > shard_budget_bytes_ && !shard.lru.empty()) {
    remove(shard, std::prev(shard.lru.end()), RemovalReason::kEvicted);
  }
  shard.lru.push_front(Entry{std::string(key), std::string(value), std::nullopt});
  auto it = shard.lru.begin();
  shard.index.emplace(std::string_view(it->key), it);
  set_expiry(shard, it, expires_at);
  shard.bytes += needed;
  return Status::ok();
}

Result<std::optional<std::string>> InProcessCache::get(std::string_view key) {
  Shard& shard = shard_for(key);
  std::optional<std::string> value;
  {
    std::lock_guard lock(shard.mutex);
    if (Entry* entry = find_live(shard, key, clock_.now())) value = entry->value;
    ++(value ? shard.pending.hits : shard.pending.misses);
    count_operation(shard);
  }
  return value;
}

Status InProcessCache::set(std::string_view key, std::string_view value, Ttl ttl) {
  const TimePoint now = clock_.now();
  VONTRES_ASSIGN_OR_RETURN(auto expires_at, expiry_from(ttl, now));
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  count_operation(shard);
  return store(shard, key, value, expires_at, now);
}

Result<bool> InProcessCache::erase(std::string_view key) {
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  count_operation(shard);
  Entry* entry = find_live(shard, key, clock_.now());
  if (entry == nullptr) return false;
  remove(shard, shard.index.at(key), RemovalReason::kErased);
  return true;
}

Result<int64_t> InProcessCache::increment(std::string_view key, int64_t delta, Ttl ttl_if_created) {
  const TimePoint now = clock_.now();
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  count_operation(shard);
  Entry* entry = find_live(shard, key, now);
  int64_t current = 0;
  std::optional<TimePoint> expires_at;
  if (entry != nullptr) {
    const std::string& text = entry->value;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), current);
    if (error != std::errc() || end != text.data() + text.size()) {
      return failed_precondition("cache value of '" + std::string(key) + "' is not a 64-bit decimal integer",
                                 "cache_not_integer");
    }
    if (entry->expiry) expires_at = (*entry->expiry)->first;  // later increments keep the window
  } else {
    VONTRES_ASSIGN_OR_RETURN(expires_at, expiry_from(ttl_if_created, now));
  }
  int64_t next = 0;
  if (__builtin_add_overflow(current, delta, &next)) {
    return failed_precondition("incrementing '" + std::string(key) + "' would overflow int64",
                               "cache_increment_overflow");
  }
  VONTRES_RETURN_IF_ERROR(store(shard, key, std::to_string(next), expires_at, now));
  return next;
}

Result<bool> InProcessCache::compare_and_set(std::string_view key, const std::optional<std::string>& expected,
                                             std::string_view value, Ttl ttl) {
  const TimePoint now = clock_.now();
  VONTRES_ASSIGN_OR_RETURN(auto expires_at, expiry_from(ttl, now));
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  count_operation(shard);
  const Entry* entry = find_live(shard, key, now);
  const bool matches = expected ? (entry != nullptr && entry->value == *expected) : entry == nullptr;
  if (!matches) return false;
  VONTRES_RETURN_IF_ERROR(store(shard, key, value, expires_at, now));
  return true;
}

Result<std::optional<std::chrono::milliseconds>> InProcessCache::ttl(std::string_view key) {
  const TimePoint now = clock_.now();
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  count_operation(shard);
  const Entry* entry = find_live(shard, key, now);
  if (entry == nullptr) return not_found("cache key '" + std::string(key) + "' not found", "cache_key_not_found");
  if (!entry->expiry) return std::optional<std::chrono::milliseconds>();
  // Round up so a key that is still live never reports 0ms left.
  return std::optional<std::chrono::milliseconds>(
      std::chrono::ceil<std::chrono::milliseconds>((*entry->expiry)->first - now));
}

Status InProcessCache::invalidate(std::string_view key) {
  {
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    count_operation(shard);
    auto found = shard.index.find(key);
    if (found != shard.index.end()) remove(shard, found->second, RemovalReason::kErased);
  }
  hub_->notify(key);
  return Status::ok();
}

Result<std::unique_ptr<InvalidationSubscription>> InProcessCache::subscribe_invalidations(
    std::function<void(std::string_view key)> callback) {
  if (!callback) return invalid_argument("invalidation callback is empty");
  return hub_->add(std::move(callback));
}

Status InProcessCache::ping() { return Status::ok(); }

void InProcessCache::count_operation(Shard& shard) {
  if (++shard.pending.operations >= kMetricsBatch) publish_locked(shard);
}

void InProcessCache::publish_locked(Shard& shard) {
  PendingMetrics& pending = shard.pending;
  if (pending.hits != 0) metrics_->hits.Increment(static_cast<double>(pending.hits));
  if (pending.misses != 0) metrics_->misses.Increment(static_cast<double>(pending.misses));
  if (pending.evicted_for_memory != 0) {
    metrics_->evicted_for_memory.Increment(static_cast<double>(pending.evicted_for_memory));
  }
  if (pending.expired != 0) metrics_->expired.Increment(static_cast<double>(pending.expired));
  if (shard.bytes != shard.published_bytes) {
    metrics_->bytes.Increment(static_cast<double>(shard.bytes) - static_cast<double>(shard.published_bytes));
    shard.published_bytes = shard.bytes;
  }
  pending = PendingMetrics{};
}

void InProcessCache::publish_metrics() {
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    publish_locked(*shard);
  }
}

uint64_t InProcessCache::bytes_used() const {
  uint64_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    total += shard->bytes;
  }
  return total;
}

size_t InProcessCache::entry_count() const {
  size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    total += shard->lru.size();
  }
  return total;
}

}  // namespace vontres::cache
