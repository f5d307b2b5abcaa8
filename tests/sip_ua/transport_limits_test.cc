// Issue 11, finding 13: the SIP TCP listener reaps idle connections (CRLF keep-alives count as
// activity, RFC 5626) and caps inbound connections per source address. Real sockets on 127.0.0.1;
// idleness is measured on a ManualClock, so no test waits for a timeout in real time.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "telephony/ua/sip_stack.h"

namespace vontres::telephony::ua {
namespace {

using namespace std::chrono_literals;

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

// A raw TCP client of the stack's listener.
class RawTcp {
 public:
  explicit RawTcp(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;  // NOLINT
  }
  ~RawTcp() { ::close(fd_); }
  RawTcp(const RawTcp&) = delete;
  RawTcp& operator=(const RawTcp&) = delete;

  bool connected() const { return connected_; }
  void send(const std::string& bytes) const { (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // What the peer sent within `timeout`; sets closed() on EOF or reset.
  std::string receive(std::chrono::milliseconds timeout = 2s) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline && !closed_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) {
        if (!out.empty()) break;
        continue;
      }
      char buffer[512];
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }
  // True once the stack has closed the connection (waits up to `timeout`).
  bool closed_by_peer(std::chrono::milliseconds timeout = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && std::chrono::steady_clock::now() < deadline) receive(50ms);
    return closed_;
  }
  bool closed() const { return closed_; }

 private:
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
};

class TransportLimitsTest : public ::testing::Test {
 protected:
  TransportLimitsTest() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~TransportLimitsTest() override {
    if (stack_) stack_->stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  SipStack& start(const std::function<void(TransportConfig&)>& tune) {
    SipStackConfig config;
    config.transport.listeners.push_back({TransportKind::kTcp, "127.0.0.1", 0});
    config.public_address = "127.0.0.1";
    config.transport.idle_check_interval = 10ms;
    tune(config.transport);
    stack_ = std::make_unique<SipStack>(io_, std::move(config), clock_);
    Status started = stack_->start();
    EXPECT_TRUE(started.is_ok()) << started.to_string();
    return *stack_;
  }
  uint64_t open() const { return stack_->transport_stats().connections_open; }

  ManualClock clock_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<SipStack> stack_;
};

TEST_F(TransportLimitsTest, IdleConnectionsAreReapedAndKeepalivesCountAsActivity) {
  SipStack& stack = start([](TransportConfig& t) { t.idle_timeout = 60s; });
  const uint16_t port = stack.port(TransportKind::kTcp);
  RawTcp silent(port);
  RawTcp alive(port);
  ASSERT_TRUE(silent.connected() && alive.connected());
  ASSERT_TRUE(wait_until([&] { return open() == 2; }));

  clock_.advance(40s);
  alive.send("\r\n\r\n");  // RFC 5626 ping
  EXPECT_EQ(alive.receive(), "\r\n") << "pong";
  EXPECT_FALSE(silent.closed_by_peer(200ms)) << "40 s idle is within the timeout";

  clock_.advance(30s);  // silent: 70 s without a byte; alive: 30 s since its ping
  EXPECT_TRUE(silent.closed_by_peer()) << "the idle connection is closed";
  EXPECT_TRUE(wait_until([&] { return open() == 1; }));
  EXPECT_FALSE(alive.closed_by_peer(200ms)) << "the keep-alive kept its flow";
  EXPECT_EQ(stack.transport_stats().connections_reaped, 1u);

  clock_.advance(31s);  // alive: 61 s since its last byte
  EXPECT_TRUE(alive.closed_by_peer());
  EXPECT_TRUE(wait_until([&] { return open() == 0; }));
}

TEST_F(TransportLimitsTest, OneSourceMayHoldOnlyItsShareOfConnections) {
  SipStack& stack = start([](TransportConfig& t) { t.max_connections_per_source = 3; });
  const uint16_t port = stack.port(TransportKind::kTcp);
  std::vector<std::unique_ptr<RawTcp>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(std::make_unique<RawTcp>(port));
  ASSERT_TRUE(wait_until([&] { return open() == 3; }));
  RawTcp extra(port);  // the kernel accepts it; the transport closes it at once
  EXPECT_TRUE(extra.closed_by_peer()) << "a fourth connection from the same address is refused";
  EXPECT_EQ(open(), 3u);
  EXPECT_EQ(stack.transport_stats().connections_refused, 1u);
  for (auto& client : clients) EXPECT_FALSE(client->closed_by_peer(50ms));

  clients.pop_back();  // one closes: its slot is free again
  ASSERT_TRUE(wait_until([&] { return open() == 2; }));
  RawTcp again(port);
  EXPECT_FALSE(again.closed_by_peer(300ms));
  EXPECT_TRUE(wait_until([&] { return open() == 3; }));
}

TEST_F(TransportLimitsTest, TrustedSourcesAreNotCappedPerSource) {
  SipStack& stack = start([](TransportConfig& t) {
    t.max_connections_per_source = 2;
    t.trusted_sources = std::move(AddressSet::parse({"127.0.0.0/8"})).value();
  });
  const uint16_t port = stack.port(TransportKind::kTcp);
  std::vector<std::unique_ptr<RawTcp>> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(std::make_unique<RawTcp>(port));
  EXPECT_TRUE(wait_until([&] { return open() == 5; }));
  EXPECT_EQ(stack.transport_stats().connections_refused, 0u);
}

TEST_F(TransportLimitsTest, TheTotalCapStillHolds) {
  SipStack& stack = start([](TransportConfig& t) {
    t.max_connections = 2;
    t.max_connections_per_source = 10;
  });
  const uint16_t port = stack.port(TransportKind::kTcp);
  RawTcp a(port);
  RawTcp b(port);
  ASSERT_TRUE(wait_until([&] { return open() == 2; }));
  RawTcp c(port);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(AddressSetTest, MatchesAddressesAndCidrBlocksOfBothFamilies) {
  auto set = AddressSet::parse({"203.0.113.7", "10.0.0.0/8", "2001:db8::/32", "::1"});
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  EXPECT_TRUE(set->contains("203.0.113.7"));
  EXPECT_FALSE(set->contains("203.0.113.8"));
  EXPECT_TRUE(set->contains("10.255.1.2"));
  EXPECT_FALSE(set->contains("11.0.0.1"));
  EXPECT_TRUE(set->contains("::ffff:10.1.2.3")) << "IPv4-mapped IPv6";
  EXPECT_TRUE(set->contains("2001:db8:1::5"));
  EXPECT_FALSE(set->contains("2001:db9::5"));
  EXPECT_TRUE(set->contains("::1"));
  EXPECT_FALSE(set->contains("not an address"));
  EXPECT_FALSE(AddressSet().contains("127.0.0.1"));
  for (const char* bad : {"10.0.0.0/33", "host.example", "10.0.0.0/", "::/129", "1.2.3.4/x"}) {
    EXPECT_FALSE(AddressSet::parse({bad}).is_ok()) << bad;
  }
}

TEST(SourceCallLimiterTest, CapsConcurrentCallsAndTheInviteRatePerSourceButNotForTrustedOnes) {
  ManualClock clock;
  SourceCallLimits limits;
  limits.max_concurrent = 3;
  limits.invites_per_second = 2;
  limits.burst = 4;
  SourceCallLimiter limiter(clock, limits, std::move(AddressSet::parse({"192.0.2.1"})).value());
  using Verdict = SourceCallLimiter::Verdict;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.admit("198.51.100.1"), Verdict::kAdmit) << i;
  EXPECT_EQ(limiter.admit("198.51.100.1"), Verdict::kTooManyCalls);
  EXPECT_EQ(limiter.held("198.51.100.1"), 3u);
  EXPECT_EQ(limiter.admit("198.51.100.2"), Verdict::kAdmit) << "another source has its own share";
  limiter.released("198.51.100.1");
  EXPECT_EQ(limiter.admit("198.51.100.1"), Verdict::kAdmit) << "one more token in the burst";
  limiter.released("198.51.100.1");
  EXPECT_EQ(limiter.admit("198.51.100.1"), Verdict::kTooFast) << "the burst of 4 is spent";
  clock.advance(500ms);  // one token at 2/s
  EXPECT_EQ(limiter.admit("198.51.100.1"), Verdict::kAdmit);
  EXPECT_EQ(limiter.admit("198.51.100.1"), Verdict::kTooManyCalls);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(limiter.admit("192.0.2.1"), Verdict::kAdmit) << "trusted trunk";
  EXPECT_GT(limiter.retry_after_seconds(Verdict::kTooManyCalls), 0);
}

}  // namespace
}  // namespace vontres::telephony::ua
