// Runs SipStacks on a real io_context thread, plus a raw UDP socket for poking at them.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "telephony/ua/sip_stack.h"

namespace vontres::telephony::ua::testing {

inline SipStackConfig loopback_config(std::vector<TransportKind> transports = {TransportKind::kUdp,
                                                                               TransportKind::kTcp}) {
  SipStackConfig config;
  for (auto kind : transports) config.transport.listeners.push_back({kind, "127.0.0.1", 0});
  config.public_address = "127.0.0.1";
  return config;
}

// The io_context thread. Stacks made by make_stack() are stopped before the thread ends.
class IoThread {
 public:
  IoThread() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() { shutdown(); }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& io() { return io_; }

  SipStack& make_stack(SipStackConfig config, SipStackHandlers handlers = {}) {
    stacks_.push_back(std::make_unique<SipStack>(io_, std::move(config), SystemClock::instance()));
    stacks_.back()->set_handlers(std::move(handlers));
    auto status = stacks_.back()->start();
    EXPECT_TRUE(status.is_ok()) << status.to_string();
    return *stacks_.back();
  }

  void shutdown() {
    if (!thread_.joinable()) return;
    for (auto& stack : stacks_) stack->stop();
    work_.reset();
    io_.stop();
    thread_.join();
    stacks_.clear();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::unique_ptr<SipStack>> stacks_;
  std::thread thread_;
};

// A blocking UDP socket on 127.0.0.1 with a receive timeout (seconds).
class RawUdp {
 public:
  explicit RawUdp(int timeout_seconds = 5) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));  // NOLINT
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);  // NOLINT
    port_ = ntohs(address.sin_port);
    timeval timeout{timeout_seconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~RawUdp() { ::close(fd_); }
  RawUdp(const RawUdp&) = delete;
  RawUdp& operator=(const RawUdp&) = delete;

  uint16_t port() const { return port_; }

  void send_to(uint16_t port, std::string_view bytes) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));  // NOLINT
  }
  // The next datagram, or nullopt after the timeout.
  std::optional<std::string> receive() const {
    std::string buffer(65536, '\0');
    auto n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n <= 0) return std::nullopt;
    buffer.resize(static_cast<size_t>(n));
    return buffer;
  }

 private:
  int fd_;
  uint16_t port_ = 0;
};

// A port that was free a moment ago (for external programs that need one on the command line).
inline uint16_t free_udp_and_tcp_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof(address));  // NOLINT
    socklen_t length = sizeof(address);
    ::getsockname(udp, reinterpret_cast<sockaddr*>(&address), &length);  // NOLINT
    int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
    int ok = ::bind(tcp, reinterpret_cast<sockaddr*>(&address), sizeof(address));  // NOLINT
    ::close(tcp);
    ::close(udp);
    if (ok == 0) return ntohs(address.sin_port);
  }
  return 0;
}

inline std::string options_request(uint16_t from_port, const std::string& branch, const std::string& extra = {}) {
  return "OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:" +
         std::to_string(from_port) + ";branch=" + branch +
         ";rport\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:kamailio@127.0.0.1>;tag=ping1\r\n"
         "To: <sip:ping@127.0.0.1>\r\n"
         "Call-ID: " +
         branch +
         "@127.0.0.1\r\n"
         "CSeq: 1 OPTIONS\r\n" +
         extra + "Content-Length: 0\r\n\r\n";
}

template <class T>
std::optional<T> wait_for(std::future<T>& future, std::chrono::seconds timeout = std::chrono::seconds(10)) {
  if (future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  return future.get();
}

}  // namespace vontres::telephony::ua::testing
