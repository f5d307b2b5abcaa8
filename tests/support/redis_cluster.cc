#include "support/redis_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "support/peers.h"

namespace vontres::testing {
namespace {

bool tcp_port_free(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return free;
}

// A port P with P and its cluster bus port P + 10000 both free, below the ephemeral range.
uint16_t free_cluster_port(std::mt19937& rng, const std::set<uint16_t>& taken) {
  std::uniform_int_distribution<int> pick(20000, 30000);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<uint16_t>(pick(rng));
    if (taken.contains(port) || taken.contains(static_cast<uint16_t>(port + 10000))) continue;
    if (tcp_port_free(port) && tcp_port_free(static_cast<uint16_t>(port + 10000))) return port;
  }
  return 0;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

RedisCluster* g_cluster = nullptr;
std::unique_ptr<RedisCluster>* g_owner = nullptr;

bool make_certificates(const std::string& dir, std::string* error) {
  const std::string ext = dir + "/san.cnf";
  std::ofstream(ext) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-keyout", dir + "/ca.key", "-out", dir + "/ca.crt", "-days", "2", "-subj", "/CN=vontres-test-ca"},
      {"openssl", "req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-keyout", dir + "/other-ca.key", "-out", dir + "/other-ca.crt", "-days", "2", "-subj", "/CN=unrelated-ca"},
      {"openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout",
       dir + "/server.key", "-out", dir + "/server.csr", "-subj", "/CN=127.0.0.1"},
      {"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", dir + "/ca.crt", "-CAkey", dir + "/ca.key",
       "-CAcreateserial", "-out", dir + "/server.crt", "-days", "2", "-extfile", ext},
  };
  for (const auto& step : steps) {
    RunResult result = run(step);
    if (result.exit_code != 0) {
      *error = "openssl failed: " + result.err;
      return false;
    }
  }
  return true;
}

}  // namespace

std::unique_ptr<RedisCluster> RedisCluster::start(const RedisClusterOptions& options, std::string* error) {
  for (const char* program : {"redis-server", "redis-cli"}) {
    if (!have_program(program)) {
      *error = std::string(program) + " is not installed (Debian package redis-server)";
      return nullptr;
    }
  }
  std::unique_ptr<RedisCluster> cluster(new RedisCluster());  // NOLINT: private constructor
  cluster->options_ = options;
  cluster->dir_ = std::make_unique<TempDir>();
  if (!options.password.empty()) std::ofstream(cluster->password_file()) << options.password << "\n";
  if (options.tls && !make_certificates(cluster->dir(), error)) return nullptr;

  std::mt19937 rng(static_cast<uint32_t>(getpid()) * 2654435761u ^
                   static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::set<uint16_t> taken;
  const int total = options.masters * (1 + options.replicas_per_master);
  for (int i = 0; i < total; ++i) {
    const uint16_t port = free_cluster_port(rng, taken);
    if (port == 0) {
      *error = "no free port pair for a Redis node";
      return nullptr;
    }
    taken.insert(port);
    taken.insert(static_cast<uint16_t>(port + 10000));
    cluster->ports_.push_back(port);
    if (!cluster->start_node(port, error)) return nullptr;
  }
  for (uint16_t port : cluster->ports_) {
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
      up = cluster->cli_out(port, {"PING"}) == "PONG";
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    if (!up) {
      *error = "Redis node on port " + std::to_string(port) + " did not answer PING";
      return nullptr;
    }
  }
  std::vector<std::string> create = cluster->cli_prefix(cluster->ports_.front());
  create.emplace_back("--cluster");
  create.emplace_back("create");
  for (uint16_t port : cluster->ports_) create.push_back("127.0.0.1:" + std::to_string(port));
  create.emplace_back("--cluster-replicas");
  create.push_back(std::to_string(options.replicas_per_master));
  create.emplace_back("--cluster-yes");
  RunResult created = run(create);
  if (created.exit_code != 0) {
    *error = "redis-cli --cluster create failed: " + created.out + created.err;
    return nullptr;
  }
  if (!cluster->wait_until_ok(std::chrono::seconds(30))) {
    *error = "the Redis cluster did not reach cluster_state:ok";
    return nullptr;
  }
  if (!cluster->wait_replicas_in_sync(std::chrono::seconds(30))) {
    *error = "the Redis replicas did not sync";
    return nullptr;
  }
  return cluster;
}

bool RedisCluster::start_node(uint16_t port, std::string* error) {
  const std::string node_dir = dir() + "/" + std::to_string(port);
  std::filesystem::create_directories(node_dir);
  std::vector<std::string> argv = {"redis-server",
                                   "--bind",
                                   "127.0.0.1",
                                   "--cluster-enabled",
                                   "yes",
                                   "--cluster-config-file",
                                   node_dir + "/nodes.conf",
                                   "--cluster-node-timeout",
                                   std::to_string(options_.node_timeout_ms),
                                   "--dir",
                                   node_dir,
                                   "--appendonly",
                                   "no",
                                   "--save",
                                   "",
                                   "--logfile",
                                   node_dir + "/redis.log",
                                   "--daemonize",
                                   "no",
                                   "--protected-mode",
                                   "no"};
  if (options_.tls) {
    for (const std::string& arg :
         {std::string("--port"), std::string("0"), std::string("--tls-port"), std::to_string(port),
          std::string("--tls-cert-file"), dir() + "/server.crt", std::string("--tls-key-file"), dir() + "/server.key",
          std::string("--tls-ca-cert-file"), dir() + "/ca.crt", std::string("--tls-auth-clients"), std::string("no"),
          std::string("--tls-cluster"), std::string("yes"), std::string("--tls-replication"), std::string("yes")}) {
      argv.push_back(arg);
    }
  } else {
    argv.emplace_back("--port");
    argv.push_back(std::to_string(port));
  }
  if (!options_.password.empty()) {
    for (const char* key : {"--requirepass", "--masterauth"}) {
      argv.emplace_back(key);
      argv.push_back(options_.password);
    }
  }
  try {
    nodes_[port] = std::make_unique<Subprocess>(Subprocess::start(argv));
  } catch (const std::exception& e) {
    *error = std::string("cannot start redis-server: ") + e.what();
    return false;
  }
  return true;
}

RedisCluster::~RedisCluster() {
  for (auto& [port, node] : nodes_) node->send_signal(SIGTERM);
  for (auto& [port, node] : nodes_) {
    if (!node->wait(std::chrono::seconds(5))) node->send_signal(SIGKILL);
  }
  nodes_.clear();  // reaps every process by PID
}

std::vector<std::string> RedisCluster::cli_prefix(uint16_t port) const {
  std::vector<std::string> argv = {"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port)};
  if (options_.tls) {
    argv.emplace_back("--tls");
    argv.emplace_back("--cacert");
    argv.push_back(ca_file());
  }
  if (!options_.password.empty()) {
    argv.emplace_back("--no-auth-warning");
    argv.emplace_back("-a");
    argv.push_back(options_.password);
  }
  return argv;
}

RunResult RedisCluster::cli(uint16_t port, const std::vector<std::string>& args) const {
  std::vector<std::string> argv = cli_prefix(port);
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

std::string RedisCluster::cli_out(uint16_t port, const std::vector<std::string>& args) const {
  return trim(cli(port, args).out);
}

std::vector<std::string> RedisCluster::seeds() const {
  std::vector<std::string> out;
  for (uint16_t port : ports_)
    out.push_back((options_.tls ? "rediss://127.0.0.1:" : "127.0.0.1:") + std::to_string(port));
  return out;
}

bool RedisCluster::alive(uint16_t port) const {
  auto found = nodes_.find(port);
  return found != nodes_.end() && found->second != nullptr;
}

void RedisCluster::kill_node(uint16_t port) {
  auto found = nodes_.find(port);
  if (found == nodes_.end() || !found->second) return;
  found->second->send_signal(SIGKILL);
  (void)found->second->wait(std::chrono::seconds(5));
  found->second.reset();
}

bool RedisCluster::restart_node(uint16_t port) {
  std::string error;
  if (alive(port) || !start_node(port, &error)) return false;
  for (int i = 0; i < 200; ++i) {
    if (cli_out(port, {"PING"}) == "PONG") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

namespace {
struct NodeLine {
  std::string id;
  uint16_t port = 0;
  std::string flags;
  std::string master_id;
  std::vector<std::string> slots;
};

std::vector<NodeLine> parse_nodes(const std::string& text) {
  std::vector<NodeLine> nodes;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    NodeLine node;
    std::string address;
    std::string ping;
    std::string pong;
    std::string epoch;
    std::string link;
    if (!(words >> node.id >> address >> node.flags >> node.master_id >> ping >> pong >> epoch >> link)) continue;
    const size_t colon = address.find(':');
    const size_t at = address.find('@');
    if (colon == std::string::npos || at == std::string::npos) continue;
    node.port = static_cast<uint16_t>(std::stoi(address.substr(colon + 1, at - colon - 1)));
    std::string slot;
    while (words >> slot) node.slots.push_back(slot);
    nodes.push_back(node);
  }
  return nodes;
}
}  // namespace

std::map<uint16_t, std::string> RedisCluster::roles() const {
  for (uint16_t port : ports_) {
    if (!alive(port)) continue;
    std::map<uint16_t, std::string> roles;
    for (const auto& node : parse_nodes(cli_out(port, {"CLUSTER", "NODES"}))) {
      if (node.flags.find("fail") != std::string::npos && node.flags.find("fail?") == std::string::npos) continue;
      roles[node.port] = node.flags.find("master") != std::string::npos ? "master" : "slave";
    }
    if (!roles.empty()) return roles;
  }
  return {};
}

std::map<uint16_t, uint16_t> RedisCluster::replica_to_master() const {
  for (uint16_t port : ports_) {
    if (!alive(port)) continue;
    auto nodes = parse_nodes(cli_out(port, {"CLUSTER", "NODES"}));
    if (nodes.empty()) continue;
    std::map<std::string, uint16_t> port_of;
    for (const auto& node : nodes) port_of[node.id] = node.port;
    std::map<uint16_t, uint16_t> out;
    for (const auto& node : nodes) {
      if (node.master_id != "-" && port_of.contains(node.master_id)) out[node.port] = port_of[node.master_id];
    }
    return out;
  }
  return {};
}

std::string RedisCluster::node_id(uint16_t port) const { return cli_out(port, {"CLUSTER", "MYID"}); }

std::optional<uint16_t> RedisCluster::master_of_slot(int slot) const {
  for (uint16_t port : ports_) {
    if (!alive(port)) continue;
    for (const auto& node : parse_nodes(cli_out(port, {"CLUSTER", "NODES"}))) {
      if (node.flags.find("master") == std::string::npos || node.flags.find("fail") != std::string::npos) continue;
      for (const auto& range : node.slots) {
        if (range.starts_with("[")) continue;  // migrating/importing markers
        const size_t dash = range.find('-');
        const int first = std::stoi(range.substr(0, dash));
        const int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
        if (slot >= first && slot <= last) return node.port;
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

bool RedisCluster::wait_until_ok(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {  // bounded by the deadline
    bool all_ok = true;
    std::set<std::string> views;
    for (uint16_t port : ports_) {
      if (!alive(port)) continue;
      if (cli_out(port, {"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
        all_ok = false;
        break;
      }
      // Every node must see the same set of master ports serving slots.
      std::set<uint16_t> masters;
      for (const auto& node : parse_nodes(cli_out(port, {"CLUSTER", "NODES"}))) {
        if (node.flags.find("master") != std::string::npos && !node.slots.empty() &&
            node.flags.find("fail") == std::string::npos) {
          masters.insert(node.port);
        }
      }
      std::string view;
      for (uint16_t master : masters) view += std::to_string(master) + ",";
      views.insert(view);
    }
    if (all_ok && views.size() == 1) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

bool RedisCluster::wait_replicas_in_sync(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {  // bounded by the deadline
    bool synced = true;
    for (uint16_t port : ports_) {
      if (!alive(port)) continue;
      const std::string info = cli_out(port, {"INFO", "replication"});
      if (info.find("role:slave") != std::string::npos && info.find("master_link_status:up") == std::string::npos) {
        synced = false;
        break;
      }
    }
    // Masters list a replica in CLUSTER SLOTS only once they know it is in sync.
    for (uint16_t port : ports_) {
      if (!synced || !alive(port)) continue;
      const std::string slots = "\n" + cli_out(port, {"CLUSTER", "SLOTS"}) + "\n";
      for (const auto& [replica, role] : roles()) {
        if (role == "slave" && slots.find("\n" + std::to_string(replica) + "\n") == std::string::npos) synced = false;
      }
      break;
    }
    if (synced) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void RedisClusterEnvironment::SetUp() {
  std::string error;
  static std::unique_ptr<RedisCluster> owner;
  owner = RedisCluster::start(options_, &error);
  g_owner = &owner;
  g_cluster = owner.get();
  if (g_cluster == nullptr) ADD_FAILURE() << "could not start the Redis cluster: " << error;
}

void RedisClusterEnvironment::TearDown() {
  if (g_owner != nullptr) g_owner->reset();
  g_cluster = nullptr;
}

RedisCluster* RedisClusterEnvironment::cluster() { return g_cluster; }

}  // namespace vontres::testing
