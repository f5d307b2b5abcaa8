// The Lua scripts behind the atomic Cache and StateStore operations on Redis Cluster. Each touches
// exactly one key (KEYS[1]), so it runs on one node without cross-slot concerns.
#pragma once

#include "redis/cluster_client.h"

namespace vontres::redis::scripts {

// ARGV: has_expected ("1"/"0"), expected, value, ttl_ms ("" for none). Returns 1 if set, else 0.
const Script& compare_and_set();
// ARGV: delta, ttl_ms_if_created (""). Returns the new value as the stored decimal string.
const Script& increment();
// ARGV: ttl_ms ("" clears the expiry). Returns 0 if the key is absent, else 1.
const Script& set_ttl();
// Lease hash fields: holder, token, expires (Unix ms by the server's TIME).
// acquire ARGV: holder, ttl_ms. Returns {0} when refused, else {1, holder, token, expires}.
const Script& lease_acquire();
// renew ARGV: holder, token, ttl_ms. Returns 1 if renewed, else 0.
const Script& lease_renew();
// release ARGV: holder, token. Returns 1 if released, else 0.
const Script& lease_release();
// current: no ARGV. Returns {} or {holder, token, expires}.
const Script& lease_current();

}  // namespace vontres::redis::scripts
