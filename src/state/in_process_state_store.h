// InProcessStateStore: the single-node StateStore backend. Everything lives in one map under one
// mutex (the state kept here is small: live calls, registrations, leases; a shared lock is simpler
// to reason about than shards and fast enough for one node). TTLs are measured on the injected
// Clock; an expired key is dropped on access and, in expiry order, before every write, so memory
// is given back without a timer. Nothing is ever evicted for any other reason.
//
// Leases live in their own table, apart from the keys: a lease name never collides with a key.
// A name's record (holder, expiry, last fencing token) stays after expiry and release so the next
// token is always higher; it costs a few dozen bytes per name ever leased.
//
// Metrics (optional registry, like InProcessCache): vontres_state_keys (gauge),
// vontres_state_expired_total, vontres_state_lease_acquisitions_total{result="acquired|renewed|refused"}.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "core/clock.h"
#include "state/state_store.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace vontres::state {

class InProcessStateStore final : public StateStore {
 public:
  // `clock` must outlive the store. With a null `registry` the metrics are kept in a private one.
  explicit InProcessStateStore(const Clock& clock, prometheus::Registry* registry = nullptr);
  ~InProcessStateStore() override;

  InProcessStateStore(const InProcessStateStore&) = delete;
  InProcessStateStore& operator=(const InProcessStateStore&) = delete;

  Result<std::optional<std::string>> get(std::string_view key) override;
  Status set(std::string_view key, std::string_view value, Ttl ttl = std::nullopt) override;
  Result<bool> erase(std::string_view key) override;
  Result<bool> compare_and_set(std::string_view key, const std::optional<std::string>& expected, std::string_view value,
                               Ttl ttl = std::nullopt) override;
  Result<int64_t> increment(std::string_view key, int64_t delta, Ttl ttl_if_created = std::nullopt) override;
  Result<bool> set_ttl(std::string_view key, Ttl ttl) override;

  Status hash_set(std::string_view key, std::string_view field, std::string_view value) override;
  Result<std::optional<std::string>> hash_get(std::string_view key, std::string_view field) override;
  Result<bool> hash_erase(std::string_view key, std::string_view field) override;
  Result<std::map<std::string, std::string>> hash_get_all(std::string_view key) override;

  Result<std::optional<Lease>> acquire_lease(std::string_view name, std::string_view holder,
                                             std::chrono::milliseconds ttl) override;
  Result<bool> renew_lease(std::string_view name, const Lease& lease, std::chrono::milliseconds ttl) override;
  Status release_lease(std::string_view name, const Lease& lease) override;
  Result<std::optional<Lease>> current_lease(std::string_view name) override;

  Status ping() override;

  // Live keys now (plain and hash), for tests and the admin API.
  size_t key_count();

 private:
  using Hash = std::map<std::string, std::string, std::less<>>;
  using ExpiryIndex = std::multimap<TimePoint, std::string>;
  struct Entry {
    std::variant<std::string, Hash> value;
    std::optional<ExpiryIndex::iterator> expiry;  // position in expiries_ when the key has a TTL
  };
  struct LeaseRecord {
    std::string holder;
    int64_t token = 0;     // the last token handed out for this name
    TimePoint expires_at;  // live while now < expires_at; released leases are set to the epoch
  };
  struct Metrics;
  using Map = std::unordered_map<std::string, Entry>;

  // Each helper REQUIRES: mutex_ held.
  // The live entry for `key`, or null (dropping it if it has expired).
  Entry* find_live(std::string_view key, TimePoint now);
  // Drops every entry whose expiry has passed, earliest first.
  void drop_expired(TimePoint now);
  void remove(Map::iterator it, bool expired);
  void set_expiry(Map::iterator it, std::optional<TimePoint> expires_at);
  // Replaces whatever `key` holds by the string `value` with expiry `expires_at`.
  void put_string(std::string_view key, std::string_view value, std::optional<TimePoint> expires_at);

  const Clock& clock_;
  std::mutex mutex_;
  Map entries_;                                             // GUARDED_BY(mutex_)
  ExpiryIndex expiries_;                                    // GUARDED_BY(mutex_)
  std::map<std::string, LeaseRecord, std::less<>> leases_;  // GUARDED_BY(mutex_)
  std::unique_ptr<prometheus::Registry> own_registry_;      // only when no registry was given
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace vontres::state
