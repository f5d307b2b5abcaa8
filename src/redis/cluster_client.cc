#include "redis/cluster_client.h"

#include <openssl/evp.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <charconv>
#include <future>
#include <set>

#include "redis/detail/connection.h"
#include "redis/slot.h"

namespace vontres::redis {

namespace asio = boost::asio;
using detail::Connection;
using detail::ConnectionSettings;
using detail::Outcome;
using SteadyClock = std::chrono::steady_clock;

namespace {

int64_t steady_ns(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Commands whose second argument is not a key.
bool is_keyless(const std::string& name) {
  static const std::set<std::string> kKeyless = {"PING",   "INFO",   "CLUSTER", "DBSIZE",   "FLUSHALL",  "FLUSHDB",
                                                 "SCRIPT", "CONFIG", "TIME",    "ECHO",     "COMMAND",   "CLIENT",
                                                 "WAIT",   "AUTH",   "HELLO",   "READONLY", "READWRITE", "FUNCTION"};
  return kKeyless.contains(name);
}

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" -> slot and endpoint.
std::optional<std::pair<uint16_t, Endpoint>> parse_redirect(std::string_view text) {
  const size_t first_space = text.find(' ');
  if (first_space == std::string_view::npos) return std::nullopt;
  const size_t second_space = text.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) return std::nullopt;
  std::string_view slot_text = text.substr(first_space + 1, second_space - first_space - 1);
  unsigned slot = 0;
  auto [ptr, ec] = std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), slot);
  if (ec != std::errc() || ptr != slot_text.data() + slot_text.size() || slot >= kSlotCount) return std::nullopt;
  auto endpoint = parse_endpoint(text.substr(second_space + 1));
  if (!endpoint) return std::nullopt;
  return std::make_pair(static_cast<uint16_t>(slot), *endpoint);
}

bool is_retryable_error(std::string_view code) {
  return code == "TRYAGAIN" || code == "CLUSTERDOWN" || code == "LOADING" || code == "MASTERDOWN";
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view text, bool* tls) {
  bool secure = false;
  if (text.starts_with("rediss://")) {
    secure = true;
    text.remove_prefix(9);
  } else if (text.starts_with("redis://")) {
    text.remove_prefix(8);
  }
  if (!text.empty() && text.back() == '/') text.remove_suffix(1);
  std::string_view host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return invalid_argument("bad Redis address '" + std::string(text) + "'", "redis_bad_address");
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return invalid_argument("Redis address '" + std::string(text) + "' needs host:port", "redis_bad_address");
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return invalid_argument("bad Redis address '" + std::string(text) + "'", "redis_bad_address");
  }
  if (tls != nullptr) *tls = secure;
  return Endpoint{std::string(host), static_cast<uint16_t>(port)};
}

Script::Script(std::string source) : source_(std::move(source)) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(source_.data(), source_.size(), digest, &length, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    sha1_ += kHex[digest[i] >> 4];
    sha1_ += kHex[digest[i] & 0xF];
  }
}

struct ClusterClient::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : commands(prometheus::BuildCounter()
                     .Name("vontres_redis_commands_total")
                     .Help("Redis commands run through the cluster client, by result")
                     .Register(registry)),
        ok(commands.Add({{"result", "ok"}})),
        error_reply(commands.Add({{"result", "error_reply"}})),
        failed(commands.Add({{"result", "failed"}})),
        redirections(prometheus::BuildCounter()
                         .Name("vontres_redis_redirections_total")
                         .Help("MOVED and ASK redirections followed")
                         .Register(registry)),
        moved(redirections.Add({{"kind", "moved"}})),
        ask(redirections.Add({{"kind", "ask"}})),
        refreshes(prometheus::BuildCounter()
                      .Name("vontres_redis_topology_refreshes_total")
                      .Help("Successful CLUSTER SLOTS topology loads")
                      .Register(registry)
                      .Add({})),
        connections(prometheus::BuildCounter()
                        .Name("vontres_redis_connections_opened_total")
                        .Help("Connections opened to Redis nodes (reconnects included)")
                        .Register(registry)
                        .Add({})) {}

  prometheus::Family<prometheus::Counter>& commands;
  prometheus::Counter& ok;
  prometheus::Counter& error_reply;
  prometheus::Counter& failed;
  prometheus::Family<prometheus::Counter>& redirections;
  prometheus::Counter& moved;
  prometheus::Counter& ask;
  prometheus::Counter& refreshes;
  prometheus::Counter& connections;
};

struct ClusterClient::WorkGuard {
  explicit WorkGuard(asio::executor_work_guard<asio::io_context::executor_type> g) : guard(std::move(g)) {}
  asio::executor_work_guard<asio::io_context::executor_type> guard;
};

// A few pipelined connections to one node, handed out round-robin and replaced when dead.
class ClusterClient::NodePool {
 public:
  NodePool(asio::io_context& io, ConnectionSettings settings, int size, prometheus::Counter& opened)
      : io_(io),
        settings_(std::move(settings)),
        opened_(opened),
        connections_(static_cast<size_t>(std::max(1, size))) {}

  std::shared_ptr<Connection> get() {
    const size_t index = next_.fetch_add(1) % connections_.size();
    std::lock_guard lock(mutex_);
    auto& slot = connections_[index];
    if (!slot || slot->dead()) {
      slot = std::make_shared<Connection>(io_, settings_);
      slot->start();
      opened_.Increment();
    }
    return slot;
  }

  void close_all() {
    std::lock_guard lock(mutex_);
    for (auto& connection : connections_) {
      if (connection) connection->close();
    }
  }

 private:
  asio::io_context& io_;
  const ConnectionSettings settings_;
  prometheus::Counter& opened_;
  std::atomic<size_t> next_{0};
  std::mutex mutex_;
  std::vector<std::shared_ptr<Connection>> connections_;  // GUARDED_BY(mutex_)
};

// One SUBSCRIBE kept alive across node failures. Lives on the io thread.
class ClusterClient::Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(ClusterClient& client, std::string channel, std::function<void(std::string_view)> on_message,
             std::function<void()> on_resubscribed)
      : client_(client),
        channel_(std::move(channel)),
        on_message_(std::move(on_message)),
        on_resubscribed_(std::move(on_resubscribed)),
        retry_timer_(*client.io_) {}

  std::future<Status> first_confirmation() { return confirmed_.get_future(); }

  void start() {
    asio::post(*client_.io_, [self = shared_from_this()] { self->subscribe_somewhere(); });
  }

  // Stops delivering; the future is ready once the io thread has seen the stop, so no callback
  // is running any more (handlers run one at a time on that thread).
  std::future<void> stop() {
    stopped_.store(true);
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    asio::post(*client_.io_, [self = shared_from_this(), done] {
      self->retry_timer_.cancel();
      if (self->connection_) self->connection_->close();
      self->connection_.reset();
      self->confirm(unavailable("subscription stopped", "redis_unavailable"));
      done->set_value();
    });
    return future;
  }

 private:
  void confirm(const Status& status) {
    if (confirmed_once_) return;
    confirmed_once_ = true;
    confirmed_.set_value(status);
  }

  void subscribe_somewhere() {
    if (stopped_.load()) return;
    // Replicas first: PUBLISH reaches every node, and a replica carries no writes.
    std::vector<Endpoint> candidates = client_.known_replicas();
    for (const auto& node : client_.known_nodes()) {
      if (std::find(candidates.begin(), candidates.end(), node) == candidates.end()) candidates.push_back(node);
    }
    for (const auto& seed : client_.options_.seeds) {
      if (std::find(candidates.begin(), candidates.end(), seed) == candidates.end()) candidates.push_back(seed);
    }
    const Endpoint node = candidates[attempt_++ % candidates.size()];
    connection_ = std::make_shared<Connection>(*client_.io_, client_.settings_for(node));
    std::weak_ptr<Subscriber> weak = weak_from_this();
    connection_->start(
        [weak](Reply reply) {
          if (auto self = weak.lock()) self->on_push(std::move(reply));
        },
        [weak](const Status&) {
          if (auto self = weak.lock()) self->on_closed();
        });
    connection_->submit(encode_command({"SUBSCRIBE", channel_}), 0, nullptr);
  }

  void on_push(Reply reply) {
    if (stopped_.load()) return;
    if (reply.is_error()) {
      if (connection_) connection_->close();
      return;
    }
    if (reply.type != Reply::Type::kArray || reply.elements.size() < 3) return;  // e.g. +OK to AUTH
    const std::string& kind = reply.elements[0].text;
    if (kind == "message") {
      on_message_(reply.elements[2].text);
    } else if (kind == "subscribe") {
      if (!confirmed_once_) {
        confirm(Status::ok());
      } else if (on_resubscribed_) {
        on_resubscribed_();
      }
    }
  }

  void on_closed() {
    if (stopped_.load()) return;
    retry_timer_.expires_after(std::chrono::milliseconds(100));
    retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->subscribe_somewhere();
    });
  }

  ClusterClient& client_;
  const std::string channel_;
  std::function<void(std::string_view)> on_message_;
  std::function<void()> on_resubscribed_;
  std::atomic<bool> stopped_{false};
  // io thread only:
  asio::steady_timer retry_timer_;
  std::shared_ptr<Connection> connection_;
  size_t attempt_ = 0;
  std::promise<Status> confirmed_;
  bool confirmed_once_ = false;
};

namespace {

class SubscriptionHandle final : public PubSubSubscription {
 public:
  explicit SubscriptionHandle(std::function<void()> stop) : stop_(std::move(stop)) {}
  ~SubscriptionHandle() override { stop_(); }

 private:
  std::function<void()> stop_;
};

}  // namespace

ClusterClient::ClusterClient(ClientOptions options)
    : options_(std::move(options)), io_(std::make_unique<asio::io_context>()) {
  prometheus::Registry* registry = options_.metrics;
  if (registry == nullptr) {
    own_registry_ = std::make_unique<prometheus::Registry>();
    registry = own_registry_.get();
  }
  metrics_ = std::make_unique<Metrics>(*registry);
}

Result<std::unique_ptr<ClusterClient>> ClusterClient::connect(ClientOptions options) {
  if (options.seeds.empty()) return invalid_argument("no Redis seed nodes given", "redis_bad_address");
  std::unique_ptr<ClusterClient> client(new ClusterClient(std::move(options)));  // NOLINT: private constructor
  VONTRES_RETURN_IF_ERROR(client->start());
  return client;
}

ConnectionSettings ClusterClient::settings_for(const Endpoint& node) const {
  ConnectionSettings settings;
  settings.host = node.host;
  settings.port = node.port;
  settings.tls = tls_.get();
  settings.tls_server_name = options_.tls_server_name;
  settings.username = options_.username;
  settings.password = options_.password;
  settings.connect_timeout = options_.connect_timeout;
  settings.request_timeout = options_.request_timeout;
  return settings;
}

Status ClusterClient::start() {
  if (options_.tls) {
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    if (options_.tls_ca_file.empty()) {
      return invalid_argument("rediss:// needs a CA file to verify the servers", "redis_tls_failed");
    }
    boost::system::error_code ec;
    tls_->load_verify_file(options_.tls_ca_file, ec);
    if (ec) {
      return invalid_argument("cannot load Redis CA file " + options_.tls_ca_file + ": " + ec.message(),
                              "redis_tls_failed");
    }
    tls_->set_verify_mode(asio::ssl::verify_peer);
  }
  work_ = std::make_unique<WorkGuard>(asio::make_work_guard(*io_));
  io_thread_ = std::thread([this] { io_->run(); });
  VONTRES_RETURN_IF_ERROR(refresh_topology());
  refresher_ = std::thread([this] { refresher_loop(); });
  return Status::ok();
}

ClusterClient::~ClusterClient() {
  {
    std::lock_guard lock(refresher_mutex_);
    stopping_ = true;
  }
  refresher_wake_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  {
    std::lock_guard lock(subscribers_mutex_);
    for (auto& weak : subscribers_) {
      if (auto subscriber = weak.lock()) (void)subscriber->stop();
    }
  }
  {
    std::lock_guard lock(pools_mutex_);
    for (auto& [name, pool] : pools_) pool->close_all();
  }
  // Every connection is closing and posts nothing more once dead, so run() returns by itself.
  work_.reset();
  if (io_thread_.joinable()) io_thread_.join();
}

void ClusterClient::refresher_loop() {
  std::unique_lock lock(refresher_mutex_);
  while (!stopping_) {
    refresher_wake_.wait_for(lock, options_.topology_refresh_interval,
                             [this] { return stopping_ || refresh_requested_; });
    if (stopping_) break;
    refresh_requested_ = false;
    lock.unlock();
    (void)refresh_topology();
    lock.lock();
  }
}

std::shared_ptr<Connection> ClusterClient::connection_to(const Endpoint& node) {
  std::shared_ptr<NodePool> pool;
  {
    std::lock_guard lock(pools_mutex_);
    auto& entry = pools_[node.to_string()];
    if (!entry) {
      entry =
          std::make_shared<NodePool>(*io_, settings_for(node), options_.connections_per_node, metrics_->connections);
    }
    pool = entry;
  }
  return pool->get();
}

Outcome ClusterClient::send(const Endpoint& node, std::string payload, size_t reply_count) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto future = promise->get_future();
  connection_to(node)->submit(std::move(payload), reply_count,
                              [promise](Outcome outcome) { promise->set_value(std::move(outcome)); });
  // The connection enforces its own timeouts; this bound only guards against a bug leaving us stuck.
  const auto backstop = options_.connect_timeout + options_.request_timeout + std::chrono::seconds(2);
  if (future.wait_for(backstop) != std::future_status::ready) {
    return Outcome{deadline_exceeded("no answer from Redis " + node.to_string(), "redis_timeout"), true, {}};
  }
  return future.get();
}

Endpoint ClusterClient::route(std::optional<uint16_t> slot) {
  std::shared_lock lock(topology_mutex_);
  if (topology_ && !topology_->masters.empty()) {
    if (slot && topology_->owner[*slot] != kNoOwner) return topology_->masters[topology_->owner[*slot]];
    const size_t pick = next_any_.fetch_add(1) % topology_->masters.size();
    return topology_->masters[pick];
  }
  return options_.seeds.front();
}

void ClusterClient::apply_moved(uint16_t slot, const Endpoint& node) {
  std::unique_lock lock(topology_mutex_);
  auto updated = std::make_shared<Topology>(topology_ ? *topology_ : Topology{});
  auto found = std::find(updated->masters.begin(), updated->masters.end(), node);
  size_t index = static_cast<size_t>(found - updated->masters.begin());
  if (found == updated->masters.end()) updated->masters.push_back(node);
  updated->owner[slot] = static_cast<uint16_t>(index);
  topology_ = std::move(updated);
}

std::optional<Endpoint> ClusterClient::master_for_slot(uint16_t slot) {
  std::shared_lock lock(topology_mutex_);
  if (!topology_ || topology_->owner[slot] == kNoOwner) return std::nullopt;
  return topology_->masters[topology_->owner[slot]];
}

std::vector<Endpoint> ClusterClient::known_nodes() {
  std::shared_lock lock(topology_mutex_);
  std::vector<Endpoint> nodes;
  if (!topology_) return nodes;
  nodes = topology_->masters;
  for (const auto& replica : topology_->replicas) {
    if (std::find(nodes.begin(), nodes.end(), replica) == nodes.end()) nodes.push_back(replica);
  }
  return nodes;
}

std::vector<Endpoint> ClusterClient::known_replicas() {
  std::shared_lock lock(topology_mutex_);
  return topology_ ? topology_->replicas : std::vector<Endpoint>();
}

Status ClusterClient::refresh_topology() {
  const auto requested = SteadyClock::now();
  std::lock_guard lock(refresh_mutex_);
  if (last_refresh_ns_.load() > steady_ns(requested)) return Status::ok();  // someone refreshed meanwhile
  const auto started = SteadyClock::now();
  std::vector<Endpoint> candidates = known_nodes();
  for (const auto& seed : options_.seeds) {
    if (std::find(candidates.begin(), candidates.end(), seed) == candidates.end()) candidates.push_back(seed);
  }
  std::string errors;
  for (const auto& node : candidates) {
    Outcome outcome = send(node, encode_command({"CLUSTER", "SLOTS"}), 1);
    if (!outcome.status.is_ok()) {
      errors += " " + node.to_string() + ": " + outcome.status.message() + ";";
      continue;
    }
    const Reply& reply = outcome.replies[0];
    if (reply.type != Reply::Type::kArray || reply.elements.empty()) {
      errors += " " + node.to_string() + ": " + reply.debug_string() + ";";
      continue;
    }
    auto topology = std::make_shared<Topology>();
    topology->owner.fill(kNoOwner);
    auto endpoint_of = [&](const Reply& entry) -> std::optional<Endpoint> {
      if (entry.type != Reply::Type::kArray || entry.elements.size() < 2) return std::nullopt;
      if (entry.elements[1].type != Reply::Type::kInteger) return std::nullopt;
      std::string host = entry.elements[0].text;
      if (host.empty() || host == "?") host = node.host;
      return Endpoint{host, static_cast<uint16_t>(entry.elements[1].integer)};
    };
    bool valid = true;
    for (const auto& range : reply.elements) {
      if (range.type != Reply::Type::kArray || range.elements.size() < 3 ||
          range.elements[0].type != Reply::Type::kInteger || range.elements[1].type != Reply::Type::kInteger) {
        valid = false;
        break;
      }
      const int64_t first = range.elements[0].integer;
      const int64_t last = range.elements[1].integer;
      auto master = endpoint_of(range.elements[2]);
      if (!master || first < 0 || last >= kSlotCount || first > last) {
        valid = false;
        break;
      }
      auto found = std::find(topology->masters.begin(), topology->masters.end(), *master);
      const auto index = static_cast<uint16_t>(found - topology->masters.begin());
      if (found == topology->masters.end()) topology->masters.push_back(*master);
      for (int64_t s = first; s <= last; ++s) topology->owner[static_cast<size_t>(s)] = index;
      for (size_t r = 3; r < range.elements.size(); ++r) {
        if (auto replica = endpoint_of(range.elements[r])) topology->replicas.push_back(*replica);
      }
    }
    if (!valid) {
      errors += " " + node.to_string() + ": malformed CLUSTER SLOTS;";
      continue;
    }
    {
      std::unique_lock topology_lock(topology_mutex_);
      topology_ = std::move(topology);
    }
    last_refresh_ns_.store(steady_ns(started));
    refreshes_.fetch_add(1);
    metrics_->refreshes.Increment();
    return Status::ok();
  }
  return unavailable("no Redis node answered CLUSTER SLOTS:" + errors, "redis_unavailable");
}

void ClusterClient::request_refresh() {
  {
    std::lock_guard lock(refresher_mutex_);
    refresh_requested_ = true;
  }
  refresher_wake_.notify_all();
}

Result<Reply> ClusterClient::execute(std::optional<uint16_t> slot, const std::vector<std::string>& args, bool write) {
  Result<Reply> result = execute_uncounted(slot, args, write);
  if (!result.is_ok()) {
    metrics_->failed.Increment();
  } else if (result->is_error()) {
    metrics_->error_reply.Increment();
  } else {
    metrics_->ok.Increment();
  }
  return result;
}

Result<Reply> ClusterClient::execute_uncounted(std::optional<uint16_t> slot, const std::vector<std::string>& args,
                                               bool write) {
  const auto deadline = SteadyClock::now() + options_.command_deadline;
  std::string payload = encode_command(args);
  const bool wait = write && options_.wait_replicas > 0;
  if (wait) {
    encode_command(payload,
                   {"WAIT", std::to_string(options_.wait_replicas), std::to_string(options_.wait_timeout.count())});
  }
  const size_t replies = wait ? 2 : 1;
  std::optional<Endpoint> ask;
  int redirects = 0;
  auto backoff = std::chrono::milliseconds(20);
  Status last_error = unavailable("Redis command not attempted", "redis_unavailable");
  for (int attempt = 0; attempt < 1000; ++attempt) {  // bounded; the deadline ends it far sooner
    if (attempt > 0 && SteadyClock::now() >= deadline) break;
    const Endpoint target = ask ? *ask : route(slot);
    Outcome outcome =
        ask ? send(target, encode_command({"ASKING"}) + payload, replies + 1) : send(target, payload, replies);
    ask.reset();
    if (!outcome.status.is_ok()) {
      last_error = outcome.status;
      if (outcome.sent) {
        request_refresh();
        return unavailable("Redis " + target.to_string() +
                               " failed after the command was sent (outcome unknown): " + outcome.status.message(),
                           "redis_unavailable");
      }
      refresh_if_older_than(SteadyClock::now());
      std::this_thread::sleep_for(std::min(backoff, std::chrono::duration_cast<std::chrono::milliseconds>(std::max(
                                                        deadline - SteadyClock::now(), SteadyClock::duration(0)))));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
      continue;
    }
    if (outcome.replies.size() > replies) outcome.replies.erase(outcome.replies.begin());  // ASKING's +OK
    Reply& reply = outcome.replies[0];
    if (reply.is_error()) {
      const std::string_view code = reply.error_code();
      if (code == "MOVED" || code == "ASK") {
        auto redirect = parse_redirect(reply.text);
        if (!redirect) return internal_error("unparseable redirection: " + reply.text, "redis_protocol");
        if (++redirects > options_.max_redirects) {
          return unavailable("too many Redis redirections, last: " + reply.text, "redis_unavailable");
        }
        if (code == "MOVED") {
          metrics_->moved.Increment();
          apply_moved(redirect->first, redirect->second);
          request_refresh();
        } else {
          metrics_->ask.Increment();
          ask = redirect->second;
        }
        continue;
      }
      if (is_retryable_error(code)) {
        last_error = unavailable("Redis: " + reply.text, "redis_unavailable");
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
        if (code == "CLUSTERDOWN") request_refresh();
        continue;
      }
      return std::move(reply);
    }
    if (wait) {
      const Reply& acknowledged = outcome.replies[1];
      if (acknowledged.type != Reply::Type::kInteger || acknowledged.integer < options_.wait_replicas) {
        return unavailable("write reached " + std::to_string(acknowledged.integer) + " of " +
                               std::to_string(options_.wait_replicas) + " replicas in time",
                           "redis_not_replicated");
      }
    }
    return std::move(reply);
  }
  if (last_error.kind() == ErrorKind::kDeadlineExceeded) return last_error;
  return unavailable("Redis command gave up after its deadline: " + last_error.message(), "redis_unavailable");
}

void ClusterClient::refresh_if_older_than(SteadyClock::time_point when) {
  if (last_refresh_ns_.load() >= steady_ns(when) - 50'000'000) return;  // refreshed within 50 ms of `when`
  (void)refresh_topology();
}

Result<Reply> ClusterClient::command_for_key(std::string_view key, const std::vector<std::string>& args, bool write) {
  return execute(key_slot(key), args, write);
}

Result<Reply> ClusterClient::command(const std::vector<std::string>& args) {
  if (args.empty()) return invalid_argument("empty Redis command", "redis_bad_command");
  const std::string name = upper(args[0]);
  if (name == "EVAL" || name == "EVALSHA" || name == "FCALL") {
    if (args.size() >= 4 && args[2] != "0") return execute(key_slot(args[3]), args, false);
    return execute(std::nullopt, args, false);
  }
  if (args.size() < 2 || is_keyless(name)) return execute(std::nullopt, args, false);
  return execute(key_slot(args[1]), args, false);
}

Result<Reply> ClusterClient::command_on(const Endpoint& node, const std::vector<std::string>& args) {
  Outcome outcome = send(node, encode_command(args), 1);
  if (!outcome.status.is_ok()) return outcome.status;
  return std::move(outcome.replies[0]);
}

Result<Reply> ClusterClient::eval(const Script& script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args, bool write) {
  std::optional<uint16_t> slot;
  for (const auto& key : keys) {
    const uint16_t s = key_slot(key);
    if (slot && *slot != s) return invalid_argument("script keys span several hash slots", "redis_cross_slot");
    slot = s;
  }
  std::vector<std::string> command{"EVALSHA", script.sha1(), std::to_string(keys.size())};
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  VONTRES_ASSIGN_OR_RETURN(Reply reply, execute(slot, command, write));
  if (reply.is_error() && reply.error_code() == "NOSCRIPT") {
    command[0] = "EVAL";
    command[1] = script.source();  // EVAL also caches it on that node for the next EVALSHA
    return execute(slot, command, write);
  }
  return reply;
}

Status ClusterClient::publish(const std::string& channel, const std::string& message) {
  VONTRES_ASSIGN_OR_RETURN(Reply reply, execute(key_slot(channel), {"PUBLISH", channel, message}, false));
  if (reply.is_error()) return internal_error("PUBLISH failed: " + reply.text, "redis_error");
  return Status::ok();
}

Result<std::unique_ptr<PubSubSubscription>> ClusterClient::subscribe(
    const std::string& channel, std::function<void(std::string_view message)> on_message,
    std::function<void()> on_resubscribed) {
  auto subscriber = std::make_shared<Subscriber>(*this, channel, std::move(on_message), std::move(on_resubscribed));
  auto confirmed = subscriber->first_confirmation();
  {
    std::lock_guard lock(subscribers_mutex_);
    std::erase_if(subscribers_, [](const auto& weak) { return weak.expired(); });
    subscribers_.push_back(subscriber);
  }
  subscriber->start();
  auto handle = std::make_unique<SubscriptionHandle>([this, subscriber] {
    auto stopped = subscriber->stop();
    // From a callback (the io thread) waiting would deadlock; elsewhere wait, so no callback runs
    // after the handle is gone. Bounded in case the io thread is wedged.
    if (std::this_thread::get_id() != io_thread_.get_id()) (void)stopped.wait_for(std::chrono::seconds(5));
  });
  // Keep trying other nodes until the deadline: the first one picked may be down.
  if (confirmed.wait_for(options_.command_deadline) != std::future_status::ready) {
    return unavailable("SUBSCRIBE " + channel + " not confirmed in time", "redis_unavailable");
  }
  Status status = confirmed.get();
  if (!status.is_ok()) return status;
  return std::unique_ptr<PubSubSubscription>(std::move(handle));
}

}  // namespace vontres::redis
