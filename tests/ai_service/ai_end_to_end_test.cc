// The AI service end to end through the real media path: a SIPp caller plays RTP (G.711 mu-law)
// of sentences synthesised with espeak-ng at test time; `vontres serve` answers, its IVR hears
// "I want to cancel my subscription" (PocketSphinx, grammar from the intent examples), the intent
// model routes the call to the agent (SIPp), and while they talk the agent's WebSocket client
// receives the live transcript, the intent, a knowledge-base suggestion and sentiment; after the
// hang-up the redacted transcript and the post-call summary are stored with the call.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "support/backends.h"
#include "support/peers.h"
#include "support/subprocess.h"
#include "support/websocket_client.h"
#include "telephony/rtp/g711.h"
#include "telephony/rtp/wav.h"

namespace vontres {
namespace {

using nlohmann::json;
using testing::free_port;
using testing::have_program;
using testing::RunResult;
using testing::Subprocess;
using testing::TempDir;
using namespace std::chrono_literals;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

const std::string kBinary = VONTRES_BINARY;
const std::string kTelephonyScenarios = std::string(VONTRES_SOURCE_DIR) + "/tests/telephony/scenarios";
const std::string kScenarios = std::string(VONTRES_SOURCE_DIR) + "/tests/ai_service/scenarios";
constexpr const char* kAdminPassword = "an-admin-password-for-tests";
constexpr const char* kAgentPassword = "agent-sip-password-123";

// 8 kHz mono PCM of `text` spoken by espeak-ng (sox resamples), empty on failure.
std::vector<int16_t> speak(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string raw = dir + "/" + name + "-22k.wav";
  const std::string wav = dir + "/" + name + ".wav";
  if (testing::run({"espeak-ng", "-v", "en-us", "-s", "150", "-w", raw, text}).exit_code != 0) return {};
  if (testing::run({"sox", raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", wav}).exit_code != 0) {
    return {};
  }
  auto audio = telephony::rtp::read_wav(wav);
  return audio.is_ok() ? audio->samples : std::vector<int16_t>{};
}

// Writes `pcm` (8 kHz) as RTP/PCMU packets of 20 ms in a pcap file (Ethernet/IPv4/UDP), the form
// SIPp's play_pcap_audio replays.
bool write_rtp_pcap(const std::string& path, const std::vector<int16_t>& pcm) {
  std::ofstream out(path, std::ios::binary);
  auto put32 = [&out](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  auto put16 = [&out](uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  put32(0xa1b2c3d4);
  put16(2);
  put16(4);
  put32(0);
  put32(0);
  put32(65535);
  put32(1);  // Ethernet
  constexpr size_t kSamples = 160;
  uint16_t seq = 1;
  uint32_t timestamp = 0;
  for (size_t at = 0; at + kSamples <= pcm.size(); at += kSamples) {
    std::vector<uint8_t> packet(14 + 20 + 8 + 12 + kSamples, 0);
    packet[12] = 0x08;  // IPv4
    uint8_t* ip = packet.data() + 14;
    const uint16_t ip_length = 20 + 8 + 12 + kSamples;
    ip[0] = 0x45;
    ip[2] = ip_length >> 8;
    ip[3] = ip_length & 0xff;
    ip[8] = 64;
    ip[9] = 17;  // UDP
    const uint8_t src[4] = {127, 0, 0, 1};
    std::memcpy(ip + 12, src, 4);
    std::memcpy(ip + 16, src, 4);
    uint8_t* udp = ip + 20;
    udp[0] = 0x1f;  // port 8000 -> 8002 (SIPp rewrites them)
    udp[1] = 0x40;
    udp[2] = 0x1f;
    udp[3] = 0x42;
    const uint16_t udp_length = 8 + 12 + kSamples;
    udp[4] = udp_length >> 8;
    udp[5] = udp_length & 0xff;
    uint8_t* rtp = udp + 8;
    rtp[0] = 0x80;
    rtp[1] = 0;  // PCMU
    rtp[2] = seq >> 8;
    rtp[3] = seq & 0xff;
    for (int i = 0; i < 4; ++i) rtp[4 + i] = static_cast<uint8_t>(timestamp >> (24 - 8 * i));
    rtp[8] = 0x12;
    rtp[9] = 0x34;
    rtp[10] = 0x56;
    rtp[11] = 0x78;
    for (size_t i = 0; i < kSamples; ++i) rtp[12 + i] = telephony::rtp::linear_to_ulaw(pcm[at + i]);
    const uint64_t micros = static_cast<uint64_t>(seq - 1) * 20'000;
    put32(static_cast<uint32_t>(micros / 1'000'000));
    put32(static_cast<uint32_t>(micros % 1'000'000));
    put32(static_cast<uint32_t>(packet.size()));
    put32(static_cast<uint32_t>(packet.size()));
    out.write(reinterpret_cast<const char*>(packet.data()), static_cast<std::streamsize>(packet.size()));
    ++seq;
    timestamp += kSamples;
  }
  return static_cast<bool>(out);
}

struct HttpReply {
  int status = 0;
  json body;
};

// The live AI feed, /api/v1/ai/stream<query>.
class AiStreamClient : public testing::WebSocketClient {
 public:
  AiStreamClient(uint16_t port, const std::string& token, const std::string& query)
      : WebSocketClient(port, token, "/api/v1/ai/stream" + query) {}
};

class AiEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* program : {"sipp", "espeak-ng", "sox", "curl"}) {
      if (!have_program(program)) GTEST_FAIL() << program << " is not installed: run scripts/install-deps";
    }
    sip_port_ = free_port();
    rtp_base_ = static_cast<uint16_t>(40000 + (getpid() % 100) * 100);
    config_ = dir_.path() + "/vontres.yaml";
    std::ofstream(config_) << "data_dir: " << dir_.path() << "/data\n"
                           << "http: {listen: 127.0.0.1:0}\n"
                           << "log: {level: debug}\n"
                           << "auth: {argon2_memory_kib: 8192, argon2_iterations: 1}\n"
                           << "routing:\n"
                           << "  offer_timeout: 5s\n"
                           << "  intent_rules: [{intent: cancel_subscription, queue: sales}]\n"
                           << "telephony:\n"
                           << "  sip_udp: 127.0.0.1:" << sip_port_ << "\n"
                           << "  sip_tcp: ''\n"
                           << "  rtp_port_min: " << rtp_base_ << "\n"
                           << "  rtp_port_max: " << rtp_base_ + 99 << "\n"
                           << "  digest_sha256: false\n"
                           << "  ivr_menu_timeout: 15s\n"
                           << "  ivr_default_queue: sales\n"
                           << "  ivr_options:\n"
                           << "    - {digit: '1', queue: sales, phrases: [sales]}\n"
                           << "ai:\n"
                           << "  suggestion_min_interval: 0s\n"
                           << "  llm_base_url: http://127.0.0.1:9/v1\n"  // no key: nothing may be sent
                           << testing::shared_backends_yaml();
    auto admin = testing::run({kBinary, "users", "create-admin", "--config", config_, "--org", "Test Org", "--email",
                               "admin@test.example", "--password-stdin"},
                              {}, std::string(kAdminPassword) + "\n");
    ASSERT_EQ(admin.exit_code, 0) << admin.err;
    server_.emplace(Subprocess::start({kBinary, "serve", "--config", config_}));
    auto line = server_->wait_for_stderr_line(
        [](const std::string& l) { return l.find("vontres is serving") != std::string::npos; }, 60s);
    ASSERT_TRUE(line.has_value()) << server_->stderr_text();
    url_ = json::parse(*line)["url.full"].get<std::string>();
    if (!testing::shared_backends_expected().empty()) {
      ASSERT_EQ(json::parse(*line).value("vontres.backends", ""), testing::shared_backends_expected()) << *line;
    }
    http_port_ = static_cast<uint16_t>(std::stoi(url_.substr(url_.rfind(':') + 1)));
    auto login = request("POST", "/api/v1/auth/login",
                         json{{"email", "admin@test.example"}, {"password", kAdminPassword}}, false);
    ASSERT_EQ(login.status, 200);
    token_ = login.body["access_token"].get<std::string>();
    ASSERT_EQ(request("POST", "/api/v1/queues", json{{"id", "sales"}, {"name", "Sales"}}).status, 201);
    ASSERT_EQ(request("PUT", "/api/v1/agents/agent-7/routing-profile",
                      json{{"name", "Ann"}, {"queues", json::array({json{{"queue", "sales"}}})}})
                  .status,
              200);
    ASSERT_EQ(request("PUT", "/api/v1/sip-accounts/agent7", json{{"agent_id", "agent-7"}, {"password", kAgentPassword}})
                  .status,
              201);
  }

  void TearDown() override {
    if (server_) {
      server_->send_signal(SIGTERM);
      server_->wait(20s);
    }
  }

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

  bool register_agent(uint16_t port) {
    return testing::sipp_register(kTelephonyScenarios + "/register.xml", dir_.path(),
                                  "127.0.0.1:" + std::to_string(sip_port_), "agent7", kAgentPassword, port);
  }

  TempDir dir_;
  std::string config_;
  std::optional<Subprocess> server_;
  std::string url_;
  std::string token_;
  uint16_t http_port_ = 0;
  uint16_t sip_port_ = 0;
  uint16_t rtp_base_ = 0;
};

bool is_type(const json& m, const std::string& type) { return m.value("type", "") == type; }

TEST_F(AiEndToEndTest, SpokenRequestIsTranscribedRoutedAndAnalysedForTheAgent) {
  // What the caller says: the request in the IVR, then (connected to the agent) a complaint.
  const std::vector<int16_t> request_pcm = speak(dir_.path(), "request", "I want to cancel my subscription");
  const std::vector<int16_t> complaint_pcm =
      speak(dir_.path(), "complaint", "This is terrible. I am very unhappy. I want to cancel my subscription today.");
  ASSERT_FALSE(request_pcm.empty());
  ASSERT_FALSE(complaint_pcm.empty());
  std::vector<int16_t> timeline(8000, 0);  // 1 s of silence
  timeline.insert(timeline.end(), request_pcm.begin(), request_pcm.end());
  timeline.insert(timeline.end(), 8000 * 9, 0);  // IVR -> queue -> agent answers
  timeline.insert(timeline.end(), complaint_pcm.begin(), complaint_pcm.end());
  timeline.insert(timeline.end(), 8000 * 3, 0);
  const std::string pcap_dir = dir_.path() + "/pcap";
  std::filesystem::create_directories(pcap_dir);
  ASSERT_TRUE(write_rtp_pcap(pcap_dir + "/speech.pcap", timeline));
  const auto talk = std::chrono::milliseconds(timeline.size() / 8) + 1s;

  // The supervisor's wallboard follows every call of the organisation; the agent's desktop follows
  // agent-7's calls only (what was found in the IVR is replayed to it when the agent answers).
  AiStreamClient supervisor(http_port_, token_, "");
  AiStreamClient desktop(http_port_, token_, "?agent_id=agent-7");
  ASSERT_TRUE(supervisor.wait_for([](const json& m) { return is_type(m, "ai.subscribed"); }, 5s).has_value());
  ASSERT_TRUE(desktop.wait_for([](const json& m) { return is_type(m, "ai.subscribed"); }, 5s).has_value());

  const uint16_t agent_port = free_port();
  ASSERT_TRUE(register_agent(agent_port));
  Subprocess agent =
      Subprocess::start({"sh", "-c",
                         "exec sipp -sf " + kTelephonyScenarios + "/agent_answer.xml -i 127.0.0.1 -p " +
                             std::to_string(agent_port) + " -m 1 -mp " + std::to_string(rtp_base_ - 1000) +
                             " -nostdin -timeout 90s -timeout_error >" + dir_.path() + "/agent.log 2>&1"});

  std::ifstream in(kScenarios + "/caller_speech.xml");
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string scenario = dir_.path() + "/caller_speech.xml";
  {
    std::string rewritten;
    const std::string from = "\"pcap/";
    size_t at = 0;
    for (size_t found; (found = xml.find(from, at)) != std::string::npos; at = found + from.size()) {
      rewritten += xml.substr(at, found - at) + "\"" + pcap_dir + "/";
    }
    rewritten += xml.substr(at);
    std::ofstream(scenario) << rewritten;
  }
  RunResult caller =
      testing::run({"sh", "-c",
                    "exec sipp -sf " + scenario + " -s 100 127.0.0.1:" + std::to_string(sip_port_) +
                        " -i 127.0.0.1 -p " + std::to_string(free_port()) + " -mp " + std::to_string(rtp_base_ - 2000) +
                        " -m 1 -d " + std::to_string(talk.count()) + " -nostdin -timeout 90s -timeout_error"});
  EXPECT_EQ(caller.exit_code, 0) << caller.out << caller.err;

  // The IVR understood the request: intent -> queue -> the agent answered.
  auto intent = supervisor.wait_for([](const json& m) { return is_type(m, "ai.intent"); }, 20s);
  ASSERT_TRUE(intent.has_value()) << server_->stderr_text();
  auto heard = [&supervisor] {
    std::string out;
    for (const auto& m : supervisor.messages()) {
      if (is_type(m, "ai.transcript") || is_type(m, "ai.intent")) out += m.dump() + "\n";
    }
    return out;
  };
  EXPECT_EQ((*intent)["data"]["intent"], "cancel_subscription") << heard();
  // The request as heard in the IVR (grammar mode): the expected keywords.
  auto transcript = supervisor.wait_for(
      [](const json& m) {
        if (!is_type(m, "ai.transcript") || m["data"]["speaker"] != "caller" || m["data"]["final"] != true) {
          return false;
        }
        const std::string text = m["data"]["text"].get<std::string>();
        return text.find("cancel") != std::string::npos && text.find("subscription") != std::string::npos;
      },
      20s);
  ASSERT_TRUE(transcript.has_value()) << heard();
  // The agent's desktop: the replayed intent, then what the caller says to the agent (open mode).
  auto replayed =
      desktop.wait_for([](const json& m) { return is_type(m, "ai.intent") && m["data"].value("replay", false); }, 20s);
  EXPECT_TRUE(replayed.has_value());
  auto live = desktop.wait_for(
      [](const json& m) {
        return is_type(m, "ai.transcript") && m["data"]["speaker"] == "caller" && m["data"]["final"] == true &&
               !m["data"]["text"].get<std::string>().empty() && !m["data"].value("replay", false);
      },
      20s);
  EXPECT_TRUE(live.has_value());
  const std::string call_id = (*transcript)["data"]["call_id"].get<std::string>();
  auto suggestion = desktop.wait_for(
      [](const json& m) { return is_type(m, "ai.suggestion") && m["data"]["document_id"] == "cancel-subscription"; },
      20s);
  EXPECT_TRUE(suggestion.has_value());
  auto sentiment = desktop.wait_for([](const json& m) { return is_type(m, "ai.sentiment"); }, 20s);
  EXPECT_TRUE(sentiment.has_value());
  auto summary =
      desktop.wait_for([](const json& m) { return is_type(m, "ai.summary") && m["data"]["kind"] == "post_call"; }, 30s);
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ((*summary)["data"]["intent"], "cancel_subscription");
  EXPECT_EQ((*summary)["data"]["source"], "extractive");  // no LLM configured

  // Stored with the call: the routed intent, the redacted transcript, the summary.
  HttpReply history = request("GET", "/api/v1/calls/history?limit=1");
  ASSERT_EQ(history.status, 200);
  ASSERT_FALSE(history.body["calls"].empty());
  EXPECT_EQ(history.body["calls"][0]["intent"], "cancel_subscription") << history.body.dump();
  EXPECT_EQ(history.body["calls"][0]["agent"], "agent-7");
  HttpReply lines = request("GET", "/api/v1/calls/" + call_id + "/transcript");
  ASSERT_EQ(lines.status, 200);
  EXPECT_FALSE(lines.body["lines"].empty());
  HttpReply stored = request("GET", "/api/v1/calls/" + call_id + "/summary");
  ASSERT_EQ(stored.status, 200);
  EXPECT_EQ(stored.body["kind"], "post_call");
  agent.wait(10s);
}

TEST_F(AiEndToEndTest, SettingsAndKnowledgeApiValidateInput) {
  HttpReply bad = request("PUT", "/api/v1/ai/settings", json{{"redact", json::array({"card", "passport"})}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["error"]["code"], "invalid_redaction_class");
  HttpReply good = request("PUT", "/api/v1/ai/settings", json{{"redact", json::array({"card", "email"})}});
  ASSERT_EQ(good.status, 200);
  EXPECT_EQ(good.body["redact"], json::array({"card", "email"}));
  EXPECT_EQ(request("GET", "/api/v1/ai/settings").body["redact"], json::array({"card", "email"}));

  HttpReply list = request("GET", "/api/v1/knowledge");
  ASSERT_EQ(list.status, 200);
  EXPECT_GE(list.body["articles"].size(), 10u);
  const std::string markdown =
      "---\ntitle: Roaming bundles\ntags: [roaming]\n---\n# Roaming bundles\n\nA roaming bundle costs five pounds a "
      "day.\n";
  RunResult put = testing::run({"curl", "-sS", "-X", "PUT", "-H", "Authorization: Bearer " + token_, "-H",
                                "Content-Type: text/markdown", "--data-binary", markdown, "-o", "-", "-w",
                                "\n%{http_code}", url_ + "/api/v1/knowledge/roaming-bundles"});
  EXPECT_NE(put.out.find("\n200"), std::string::npos) << put.out;
  EXPECT_EQ(request("GET", "/api/v1/knowledge/roaming-bundles").body["title"], "Roaming bundles");
  RunResult broken = testing::run({"curl", "-sS", "-X", "PUT", "-H", "Authorization: Bearer " + token_, "-H",
                                   "Content-Type: text/markdown", "--data-binary", "---\ntitle: [unterminated\n", "-o",
                                   "-", "-w", "\n%{http_code}", url_ + "/api/v1/knowledge/broken"});
  EXPECT_NE(broken.out.find("\n400"), std::string::npos) << broken.out;
  // curl's default Content-Type (a form) is not an article.
  RunResult form = testing::run({"curl", "-sS", "-X", "PUT", "-H", "Authorization: Bearer " + token_, "--data-binary",
                                 markdown, "-o", "-", "-w", "\n%{http_code}", url_ + "/api/v1/knowledge/form"});
  EXPECT_NE(form.out.find("invalid_content_type"), std::string::npos) << form.out;
  EXPECT_EQ(request("DELETE", "/api/v1/knowledge/roaming-bundles").status, 204);
  EXPECT_EQ(request("GET", "/api/v1/knowledge/roaming-bundles").status, 404);
  EXPECT_EQ(request("GET", "/api/v1/calls/nope/summary").body["error"]["code"], "summary_not_found");
  // No key: the AI service reports the LLM as not configured.
  EXPECT_EQ(request("GET", "/api/v1/ai/settings").body["llm_configured"], false);
}

}  // namespace
}  // namespace vontres
