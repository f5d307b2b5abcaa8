// A real Redis 7 cluster for tests: `masters` masters with `replicas_per_master` replicas each
// (default 3 + 3), redis-server processes on free 127.0.0.1 ports in a temporary directory, created
// with `redis-cli --cluster create` and ready (cluster_state:ok on every node, replicas in sync)
// when start() returns. Optionally TLS-only (a CA and a server certificate made with `openssl`;
// --port 0, --tls-port, --tls-cluster, --tls-replication) and/or password-protected. Every node is
// stopped by PID when the object is destroyed.
//
// One cluster per test binary: use RedisClusterEnvironment (a ::testing::Environment) and reach the
// cluster through RedisClusterEnvironment::cluster().
//
// Thread-safety: not thread-safe; call from the test thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/subprocess.h"

namespace vontres::testing {

struct RedisClusterOptions {
  int masters = 3;
  int replicas_per_master = 1;
  bool tls = false;
  std::string password;  // empty: no AUTH
  int node_timeout_ms = 2000;
};

class RedisCluster {
 public:
  // Starts the cluster; on failure returns null and sets *error (a missing redis-server is an error).
  static std::unique_ptr<RedisCluster> start(const RedisClusterOptions& options, std::string* error);
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  const RedisClusterOptions& options() const { return options_; }
  // Client ports of every node, in creation order (the first `masters` started as masters).
  const std::vector<uint16_t>& ports() const { return ports_; }
  // "127.0.0.1:P" (or "rediss://127.0.0.1:P" with TLS) of every node.
  std::vector<std::string> seeds() const;
  const std::string& dir() const { return dir_->path(); }
  // With TLS: the CA that signed the nodes' certificate, and a second, unrelated CA.
  std::string ca_file() const { return dir() + "/ca.crt"; }
  std::string other_ca_file() const { return dir() + "/other-ca.crt"; }
  // A file holding the password (for password_file settings).
  std::string password_file() const { return dir() + "/password"; }

  // Runs redis-cli against `port` with `args`; returns its stdout (trailing newline trimmed).
  RunResult cli(uint16_t port, const std::vector<std::string>& args) const;
  std::string cli_out(uint16_t port, const std::vector<std::string>& args) const;

  // Current roles, from CLUSTER NODES as seen by a live node: port -> "master" / "slave" (failed
  // nodes are left out), and for each replica its master's port.
  std::map<uint16_t, std::string> roles() const;
  std::map<uint16_t, uint16_t> replica_to_master() const;
  std::string node_id(uint16_t port) const;
  // Port of the master that serves `slot` now.
  std::optional<uint16_t> master_of_slot(int slot) const;

  // Sends SIGKILL to the node on `port` and reaps it.
  void kill_node(uint16_t port);
  // Starts a killed node again with its old nodes.conf (it rejoins, typically as a replica).
  bool restart_node(uint16_t port);
  bool alive(uint16_t port) const;

  // Waits (bounded) until every live node reports cluster_state:ok and agrees on the masters.
  bool wait_until_ok(std::chrono::milliseconds timeout) const;
  // Waits (bounded) until every live replica reports master_link_status:up.
  bool wait_replicas_in_sync(std::chrono::milliseconds timeout) const;

 private:
  RedisCluster() = default;
  bool start_node(uint16_t port, std::string* error);
  std::vector<std::string> cli_prefix(uint16_t port) const;

  RedisClusterOptions options_;
  std::unique_ptr<TempDir> dir_;
  std::vector<uint16_t> ports_;
  std::map<uint16_t, std::unique_ptr<Subprocess>> nodes_;
};

// The binary's one cluster: started in SetUp, stopped in TearDown. Register it from a test file:
//   static auto* const kRedis = ::testing::AddGlobalTestEnvironment(new RedisClusterEnvironment());
class RedisClusterEnvironment : public ::testing::Environment {
 public:
  explicit RedisClusterEnvironment(RedisClusterOptions options = {}) : options_(std::move(options)) {}
  void SetUp() override;
  void TearDown() override;
  // The running cluster; null (and the failure reported) if it could not start.
  static RedisCluster* cluster();

 private:
  RedisClusterOptions options_;
};

}  // namespace vontres::testing
