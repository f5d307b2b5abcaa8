// SIP abuse against a real `vontres serve` on 127.0.0.1 (issue 11, findings 10-13), with a raw
// socket client: digest guessing is locked out (and the right password waits), one source cannot
// take every RTP port and an un-ACKed 2xx frees its port, no media goes to an SDP address before
// the ACK (and stops when the peer never answers with RTP), and idle or excess TCP connections are
// closed. Every loop is bounded; every wait has a deadline.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/peers.h"
#include "support/subprocess.h"
#include "telephony/registrar/digest.h"
#include "telephony/sip/message.h"

namespace vontres {
namespace {

using nlohmann::json;
using testing::free_port;
using testing::Subprocess;
using testing::TempDir;
using namespace std::chrono_literals;
namespace sip = telephony::sip;

const std::string kBinary = VONTRES_BINARY;
constexpr const char* kAdminPassword = "an-admin-password-for-tests";
constexpr const char* kAgentPassword = "agent-sip-password-123";

// A UDP socket on a loopback address (127.0.0.1 or another 127/8 address, a second "source").
class Udp {
 public:
  explicit Udp(const std::string& address = "127.0.0.1", uint16_t port = 0) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &local.sin_addr);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0;  // NOLINT
    socklen_t length = sizeof(local);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length);  // NOLINT
    port_ = ntohs(local.sin_port);
    address_ = address;
  }
  ~Udp() { ::close(fd_); }
  Udp(const Udp&) = delete;
  Udp& operator=(const Udp&) = delete;

  bool bound() const { return bound_; }
  uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }
  void send_to(uint16_t port, const std::string& bytes) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));  // NOLINT
  }
  // One datagram within `timeout`, if any.
  std::optional<std::string> receive(std::chrono::milliseconds timeout) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buffer[65536];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) return std::nullopt;
    return std::string(buffer, static_cast<size_t>(n));
  }
  // Datagrams arriving within `window`.
  size_t count_for(std::chrono::milliseconds window) const {
    size_t count = 0;
    const auto until = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < until) {
      if (receive(10ms)) ++count;
    }
    return count;
  }

 private:
  int fd_;
  bool bound_ = false;
  uint16_t port_ = 0;
  std::string address_;
};

class Tcp {
 public:
  explicit Tcp(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0;  // NOLINT
  }
  ~Tcp() { ::close(fd_); }
  Tcp(const Tcp&) = delete;
  Tcp& operator=(const Tcp&) = delete;
  bool connected() const { return connected_; }
  void send(const std::string& bytes) const { (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // Reads for up to `timeout`; true when the server closed the connection.
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buffer[1024];
      if (::recv(fd_, buffer, sizeof(buffer), 0) <= 0) closed_ = true;
    }
    return closed_;
  }

 private:
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
};

// One `vontres serve` with tight abuse limits, an admin, queue "sales", agent "agent-7" and SIP
// account agent7.
class Server {
 public:
  Server() {
    sip_port_ = free_port();
    rtp_base_ = static_cast<uint16_t>(40000 + (getpid() % 200) * 20);
    const std::string config = dir_.path() + "/vontres.yaml";
    std::ofstream(config) << "data_dir: " << dir_.path() << "/data\n"
                          << "http: {listen: 127.0.0.1:0}\n"
                          << "log: {level: info}\n"
                          << "auth: {argon2_memory_kib: 8192, argon2_iterations: 1}\n"
                          << "ai: {enabled: false}\n"
                          << "telephony:\n"
                          << "  sip_udp: 127.0.0.1:" << sip_port_ << "\n"
                          << "  sip_tcp: 127.0.0.1:" << sip_port_
                          << "\n"
                          // 12 ports: 6 media sessions in all.
                          << "  rtp_port_min: " << rtp_base_ << "\n"
                          << "  rtp_port_max: " << rtp_base_ + 11 << "\n"
                          << "  digest_sha256: false\n"
                          << "  sip_t1: 100ms\n"  // an un-ACKed 2xx is given up after 64*T1 = 6.4 s
                          << "  sip_t2: 400ms\n"
                          << "  register_max_failures_per_account: 5\n"
                          << "  register_max_failures_per_source: 50\n"
                          << "  register_lockout_base: 3s\n"
                          << "  max_calls_per_source: 4\n"
                          << "  invites_per_second_per_source: 50\n"
                          << "  rtp_send_without_receive: 2s\n"
                          << "  sip_tcp_idle_timeout: 2s\n"
                          << "  sip_tcp_max_connections_per_source: 4\n"
                          << "  ivr_menu_timeout: 20s\n"
                          << "  ivr_options:\n"
                          << "    - {digit: '1', queue: sales}\n";
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
    auto login =
        http("POST", "/api/v1/auth/login", json{{"email", "admin@test.example"}, {"password", kAdminPassword}});
    if (login.first != 200) {
      error_ = "login failed";
      return;
    }
    token_ = login.second["access_token"].get<std::string>();
    const auto queue = http("POST", "/api/v1/queues", json{{"id", "sales"}, {"name", "Sales"}});
    const auto agent = http("PUT", "/api/v1/agents/agent-7/routing-profile",
                            json{{"name", "Ann"}, {"queues", json::array({json{{"queue", "sales"}}})}});
    const auto account =
        http("PUT", "/api/v1/sip-accounts/agent7", json{{"agent_id", "agent-7"}, {"password", kAgentPassword}});
    if (queue.first != 201 || agent.first != 200 || account.first != 201) {
      error_ = "setup failed: " + queue.second.dump() + agent.second.dump() + account.second.dump();
    }
  }
  ~Server() {
    if (server_) {
      server_->send_signal(SIGTERM);
      server_->wait(15s);
    }
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  const std::string& error() const { return error_; }
  uint16_t sip_port() const { return sip_port_; }
  std::string log() { return server_ ? server_->stderr_text() : std::string(); }

  std::pair<int, json> http(const std::string& method, const std::string& path, const json& body = nullptr) {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "10", "-X",
                                     method, "-o",  "-",          "-w", "\n%{http_code}"};
    if (!token_.empty()) argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token_});
    if (!body.is_null()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data", body.dump()});
    argv.push_back(url_ + path);
    auto r = testing::run(argv);
    const auto nl = r.out.rfind('\n');
    if (nl == std::string::npos) return {0, nullptr};
    return {std::atoi(r.out.c_str() + nl + 1), json::parse(r.out.substr(0, nl), nullptr, false)};
  }

 private:
  TempDir dir_;
  uint16_t sip_port_ = 0;
  uint16_t rtp_base_ = 0;
  std::string url_;
  std::string token_;
  std::string error_;
  std::optional<Subprocess> server_;
};

std::string via(const Udp& socket, const std::string& branch) {
  return "SIP/2.0/UDP " + socket.address() + ":" + std::to_string(socket.port()) + ";branch=z9hG4bK" + branch +
         ";rport";
}

// The final response (>= 200) to the request with `call_id` and CSeq `cseq`, skipping others.
std::optional<sip::Message> final_response(const Udp& socket, const std::string& call_id, uint32_t cseq,
                                           std::chrono::milliseconds timeout = 5s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    auto datagram = socket.receive(50ms);
    if (!datagram) continue;
    auto parsed = sip::parse_message(*datagram);
    if (!parsed || parsed.message->is_request() || parsed.message->status() < 200) continue;
    auto cseq_header = sip::parse_cseq(parsed.message->header("CSeq").value_or(""));
    if (parsed.message->header("Call-ID").value_or("") == call_id && cseq_header.is_ok() &&
        cseq_header->sequence == cseq) {
      return std::move(*parsed.message);
    }
  }
  return std::nullopt;
}

class SipAbuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::have_program("curl")) << "curl is needed to set the server up";
    server_ = std::make_unique<Server>();
    ASSERT_TRUE(server_->error().empty()) << server_->error();
  }

  // A REGISTER for agent7 from `socket`; answered with `password` when challenged.
  sip::Message register_once(const Udp& socket, const std::string& password, const std::string& call_id) {
    const std::string uri = "sip:127.0.0.1:" + std::to_string(server_->sip_port());
    auto make = [&](uint32_t cseq) {
      auto m = sip::Message::request("REGISTER", uri);
      m.add_header("Via", via(socket, call_id + "-" + std::to_string(cseq)));
      m.add_header("Max-Forwards", "70");
      m.add_header("From", "<sip:agent7@vontres>;tag=guess");
      m.add_header("To", "<sip:agent7@vontres>");
      m.add_header("Call-ID", call_id);
      m.add_header("CSeq", std::to_string(cseq) + " REGISTER");
      m.add_header("Contact", "<sip:agent7@" + socket.address() + ":" + std::to_string(socket.port()) + ">");
      m.add_header("Expires", "300");
      m.add_header("Content-Length", "0");
      return m;
    };
    socket.send_to(server_->sip_port(), make(1).serialize());
    auto first = final_response(socket, call_id, 1);
    if (!first || first->status() != 401) return first.value_or(sip::Message::response(0, "no answer"));
    telephony::registrar::DigestClient client("agent7", password);
    if (!client.on_challenge(*first).is_ok()) return sip::Message::response(0, "bad challenge");
    auto second = make(2);
    auto auth = client.authorization("REGISTER", uri);
    if (auth) second.add_header(auth->name, auth->value);
    socket.send_to(server_->sip_port(), second.serialize());
    return final_response(socket, call_id, 2).value_or(sip::Message::response(0, "no answer"));
  }

  // An INVITE from `socket` whose SDP names `media_port` on 127.0.0.1.
  std::string invite(const Udp& socket, const std::string& call_id, uint16_t media_port) {
    const std::string sdp =
        "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio " +
        std::to_string(media_port) + " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
    auto m = sip::Message::request("INVITE", "sip:1000@127.0.0.1:" + std::to_string(server_->sip_port()));
    m.add_header("Via", via(socket, call_id));
    m.add_header("Max-Forwards", "70");
    m.add_header("From", "<sip:caller@" + socket.address() + ">;tag=c-" + call_id);
    m.add_header("To", "<sip:1000@127.0.0.1>");
    m.add_header("Call-ID", call_id);
    m.add_header("CSeq", "1 INVITE");
    m.add_header("Contact", "<sip:caller@" + socket.address() + ":" + std::to_string(socket.port()) + ">");
    m.set_body(sdp, "application/sdp");
    socket.send_to(server_->sip_port(), m.serialize());
    return call_id;
  }

  // The ACK for a 2xx (RFC 3261 13.2.2.4): to its Contact, the dialog's tags, CSeq 1 ACK.
  void ack(const Udp& socket, const sip::Message& ok) {
    auto contact = sip::parse_name_addr(ok.header("Contact").value_or(""));
    ASSERT_TRUE(contact.is_ok());
    auto m = sip::Message::request("ACK", contact->uri.to_string());
    const std::string call_id(ok.header("Call-ID").value_or(""));
    m.add_header("Via", via(socket, call_id + "-ack"));
    m.add_header("Max-Forwards", "70");
    m.add_header("From", std::string(ok.header("From").value_or("")));
    m.add_header("To", std::string(ok.header("To").value_or("")));
    m.add_header("Call-ID", call_id);
    m.add_header("CSeq", "1 ACK");
    m.add_header("Content-Length", "0");
    socket.send_to(server_->sip_port(), m.serialize());
  }

  std::unique_ptr<Server> server_;
};

TEST_F(SipAbuseTest, DigestGuessingIsLockedOutAndTheRightPasswordWaitsForTheLockToEnd) {
  Udp phone;
  ASSERT_TRUE(phone.bound());
  ASSERT_EQ(register_once(phone, kAgentPassword, "good-0").status(), 200) << server_->log();

  // Guess (bounded): within the configured 5 failures the account is refused outright.
  int wrong_answers = 0;
  std::optional<sip::Message> refused;
  for (int i = 0; i < 20 && !refused; ++i) {
    auto response = register_once(phone, "guess-" + std::to_string(i), "guess-" + std::to_string(i));
    if (response.status() == 401) {
      ++wrong_answers;
    } else {
      refused = response;
    }
  }
  ASSERT_TRUE(refused) << "50 wrong REGISTERs were all challenged again";
  EXPECT_EQ(wrong_answers, 5);
  EXPECT_EQ(refused->status(), 403);
  EXPECT_TRUE(refused->header("Retry-After").has_value());
  EXPECT_TRUE(refused->headers_named("WWW-Authenticate").empty());

  // The right password during the lock-out does not work ...
  auto during = register_once(phone, kAgentPassword, "good-1");
  EXPECT_EQ(during.status(), 403) << "the right password must not work while locked";
  // ... and does once the lock (3 s) has ended.
  std::this_thread::sleep_for(3500ms);
  EXPECT_EQ(register_once(phone, kAgentPassword, "good-2").status(), 200) << server_->log();
}

TEST_F(SipAbuseTest, OneSourceCannotExhaustTheMediaPortsAndAnUnackedAnswerFreesItsPort) {
  Udp attacker("127.0.0.1");
  Udp media_sink("127.0.0.1");
  ASSERT_TRUE(attacker.bound() && media_sink.bound());
  // 10 INVITEs from one source, never ACKed (the server has media for 6 calls in all).
  std::map<std::string, int> finals;
  for (int i = 0; i < 10; ++i) invite(attacker, "flood-" + std::to_string(i), media_sink.port());
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (finals.size() < 10 && std::chrono::steady_clock::now() < until) {
    auto datagram = attacker.receive(50ms);
    if (!datagram) continue;
    auto parsed = sip::parse_message(*datagram);
    if (!parsed || parsed.message->is_request() || parsed.message->status() < 200) continue;
    const std::string call_id(parsed.message->header("Call-ID").value_or(""));
    if (!finals.contains(call_id)) {
      finals[call_id] = parsed.message->status();
      if (parsed.message->status() == 503) {
        EXPECT_TRUE(parsed.message->header("Retry-After").has_value());
      }
    }
  }
  ASSERT_EQ(finals.size(), 10u) << server_->log();
  int answered = 0;
  int refused = 0;
  for (const auto& [call_id, status] : finals) {
    if (status == 200) ++answered;
    if (status == 503) ++refused;
  }
  EXPECT_EQ(answered, 4) << "max_calls_per_source";
  EXPECT_EQ(refused, 6);

  // Another caller still gets through: ports are left.
  Udp caller("127.0.0.2");
  ASSERT_TRUE(caller.bound()) << "127.0.0.2 is a loopback address on Linux";
  invite(caller, "real-caller", media_sink.port());
  auto real = final_response(caller, "real-caller", 1);
  ASSERT_TRUE(real);
  EXPECT_EQ(real->status(), 200) << server_->log();

  // The attacker's 2xx are never ACKed: after 64*T1 (6.4 s) their ports and shares are free.
  std::optional<int> later;
  for (int attempt = 0; attempt < 12 && later != 200; ++attempt) {
    std::this_thread::sleep_for(1s);
    const std::string call_id = "after-" + std::to_string(attempt);
    invite(attacker, call_id, media_sink.port());
    auto response = final_response(attacker, call_id, 1, 3s);
    later = response ? std::optional<int>(response->status()) : std::nullopt;
  }
  EXPECT_EQ(later, 200) << "un-ACKed calls did not free their share and ports\n" << server_->log();
  EXPECT_NE(server_->log().find("caller never ACKed the 2xx: media freed"), std::string::npos);
}

TEST_F(SipAbuseTest, NoMediaIsSentBeforeTheAckAndItStopsWhenThePeerNeverSendsRtp) {
  Udp signalling("127.0.0.1");
  Udp media("127.0.0.1");  // the address the SDP names: it receives, never sends
  ASSERT_TRUE(signalling.bound() && media.bound());
  invite(signalling, "reflect-1", media.port());
  auto ok = final_response(signalling, "reflect-1", 1);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status(), 200) << server_->log();
  // The IVR plays its welcome prompt at once, but not to an address that has not confirmed.
  EXPECT_EQ(media.count_for(1500ms), 0u) << "RTP was sent before the ACK";

  ack(signalling, *ok);
  const size_t after_ack = media.count_for(1500ms);
  EXPECT_GT(after_ack, 20u) << "the ACK allows the prompt to flow\n" << server_->log();
  // rtp_send_without_receive is 2 s: the peer never sent RTP, so sending stops.
  const size_t tail = media.count_for(1500ms);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(media.count_for(1500ms), 0u) << "media kept flowing to a peer that never sent any";
  EXPECT_LE(after_ack + tail, 2'000u / 20 + 30) << "at most ~2 s of 20 ms frames (plus RTCP)";
}

TEST_F(SipAbuseTest, IdleTcpConnectionsAreReapedAndOneSourceCannotHoldThemAll) {
  Tcp idle(server_->sip_port());
  Tcp alive(server_->sip_port());
  ASSERT_TRUE(idle.connected() && alive.connected());
  // alive sends a CRLF keep-alive every 500 ms for 4 s; idle sends nothing (timeout 2 s).
  bool idle_closed = false;
  for (int i = 0; i < 8; ++i) {
    alive.send("\r\n\r\n");
    if (idle_closed) {
      std::this_thread::sleep_for(500ms);
    } else {
      idle_closed = idle.closed_within(500ms);
    }
  }
  EXPECT_TRUE(idle_closed) << "an idle connection was kept for 4 s with a 2 s idle timeout";
  EXPECT_FALSE(alive.closed_within(100ms)) << "keep-alives count as activity";

  // Per-source cap of 4 (alive holds one): of 6 more connections at most 3 stay open.
  std::vector<std::unique_ptr<Tcp>> more;
  for (int i = 0; i < 6; ++i) more.push_back(std::make_unique<Tcp>(server_->sip_port()));
  int closed_at_once = 0;
  for (auto& connection : more) closed_at_once += connection->closed_within(300ms) ? 1 : 0;
  EXPECT_EQ(closed_at_once, 3) << server_->log();
}

}  // namespace
}  // namespace vontres
