// ClusterClient: our own Redis Cluster client on Boost.Asio (plain TCP or TLS through Asio's SSL
// stream). Debian's hiredis 0.14 has neither TLS nor cluster support, and no C++ cluster client is
// packaged, hence this one.
//
// What it does: routes each command to the master owning its key's slot (slot.h) using the
// topology from CLUSTER SLOTS, refreshed at start, periodically, after MOVED and after connection
// errors; follows MOVED (updating the slot at once) and ASK (ASKING + command on the same
// connection); keeps a small pool of pipelined connections per node (requests from many threads
// share a connection, replies are matched in order); enforces connect and request timeouts and
// reconnects on demand; verifies TLS server certificates against a configured CA; AUTHs when a
// password is configured; runs Lua scripts with EVALSHA, falling back to EVAL on NOSCRIPT; and
// keeps pub/sub subscriptions alive across node failures.
//
// Retries: a command is retried (within `command_deadline`, with back-off) after redirections,
// TRYAGAIN/CLUSTERDOWN/LOADING/MASTERDOWN, and connection failures that happened before the command
// was written. A connection failure after it was written is returned as "redis_unavailable"
// (outcome unknown): the command may have run, and retrying a non-idempotent one could run it twice.
//
// Durability: Redis replicates asynchronously, so a write acknowledged by a master that dies before
// its replica got it is lost at failover. With `wait_replicas` > 0, every write is followed on the
// same connection by WAIT <wait_replicas> <wait_timeout_ms> and succeeds only if that many replicas
// acknowledged it (else "redis_not_replicated"; the write may still have happened). Default 0.
//
// Errors: "redis_unavailable" (kind unavailable), "redis_timeout" (deadline exceeded),
// "redis_tls_failed", "redis_auth_failed", "redis_protocol", "redis_cross_slot", "redis_not_replicated";
// an error *reply* from Redis (WRONGTYPE, ...) is not a Status error but a Reply of type kError.
//
// Thread-safety: every public method may be called from any thread, except that none may be called
// from a pub/sub callback in a way that waits for a reply (callbacks run on the client's io thread).
// The io_context runs on one thread owned by the client.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.h"
#include "redis/resp.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}  // namespace ssl
}  // namespace boost::asio

namespace vontres::redis {

namespace detail {
class Connection;
struct ConnectionSettings;
struct Outcome;
}  // namespace detail

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// "host:port", "redis://host:port" or "rediss://host:port" (sets *tls when given). IPv6 as [addr]:port.
Result<Endpoint> parse_endpoint(std::string_view text, bool* tls = nullptr);

struct ClientOptions {
  std::vector<Endpoint> seeds;  // at least one
  bool tls = false;             // rediss://
  std::string tls_ca_file;      // required with tls: PEM CA the server certificates must chain to
  std::string tls_server_name;  // name the certificates must carry; empty: the host connected to
  std::string username;         // optional ACL user for AUTH
  std::string password;         // empty: no AUTH
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds request_timeout{1000};   // one attempt's wait for its reply
  std::chrono::milliseconds command_deadline{5000};  // a command's total, across retries and redirects
  std::chrono::milliseconds topology_refresh_interval{10'000};
  int connections_per_node = 2;
  int max_redirects = 8;
  int wait_replicas = 0;  // see "Durability" above
  std::chrono::milliseconds wait_timeout{200};
  // Optional: vontres_redis_commands_total{result="ok|error_reply|failed"},
  // vontres_redis_redirections_total{kind="moved|ask"}, vontres_redis_topology_refreshes_total,
  // vontres_redis_connections_opened_total. Must outlive the client. Null: a private registry.
  prometheus::Registry* metrics = nullptr;
};

// A Lua script: its source and SHA1 (computed once).
class Script {
 public:
  explicit Script(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

// Keeps a SUBSCRIBE alive; destroying it unsubscribes, and once the destructor returns no callback
// is running or will start (destroyed from within a callback, it only stops later deliveries).
class PubSubSubscription {
 public:
  virtual ~PubSubSubscription() = default;
};

class ClusterClient {
 public:
  // Connects to the seeds and loads the topology; fails if no seed answers CLUSTER SLOTS.
  static Result<std::unique_ptr<ClusterClient>> connect(ClientOptions options);
  ~ClusterClient();
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // Runs `args` on the master of `key`'s slot. `write`: apply the WAIT durability option.
  Result<Reply> command_for_key(std::string_view key, const std::vector<std::string>& args, bool write = false);
  // Routes by the command's first key (args[1], or the first key of EVAL/EVALSHA); commands
  // without keys (PING, CLUSTER ...) go to any master.
  Result<Reply> command(const std::vector<std::string>& args);
  // Runs on one given node, without redirection (administration and tests).
  Result<Reply> command_on(const Endpoint& node, const std::vector<std::string>& args);
  // EVALSHA, or EVAL after NOSCRIPT. Every key must hash to one slot.
  Result<Reply> eval(const Script& script, const std::vector<std::string>& keys, const std::vector<std::string>& args,
                     bool write = true);

  // PUBLISH (Redis 7 cluster broadcasts it to every node).
  Status publish(const std::string& channel, const std::string& message);
  // Subscribes to `channel` on one node (a replica when there is one); after that node fails,
  // resubscribes on another and calls
  // `on_resubscribed` (messages published in between are lost). Callbacks run on the io thread.
  // Every subscription must be destroyed before the client.
  // Returns once the first SUBSCRIBE is confirmed (or fails after command_deadline).
  Result<std::unique_ptr<PubSubSubscription>> subscribe(const std::string& channel,
                                                        std::function<void(std::string_view message)> on_message,
                                                        std::function<void()> on_resubscribed = {});

  // Reloads the topology now (coalesced with concurrent calls).
  Status refresh_topology();
  // The master serving `slot` now, by the client's view.
  std::optional<Endpoint> master_for_slot(uint16_t slot);
  // Every master and replica the topology names (masters first), and the replicas alone.
  std::vector<Endpoint> known_nodes();
  std::vector<Endpoint> known_replicas();
  uint64_t topology_refreshes() const { return refreshes_.load(); }

 private:
  class NodePool;
  class Subscriber;
  struct Metrics;
  struct Topology {
    std::vector<Endpoint> masters;
    std::vector<Endpoint> replicas;
    std::array<uint16_t, 16384> owner{};  // index into masters, kNoOwner when unassigned
  };
  static constexpr uint16_t kNoOwner = 0xFFFF;

  explicit ClusterClient(ClientOptions options);
  Status start();
  Result<Reply> execute(std::optional<uint16_t> slot, const std::vector<std::string>& args, bool write);
  Result<Reply> execute_uncounted(std::optional<uint16_t> slot, const std::vector<std::string>& args, bool write);
  // One round trip of `payload` (`reply_count` commands) to `node`.
  detail::Outcome send(const Endpoint& node, std::string payload, size_t reply_count);
  std::shared_ptr<detail::Connection> connection_to(const Endpoint& node);
  Endpoint route(std::optional<uint16_t> slot);
  void apply_moved(uint16_t slot, const Endpoint& node);
  void refresh_if_older_than(std::chrono::steady_clock::time_point when);
  void request_refresh();  // wakes the refresher thread
  void refresher_loop();
  detail::ConnectionSettings settings_for(const Endpoint& node) const;

  ClientOptions options_;
  std::unique_ptr<prometheus::Registry> own_registry_;  // only when options_.metrics is null
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  struct WorkGuard;
  std::unique_ptr<WorkGuard> work_;  // keeps io_ running until the destructor
  std::thread io_thread_;
  std::atomic<size_t> next_any_{0};

  std::mutex subscribers_mutex_;
  std::vector<std::weak_ptr<Subscriber>> subscribers_;  // GUARDED_BY(subscribers_mutex_)

  std::mutex pools_mutex_;
  std::map<std::string, std::shared_ptr<NodePool>> pools_;  // GUARDED_BY(pools_mutex_); by "host:port"

  std::shared_mutex topology_mutex_;
  std::shared_ptr<const Topology> topology_;  // GUARDED_BY(topology_mutex_); replaced, never mutated

  std::mutex refresh_mutex_;                 // one refresh at a time
  std::atomic<int64_t> last_refresh_ns_{0};  // steady clock, when the last successful refresh started
  std::atomic<uint64_t> refreshes_{0};

  std::mutex refresher_mutex_;
  std::condition_variable refresher_wake_;
  bool stopping_ = false;           // GUARDED_BY(refresher_mutex_)
  bool refresh_requested_ = false;  // GUARDED_BY(refresher_mutex_)
  std::thread refresher_;
};

}  // namespace vontres::redis
