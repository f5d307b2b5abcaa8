// Shared distributed backends for end-to-end tests. `vontres_with_backends` (tests/distributed)
// starts a real PostgreSQL 15, a real 6-node Redis Cluster and a real Kafka broker on loopback, then runs a test binary
// with TEST_VONTRES_BACKENDS naming a file that says where they are. Fixtures that start
// `vontres serve` append shared_backends_yaml() to their configuration, so the same end-to-end
// tests run on the embedded backends (plain ctest) and on the distributed ones.
#pragma once

#include <string>

namespace vontres::testing {

// Empty when TEST_VONTRES_BACKENDS is unset. Otherwise YAML (top-level keys) pointing one server at
// a fresh PostgreSQL database of its own, at the Redis Cluster with a key prefix of its own
// (cache and state store) and at the Kafka broker, so servers started one after another never see each other's data.
// On a failure to create the database, YAML that fails validation naming the reason, so the
// server refuses to start and the test fails.
std::string shared_backends_yaml();
// What a server on them logs as "vontres.backends" ("kafka,redis_cluster,postgres"), or empty when
// TEST_VONTRES_BACKENDS is unset.
std::string shared_backends_expected();

}  // namespace vontres::testing
