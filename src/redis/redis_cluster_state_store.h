// RedisClusterStateStore: the StateStore (state/state_store.h) on Redis Cluster through our
// ClusterClient. TTLs run on the Redis servers' clocks (PEXPIRE/PTTL, SET PX), never the injected
// Clock. Keys are stored as <key_prefix>k:<key> and leases as <key_prefix>l:<name>, so the two
// namespaces never meet and a key's own {hash tag} still decides its slot.
//
// Atomic operations are Lua scripts (EVALSHA with EVAL fallback on NOSCRIPT): compare-and-set,
// increment with TTL-if-created (returns the stored decimal string, so 64-bit values stay exact
// despite Lua's doubles), set_ttl, and the lease operations. A lease is one hash key (holder, token,
// expires) without TTL: liveness is decided inside the script from the server's TIME, and the token
// field outlives expiry and release, so each acquisition's token is higher than all before it.
//
// Failover caveat: Redis replicates asynchronously; with `wait_replicas` 0 (ClientOptions) a write
// acknowledged just before its master died can be lost, including a lease acquisition, after which
// the promoted replica may hand out the same token again. Set wait_replicas >= 1 where that matters.
//
// Thread-safety: every method may be called from any thread. The client must outlive the store.
#pragma once

#include <memory>
#include <string>

#include "redis/cluster_client.h"
#include "state/state_store.h"

namespace vontres::redis {

class RedisClusterStateStore final : public state::StateStore {
 public:
  RedisClusterStateStore(std::shared_ptr<ClusterClient> client, std::string key_prefix);

  Result<std::optional<std::string>> get(std::string_view key) override;
  Status set(std::string_view key, std::string_view value, state::Ttl ttl = std::nullopt) override;
  Result<bool> erase(std::string_view key) override;
  Result<bool> compare_and_set(std::string_view key, const std::optional<std::string>& expected, std::string_view value,
                               state::Ttl ttl = std::nullopt) override;
  Result<int64_t> increment(std::string_view key, int64_t delta, state::Ttl ttl_if_created = std::nullopt) override;
  Result<bool> set_ttl(std::string_view key, state::Ttl ttl) override;

  Status hash_set(std::string_view key, std::string_view field, std::string_view value) override;
  Result<std::optional<std::string>> hash_get(std::string_view key, std::string_view field) override;
  Result<bool> hash_erase(std::string_view key, std::string_view field) override;
  Result<std::map<std::string, std::string>> hash_get_all(std::string_view key) override;

  Result<std::optional<state::Lease>> acquire_lease(std::string_view name, std::string_view holder,
                                                    std::chrono::milliseconds ttl) override;
  Result<bool> renew_lease(std::string_view name, const state::Lease& lease, std::chrono::milliseconds ttl) override;
  Status release_lease(std::string_view name, const state::Lease& lease) override;
  Result<std::optional<state::Lease>> current_lease(std::string_view name) override;

  Status ping() override;

 private:
  std::string key_for(std::string_view key) const { return key_prefix_ + "k:" + std::string(key); }
  std::string lease_key_for(std::string_view name) const { return key_prefix_ + "l:" + std::string(name); }
  Result<Reply> run(std::string_view key, const std::vector<std::string>& args, bool write);
  Result<Reply> run_script(const Script& script, const std::string& key, const std::vector<std::string>& args,
                           bool write);

  std::shared_ptr<ClusterClient> client_;
  std::string key_prefix_;
};

}  // namespace vontres::redis
