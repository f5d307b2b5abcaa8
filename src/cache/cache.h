// Cache: fast shared state with expiry (session data, rate-limit counters, live call state).
// Values are opaque byte strings. Keys live until their TTL passes (measured on the injected
// Clock), they are erased, or memory pressure evicts the least recently used ones.
// invalidate() erases a key and tells every subscriber (in every process sharing the backend),
// so services can drop copies they hold in memory.
//
// Implementations: InProcessCache (cache/in_process_cache.h); later RedisClusterCache. All pass
// tests/cache/cache_contract.h. Thread-safety: every method may be called from any thread.
// Invalidation callbacks run on a thread of the cache's choosing and must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vontres::cache {

using Ttl = std::optional<std::chrono::milliseconds>;  // nullopt: no expiry

class InvalidationSubscription {
 public:
  virtual ~InvalidationSubscription() = default;  // unsubscribes; no callback runs after this returns
};

class Cache {
 public:
  virtual ~Cache() = default;

  virtual Result<std::optional<std::string>> get(std::string_view key) = 0;
  virtual Status set(std::string_view key, std::string_view value, Ttl ttl = std::nullopt) = 0;
  // Returns true if the key existed.
  virtual Result<bool> erase(std::string_view key) = 0;
  // Adds `delta` to a decimal integer value (absent counts as 0) and returns the new value.
  // `ttl_if_created` applies only when the key did not exist (fixed-window counters).
  // A non-integer value fails with code "cache_not_integer".
  virtual Result<int64_t> increment(std::string_view key, int64_t delta, Ttl ttl_if_created = std::nullopt) = 0;
  // Sets `value` only if the current value equals `expected` (nullopt: only if absent).
  // Returns whether it was set.
  virtual Result<bool> compare_and_set(std::string_view key, const std::optional<std::string>& expected,
                                       std::string_view value, Ttl ttl = std::nullopt) = 0;
  // Remaining time to live; nullopt if the key has no expiry; not_found if absent.
  virtual Result<std::optional<std::chrono::milliseconds>> ttl(std::string_view key) = 0;

  // Erases `key` and notifies all invalidation subscribers.
  virtual Status invalidate(std::string_view key) = 0;
  virtual Result<std::unique_ptr<InvalidationSubscription>> subscribe_invalidations(
      std::function<void(std::string_view key)> callback) = 0;

  virtual Status ping() = 0;
};

}  // namespace vontres::cache
