#include "api/server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "api/detail/beast_codec.h"
#include "api/dispatch.h"
#include "api/metrics.h"
#include "core/log.h"

namespace vontres::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// Upper bound for draining a connection we are closing, so a client that is still sending (e.g. the
// rest of an over-limit body) reads our error response instead of a TCP reset.
constexpr std::chrono::milliseconds kLingerTimeout{1000};

int thread_count(int configured) {
  if (configured > 0) return configured;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

std::string method_label(std::string_view method) {
  return parse_method(method) ? std::string(method) : std::string("OTHER");
}

// What the access log and the metrics need about a request, captured before it is moved away.
struct AccessRecord {
  std::string method = "OTHER";
  std::string path;
  std::string route;
  std::string remote_address;
  std::string trace_id;
  std::string request_id;
  TimePoint started;
};

AccessRecord access_record_for(const Request& request, TimePoint started) {
  return {std::string(method_name(request.method)),
          request.path,
          request.route,
          request.remote_address,
          request.trace_id,
          request_id_for(request),
          started};
}

// A live connection as the server's registry sees it.
class Connection {
 public:
  virtual ~Connection() = default;
  // Starts a graceful close. Any thread.
  virtual void begin_shutdown() = 0;
  // Closes the socket at once. REQUIRES: the I/O threads and the worker pool have stopped.
  virtual void close_now() = 0;
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const HttpConfig& config, const Router& router, Authenticator* authenticator, prometheus::Registry& registry,
       const Clock& clock)
      : config_(config),
        clock_(clock),
        dispatcher_(router, authenticator, clock),
        metrics_(registry),
        workers_(static_cast<size_t>(thread_count(config.worker_threads))) {}

  ~Impl() {
    bool started;
    {
      std::lock_guard lock(mu_);
      started = started_;
    }
    if (started) {
      shutdown(std::chrono::milliseconds(0));
      wait();
    }
    acceptor_.reset();
  }

  Status start();
  void shutdown(std::chrono::milliseconds grace);
  void wait();

  // --- used by sessions ---
  const HttpConfig& config() const { return config_; }
  const Dispatcher& dispatcher() const { return dispatcher_; }
  HttpMetrics& metrics() { return metrics_; }
  TimePoint now() const { return clock_.now(); }
  asio::thread_pool& workers() { return workers_; }
  // Keeps run() from returning while a handler on the worker pool still owes a response.
  asio::executor_work_guard<asio::io_context::executor_type> io_work() { return asio::make_work_guard(ioc_); }
  bool stopping() const { return stopping_flag_.load(std::memory_order_acquire); }
  std::chrono::milliseconds websocket_recheck_interval() const { return websocket_recheck_interval_; }
  void set_websocket_recheck_interval(std::chrono::milliseconds interval) { websocket_recheck_interval_ = interval; }

  // Registers a connection for shutdown. False if the server is already stopping (the caller closes).
  bool add_connection(uint64_t& id, const std::shared_ptr<Connection>& connection, bool counts_toward_limit);
  void remove_connection(uint64_t id, bool counts_toward_limit);

  // The access log line and the request metrics for a finished request.
  void record(const AccessRecord& record, int status);

 private:
  void accept();
  void on_accept(beast::error_code error, tcp::socket socket);

  const HttpConfig config_;
  const Clock& clock_;
  Dispatcher dispatcher_;
  HttpMetrics metrics_;
  log::Logger log_{"http"};
  log::Logger access_log_{"http.access"};
  std::optional<ssl::context> tls_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;                                       // GUARDED_BY(mu_)
  bool stopping_ = false;                                      // GUARDED_BY(mu_)
  bool waited_ = false;                                        // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point deadline_;             // GUARDED_BY(mu_)
  uint64_t next_id_ = 0;                                       // GUARDED_BY(mu_)
  std::map<uint64_t, std::weak_ptr<Connection>> connections_;  // GUARDED_BY(mu_)
  std::mutex wait_mu_;                                         // serialises wait() callers
  std::atomic<bool> stopping_flag_{false};
  std::atomic<uint64_t> counted_connections_{0};
  std::atomic<uint16_t> port_{0};
  std::vector<std::thread> io_threads_;
  std::chrono::milliseconds websocket_recheck_interval_{5'000};  // set before start(), then read-only

  // Destruction order matters: the io_context is destroyed before the members above, so the
  // completion handlers it still holds (which own sessions, which call back into this object)
  // are destroyed while everything they touch is alive. The pool and acceptor go first.
  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  asio::thread_pool workers_;

 public:
  uint16_t port() const { return port_.load(); }
  ssl::context* tls() { return tls_ ? &*tls_ : nullptr; }
};

namespace {

// ---------------------------------------------------------------------------------------------
// WebSocket session, templated on the stream under the WebSocket (plain TCP or TLS).
template <class Stream>
class WsSession final : public WebSocketConnection,
                        public Connection,
                        public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(HttpServer::Impl& server, Stream&& stream, AccessRecord record)
      : server_(server), ws_(std::move(stream)), recheck_timer_(ws_.get_executor()), record_(std::move(record)) {
    server_.metrics().connection_opened();
  }
  ~WsSession() override { server_.metrics().connection_closed(); }

  // Runs `open` on the worker pool, then completes or rejects the handshake.
  void run(const Route& route, Request request, detail::BeastRequest upgrade) {
    upgrade_ = std::move(upgrade);
    // What the credentials are re-checked against while the socket is open (the handler gets its own).
    route_ = &route;
    credentials_ = request;
    if (!server_.add_connection(id_, this->shared_from_this(), true)) {
      registered_ = false;
      asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
        self->reject(Response::error(503, "shutting_down", "server is shutting down"));
      });
      return;
    }
    registered_ = true;
    asio::post(server_.workers(), [self = this->shared_from_this(), &route, request = std::move(request),
                                   work = server_.io_work()]() mutable {
      log::ScopedTraceId trace(request.trace_id);
      Result<std::unique_ptr<WebSocketSession>> opened = [&]() -> Result<std::unique_ptr<WebSocketSession>> {
        try {
          return route.websocket_open(request, self);
        } catch (const std::exception& e) {
          log::Logger("http").error("websocket open threw", {{"error.message", e.what()}});
        } catch (...) {
          log::Logger("http").error("websocket open threw a non-exception");
        }
        return internal_error("internal error", "internal");
      }();
      asio::post(self->ws_.get_executor(), [self, opened = std::move(opened)]() mutable {
        if (!opened.is_ok()) {
          self->reject(Response::error(opened.status()));
          return;
        }
        if (!opened.value()) {
          self->reject(Response::error(500, "internal", "no session"));
          return;
        }
        self->session_ = std::move(opened).value();
        self->accept();
      });
    });
  }

  void send_text(std::string message) override {
    if (finished_.load()) return;
    queued_.fetch_add(1);
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), message = std::move(message)]() mutable {
      if (self->closing_ || self->finished_) {
        self->queued_.fetch_sub(1);
        return;
      }
      self->outgoing_.push_back(std::move(message));
      if (self->accepted_ && !self->writing_) self->write_next();
    });
  }

  void close(std::string reason) override { close_with(kCloseNormal, std::move(reason)); }

  void close_with(uint16_t code, std::string reason) override {
    if (finished_.load()) return;
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), code, reason = std::move(reason)]() mutable {
      self->start_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason));
    });
  }

  size_t queued_messages() const override { return finished_.load() ? 0 : queued_.load(); }

  void begin_shutdown() override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
      self->start_close(websocket::close_reason(websocket::close_code::going_away, "server shutting down"));
    });
  }

  void close_now() override {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    // The I/O threads and workers are stopped, so nothing else runs callbacks now.
    deliver_close_inline();
  }

 private:
  void reject(Response response) {
    const int status = response.status;
    response.headers.emplace_back("X-Request-Id", record_.request_id);
    server_.record(record_, status);
    reject_response_ = detail::to_beast(std::move(response), upgrade_.version(), false, false);
    beast::get_lowest_layer(ws_).expires_after(server_.config().request_timeout);
    http::async_write(ws_.next_layer(), reject_response_, [self = this->shared_from_this()](beast::error_code, size_t) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(self->ws_).close();
      self->finish();
    });
  }

  void accept() {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = server_.config().request_timeout;
    timeouts.idle_timeout = server_.config().idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.read_message_max(server_.config().max_body_bytes);
    std::optional<std::string> protocol;
    if (auto offered = upgrade_.find(http::field::sec_websocket_protocol); offered != upgrade_.end()) {
      protocol = select_websocket_protocol(offered->value());
    }
    ws_.set_option(
        websocket::stream_base::decorator([protocol, request_id = record_.request_id](websocket::response_type& res) {
          res.set(http::field::server, "vontres");
          res.set("X-Request-Id", request_id);
          if (protocol) res.set(http::field::sec_websocket_protocol, *protocol);
        }));
    ws_.async_accept(upgrade_, [self = this->shared_from_this()](beast::error_code error) {
      if (error) {
        self->server_.record(self->record_, 400);
        self->finish();
        return;
      }
      self->server_.record(self->record_, 101);
      self->accepted_ = true;
      self->schedule_recheck();
      if (self->pending_close_) {
        self->start_close(*self->pending_close_);
        return;
      }
      if (!self->outgoing_.empty()) self->write_next();
      self->read_next();
    });
  }

  // A WebSocket outlives the token that opened it: authenticate again from time to time.
  void schedule_recheck() {
    const auto interval = server_.websocket_recheck_interval();
    if (interval.count() <= 0 || route_ == nullptr || route_->options.public_route) return;
    recheck_timer_.expires_after(interval);
    recheck_timer_.async_wait([self = this->shared_from_this()](beast::error_code error) {
      if (error || self->closing_ || self->finished_) return;
      asio::post(self->server_.workers(), [self, work = self->server_.io_work()] {
        Status allowed = self->server_.dispatcher().reauthorize(*self->route_, self->credentials_);
        asio::post(self->ws_.get_executor(), [self, allowed = std::move(allowed)] {
          if (self->closing_ || self->finished_) return;
          if (allowed.is_ok()) {
            self->schedule_recheck();
            return;
          }
          log::Logger("http").info("websocket closed: credentials no longer valid",
                                   {{"http.route", self->credentials_.route}, {"error.code", allowed.code()}});
          self->start_close(websocket::close_reason(websocket::close_code::policy_error, allowed.code()));
        });
      });
    });
  }

  void read_next() {
    ws_.async_read(read_buffer_,
                   [self = this->shared_from_this()](beast::error_code error, size_t) { self->on_read(error); });
  }

  void on_read(beast::error_code error) {
    if (error) {
      finish();
      return;
    }
    if (!ws_.got_text()) {
      // The API speaks JSON text frames only.
      read_buffer_.consume(read_buffer_.size());
      start_close(websocket::close_reason(websocket::close_code::unknown_data, "text frames only"));
      read_next();
      return;
    }
    std::string text = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(read_buffer_.size());
    // One message at a time: the next read starts only after on_message has returned.
    asio::post(server_.workers(), [self = this->shared_from_this(), text = std::move(text), work = server_.io_work(),
                                   trace_id = record_.trace_id]() {
      {
        log::ScopedTraceId trace(trace_id);
        try {
          self->session_->on_message(text);
        } catch (const std::exception& e) {
          log::Logger("http").error("websocket on_message threw", {{"error.message", e.what()}});
        } catch (...) {
          log::Logger("http").error("websocket on_message threw a non-exception");
        }
      }
      asio::post(self->ws_.get_executor(), [self] {
        if (!self->finished_) self->read_next();
      });
    });
  }

  void write_next() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(outgoing_.front()),
                    [self = this->shared_from_this()](beast::error_code error, size_t) {
                      self->writing_ = false;
                      if (error) {
                        self->drop_outgoing();
                        return;  // the read side notices the broken connection and finishes
                      }
                      self->outgoing_.pop_front();
                      self->queued_.fetch_sub(1);
                      if (self->pending_close_ && !self->closing_) {
                        self->start_close(*self->pending_close_);
                      } else if (!self->outgoing_.empty() && !self->closing_) {
                        self->write_next();
                      }
                    });
  }

  void start_close(websocket::close_reason reason) {
    if (closing_ || finished_) return;
    if (!accepted_ || writing_) {
      // Before the handshake, or while a frame is being written: close once that is done.
      pending_close_ = std::move(reason);
      return;
    }
    closing_ = true;
    drop_outgoing();
    ws_.async_close(reason, [self = this->shared_from_this()](beast::error_code) {
      // The pending read completes with `closed` (or an error) and calls finish().
    });
  }

  // Strand only.
  void drop_outgoing() {
    queued_.fetch_sub(outgoing_.size());
    outgoing_.clear();
  }

  void finish() {
    if (finished_.exchange(true)) return;
    recheck_timer_.cancel();
    if (registered_) server_.remove_connection(id_, true);
    if (!session_) return;
    asio::post(server_.workers(), [self = this->shared_from_this()] { self->deliver_close_inline(); });
  }

  void deliver_close_inline() {
    finished_ = true;
    if (!session_ || close_delivered_) return;
    close_delivered_ = true;
    try {
      session_->on_close();
    } catch (...) {
      log::Logger("http").error("websocket on_close threw");
    }
    session_.reset();
  }

  HttpServer::Impl& server_;
  websocket::stream<Stream> ws_;
  asio::steady_timer recheck_timer_;  // strand only
  AccessRecord record_;
  const Route* route_ = nullptr;
  Request credentials_;  // the upgrade request; read by rechecks on the worker pool, one at a time
  detail::BeastRequest upgrade_;
  detail::BeastResponse reject_response_;
  beast::flat_buffer read_buffer_;
  std::deque<std::string> outgoing_;           // strand only
  std::atomic<size_t> queued_{0};              // send_text() calls whose frame is not written or dropped
  std::unique_ptr<WebSocketSession> session_;  // used on the worker pool, one callback at a time
  std::optional<websocket::close_reason> pending_close_;
  uint64_t id_ = 0;
  bool registered_ = false;
  bool accepted_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_delivered_ = false;
  std::atomic<bool> finished_{false};
};

// ---------------------------------------------------------------------------------------------
// HTTP session, templated on the stream (plain TCP or TLS); all its state lives on its strand.
template <class Stream>
class HttpSession final : public Connection, public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(HttpServer::Impl& server, Stream&& stream, std::string remote_address, bool over_capacity)
      : server_(server),
        stream_(std::move(stream)),
        remote_address_(std::move(remote_address)),
        over_capacity_(over_capacity) {
    server_.metrics().connection_opened();
  }
  ~HttpSession() override {
    if (registered_) server_.remove_connection(id_, !over_capacity_);
    server_.metrics().connection_closed();
  }

  void run() {
    registered_ = server_.add_connection(id_, this->shared_from_this(), !over_capacity_);
    if (!registered_) {
      beast::error_code ignored;
      beast::get_lowest_layer(stream_).socket().close(ignored);
      return;
    }
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->handshake(); });
  }

  void begin_shutdown() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->shutting_down_ = true;
      if (self->phase_ == Phase::kIdle) beast::get_lowest_layer(self->stream_).close();
    });
  }

  void close_now() override {
    if (handed_off_) return;
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

 private:
  enum class Phase { kIdle, kReading, kHandling, kWriting, kClosing };

  void handshake() {
    if constexpr (kIsTls<Stream>) {
      phase_ = Phase::kReading;
      beast::get_lowest_layer(stream_).expires_after(server_.config().request_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code error) {
        if (error) {
          self->close_hard();
          return;
        }
        self->wait_for_request();
      });
    } else {
      wait_for_request();
    }
  }

  // Between requests the idle timeout applies; once a byte arrives, the request timeout.
  void wait_for_request() {
    if (shutting_down_ || server_.stopping()) {
      close_gracefully();
      return;
    }
    if (buffer_.size() > 0) {
      read_request();
      return;
    }
    phase_ = Phase::kIdle;
    beast::get_lowest_layer(stream_).expires_after(server_.config().idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code error, size_t n) {
                              self->buffer_.commit(n);
                              if (error) {
                                self->close_hard();
                                return;
                              }
                              self->read_request();
                            });
  }

  void read_request() {
    phase_ = Phase::kReading;
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<uint64_t>(server_.config().max_header_bytes, UINT32_MAX)));
    parser_->body_limit(server_.config().max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(server_.config().request_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code error, size_t) { self->on_header(error); });
  }

  void on_header(beast::error_code error) {
    if (error) {
      on_read_error(error);
      return;
    }
    auto& header = parser_->get();
    if (auto expect = header.find(http::field::expect);
        expect != header.end() && beast::iequals(expect->value(), "100-continue")) {
      continue_response_ = http::response<http::empty_body>{http::status::continue_, header.version()};
      http::async_write(stream_, continue_response_,
                        [self = this->shared_from_this()](beast::error_code error, size_t) {
                          if (error) {
                            self->close_hard();
                            return;
                          }
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code error, size_t) {
      if (error) {
        self->on_read_error(error);
        return;
      }
      self->on_request();
    });
  }

  void on_read_error(beast::error_code error) {
    if (error.category() == make_error_code(http::error::end_of_stream).category() &&
        error != http::error::end_of_stream && error != http::error::partial_message) {
      // A parse error or a limit: answer with JSON and close (the stream position is lost).
      AccessRecord record;
      record.remote_address = remote_address_;
      record.trace_id = server_.dispatcher().new_trace_id();
      record.request_id = record.trace_id;
      record.started = server_.now();
      if (parser_ && parser_->is_header_done()) {
        record.method = method_label(parser_->get().method_string());
        record.path = std::string(parser_->get().target().substr(0, parser_->get().target().find('?')));
      }
      const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
      Response response = detail::parse_error_response(error);
      response.headers.emplace_back("X-Request-Id", record.request_id);
      server_.record(record, response.status);
      write(std::move(response), version, /*keep_alive=*/false, /*head=*/false);
      return;
    }
    // EOF, timeout, reset, TLS failure: nobody to answer.
    close_hard();
  }

  void on_request() {
    phase_ = Phase::kHandling;
    beast::get_lowest_layer(stream_).expires_never();
    const TimePoint started = server_.now();
    detail::BeastRequest message = parser_->release();
    parser_.reset();
    const unsigned version = message.version();
    const bool keep_alive = message.keep_alive();
    const bool head = message.method() == http::verb::head;
    const bool upgrade = websocket::is_upgrade(message);
    std::optional<detail::BeastRequest> upgrade_message;
    if (upgrade) upgrade_message = message;  // the WebSocket handshake needs the original message

    auto converted = detail::to_request(std::move(message), remote_address_);
    if (auto* rejection = std::get_if<Response>(&converted)) {
      AccessRecord record;
      record.remote_address = remote_address_;
      record.trace_id = server_.dispatcher().new_trace_id();
      record.request_id = record.trace_id;
      record.started = started;
      rejection->headers.emplace_back("X-Request-Id", record.request_id);
      server_.record(record, rejection->status);
      write(std::move(*rejection), version, false, head);
      return;
    }
    Request& request = std::get<Request>(converted);
    server_.dispatcher().assign_trace_id(request);

    if (over_capacity_) {
      Response busy = Response::error(503, "server_busy", "too many connections");
      busy.headers.emplace_back("Retry-After", "1");
      finish_and_write(access_record_for(request, started), std::move(busy), version, false, head);
      return;
    }

    server_.metrics().request_started();
    asio::post(server_.workers(), [self = this->shared_from_this(), request = std::move(request),
                                   upgrade_message = std::move(upgrade_message), started, version, keep_alive, head,
                                   work = server_.io_work()]() mutable {
      log::ScopedTraceId trace(request.trace_id);
      if (upgrade_message) {
        Dispatcher::Admission admission = self->server_.dispatcher().admit(request, true);
        if (admission.rejection) {
          self->post_response(access_record_for(request, started), std::move(*admission.rejection), version, keep_alive,
                              head);
          return;
        }
        asio::post(self->stream_.get_executor(), [self, route = admission.route, request = std::move(request),
                                                  upgrade_message = std::move(*upgrade_message), started]() mutable {
          self->hand_off_to_websocket(*route, std::move(request), std::move(upgrade_message), started);
        });
        return;
      }
      Response response = self->server_.dispatcher().handle(request);
      self->post_response(access_record_for(request, started), std::move(response), version, keep_alive, head);
    });
  }

  // Called on a worker: hands the response back to the connection's strand.
  void post_response(AccessRecord record, Response response, unsigned version, bool keep_alive, bool head) {
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), record = std::move(record),
                                        response = std::move(response), version, keep_alive, head]() mutable {
      self->server_.metrics().request_finished();
      self->finish_and_write(record, std::move(response), version, keep_alive, head);
    });
  }

  void finish_and_write(const AccessRecord& record, Response response, unsigned version, bool keep_alive, bool head) {
    response.headers.emplace_back("X-Request-Id", record.request_id);
    server_.record(record, response.status);
    write(std::move(response), version, keep_alive, head);
  }

  void hand_off_to_websocket(const Route& route, Request request, detail::BeastRequest upgrade, TimePoint started) {
    server_.metrics().request_finished();
    handed_off_ = true;
    phase_ = Phase::kClosing;
    AccessRecord record = access_record_for(request, started);
    auto session = std::make_shared<WsSession<Stream>>(server_, std::move(stream_), std::move(record));
    session->run(route, std::move(request), std::move(upgrade));
  }

  void write(Response response, unsigned version, bool keep_alive, bool head) {
    phase_ = Phase::kWriting;
    // Browsers that once reached us over HTTPS must never fall back to plain HTTP (RFC 6797).
    if constexpr (kIsTls<Stream>) response.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
    keep_alive_ = keep_alive && !shutting_down_ && !server_.stopping();
    response_ = detail::to_beast(std::move(response), version, keep_alive_, head);
    beast::get_lowest_layer(stream_).expires_after(server_.config().request_timeout);
    http::async_write(stream_, response_, [self = this->shared_from_this()](beast::error_code error, size_t) {
      self->response_ = {};
      if (error) {
        self->close_hard();
        return;
      }
      if (!self->keep_alive_) {
        self->close_gracefully();
        return;
      }
      self->wait_for_request();
    });
  }

  // Half-closes and drains, so the peer reads our last response rather than a reset.
  void close_gracefully() {
    phase_ = Phase::kClosing;
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(kLingerTimeout);
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->close_hard(); });
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.expires_after(kLingerTimeout);
      drain();
    }
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = this->shared_from_this()](beast::error_code error, size_t) {
                              if (error) {
                                self->close_hard();
                                return;
                              }
                              self->drain();
                            });
  }

  void close_hard() {
    phase_ = Phase::kClosing;
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  HttpServer::Impl& server_;
  Stream stream_;
  std::string remote_address_;
  const bool over_capacity_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::empty_body> continue_response_;
  detail::BeastResponse response_;
  std::array<char, 4096> drain_buffer_{};
  Phase phase_ = Phase::kIdle;
  uint64_t id_ = 0;
  bool registered_ = false;
  bool keep_alive_ = false;
  bool shutting_down_ = false;
  bool handed_off_ = false;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

bool HttpServer::Impl::add_connection(uint64_t& id, const std::shared_ptr<Connection>& connection,
                                      bool counts_toward_limit) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  id = ++next_id_;
  connections_.emplace(id, connection);
  if (counts_toward_limit) counted_connections_.fetch_add(1);
  return true;
}

void HttpServer::Impl::remove_connection(uint64_t id, bool counts_toward_limit) {
  std::lock_guard lock(mu_);
  if (connections_.erase(id) > 0 && counts_toward_limit) counted_connections_.fetch_sub(1);
  cv_.notify_all();
}

void HttpServer::Impl::record(const AccessRecord& record, int status) {
  const auto duration = std::chrono::duration_cast<std::chrono::nanoseconds>(now() - record.started);
  metrics_.observe_request(record.method, record.route, status, duration);
  log::ScopedTraceId trace(record.trace_id);
  // Never the body, the query string or the Authorization header: they may carry credentials.
  log::Fields fields{{"http.request.method", record.method},
                     {"http.response.status_code", status},
                     {"event.duration", duration.count()},
                     {"client.ip", record.remote_address},
                     {"http.request.id", record.request_id}};
  if (!record.path.empty()) fields.emplace_back("url.path", record.path);
  if (!record.route.empty()) fields.emplace_back("http.route", record.route);
  access_log_.info("request", fields);
}

Status HttpServer::Impl::start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return failed_precondition("server already started", "already_started");
  }
  if (config_.tls_enabled()) {
    tls_.emplace(ssl::context::tls_server);
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    // TLS 1.2: forward-secret AEAD suites only, in our order, not the client's (TLS 1.3 suites
    // are all of that kind and keep OpenSSL's defaults).
    SSL_CTX_set_options(tls_->native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_cipher_list(tls_->native_handle(), "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
      return internal_error("TLS cipher list rejected by OpenSSL", "tls_config");
    }
    beast::error_code error;
    tls_->use_certificate_chain_file(config_.tls_cert_file, error);
    if (error) {
      return invalid_argument("cannot load TLS certificate chain " + config_.tls_cert_file + ": " + error.message(),
                              "tls_config");
    }
    tls_->use_private_key_file(config_.tls_key_file, ssl::context::pem, error);
    if (error) {
      return invalid_argument("cannot load TLS private key " + config_.tls_key_file + ": " + error.message(),
                              "tls_config");
    }
    if (SSL_CTX_check_private_key(tls_->native_handle()) != 1) {
      return invalid_argument("TLS private key does not match the certificate", "tls_config");
    }
  }

  beast::error_code error;
  const std::string address_text = config_.listen.to_string();
  asio::ip::address address = asio::ip::make_address(config_.listen.host, error);
  if (error) {
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(config_.listen.host, std::to_string(config_.listen.port), error);
    if (error || results.empty()) {
      return invalid_argument("cannot resolve listen address " + address_text, "invalid_listen_address");
    }
    address = results.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, config_.listen.port);
  acceptor_ = std::make_unique<tcp::acceptor>(asio::make_strand(ioc_));
  acceptor_->open(endpoint.protocol(), error);
  if (!error) acceptor_->set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor_->bind(endpoint, error);
  if (error == asio::error::address_in_use) {
    return unavailable("address already in use: " + address_text, "address_in_use");
  }
  if (!error) acceptor_->listen(asio::socket_base::max_listen_connections, error);
  if (error) return unavailable("cannot listen on " + address_text + ": " + error.message(), "listen_failed");
  port_ = acceptor_->local_endpoint().port();

  {
    std::lock_guard lock(mu_);
    started_ = true;
  }
  work_.emplace(asio::make_work_guard(ioc_));
  accept();
  const int io_threads = thread_count(config_.io_threads);
  io_threads_.reserve(static_cast<size_t>(io_threads));
  for (int i = 0; i < io_threads; ++i) {
    io_threads_.emplace_back([this] { ioc_.run(); });
  }
  log_.info("http server listening",
            {{"server.address", config_.listen.host}, {"server.port", port_.load()}, {"tls", config_.tls_enabled()}});
  return Status::ok();
}

void HttpServer::Impl::accept() {
  acceptor_->async_accept(asio::make_strand(ioc_),
                          [this](beast::error_code error, tcp::socket socket) { on_accept(error, std::move(socket)); });
}

void HttpServer::Impl::on_accept(beast::error_code error, tcp::socket socket) {
  if (error == asio::error::operation_aborted || !acceptor_->is_open()) return;
  if (stopping()) {
    beast::error_code ignored;
    socket.close(ignored);
    acceptor_->close(ignored);
    return;
  }
  if (error) {
    // E.g. EMFILE: keep serving the connections we have; accepting resumes on the next call.
    log_.warn("accept failed", {{"error.message", error.message()}});
    accept();
    return;
  }
  beast::error_code ignored;
  const std::string remote = socket.remote_endpoint(ignored).address().to_string();
  socket.set_option(tcp::no_delay(true), ignored);
  const bool over_capacity = counted_connections_.load() >= config_.max_connections;
  if (tls_) {
    std::make_shared<HttpSession<TlsStream>>(*this, TlsStream(std::move(socket), *tls_), remote, over_capacity)->run();
  } else {
    std::make_shared<HttpSession<PlainStream>>(*this, PlainStream(std::move(socket)), remote, over_capacity)->run();
  }
  accept();
}

void HttpServer::Impl::shutdown(std::chrono::milliseconds grace) {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    stopping_flag_.store(true, std::memory_order_release);
    deadline_ = std::chrono::steady_clock::now() + grace;
    for (auto& [id, weak] : connections_) {
      if (auto connection = weak.lock()) live.push_back(std::move(connection));
    }
    cv_.notify_all();
  }
  if (acceptor_) {
    asio::post(acceptor_->get_executor(), [this] {
      beast::error_code ignored;
      acceptor_->close(ignored);
    });
  }
  for (auto& connection : live) connection->begin_shutdown();
  work_.reset();
}

void HttpServer::Impl::wait() {
  std::lock_guard wait_lock(wait_mu_);
  {
    std::unique_lock lock(mu_);
    if (waited_) return;
    cv_.wait(lock, [&] { return stopping_; });
    cv_.wait_until(lock, deadline_, [&] { return connections_.empty(); });
  }
  ioc_.stop();
  for (auto& thread : io_threads_) thread.join();
  io_threads_.clear();
  // The I/O threads are gone, so sockets may be touched from here.
  if (acceptor_) {
    beast::error_code ignored;
    acceptor_->close(ignored);
  }
  // Handlers still running finish (their responses go nowhere); queued ones run and are dropped.
  workers_.join();
  std::vector<std::shared_ptr<Connection>> remaining;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, weak] : connections_) {
      if (auto connection = weak.lock()) remaining.push_back(std::move(connection));
    }
    waited_ = true;
  }
  for (auto& connection : remaining) connection->close_now();
  log_.info("http server stopped");
}

// ---------------------------------------------------------------------------------------------

HttpServer::HttpServer(const HttpConfig& config, const Router& router, Authenticator* authenticator,
                       prometheus::Registry& registry, const Clock& clock)
    : impl_(std::make_unique<Impl>(config, router, authenticator, registry, clock)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::start() { return impl_->start(); }
uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::set_websocket_recheck_interval(std::chrono::milliseconds interval) {
  impl_->set_websocket_recheck_interval(interval);
}
void HttpServer::shutdown(std::chrono::milliseconds grace) { impl_->shutdown(grace); }
void HttpServer::wait() { impl_->wait(); }

}  // namespace vontres::api
