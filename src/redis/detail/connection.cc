#include "redis/detail/connection.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>

namespace vontres::redis::detail {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kTick = std::chrono::milliseconds(20);
constexpr size_t kReadChunk = 16 * 1024;
}  // namespace

Connection::Connection(asio::io_context& io, ConnectionSettings settings)
    : io_(io), settings_(std::move(settings)), resolver_(io), timer_(io), read_buffer_(kReadChunk) {
  if (settings_.tls != nullptr) {
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(io, *settings_.tls);
  } else {
    plain_ = std::make_unique<tcp::socket>(io);
  }
}

Connection::~Connection() = default;

template <typename Buffers, typename Handler>
void Connection::async_write(const Buffers& buffers, Handler&& handler) {
  if (tls_) {
    asio::async_write(*tls_, buffers, std::forward<Handler>(handler));
  } else {
    asio::async_write(*plain_, buffers, std::forward<Handler>(handler));
  }
}

template <typename Buffers, typename Handler>
void Connection::async_read_some(const Buffers& buffers, Handler&& handler) {
  if (tls_) {
    tls_->async_read_some(buffers, std::forward<Handler>(handler));
  } else {
    plain_->async_read_some(buffers, std::forward<Handler>(handler));
  }
}

void Connection::start(PushHandler on_push, CloseHandler on_close) {
  asio::post(io_, [self = shared_from_this(), on_push = std::move(on_push), on_close = std::move(on_close)]() mutable {
    self->on_push_ = std::move(on_push);
    self->on_close_ = std::move(on_close);
    if (self->state_ == State::kDead) return;
    self->connect_deadline_ = Clock::now() + self->settings_.connect_timeout;
    self->tick();
    self->resolver_.async_resolve(
        self->settings_.host, std::to_string(self->settings_.port),
        [self](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
          if (self->state_ == State::kDead) return;
          if (ec) {
            self->fail(unavailable("resolving " + self->settings_.host + ": " + ec.message(), "redis_unavailable"));
            return;
          }
          asio::async_connect(
              self->socket(), results, [self](const boost::system::error_code& error, const tcp::endpoint&) {
                if (self->state_ == State::kDead) return;
                if (error) {
                  self->fail(unavailable("connecting to " + self->settings_.host + ":" +
                                             std::to_string(self->settings_.port) + ": " + error.message(),
                                         "redis_unavailable"));
                  return;
                }
                boost::system::error_code ignored;
                self->socket().set_option(tcp::no_delay(true), ignored);
                if (!self->tls_) {
                  self->on_connected();
                  return;
                }
                const std::string& name =
                    self->settings_.tls_server_name.empty() ? self->settings_.host : self->settings_.tls_server_name;
                boost::system::error_code not_an_ip;
                (void)asio::ip::make_address(name, not_an_ip);
                if (not_an_ip) SSL_set_tlsext_host_name(self->tls_->native_handle(), name.c_str());
                self->tls_->set_verify_mode(asio::ssl::verify_peer);
                self->tls_->set_verify_callback(asio::ssl::host_name_verification(name));
                self->tls_->async_handshake(
                    asio::ssl::stream_base::client, [self](const boost::system::error_code& hs) {
                      if (self->state_ == State::kDead) return;
                      if (hs) {
                        self->fail(unavailable("TLS handshake with " + self->settings_.host + ":" +
                                                   std::to_string(self->settings_.port) + ": " + hs.message(),
                                               "redis_tls_failed"));
                        return;
                      }
                      self->on_connected();
                    });
              });
        });
  });
}

void Connection::on_connected() {
  state_ = State::kReady;
  if (!settings_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!settings_.username.empty()) auth.push_back(settings_.username);
    auth.push_back(settings_.password);
    // AUTH goes first, ahead of everything queued while connecting.
    Pending request;
    request.reply_count = on_push_ ? 0 : 1;
    request.deadline = Clock::now() + settings_.request_timeout;
    std::weak_ptr<Connection> weak = weak_from_this();
    request.done = [weak](Outcome outcome) {
      auto self = weak.lock();
      if (!self || !outcome.status.is_ok()) return;
      if (outcome.replies.empty() || outcome.replies[0].is_error()) {
        self->fail(unauthenticated(
            "Redis AUTH refused: " + (outcome.replies.empty() ? std::string() : outcome.replies[0].text),
            "redis_auth_failed"));
      }
    };
    outbox_.insert(0, encode_command(auth));
    if (request.reply_count > 0) {
      pending_.insert(pending_.end() - static_cast<std::ptrdiff_t>(unsent_), std::move(request));
      // It sits before the unsent requests, which are written after it in the same batch.
      ++unsent_;
    }
  }
  read();
  flush();
}

void Connection::submit(std::string payload, size_t reply_count, Callback done) {
  asio::post(io_, [self = shared_from_this(), payload = std::move(payload), reply_count,
                   done = std::move(done)]() mutable { self->enqueue(payload, reply_count, std::move(done)); });
}

void Connection::enqueue(const std::string& payload, size_t reply_count, Callback done) {
  if (state_ == State::kDead) {
    if (done) done(Outcome{unavailable("connection closed", "redis_unavailable"), false, {}});
    return;
  }
  outbox_ += payload;
  if (reply_count > 0 && !on_push_) {
    pending_.push_back(Pending{reply_count, {}, std::move(done), Clock::now() + settings_.request_timeout, false});
    ++unsent_;
  }
  if (state_ == State::kReady) flush();
}

void Connection::flush() {
  if (write_in_flight_ || outbox_.empty() || state_ != State::kReady) return;
  writing_.swap(outbox_);
  outbox_.clear();
  for (size_t i = pending_.size() - unsent_; i < pending_.size(); ++i) pending_[i].sent = true;
  unsent_ = 0;
  write_in_flight_ = true;
  async_write(asio::buffer(writing_), [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
    self->write_in_flight_ = false;
    self->writing_.clear();
    if (self->state_ == State::kDead) return;
    if (ec) {
      self->fail(unavailable("writing to Redis: " + ec.message(), "redis_unavailable"));
      return;
    }
    self->flush();
  });
}

void Connection::read() {
  async_read_some(asio::buffer(read_buffer_),
                  [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                    if (self->state_ == State::kDead) return;
                    if (ec) {
                      self->fail(unavailable("reading from Redis " + self->settings_.host + ":" +
                                                 std::to_string(self->settings_.port) + ": " + ec.message(),
                                             "redis_unavailable"));
                      return;
                    }
                    self->on_bytes(n);
                    if (self->state_ != State::kDead) self->read();
                  });
}

void Connection::on_bytes(size_t n) {
  parser_.feed(std::string_view(read_buffer_.data(), n));
  for (;;) {  // bounded by the bytes fed: each iteration consumes one complete reply
    auto next = parser_.next();
    if (!next.is_ok()) {
      fail(next.status());
      return;
    }
    if (!next->has_value()) return;
    Reply reply = std::move(**next);
    if (on_push_) {
      on_push_(std::move(reply));
      if (state_ == State::kDead) return;
      continue;
    }
    if (pending_.empty() || pending_.size() == unsent_) {
      fail(internal_error("Redis sent a reply nobody asked for", "redis_protocol"));
      return;
    }
    Pending& front = pending_.front();
    front.replies.push_back(std::move(reply));
    if (front.replies.size() == front.reply_count) {
      Pending done = std::move(front);
      pending_.pop_front();
      if (done.done) done.done(Outcome{Status::ok(), true, std::move(done.replies)});
    }
  }
}

void Connection::tick() {
  timer_.expires_after(kTick);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->state_ == State::kDead) return;
    const auto now = Clock::now();
    if (self->state_ == State::kConnecting && now >= self->connect_deadline_) {
      self->fail(unavailable(
          "connecting to " + self->settings_.host + ":" + std::to_string(self->settings_.port) + " timed out",
          "redis_unavailable"));
      return;
    }
    if (!self->pending_.empty() && self->pending_.front().deadline <= now) {
      self->fail(deadline_exceeded(
          "Redis " + self->settings_.host + ":" + std::to_string(self->settings_.port) + " did not answer in time",
          "redis_timeout"));
      return;
    }
    self->tick();
  });
}

void Connection::close() {
  asio::post(io_, [self = shared_from_this()] { self->fail(unavailable("connection closed", "redis_unavailable")); });
}

void Connection::fail(const Status& status) {
  if (state_ == State::kDead) return;
  state_ = State::kDead;
  dead_.store(true);
  boost::system::error_code ignored;
  resolver_.cancel();
  timer_.cancel();
  socket().shutdown(tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
  std::deque<Pending> failed;
  failed.swap(pending_);
  unsent_ = 0;
  outbox_.clear();
  for (auto& request : failed) {
    if (request.done) request.done(Outcome{status, request.sent, {}});
  }
  if (on_close_) {
    CloseHandler handler = std::move(on_close_);
    on_close_ = nullptr;
    handler(status);
  }
  on_push_ = nullptr;
}

}  // namespace vontres::redis::detail
