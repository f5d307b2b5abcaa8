// StateStore: shared state that must never be evicted (live call snapshots, SIP registrations,
// ACD leases, node heartbeats), as opposed to the Cache (cache/cache.h), which may drop any key
// under memory pressure. Every process sharing the backend sees the same values.
//
// Keys live until they are erased or their TTL passes. Expiry is measured on the injected Clock by
// the embedded implementation and on the server's clock by distributed ones; a key is never
// removed for any other reason. Values are opaque byte strings.
//
// Hashes keep a set of fields under one key (e.g. every live call of an organisation), so a
// reader lists them in one request without scanning the key space. A hash field has no TTL of
// its own; the hash key's TTL (set_ttl) applies to all of it.
//
// Leases give one holder at a time exclusive ownership of a name (the active routing writer of
// an organisation shard, say). Every successful acquisition returns a fencing token greater than
// every token any holder got for that name before, also across expiries, so a resource can refuse
// writes from a holder whose lease has lapsed (compare tokens; the higher one wins).
//
// Errors: "state_unavailable" (kind unavailable: backend unreachable, retry), "state_not_integer"
// (increment on a non-integer value), "state_error" (anything else).
//
// Implementations: InProcessStateStore (state/in_process_state_store.h); RedisClusterStateStore.
// All pass tests/state/state_store_contract.h. Thread-safety: every method may be called from any
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vontres::state {

using Ttl = std::optional<std::chrono::milliseconds>;  // nullopt: no expiry

struct Lease {
  std::string holder;         // who holds it, e.g. a node id
  int64_t token = 0;          // fencing token, increasing per name across all acquisitions
  int64_t expires_at_ms = 0;  // Unix ms by the backend's clock, informative
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // --- plain keys
  virtual Result<std::optional<std::string>> get(std::string_view key) = 0;
  virtual Status set(std::string_view key, std::string_view value, Ttl ttl = std::nullopt) = 0;
  // Returns true if the key existed.
  virtual Result<bool> erase(std::string_view key) = 0;
  // Sets `value` only if the current value equals `expected` (nullopt: only if absent).
  virtual Result<bool> compare_and_set(std::string_view key, const std::optional<std::string>& expected,
                                       std::string_view value, Ttl ttl = std::nullopt) = 0;
  // Adds `delta` to a decimal integer (absent counts as 0); `ttl_if_created` applies only when the
  // key did not exist.
  virtual Result<int64_t> increment(std::string_view key, int64_t delta, Ttl ttl_if_created = std::nullopt) = 0;
  // Sets or clears (nullopt) the expiry of an existing key or hash. Returns false if absent.
  virtual Result<bool> set_ttl(std::string_view key, Ttl ttl) = 0;

  // --- hashes
  virtual Status hash_set(std::string_view key, std::string_view field, std::string_view value) = 0;
  virtual Result<std::optional<std::string>> hash_get(std::string_view key, std::string_view field) = 0;
  // Returns true if the field existed. The hash disappears with its last field.
  virtual Result<bool> hash_erase(std::string_view key, std::string_view field) = 0;
  // Every field of the hash, ordered by field name; empty if the key is absent.
  virtual Result<std::map<std::string, std::string>> hash_get_all(std::string_view key) = 0;

  // --- leases
  // Acquires `name` for `holder` for `ttl`. Returns nullopt while another holder's lease is live.
  // Acquiring a lease the same holder already holds renews it and keeps its token.
  virtual Result<std::optional<Lease>> acquire_lease(std::string_view name, std::string_view holder,
                                                     std::chrono::milliseconds ttl) = 0;
  // Extends a held lease. Returns false (and changes nothing) if `lease` is no longer the current
  // one (it expired and someone else acquired it, or it was released).
  virtual Result<bool> renew_lease(std::string_view name, const Lease& lease, std::chrono::milliseconds ttl) = 0;
  // Gives a lease up early; a no-op if it is not the current one.
  virtual Status release_lease(std::string_view name, const Lease& lease) = 0;
  virtual Result<std::optional<Lease>> current_lease(std::string_view name) = 0;

  virtual Status ping() = 0;
};

}  // namespace vontres::state
