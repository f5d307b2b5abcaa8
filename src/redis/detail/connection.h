// One connection to one Redis node, plain TCP or TLS, owned by the client's io_context thread.
// Requests are pipelined: submit() queues the encoded commands, they are written in batches as the
// socket allows, and replies are matched to requests in order. A request waits at most
// `request_timeout` for its replies; when the oldest one overruns, or the peer closes, or a reply
// is malformed, the connection fails every pending request and is dead for good (the pool makes a
// new one). Each failure says whether the request's bytes had been handed to the socket ("sent"):
// an unsent request is safe to retry elsewhere, a sent one may have run.
//
// In push mode (pub/sub) every reply goes to the push handler instead of a request.
//
// Thread-safety: submit(), close() and dead() may be called from any thread; everything else runs
// on the io_context's thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "redis/resp.h"

namespace vontres::redis::detail {

struct ConnectionSettings {
  std::string host;
  uint16_t port = 0;
  boost::asio::ssl::context* tls = nullptr;  // non-null: TLS, server certificate verified
  std::string tls_server_name;               // name (or IP) the certificate must carry; default host
  std::string username;                      // optional (ACL)
  std::string password;                      // empty: no AUTH
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds request_timeout{1000};
};

struct Outcome {
  Status status;      // OK: `replies` holds one reply per command of the request
  bool sent = false;  // on failure: whether the request may have reached the server
  std::vector<Reply> replies;
};
using Callback = std::function<void(Outcome)>;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using PushHandler = std::function<void(Reply)>;
  using CloseHandler = std::function<void(const Status&)>;

  Connection(boost::asio::io_context& io, ConnectionSettings settings);
  ~Connection();

  // Starts connecting (on the io thread). `on_push` switches to push mode; `on_close` runs once,
  // on the io thread, when the connection dies.
  void start(PushHandler on_push = {}, CloseHandler on_close = {});
  // Queues `payload` (`reply_count` encoded commands); `done` runs on the io thread.
  void submit(std::string payload, size_t reply_count, Callback done);
  void close();
  bool dead() const { return dead_.load(); }
  const ConnectionSettings& settings() const { return settings_; }

 private:
  struct Pending {
    size_t reply_count = 0;
    std::vector<Reply> replies;
    Callback done;
    std::chrono::steady_clock::time_point deadline;
    bool sent = false;
  };
  enum class State { kConnecting, kReady, kDead };

  void on_connected();
  void enqueue(const std::string& payload, size_t reply_count, Callback done);
  void flush();
  void read();
  void on_bytes(size_t n);
  void tick();
  void fail(const Status& status);
  template <typename Buffers, typename Handler>
  void async_write(const Buffers& buffers, Handler&& handler);
  template <typename Buffers, typename Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler);

  boost::asio::io_context& io_;
  ConnectionSettings settings_;
  boost::asio::ip::tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }

  std::unique_ptr<boost::asio::ip::tcp::socket> plain_;                          // plain TCP, or
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;  // TLS
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer timer_;
  std::atomic<bool> dead_{false};
  // Only touched on the io thread:
  State state_ = State::kConnecting;
  std::chrono::steady_clock::time_point connect_deadline_;
  PushHandler on_push_;
  CloseHandler on_close_;
  std::deque<Pending> pending_;  // in write order; the first `unsent_` from the back are not written yet
  size_t unsent_ = 0;
  std::string outbox_;   // encoded, not yet written
  std::string writing_;  // being written
  bool write_in_flight_ = false;
  std::vector<char> read_buffer_;
  RespParser parser_;
};

}  // namespace vontres::redis::detail
