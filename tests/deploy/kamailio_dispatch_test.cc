// Kamailio's dispatcher in front of two `vontres serve` nodes, end to end on 127.0.0.1: the
// shipped deploy/kamailio/kamailio.cfg (parameterised with -A defines, not copied) spreads SIPp's
// calls over both nodes by Call-ID, keeps every request of a dialog on the node that answered,
// takes a stopped node out of rotation after its OPTIONS probes fail and puts it back when it
// answers again. Which node got what is read from Kamailio's routing log and each node's stored
// call records (/api/v1/calls/history, keyed by SIP Call-ID).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/peers.h"
#include "support/subprocess.h"

namespace vontres {
namespace {

using nlohmann::json;
using testing::free_port;
using testing::have_program;
using testing::RunResult;
using testing::Subprocess;
using testing::TempDir;
using namespace std::chrono_literals;

const std::string kBinary = VONTRES_BINARY;
const std::string kSourceDir = VONTRES_SOURCE_DIR;
const std::string kScenarios = kSourceDir + "/tests/deploy/scenarios";
const std::string kEdgeConfig = kSourceDir + "/deploy/kamailio/kamailio.cfg";
constexpr const char* kAdminPassword = "an-admin-password-for-tests";
// SIP and HTTP ports stay below the nodes' RTP ranges.
constexpr uint16_t kSignallingPortsBelow = 40000;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Polls `path` until it contains `needle` or `timeout` passes.
bool wait_for_text(const std::string& path, const std::string& needle, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (read_file(path).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// Ports below 40000 come from the OS; RTP ranges are per test process so parallel runs do not meet.
uint16_t rtp_base() { return static_cast<uint16_t>(40000 + (getpid() % 100) * 200); }

// One `vontres serve` call handler: own data directory, SIP port, RTP range and HTTP port; an
// admin and the queue the IVR leads to (so that its calls are stored under the admin's org).
class Node {
 public:
  Node(std::string name, uint16_t rtp_min)
      : name_(std::move(name)),
        sip_port_(free_port(kSignallingPortsBelow)),
        http_port_(free_port(kSignallingPortsBelow)) {
    config_ = dir_.path() + "/vontres.yaml";
    std::ofstream(config_) << "data_dir: " << dir_.path() << "/data\n"
                           << "http: {listen: 127.0.0.1:" << http_port_ << "}\n"
                           << "log: {level: info}\n"
                           << "auth: {argon2_memory_kib: 8192, argon2_iterations: 1}\n"
                           << "ai: {enabled: false}\n"
                           << "telephony:\n"
                           << "  sip_udp: 127.0.0.1:" << sip_port_ << "\n"
                           << "  sip_tcp: ''\n"
                           << "  rtp_port_min: " << rtp_min << "\n"
                           << "  rtp_port_max: " << rtp_min + 49 << "\n"
                           << "  ivr_menu_timeout: 30s\n"
                           << "  sip_trusted_sources: [127.0.0.1]\n"  // the edge, as docs/load-balancing.md says
                           << "  ivr_options:\n"
                           << "    - {digit: '1', queue: sales}\n";
    auto admin = testing::run({kBinary, "users", "create-admin", "--config", config_, "--org", "Test Org", "--email",
                               "admin@test.example", "--password-stdin"},
                              {}, std::string(kAdminPassword) + "\n");
    if (admin.exit_code != 0) {
      error_ = name_ + ": create-admin failed: " + admin.err;
      return;
    }
    start();
    if (!error_.empty()) return;
    if (request("POST", "/api/v1/queues", json{{"id", "sales"}, {"name", "Sales"}}).first != 201) {
      error_ = name_ + ": queue not created";
    }
  }
  ~Node() { stop(SIGTERM); }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Starts (or restarts) the process on the same ports and data directory and logs in.
  void start() {
    const std::string log = dir_.path() + "/serve-" + std::to_string(starts_++) + ".log";
    server_.emplace(Subprocess::start({"sh", "-c", "exec " + kBinary + " serve --config " + config_ + " 2>" + log}));
    if (!wait_for_text(log, "vontres is serving", 30s)) {
      error_ = name_ + ": did not start: " + read_file(log);
      return;
    }
    auto [status, body] = request("POST", "/api/v1/auth/login",
                                  json{{"email", "admin@test.example"}, {"password", kAdminPassword}}, false);
    if (status != 200) {
      error_ = name_ + ": login failed";
      return;
    }
    token_ = body["access_token"].get<std::string>();
  }

  void stop(int signal) {
    if (!server_) return;
    server_->send_signal(signal);
    server_->wait(15s);
    server_.reset();
  }

  // SIP Call-ID -> stored record of every ended call, waiting until at least `expected` are stored.
  std::map<std::string, json> records(size_t expected, std::chrono::milliseconds timeout = 20s) {
    std::map<std::string, json> out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    do {
      out.clear();
      auto [status, body] = request("GET", "/api/v1/calls/history?limit=500");
      if (status == 200) {
        for (const auto& call : body["calls"]) out[call["sip_call_id"].get<std::string>()] = call;
      }
      if (out.size() >= expected) break;
      std::this_thread::sleep_for(200ms);
    } while (std::chrono::steady_clock::now() < until);
    return out;
  }

  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  uint16_t sip_port() const { return sip_port_; }

 private:
  std::pair<int, json> request(const std::string& method, const std::string& path, const json& body = nullptr,
                               bool auth = true) {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "10", "-X",
                                     method, "-o",  "-",          "-w", "\n%{http_code}"};
    if (auth) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token_});
    if (!body.is_null()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data", body.dump()});
    argv.push_back("http://127.0.0.1:" + std::to_string(http_port_) + path);
    RunResult r = testing::run(argv);
    const auto nl = r.out.rfind('\n');
    if (nl == std::string::npos) return {0, nullptr};
    return {std::atoi(r.out.c_str() + nl + 1), json::parse(r.out.substr(0, nl), nullptr, false)};
  }

  TempDir dir_;
  std::string name_;
  uint16_t sip_port_;
  uint16_t http_port_;
  std::string config_;
  std::string error_;
  std::string token_;
  std::optional<Subprocess> server_;
  int starts_ = 0;
};

// Where Kamailio sent each request: Call-ID -> method -> SIP ports of the nodes it went to.
using RoutingLog = std::map<std::string, std::map<std::string, std::set<uint16_t>>>;

// Kamailio in the foreground with the shipped configuration, on a free UDP port, probing the nodes
// every second.
class Edge {
 public:
  explicit Edge(const std::vector<const Node*>& nodes) : port_(free_port(kSignallingPortsBelow)) {
    const std::string list = dir_.path() + "/dispatcher.list";
    std::ofstream out(list);
    for (const Node* node : nodes) {
      out << "1 sip:127.0.0.1:" << node->sip_port() << " 0 0 duid=" << node->name() << "\n";
    }
    out.close();
    std::filesystem::create_directories(dir_.path() + "/run");
    log_ = dir_.path() + "/kamailio.log";
    process_.emplace(
        Subprocess::start({"sh", "-c",
                           "exec kamailio -DD -E -f '" + kEdgeConfig + "' -Y '" + dir_.path() +
                               "/run' -A 'LISTEN=udp:127.0.0.1:" + std::to_string(port_) + "' -A 'DISPATCHER_LIST=\"" +
                               list + "\"' -A PING_INTERVAL=1 -A CHILDREN=2 2>'" + log_ + "'"}));
    // Ready when the edge answers an OPTIONS addressed to itself.
    for (int attempt = 0; attempt < 50; ++attempt) {
      RunResult probe = testing::run({"sipp", "-sf", kScenarios + "/options.xml", target(), "-i", "127.0.0.1", "-p",
                                      std::to_string(free_port(kSignallingPortsBelow)), "-m", "1", "-nostdin",
                                      "-timeout", "2s", "-timeout_error"});
      if (probe.exit_code == 0) return;
      if (process_->wait(0ms)) break;
    }
    error_ = "kamailio did not start: " + read_file(log_);
  }
  ~Edge() {
    process_->send_signal(SIGTERM);
    if (!process_->wait(10s)) process_->send_signal(SIGKILL);
  }
  Edge(const Edge&) = delete;
  Edge& operator=(const Edge&) = delete;

  const std::string& error() const { return error_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  bool wait_for_log(const std::string& needle, std::chrono::milliseconds timeout) const {
    return wait_for_text(log_, needle, timeout);
  }
  std::string log() const { return read_file(log_); }

  RoutingLog routing() const {
    RoutingLog out;
    static const std::regex line(R"(<script>: (INVITE|ACK|BYE) (\S+) .*-> sip:127\.0\.0\.1:(\d+))");
    const std::string text = log();
    for (std::sregex_iterator it(text.begin(), text.end(), line), end; it != end; ++it) {
      out[(*it)[2]][(*it)[1]].insert(static_cast<uint16_t>(std::stoi((*it)[3])));
    }
    return out;
  }

  // SIPp places `calls` calls (10/s, all at once at most) through the edge; each sends G.711
  // speech and hangs up 1 s after the answer. Call-IDs are "<n>-<batch>@vontres.test", so the
  // edge's Call-ID hash splits a batch the same way on every run. Exit code 0: all completed.
  RunResult call(int calls, const std::string& batch, const std::string& extra_args = {}) {
    const std::string pcap = dir_.path() + "/pcap";
    std::filesystem::create_directories(pcap);
    std::error_code ec;
    std::filesystem::create_symlink("/usr/share/sip-tester/g711a.pcap", pcap + "/g711a.pcap", ec);
    const std::string scenario = dir_.path() + "/caller.xml";
    std::ofstream(scenario) << std::regex_replace(read_file(kScenarios + "/caller_via_edge.xml"), std::regex("\"pcap/"),
                                                  "\"" + pcap + "/");
    return testing::run({"sh", "-c",
                         "exec sipp -sf " + scenario + " -s 100 " + target() + " -i 127.0.0.1 -p " +
                             std::to_string(free_port(kSignallingPortsBelow)) + " -mp " +
                             std::to_string(rtp_base() + 100) + " -m " + std::to_string(calls) + " -r 10 -l " +
                             std::to_string(calls) + " -cid_str %u-" + batch +
                             "@vontres.test -d 1000 -nostdin -timeout 50s -timeout_error -trace_err -error_file " +
                             dir_.path() + "/caller-errors.log " + extra_args});
  }
  std::string caller_errors() const { return read_file(dir_.path() + "/caller-errors.log"); }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  uint16_t port_;
  std::string log_;
  std::string error_;
  std::optional<Subprocess> process_;
};

// The Call-IDs whose INVITE Kamailio sent to `port`.
std::set<std::string> invites_to(const RoutingLog& routing, uint16_t port) {
  std::set<std::string> out;
  for (const auto& [call_id, methods] : routing) {
    auto invite = methods.find("INVITE");
    if (invite != methods.end() && invite->second.contains(port)) out.insert(call_id);
  }
  return out;
}

std::set<std::string> keys(const std::map<std::string, json>& records) {
  std::set<std::string> out;
  for (const auto& [call_id, record] : records) out.insert(call_id);
  return out;
}

class KamailioDispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("sipp") || !have_program("kamailio")) {
      GTEST_FAIL() << "sipp (sip-tester) or kamailio is not installed: run scripts/install-deps";
    }
    a_.emplace("node-a", rtp_base());
    ASSERT_EQ(a_->error(), "");
    b_.emplace("node-b", rtp_base() + 50);
    ASSERT_EQ(b_->error(), "");
    edge_.emplace(std::vector<const Node*>{&*a_, &*b_});
    ASSERT_EQ(edge_->error(), "");
  }
  void TearDown() override {
    edge_.reset();  // first, so that it does not log the nodes going down
    b_.reset();
    a_.reset();
  }

  std::optional<Node> a_;
  std::optional<Node> b_;
  std::optional<Edge> edge_;
};

TEST_F(KamailioDispatchTest, SpreadsCallsOverBothNodesAndKeepsEachDialogOnTheNodeThatAnswered) {
  constexpr int kCalls = 20;
  RunResult caller = edge_->call(kCalls, "spread");
  ASSERT_EQ(caller.exit_code, 0) << caller.out << edge_->caller_errors() << edge_->log();

  const RoutingLog routing = edge_->routing();
  ASSERT_EQ(routing.size(), static_cast<size_t>(kCalls)) << edge_->log();
  for (const auto& [call_id, methods] : routing) {
    ASSERT_TRUE(methods.contains("INVITE")) << call_id;
    ASSERT_EQ(methods.at("INVITE").size(), 1U) << call_id << " INVITE went to two nodes";
    const uint16_t node = *methods.at("INVITE").begin();
    for (const char* in_dialog : {"ACK", "BYE"}) {
      ASSERT_TRUE(methods.contains(in_dialog)) << call_id << ": no " << in_dialog << " passed the edge";
      EXPECT_EQ(methods.at(in_dialog), std::set<uint16_t>{node}) << call_id << ": " << in_dialog;
    }
  }
  const std::set<std::string> to_a = invites_to(routing, a_->sip_port());
  const std::set<std::string> to_b = invites_to(routing, b_->sip_port());
  EXPECT_FALSE(to_a.empty()) << "node A got no call";
  EXPECT_FALSE(to_b.empty()) << "node B got no call";
  EXPECT_EQ(to_a.size() + to_b.size(), static_cast<size_t>(kCalls));

  // Each node stored exactly the calls the edge sent it, each ended by the caller's BYE.
  for (auto [node, expected] : {std::pair{&*a_, to_a}, std::pair{&*b_, to_b}}) {
    const auto records = node->records(expected.size());
    EXPECT_EQ(keys(records), expected) << node->name();
    for (const auto& [call_id, record] : records) {
      // Hung up in the IVR, before reaching a queue: an abandoned call, ended by the caller's BYE.
      EXPECT_EQ(record["end_reason"], "abandoned") << node->name() << " " << record.dump();
      EXPECT_GT(record["media"]["caller"]["packets_received"].get<int64_t>(), 10) << record.dump();
    }
  }
}

TEST_F(KamailioDispatchTest, StoppedNodeIsTakenOutOfRotationAndTheRemainingNodeTakesEveryCall) {
  a_->stop(SIGKILL);
  ASSERT_TRUE(edge_->wait_for_log("call handler down: sip:127.0.0.1:" + std::to_string(a_->sip_port()), 30s))
      << edge_->log();
  constexpr int kCalls = 10;
  RunResult caller = edge_->call(kCalls, "down");
  ASSERT_EQ(caller.exit_code, 0) << caller.out << edge_->caller_errors() << edge_->log();
  const RoutingLog routing = edge_->routing();
  EXPECT_TRUE(invites_to(routing, a_->sip_port()).empty());
  const std::set<std::string> to_b = invites_to(routing, b_->sip_port());
  EXPECT_EQ(to_b.size(), static_cast<size_t>(kCalls));
  EXPECT_EQ(keys(b_->records(kCalls)), to_b);
}

TEST_F(KamailioDispatchTest, NewCallsFailOverToTheOtherNodeBeforeTheProbesNoticeAStoppedNode) {
  // Stopped without the edge having noticed yet: INVITEs hashed to node A time out (fr_timer 3 s)
  // and the failure route sends them to node B.
  a_->stop(SIGKILL);
  constexpr int kCalls = 6;
  RunResult caller = edge_->call(kCalls, "failover");
  ASSERT_EQ(caller.exit_code, 0) << caller.out << edge_->caller_errors() << edge_->log();
  const RoutingLog routing = edge_->routing();
  const std::set<std::string> tried_a = invites_to(routing, a_->sip_port());
  EXPECT_FALSE(tried_a.empty()) << "no INVITE was hashed to node A: nothing failed over\n" << edge_->log();
  const std::set<std::string> to_b = invites_to(routing, b_->sip_port());
  EXPECT_EQ(to_b.size(), static_cast<size_t>(kCalls)) << edge_->log();
  EXPECT_EQ(keys(b_->records(kCalls)), to_b);
}

TEST_F(KamailioDispatchTest, RestartedNodeIsProbedBackIntoRotation) {
  a_->stop(SIGKILL);
  const std::string node_a = "sip:127.0.0.1:" + std::to_string(a_->sip_port());
  ASSERT_TRUE(edge_->wait_for_log("call handler down: " + node_a, 30s)) << edge_->log();
  a_->start();
  ASSERT_EQ(a_->error(), "");
  ASSERT_TRUE(edge_->wait_for_log("call handler up: " + node_a, 30s)) << edge_->log();
  constexpr int kCalls = 20;
  RunResult caller = edge_->call(kCalls, "back");
  ASSERT_EQ(caller.exit_code, 0) << caller.out << edge_->caller_errors() << edge_->log();
  const RoutingLog routing = edge_->routing();
  const std::set<std::string> to_a = invites_to(routing, a_->sip_port());
  EXPECT_FALSE(to_a.empty()) << "the restarted node got no call";
  EXPECT_EQ(keys(a_->records(to_a.size())), to_a);
}

// RFC 3261 12.1.1: a UAS copies Record-Route into its 2xx so the caller's in-dialog requests
// follow the edge (ua::make_response does it for 1xx/2xx to INVITE).
TEST_F(KamailioDispatchTest, AnsweringNodeCopiesTheEdgesRecordRouteIntoTheOk) {
  const std::string trace = edge_->dir() + "/messages.log";
  RunResult caller = edge_->call(1, "record-route", "-trace_msg -message_file " + trace);
  ASSERT_EQ(caller.exit_code, 0) << caller.out << edge_->caller_errors();
  const std::string messages = read_file(trace);
  const auto ok = messages.find("SIP/2.0 200 OK");
  ASSERT_NE(ok, std::string::npos);
  EXPECT_NE(messages.find("Record-Route:", ok), std::string::npos) << messages;
  EXPECT_NE(edge_->log().find("BYE"), std::string::npos);
  EXPECT_EQ(edge_->log().find("in-dialog (no Route)"), std::string::npos) << edge_->log();
}

}  // namespace
}  // namespace vontres
