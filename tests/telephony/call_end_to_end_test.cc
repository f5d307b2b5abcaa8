// End-to-end calls through a real `vontres serve`, with SIPp (Debian `sip-tester`) as the caller
// and as the agent's softphone: caller -> IVR (DTMF) -> queue -> agent rings -> answers -> media
// relayed both ways -> hang-up; and the unhappy paths (busy agent, no answer, abandon, re-INVITE
// hold). Everything runs on 127.0.0.1 with free ports; the test reads the call record that the
// service stores when a call ends (its events, end reason and per-leg RTP counters).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/backends.h"
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
const std::string kScenarios = std::string(VONTRES_SOURCE_DIR) + "/tests/telephony/scenarios";
constexpr const char* kAdminPassword = "an-admin-password-for-tests";
constexpr const char* kAgentPassword = "agent-sip-password-123";

struct HttpReply {
  int status = 0;
  json body;
};

// One `vontres serve` with telephony on free ports, an admin, a queue "sales" reached by DTMF 1,
// agent "agent-7" in it and SIP account agent7 for the agent's phone.
class CallCenter {
 public:
  explicit CallCenter(const std::string& extra_yaml = {}) {
    sip_port_ = free_port();
    rtp_base_ = static_cast<uint16_t>(30000 + (getpid() % 200) * 100);
    const std::string config = dir_.path() + "/vontres.yaml";
    std::ofstream(config) << "data_dir: " << dir_.path() << "/data\n"
                          << "http: {listen: 127.0.0.1:0}\n"
                          << "log: {level: info}\n"
                          << "auth: {argon2_memory_kib: 8192, argon2_iterations: 1}\n"
                          << "routing: {offer_timeout: 3s, reoffer_delay: 1s}\n"
                          << "telephony:\n"
                          << "  sip_udp: 127.0.0.1:" << sip_port_ << "\n"
                          << "  sip_tcp: 127.0.0.1:" << sip_port_ << "\n"
                          << "  rtp_port_min: " << rtp_base_ << "\n"
                          << "  rtp_port_max: " << rtp_base_ + 99 << "\n"
                          << "  rtp_inactivity_timeout: 20s\n"
                          << "  digest_sha256: false\n"  // SIPp answers only MD5 and takes the first challenge
                          << "  ivr_menu_timeout: 4s\n"
                          << "  ivr_options:\n"
                          << "    - {digit: '1', queue: sales, phrases: [sales]}\n"
                          << extra_yaml << testing::shared_backends_yaml();
    config_ = config;
    auto admin = testing::run({kBinary, "users", "create-admin", "--config", config, "--org", "Test Org", "--email",
                               "admin@test.example", "--password-stdin"},
                              {}, std::string(kAdminPassword) + "\n");
    if (admin.exit_code != 0) {
      error_ = "create-admin failed: " + admin.err;
      return;
    }
    server_.emplace(Subprocess::start({kBinary, "serve", "--config", config}));
    auto line = server_->wait_for_stderr_line(
        [](const std::string& l) { return l.find("vontres is serving") != std::string::npos; }, 30s);
    if (!line) {
      error_ = "server did not start: " + server_->stderr_text();
      return;
    }
    url_ = json::parse(*line)["url.full"].get<std::string>();
    // Under vontres_with_backends (distributed:*) the server must be on the distributed backends.
    if (const char* backends = std::getenv("TEST_VONTRES_BACKENDS"); backends != nullptr && *backends != '\0') {
      const std::string used = json::parse(*line).value("vontres.backends", "");
      if (used != "kafka,redis_cluster,postgres") {
        error_ = "the server runs on '" + used + "', not on Kafka, Redis Cluster and PostgreSQL";
        return;
      }
    }
    // CTest runs this suite twice: with the in-process ACD client and over the bus (bus_acd:*).
    if (const char* acd = std::getenv("VONTRES_ROUTING_ACD_CLIENT"); acd != nullptr) {
      const std::string used = json::parse(*line).value("vontres.acd_client", "");
      if (used != acd) {
        error_ = "the server uses ACD client '" + used + "', not '" + acd + "'";
        return;
      }
    }
    auto login = request("POST", "/api/v1/auth/login",
                         json{{"email", "admin@test.example"}, {"password", kAdminPassword}}, false);
    if (login.status != 200) {
      error_ = "login failed";
      return;
    }
    token_ = login.body["access_token"].get<std::string>();
    const HttpReply queue = request("POST", "/api/v1/queues", json{{"id", "sales"}, {"name", "Sales"}});
    const HttpReply agent = request("PUT", "/api/v1/agents/agent-7/routing-profile",
                                    json{{"name", "Ann"}, {"queues", json::array({json{{"queue", "sales"}}})}});
    const HttpReply account =
        request("PUT", "/api/v1/sip-accounts/agent7", json{{"agent_id", "agent-7"}, {"password", kAgentPassword}});
    if (queue.status != 201 || agent.status != 200 || account.status != 201) {
      error_ = "setup failed: " + queue.body.dump() + agent.body.dump() + account.body.dump();
    }
  }
  ~CallCenter() {
    if (server_) {
      server_->send_signal(SIGTERM);
      server_->wait(15s);
    }
  }

  const std::string& error() const { return error_; }
  uint16_t sip_port() const { return sip_port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(sip_port_); }
  const std::string& dir() const { return dir_.path(); }
  Subprocess& server() { return *server_; }

  HttpReply request(const std::string& method, const std::string& path, const json& body = nullptr, bool auth = true) {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "10", "-X",
                                     method, "-o",  "-",          "-w", "\n%{http_code}"};
    if (auth) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token_});
    if (!body.is_null()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data", body.dump()});
    argv.push_back(url_ + path);
    RunResult r = testing::run(argv);
    HttpReply reply;
    const auto nl = r.out.rfind('\n');
    if (nl == std::string::npos) return reply;
    reply.status = std::atoi(r.out.c_str() + nl + 1);
    reply.body = json::parse(r.out.substr(0, nl), nullptr, false);
    return reply;
  }

  // The stored record of the newest ended call, waiting for it up to `timeout`.
  std::optional<json> last_record(std::chrono::milliseconds timeout = 15s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      HttpReply history = request("GET", "/api/v1/calls/history?limit=1");
      if (history.status == 200 && !history.body["calls"].empty()) return history.body["calls"][0];
      std::this_thread::sleep_for(200ms);
    }
    return std::nullopt;
  }

  // A second agent for transfers: a queue of its own (so the ACD never offers it the caller's
  // "sales" call), a routing profile and a SIP account `username`.
  bool add_agent(const std::string& agent_id, const std::string& username, const std::string& queue) {
    const HttpReply q = request("POST", "/api/v1/queues", json{{"id", queue}, {"name", queue}});
    const HttpReply profile = request("PUT", "/api/v1/agents/" + agent_id + "/routing-profile",
                                      json{{"name", agent_id}, {"queues", json::array({json{{"queue", queue}}})}});
    const HttpReply account =
        request("PUT", "/api/v1/sip-accounts/" + username, json{{"agent_id", agent_id}, {"password", kAgentPassword}});
    return q.status == 201 && profile.status == 200 && account.status == 201;
  }

  // Registers `username` (agent7: agent-7's phone) from `port` with digest (SIPp, MD5). True when
  // the registrar said 200.
  bool register_agent(uint16_t port, const std::string& username = "agent7") {
    return testing::sipp_register(kScenarios + "/register.xml", dir_.path(), target(), username, kAgentPassword, port);
  }

  // SIPp as the agent's phone on `port`, running `scenario` for one call (echoing RTP). `slot`
  // (0..3) keeps the media ports of several phones apart.
  Subprocess start_agent(const std::string& scenario, uint16_t port, int slot = 0) {
    const std::string log = dir_.path() + "/agent-" + std::to_string(slot) + "-" + scenario + ".log";
    return Subprocess::start({"sh", "-c",
                              "exec sipp -sf " + local_scenario(scenario) + " -i 127.0.0.1 -p " + std::to_string(port) +
                                  " -m 1 -rtp_echo -mp " + std::to_string(rtp_base_ - 1000 + slot * 200) +
                                  " -nostdin -timeout 60s -timeout_error >" + log + " 2>&1"});
  }

  // SIPp as the caller in the background (see call()).
  Subprocess start_call(const std::string& scenario, std::chrono::milliseconds talk) {
    return Subprocess::start({"sh", "-c",
                              "exec sipp -sf " + local_scenario(scenario) + " -s 100 " + target() +
                                  " -i 127.0.0.1 -p " + std::to_string(free_port()) + " -mp " +
                                  std::to_string(rtp_base_ - 2000) + " -m 1 -d " + std::to_string(talk.count()) +
                                  " -nostdin -timeout 90s -timeout_error -trace_err -error_file " + dir_.path() +
                                  "/caller-errors.log >" + dir_.path() + "/caller.log 2>&1"});
  }

  // A live call of this organisation for which `pred` holds, polling up to `timeout`.
  std::optional<json> wait_for_call(const std::function<bool(const json&)>& pred,
                                    std::chrono::milliseconds timeout = 20s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      HttpReply live = request("GET", "/api/v1/calls");
      if (live.status == 200) {
        for (const auto& call : live.body["calls"]) {
          if (pred(call)) return call;
        }
      }
      std::this_thread::sleep_for(100ms);
    }
    return std::nullopt;
  }

  // The scenario copied to the temp dir with its pcap/*.pcap pointing at links to Debian's
  // sip-tester captures (digit 1 as RFC 4733 events; G.711 A-law speech).
  std::string local_scenario(const std::string& scenario) {
    return testing::local_sipp_scenario(kScenarios + "/" + scenario, dir_.path());
  }

  // SIPp as the caller: dials, presses 1 after the welcome prompt, talks, hangs up after `talk`.
  RunResult call(const std::string& scenario, std::chrono::milliseconds talk) {
    return testing::run({"sh", "-c",
                         "exec sipp -sf " + local_scenario(scenario) + " -s 100 " + target() + " -i 127.0.0.1 -p " +
                             std::to_string(free_port()) + " -mp " + std::to_string(rtp_base_ - 2000) + " -m 1 -d " +
                             std::to_string(talk.count()) +
                             " -nostdin -timeout 60s -timeout_error -trace_err -error_file " + dir_.path() +
                             "/caller-errors.log"});
  }

  std::string caller_errors() {
    std::ifstream in(dir_.path() + "/caller-errors.log");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  TempDir dir_;
  std::string config_;
  std::string error_;
  std::optional<Subprocess> server_;
  std::string url_;
  std::string token_;
  uint16_t sip_port_ = 0;
  uint16_t rtp_base_ = 0;
};

bool contains(const json& list, const std::string& value) {
  for (const auto& item : list) {
    if (item == value) return true;
  }
  return false;
}

class CallEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("sipp")) GTEST_FAIL() << "sipp (Debian sip-tester) is not installed: run scripts/install-deps";
  }
};

TEST_F(CallEndToEndTest, CallerReachesAnAgentThroughIvrAndQueueAndBothHearEachOther) {
  CallCenter center("  record_calls: true\n");
  ASSERT_EQ(center.error(), "");
  const uint16_t agent_port = free_port();
  ASSERT_TRUE(center.register_agent(agent_port));
  Subprocess agent = center.start_agent("agent_answer.xml", agent_port);
  RunResult caller = center.call("caller.xml", 4s);
  EXPECT_EQ(caller.exit_code, 0) << caller.out << center.caller_errors();
  EXPECT_EQ(agent.wait(20s), 0) << "the agent's phone did not see INVITE, ACK and BYE";

  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["end_reason"], "caller_hangup") << record->dump(2);
  EXPECT_EQ((*record)["agent"], "agent-7");
  EXPECT_EQ((*record)["queue"], "sales");
  for (const char* event :
       {"call.started", "call.ivr_choice", "call.queued", "call.ringing", "call.answered", "call.ended"}) {
    EXPECT_TRUE(contains((*record)["events"], event)) << event << " missing in " << (*record)["events"].dump();
  }
  // Media flowed both ways on both legs: the caller's speech reached Vontres and was relayed to the
  // agent, whose phone echoed it back through Vontres to the caller.
  const json& media = (*record)["media"];
  EXPECT_GT(media["caller"]["packets_received"].get<int64_t>(), 50) << media.dump();
  EXPECT_GT(media["caller"]["packets_sent"].get<int64_t>(), 50) << media.dump();
  EXPECT_GT(media["agent"]["packets_received"].get<int64_t>(), 20) << media.dump();
  EXPECT_GT(media["agent"]["packets_sent"].get<int64_t>(), 20) << media.dump();
  EXPECT_GE(media["caller"]["dtmf_events"].get<int64_t>(), 1) << media.dump();
  // The recording holds both sides of the connected part: > 1 s of 8 kHz stereo 16-bit audio.
  const std::string recording = center.dir() + "/data/recordings/" + (*record)["id"].get<std::string>() + ".wav";
  ASSERT_TRUE(std::filesystem::exists(recording)) << recording;
  EXPECT_GT(std::filesystem::file_size(recording), 44U + 8000U * 4U);
}

TEST_F(CallEndToEndTest, BusyAgentSendsTheCallBackToTheQueueAndTheCallerAbandons) {
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  const uint16_t agent_port = free_port();
  ASSERT_TRUE(center.register_agent(agent_port));
  Subprocess agent = center.start_agent("agent_busy.xml", agent_port);
  RunResult caller = center.call("caller.xml", 4s);
  EXPECT_EQ(caller.exit_code, 0) << caller.out << center.caller_errors();
  EXPECT_EQ(agent.wait(20s), 0);
  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["end_reason"], "abandoned") << record->dump(2);
  EXPECT_TRUE(contains((*record)["events"], "call.ringing_stopped")) << (*record)["events"].dump();
  EXPECT_FALSE(contains((*record)["events"], "call.answered"));
}

TEST_F(CallEndToEndTest, UnansweredAgentPhoneIsCancelledWhenTheOfferTimesOut) {
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  const uint16_t agent_port = free_port();
  ASSERT_TRUE(center.register_agent(agent_port));
  Subprocess agent = center.start_agent("agent_noanswer.xml", agent_port);
  RunResult caller = center.call("caller.xml", 8s);  // longer than the 3 s offer timeout
  EXPECT_EQ(caller.exit_code, 0) << caller.out << center.caller_errors();
  EXPECT_EQ(agent.wait(20s), 0) << "the agent's phone did not get a CANCEL";
  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["end_reason"], "abandoned") << record->dump(2);
  EXPECT_TRUE(contains((*record)["events"], "call.ringing_stopped")) << (*record)["events"].dump();
}

TEST_F(CallEndToEndTest, CallerHangingUpWhileQueuedIsAnAbandonedCall) {
  CallCenter center;  // nobody registered: the call waits in the queue
  ASSERT_EQ(center.error(), "");
  RunResult caller = center.call("caller.xml", 2s);
  EXPECT_EQ(caller.exit_code, 0) << caller.out << center.caller_errors();
  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["end_reason"], "abandoned") << record->dump(2);
  EXPECT_TRUE(contains((*record)["events"], "call.queued"));
  EXPECT_FALSE(contains((*record)["events"], "call.ringing"));
}

TEST_F(CallEndToEndTest, ReInviteHoldAndResumeAreAnsweredWithTheMirroredDirection) {
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  const uint16_t agent_port = free_port();
  ASSERT_TRUE(center.register_agent(agent_port));
  Subprocess agent = center.start_agent("agent_answer.xml", agent_port);
  RunResult caller = center.call("caller_hold.xml", 2s);  // checks a=recvonly, then a=sendrecv
  EXPECT_EQ(caller.exit_code, 0) << caller.out << center.caller_errors();
  EXPECT_EQ(agent.wait(20s), 0);
  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_TRUE(contains((*record)["events"], "call.held")) << (*record)["events"].dump();
  EXPECT_TRUE(contains((*record)["events"], "call.resumed")) << (*record)["events"].dump();
  EXPECT_EQ((*record)["end_reason"], "caller_hangup");
}

// A flood of malformed datagrams (random bytes, truncated and corrupted SIP) must neither crash
// the service nor stop it answering health probes.
TEST_F(CallEndToEndTest, MalformedFloodLeavesTheServiceAnsweringOptions) {
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  const std::string valid =
      "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n"
      "To: <sip:c@d>\r\nCall-ID: flood\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(center.sip_port());
  std::mt19937 random(42);
  for (int i = 0; i < 10'000; ++i) {
    std::string datagram;
    switch (i % 4) {
      case 0:  // random bytes
        datagram.resize(1 + random() % 1400);
        for (auto& c : datagram) c = static_cast<char>(random());
        break;
      case 1:  // truncated
        datagram = valid.substr(0, random() % valid.size());
        break;
      case 2:  // one byte corrupted
        datagram = valid;
        datagram[random() % datagram.size()] = static_cast<char>(random());
        break;
      default:  // a lying Content-Length
        datagram = valid.substr(0, valid.find("Content-Length")) + "Content-Length: 99999\r\n\r\nx";
        break;
    }
    sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  }
  close(fd);
  RunResult probe =
      testing::run({"sipp", "-sf", kScenarios + "/options.xml", center.target(), "-i", "127.0.0.1", "-p",
                    std::to_string(free_port()), "-m", "3", "-nostdin", "-timeout", "20s", "-timeout_error"});
  EXPECT_EQ(probe.exit_code, 0) << probe.out;
  EXPECT_EQ(center.server().wait(0ms), std::nullopt) << "the server exited during the flood";
}

// baresip (a real softphone) as the agent: registers with digest, auto-answers, sends speech from
// a WAV file; the caller is SIPp. Media must flow both ways on both legs.
TEST_F(CallEndToEndTest, BaresipSoftphoneRegistersAnswersAndExchangesMedia) {
  if (!have_program("baresip") || !have_program("espeak-ng") || !have_program("sox")) {
    GTEST_FAIL() << "baresip, espeak-ng or sox missing: run scripts/install-deps";
  }
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  const std::string dir = center.dir() + "/baresip";
  std::filesystem::create_directories(dir);
  // The agent's voice: 20 s so that the caller, not the end of the file, ends the call.
  ASSERT_EQ(testing::run({"sh", "-c",
                          "espeak-ng -v en-us -w " + dir +
                              "/say.wav 'Hello, this is Ann. How can I help you today?' && "
                              "sox " +
                              dir + "/say.wav -r 8000 -c 1 -b 16 " + dir + "/voice.wav pad 0 18"})
                .exit_code,
            0);
  const uint16_t port = free_port();
  std::ofstream(dir + "/config") << "poll_method epoll\n"
                                 << "sip_listen 127.0.0.1:" << port << "\n"
                                 << "net_interface 127.0.0.1\n"
                                 << "module_path /usr/lib/baresip/modules\n"
                                 << "module g711.so\nmodule aufile.so\nmodule_app account.so\n"
                                 << "audio_source aufile," << dir << "/voice.wav\n"
                                 << "audio_player aufile," << dir << "/heard.wav\n"
                                 << "audio_alert aufile," << dir << "/voice.wav\n"
                                 << "rtp_ports 35000-35100\n";
  std::ofstream(dir + "/accounts") << "<sip:agent7@" << center.target()
                                   << ";transport=udp>;auth_user=agent7;auth_pass=" << kAgentPassword
                                   << ";answermode=auto;regint=300;audio_codecs=PCMU,PCMA\n";
  Subprocess phone = Subprocess::start({"sh", "-c", "exec baresip -f " + dir + " -s -t 60 > " + dir + "/log 2>&1"});
  // Registered when the registrar's 200 OK for the REGISTER shows in baresip's SIP trace.
  // Up to 30 s: baresip's start-up took over 10 s once in CI while another end-to-end test ran beside it.
  bool registered = false;
  std::string log;
  for (int i = 0; i < 300 && !registered; ++i) {
    std::this_thread::sleep_for(100ms);
    std::ifstream in(dir + "/log");
    log.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    registered = log.find("SIP/2.0 200 OK") != std::string::npos;
  }
  ASSERT_TRUE(registered) << "baresip did not register; its log:\n" << log;
  RunResult caller = center.call("caller.xml", 4s);
  EXPECT_EQ(caller.exit_code, 0) << caller.out << center.caller_errors();
  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["end_reason"], "caller_hangup") << record->dump(2);
  EXPECT_EQ((*record)["agent"], "agent-7");
  const json& media = (*record)["media"];
  EXPECT_GT(media["agent"]["packets_received"].get<int64_t>(), 50) << media.dump();  // baresip's voice
  EXPECT_GT(media["agent"]["packets_sent"].get<int64_t>(), 50) << media.dump();      // the caller, relayed
  EXPECT_GT(media["caller"]["packets_sent"].get<int64_t>(), 50) << media.dump();     // the agent, relayed
  phone.send_signal(SIGTERM);
  phone.wait(5s);
}

// ---- attended transfer and click-to-call ---------------------------------------------------------

// Agent A (agent-7, SIPp) talking to the caller, agent B (agent-8, SIPp running `b_scenario`)
// registered: the setup of every attended-transfer test. The caller talks for about 20 s + `talk`.
class AttendedTransfer {
 public:
  AttendedTransfer(CallCenter& center, const std::string& b_scenario, std::chrono::milliseconds talk)
      : center_(center) {
    const uint16_t a_port = free_port();
    const uint16_t b_port = free_port();
    if (!center.add_agent("agent-8", "agent8", "support")) error = "agent-8 not created";
    if (!center.register_agent(a_port) || !center.register_agent(b_port, "agent8")) error += "registration failed";
    a.emplace(center.start_agent("agent_answer.xml", a_port, 0));
    b.emplace(center.start_agent(b_scenario, b_port, 1));
    caller.emplace(center.start_call("caller_long.xml", talk));
    auto live =
        center.wait_for_call([](const json& c) { return c["phase"] == "connected" && c["agent"] == "agent-7"; });
    if (!live) {
      error += "the caller never reached agent A";
      return;
    }
    id = (*live)["id"].get<std::string>();
    // Let the caller and A talk first: A's phone echoes the caller's speech through Vontres.
    const auto until = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < until) {
      HttpReply call = center.request("GET", "/api/v1/calls/" + id);
      if (call.status == 200 && call.body["media"]["agent"]["packets_received"].get<int64_t>() > 20) return;
      std::this_thread::sleep_for(100ms);
    }
    error += "no speech between the caller and agent A";
  }
  HttpReply post(const std::string& what, const json& body = json::object()) {
    return center_.request("POST", "/api/v1/calls/" + id + what, body);
  }
  std::optional<json> wait_for(const std::function<bool(const json&)>& pred) {
    return center_.wait_for_call([&](const json& c) { return c["id"] == id && pred(c); });
  }

  std::string error;
  std::string id;
  std::optional<Subprocess> a;
  std::optional<Subprocess> b;
  std::optional<Subprocess> caller;

 private:
  CallCenter& center_;
};

TEST_F(CallEndToEndTest, AttendedTransferCompletedHandsTheCallerToTheConsultedAgent) {
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  AttendedTransfer t(center, "agent_answer.xml", 2s);
  ASSERT_EQ(t.error, "");
  HttpReply consult = t.post("/consult", {{"agent_id", "agent-8"}});
  ASSERT_EQ(consult.status, 202) << consult.body.dump();
  auto consulting =
      t.wait_for([](const json& c) { return !c["consult"].is_null() && c["consult"]["answered"] == true; });
  ASSERT_TRUE(consulting.has_value()) << "agent B never answered the consultation";
  EXPECT_EQ((*consulting)["phase"], "consulting");
  EXPECT_TRUE((*consulting)["on_hold"].get<bool>());
  EXPECT_EQ(t.post("/consult").status, 400);  // neither agent_id nor queue_id
  HttpReply complete = t.post("/consult/complete");
  ASSERT_EQ(complete.status, 202) << complete.body.dump();
  // Agent A's leg is released: its phone gets the BYE while the caller talks on with B.
  EXPECT_EQ(t.a->wait(15s), 0) << "agent A's phone did not get a BYE";
  auto with_b = t.wait_for([](const json& c) { return c["phase"] == "connected" && c["agent"] == "agent-8"; });
  ASSERT_TRUE(with_b.has_value());
  EXPECT_EQ(t.caller->wait(60s), 0) << center.caller_errors();
  EXPECT_EQ(t.b->wait(20s), 0) << "agent B's phone did not get the caller's BYE";

  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["end_reason"], "caller_hangup") << record->dump(2);
  EXPECT_EQ((*record)["agent"], "agent-8");
  EXPECT_EQ((*record)["agents"], json::array({"agent-7", "agent-8"}));
  for (const char* event : {"call.answered", "call.consult_started", "call.consult_answered", "call.transferred"}) {
    EXPECT_TRUE(contains((*record)["events"], event)) << event << " missing in " << (*record)["events"].dump();
  }
  // The caller's speech reached B through Vontres after the transfer and B's echo came back.
  const json& media = (*record)["media"];
  EXPECT_GT(media["agent"]["packets_sent"].get<int64_t>(), 50) << media.dump();
  EXPECT_GT(media["agent"]["packets_received"].get<int64_t>(), 50) << media.dump();
  EXPECT_GT(media["caller"]["packets_received"].get<int64_t>(), 100) << media.dump();
  ASSERT_EQ(media["previous_agents"].size(), 1U) << media.dump();
  EXPECT_GT(media["previous_agents"][0]["packets_received"].get<int64_t>(), 20) << media.dump();  // A's part
}

// A consultation to a queue: the ACD picks the agent (agent-8, the only member of "support") under
// the consultation's own ACD call, and its offer rings B's phone.
TEST_F(CallEndToEndTest, AttendedTransferToAQueueRingsTheAgentTheAcdOffers) {
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  AttendedTransfer t(center, "agent_answer.xml", 1s);
  ASSERT_EQ(t.error, "");
  ASSERT_EQ(t.post("/consult", {{"queue_id", "support"}}).status, 202);
  auto consulting =
      t.wait_for([](const json& c) { return !c["consult"].is_null() && c["consult"]["answered"] == true; });
  ASSERT_TRUE(consulting.has_value()) << "the ACD's agent never answered the consultation";
  EXPECT_EQ((*consulting)["consult"]["agent"], "agent-8");
  EXPECT_EQ((*consulting)["consult"]["queue"], "support");
  ASSERT_EQ(t.post("/consult/complete").status, 202);
  EXPECT_EQ(t.a->wait(15s), 0) << "agent A's phone did not get a BYE";
  EXPECT_EQ(t.caller->wait(60s), 0) << center.caller_errors();
  EXPECT_EQ(t.b->wait(20s), 0);
  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["end_reason"], "caller_hangup") << record->dump(2);
  EXPECT_EQ((*record)["agents"], json::array({"agent-7", "agent-8"}));
  EXPECT_TRUE(contains((*record)["events"], "call.consult_ringing")) << (*record)["events"].dump();
  EXPECT_TRUE(contains((*record)["events"], "call.transferred"));
}

TEST_F(CallEndToEndTest, CancelledConsultationReleasesAgentBAndTheCallerResumesWithA) {
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  AttendedTransfer t(center, "agent_answer.xml", 2s);
  ASSERT_EQ(t.error, "");
  ASSERT_EQ(t.post("/consult", {{"agent_id", "agent-8"}}).status, 202);
  ASSERT_TRUE(t.wait_for([](const json& c) { return !c["consult"].is_null() && c["consult"]["answered"] == true; }));
  HttpReply cancel = t.post("/consult/cancel");
  ASSERT_EQ(cancel.status, 202) << cancel.body.dump();
  EXPECT_EQ(t.b->wait(15s), 0) << "agent B's phone did not get a BYE";
  auto back = t.wait_for([](const json& c) { return c["phase"] == "connected" && c["consult"].is_null(); });
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ((*back)["agent"], "agent-7");
  EXPECT_FALSE((*back)["on_hold"].get<bool>());
  EXPECT_EQ(t.post("/consult/complete").status, 409);  // nothing to complete any more
  EXPECT_EQ(t.caller->wait(60s), 0) << center.caller_errors();
  EXPECT_EQ(t.a->wait(20s), 0) << "agent A's phone did not get the caller's BYE";

  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["end_reason"], "caller_hangup") << record->dump(2);
  EXPECT_EQ((*record)["agent"], "agent-7");
  EXPECT_EQ((*record)["agents"], json::array({"agent-7"}));
  EXPECT_TRUE(contains((*record)["events"], "call.consult_cancelled")) << (*record)["events"].dump();
  EXPECT_FALSE(contains((*record)["events"], "call.transferred"));
  EXPECT_GT((*record)["media"]["agent"]["packets_received"].get<int64_t>(), 50) << (*record)["media"].dump();
}

TEST_F(CallEndToEndTest, ConsultingABusyAgentFailsAndTheCallerResumesWithA) {
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  AttendedTransfer t(center, "agent_busy.xml", 2s);
  ASSERT_EQ(t.error, "");
  ASSERT_EQ(t.post("/consult", {{"agent_id", "agent-8"}}).status, 202);
  EXPECT_EQ(t.b->wait(15s), 0) << "agent B's phone did not see INVITE, 486, ACK";
  auto back = t.wait_for([](const json& c) { return contains(c["events"], "call.consult_failed"); });
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ((*back)["phase"], "connected");
  EXPECT_EQ((*back)["agent"], "agent-7");
  EXPECT_EQ(t.caller->wait(60s), 0) << center.caller_errors();
  EXPECT_EQ(t.a->wait(20s), 0);
  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["end_reason"], "caller_hangup") << record->dump(2);
  EXPECT_EQ((*record)["agent"], "agent-7");
  EXPECT_TRUE(contains((*record)["events"], "call.consult_failed"));
}

// The caller hangs up on hold while B's phone still rings: B gets a CANCEL, A a BYE.
TEST_F(CallEndToEndTest, CallerHangingUpDuringAConsultationEndsEveryLeg) {
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  AttendedTransfer t(center, "agent_noanswer.xml", 1s);
  ASSERT_EQ(t.error, "");
  ASSERT_EQ(t.post("/consult", {{"agent_id", "agent-8"}}).status, 202);
  ASSERT_TRUE(t.wait_for([](const json& c) { return c["phase"] == "consulting"; }));
  EXPECT_EQ(t.caller->wait(60s), 0) << center.caller_errors();
  EXPECT_EQ(t.b->wait(20s), 0) << "agent B's ringing phone did not get a CANCEL";
  EXPECT_EQ(t.a->wait(20s), 0) << "agent A's phone did not get a BYE";
  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["end_reason"], "abandoned_during_consult") << record->dump(2);
  EXPECT_EQ((*record)["agent"], "agent-7");
  EXPECT_TRUE(contains((*record)["events"], "call.consult_started"));
}

// Click-to-call: the agent's phone rings first; once it answers Vontres dials the destination (a
// SIP URI, here another SIPp on 127.0.0.1), bridges the two and relays media both ways. The far
// party hangs up, which ends the agent's leg too.
TEST_F(CallEndToEndTest, ClickToCallRingsTheAgentThenTheDestinationAndBridgesThem) {
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  const uint16_t agent_port = free_port();
  const uint16_t destination_port = free_port();
  ASSERT_TRUE(center.register_agent(agent_port));
  Subprocess agent = center.start_agent("agent_answer.xml", agent_port, 0);
  Subprocess destination = center.start_agent("callee_talks_hangs_up.xml", destination_port, 1);
  const std::string to = "sip:+15550199@127.0.0.1:" + std::to_string(destination_port);
  EXPECT_EQ(center.request("POST", "/api/v1/calls", json{{"agent_id", "agent-7"}}).status, 400);
  HttpReply originated = center.request("POST", "/api/v1/calls", json{{"agent_id", "agent-7"}, {"destination", to}});
  ASSERT_EQ(originated.status, 201) << originated.body.dump();
  const std::string id = originated.body["call_id"].get<std::string>();
  auto connected = center.wait_for_call([&](const json& c) { return c["id"] == id && c["phase"] == "connected"; });
  ASSERT_TRUE(connected.has_value());
  EXPECT_EQ((*connected)["direction"], "outbound");
  EXPECT_EQ(destination.wait(30s), 0) << "the destination did not answer, talk and hang up";
  EXPECT_EQ(agent.wait(20s), 0) << "the agent's phone did not get a BYE after the destination hung up";

  auto record = center.last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ((*record)["id"], id);
  EXPECT_EQ((*record)["direction"], "outbound");
  EXPECT_EQ((*record)["to"], to);
  EXPECT_EQ((*record)["agent"], "agent-7");
  EXPECT_EQ((*record)["end_reason"], "caller_hangup") << record->dump(2);  // the far party hung up
  EXPECT_FALSE((*record)["answered_at"].is_null());
  for (const char* event : {"call.started", "call.agent_connected", "call.answered", "call.ended"}) {
    EXPECT_TRUE(contains((*record)["events"], event)) << event << " missing in " << (*record)["events"].dump();
  }
  // "caller" is the destination's leg here: its speech went to the agent, whose echo came back.
  const json& media = (*record)["media"];
  EXPECT_GT(media["caller"]["packets_received"].get<int64_t>(), 100) << media.dump();
  EXPECT_GT(media["agent"]["packets_sent"].get<int64_t>(), 100) << media.dump();
  EXPECT_GT(media["agent"]["packets_received"].get<int64_t>(), 50) << media.dump();
  EXPECT_GT(media["caller"]["packets_sent"].get<int64_t>(), 50) << media.dump();
}

// Issue 11, finding 7: the users service's lifecycle events reach the registrar and the ACD, and
// the registrar asks the users service itself on every REGISTER.
TEST_F(CallEndToEndTest, ADeactivatedUsersPhoneCannotRegisterAndADeletedUsersAgentLeavesTheAcd) {
  CallCenter center;
  ASSERT_EQ(center.error(), "");
  HttpReply user = center.request(
      "POST", "/api/v1/users",
      json{{"email", "ann@test.example"}, {"password", "ann-user-password-1"}, {"roles", json::array({"agent"})}});
  ASSERT_EQ(user.status, 201) << user.body.dump();
  const std::string id = user.body["id"].get<std::string>();
  ASSERT_TRUE(center.add_agent(id, "ann", "support"));
  ASSERT_EQ(center.request("PUT", "/api/v1/agents/" + id + "/state", json{{"state", "available"}}).status, 200);
  ASSERT_TRUE(center.register_agent(free_port(), "ann"));
  auto eventually = [](const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until) {
      if (done()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };

  ASSERT_EQ(center.request("PATCH", "/api/v1/users/" + id, json{{"active", false}}).status, 200);
  EXPECT_TRUE(eventually([&] {
    HttpReply state = center.request("GET", "/api/v1/agents/" + id + "/state");
    return state.status == 200 && state.body.value("state", "") == "offline";
  }));
  HttpReply available = center.request("PUT", "/api/v1/agents/" + id + "/state", json{{"state", "available"}});
  EXPECT_EQ(available.status, 409) << available.body.dump();
  EXPECT_FALSE(center.register_agent(free_port(), "ann")) << "a deactivated user's phone registered";

  ASSERT_EQ(center.request("DELETE", "/api/v1/users/" + id).status, 204);
  EXPECT_TRUE(eventually([&] { return center.request("GET", "/api/v1/agents/" + id + "/state").status == 404; }));
  EXPECT_TRUE(eventually([&] {
    HttpReply accounts = center.request("GET", "/api/v1/sip-accounts");
    if (accounts.status != 200 || !accounts.body.is_object()) return false;
    for (const auto& account : accounts.body["sip_accounts"]) {
      if (account["username"] == "ann") return account["enabled"] == false;
    }
    return false;
  }));
}

}  // namespace
}  // namespace vontres
