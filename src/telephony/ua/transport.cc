#include "telephony/ua/transport.h"

#include <array>
#include <deque>
#include <unordered_map>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "core/log.h"
#include "telephony/ua/transport_rules.h"

namespace vontres::telephony::ua {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using boost::system::error_code;

const log::Logger& logger() {
  static const log::Logger instance{"sip.transport"};
  return instance;
}

Result<asio::ip::address> resolve_numeric(std::string_view host) {
  std::string text(host);
  if (text == "localhost") return asio::ip::address(asio::ip::address_v4::loopback());
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  error_code error;
  auto address = asio::ip::make_address(text, error);
  if (error) return invalid_argument("not a numeric address: " + std::string(host), "invalid_listen_address");
  return address;
}

std::string remote_key(TransportKind transport, const std::string& address, uint16_t port) {
  return std::string(transport_name(transport)) + "|" + address + "|" + std::to_string(port);
}

}  // namespace

// One TCP or TLS connection (inbound or outbound). Lives on the transport's strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(uint64_t id, Peer peer, bool inbound, TimePoint now)
      : id_(id), peer_(std::move(peer)), inbound_(inbound), last_activity_(now) {}
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  virtual void start_inbound() = 0;
  virtual void start_outbound(tcp::endpoint endpoint) = 0;
  virtual void write(std::shared_ptr<const std::string> bytes, std::function<void()> on_failure) = 0;
  virtual void close() = 0;
  uint64_t id() const { return id_; }
  const Peer& peer() const { return peer_; }
  bool inbound() const { return inbound_; }
  TimePoint last_activity() const { return last_activity_; }

 protected:
  uint64_t id_;
  Peer peer_;
  bool inbound_;
  TimePoint last_activity_;  // last byte received (or the connection's start)
};

class Transport::Impl : public std::enable_shared_from_this<Transport::Impl> {
 public:
  Impl(Strand strand, TransportConfig config, MessageHandler handler, const Clock& clock)
      : strand_(std::move(strand)),
        config_(std::move(config)),
        handler_(std::move(handler)),
        clock_(clock),
        reaper_(strand_) {}

  Status start();
  void stop();
  void send(std::string bytes, const Peer& peer, std::function<void()> on_failure);
  void handle_raw(std::string_view raw, const Peer& source);
  void connection_closed(uint64_t id);
  bool stopped() const { return stopped_; }
  const TransportConfig& config() const { return config_; }
  TimePoint now() const { return clock_.now(); }

  struct UdpListener {
    explicit UdpListener(const Strand& strand) : socket(strand) {}
    udp::socket socket;
    udp::endpoint sender;
    std::array<char, 65536> buffer{};
  };
  struct StreamListener {
    StreamListener(const Strand& strand, TransportKind kind) : acceptor(strand), transport(kind) {}
    tcp::acceptor acceptor;
    TransportKind transport;
  };

  Strand strand_;
  TransportConfig config_;
  MessageHandler handler_;
  std::vector<BoundListener> bound_;
  std::vector<std::unique_ptr<UdpListener>> udp_;
  std::vector<std::unique_ptr<StreamListener>> stream_;
  std::unique_ptr<ssl::context> server_tls_;
  std::unique_ptr<ssl::context> client_tls_;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_;
  std::unordered_map<std::string, uint64_t> by_remote_;
  std::unordered_map<std::string, size_t> inbound_by_source_;  // open inbound connections per address
  uint64_t next_connection_ = 1;
  bool stopped_ = false;
  const Clock& clock_;
  asio::steady_timer reaper_;

  std::atomic<uint64_t> received_{0}, sent_{0}, dropped_unparsable_{0}, dropped_oversize_{0}, answered_{0},
      send_failures_{0}, connections_open_{0}, connections_refused_{0}, connections_reaped_{0};

 private:
  void receive_udp(UdpListener& listener);
  void accept(StreamListener& listener);
  bool admits(const std::string& source) const;
  void schedule_reaper();
  void reap_idle();
  std::shared_ptr<Connection> make_connection(TransportKind transport, tcp::socket socket, Peer peer, bool inbound);
  Status make_tls_contexts();
};

namespace {

template <class Stream>
class StreamConnection final : public Connection {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  StreamConnection(uint64_t id, Peer peer, bool inbound, TimePoint now, Stream stream,
                   std::weak_ptr<Transport::Impl> owner, const TransportConfig& config)
      : Connection(id, std::move(peer), inbound, now),
        stream_(std::move(stream)),
        owner_(std::move(owner)),
        framer_(config.max_header_bytes, config.max_body_bytes),
        max_pending_(config.max_header_bytes + config.max_body_bytes + 1024) {}

  void start_inbound() override {
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server, [self = shared()](const error_code& error) {
        if (error) return self->fail();
        self->on_connected();
      });
    } else {
      on_connected();
    }
  }

  void start_outbound(tcp::endpoint endpoint) override {
    stream_.lowest_layer().async_connect(endpoint, [self = shared()](const error_code& error) {
      if (error) return self->fail();
      if constexpr (kTls) {
        self->stream_.async_handshake(ssl::stream_base::client, [self](const error_code& handshake_error) {
          if (handshake_error) return self->fail();
          self->on_connected();
        });
      } else {
        self->on_connected();
      }
    });
  }

  void write(std::shared_ptr<const std::string> bytes, std::function<void()> on_failure) override {
    if (closed_) {
      if (on_failure) on_failure();
      return;
    }
    queue_.emplace_back(std::move(bytes), std::move(on_failure));
    if (connected_ && !writing_) write_next();
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.lowest_layer().close(ignored);
    auto pending = std::move(queue_);
    queue_.clear();
    for (auto& [bytes, on_failure] : pending) {
      if (on_failure) on_failure();
    }
    if (auto owner = owner_.lock()) owner->connection_closed(id_);
  }

 private:
  std::shared_ptr<StreamConnection> shared() { return std::static_pointer_cast<StreamConnection>(shared_from_this()); }

  void fail() { close(); }

  void on_connected() {
    connected_ = true;
    read();
    if (!writing_ && !queue_.empty()) write_next();
  }

  void read() {
    stream_.async_read_some(asio::buffer(buffer_), [self = shared()](const error_code& error, size_t n) {
      if (error || self->closed_) return self->fail();
      self->on_bytes(std::string_view(self->buffer_.data(), n));
      if (!self->closed_) self->read();
    });
  }

  void on_bytes(std::string_view bytes) {
    auto owner = owner_.lock();
    if (!owner || owner->stopped()) return fail();
    last_activity_ = owner->now();  // any byte, a CRLF keep-alive too (RFC 5626 4.4.1)
    // RFC 5626 keep-alive ping "\r\n\r\n" between messages gets a pong "\r\n".
    if (pending_.empty() && bytes == "\r\n\r\n") {
      write(std::make_shared<const std::string>("\r\n"), {});
      return;
    }
    if (pending_.size() < max_pending_) pending_.append(bytes.substr(0, max_pending_ - pending_.size()));
    framer_.feed(bytes);
    while (auto message = framer_.next()) {
      Peer source = peer_;
      source.connection = id_;
      drop_consumed(message->size());
      owner->handle_raw(*message, source);
      if (closed_) return;
    }
    if (framer_.error()) {
      Peer source = peer_;
      source.connection = id_;
      auto response = error_response_for(pending_, *framer_.error());
      if (response) {
        ++owner->answered_;
        write(std::make_shared<const std::string>(response->serialize()), {});
      } else {
        ++owner->dropped_unparsable_;
      }
      close_after_write_ = true;
      if (!writing_) close();
    }
  }

  void drop_consumed(size_t size) {
    size_t skip = 0;
    while (skip < pending_.size() && (pending_[skip] == '\r' || pending_[skip] == '\n')) ++skip;
    pending_.erase(0, std::min(pending_.size(), skip + size));
    skip = 0;
    while (skip < pending_.size() && (pending_[skip] == '\r' || pending_[skip] == '\n')) ++skip;
    pending_.erase(0, skip);
  }

  void write_next() {
    if (queue_.empty()) {
      writing_ = false;
      if (close_after_write_) close();
      return;
    }
    writing_ = true;
    auto bytes = queue_.front().first;
    asio::async_write(stream_, asio::buffer(*bytes), [self = shared(), bytes](const error_code& error, size_t) {
      if (self->closed_) return;
      if (error) return self->fail();
      self->queue_.pop_front();
      self->write_next();
    });
  }

  Stream stream_;
  std::weak_ptr<Transport::Impl> owner_;
  sip::MessageFramer framer_;
  std::string pending_;  // bytes of the message being framed, for error responses
  size_t max_pending_;
  std::array<char, 16 * 1024> buffer_{};
  std::deque<std::pair<std::shared_ptr<const std::string>, std::function<void()>>> queue_;
  bool connected_ = false;
  bool writing_ = false;
  bool closed_ = false;
  bool close_after_write_ = false;
};

}  // namespace

Status Transport::Impl::make_tls_contexts() {
  const bool wants_tls_listener = std::any_of(config_.listeners.begin(), config_.listeners.end(),
                                              [](const auto& l) { return l.transport == TransportKind::kTls; });
  const bool has_material = !config_.tls_certificate_file.empty() && !config_.tls_private_key_file.empty();
  if (wants_tls_listener && !has_material) {
    return invalid_argument("a TLS listener needs tls_certificate_file and tls_private_key_file", "tls_config");
  }
  error_code error;
  client_tls_ = std::make_unique<ssl::context>(ssl::context::tls_client);
  client_tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (config_.tls_verify_peer) {
    client_tls_->set_verify_mode(ssl::verify_peer);
    if (config_.tls_ca_file.empty()) {
      client_tls_->set_default_verify_paths(error);
    } else {
      client_tls_->load_verify_file(config_.tls_ca_file, error);
    }
    if (error) return invalid_argument("cannot load TLS CA: " + error.message(), "tls_config");
  } else {
    client_tls_->set_verify_mode(ssl::verify_none);
  }
  if (!has_material) return Status::ok();
  server_tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
  server_tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  server_tls_->use_certificate_chain_file(config_.tls_certificate_file, error);
  if (!error) server_tls_->use_private_key_file(config_.tls_private_key_file, ssl::context::pem, error);
  if (error) return invalid_argument("cannot load TLS certificate/key: " + error.message(), "tls_config");
  return Status::ok();
}

Status Transport::Impl::start() {
  VONTRES_RETURN_IF_ERROR(make_tls_contexts());
  for (const auto& listener : config_.listeners) {
    VONTRES_ASSIGN_OR_RETURN(auto address, resolve_numeric(listener.address));
    error_code error;
    if (listener.transport == TransportKind::kUdp) {
      auto udp_listener = std::make_unique<UdpListener>(strand_);
      udp::endpoint endpoint(address, listener.port);
      udp_listener->socket.open(endpoint.protocol(), error);
      if (!error && config_.udp_receive_buffer_bytes > 0) {
        error_code ignored;  // best effort: the OS may cap it
        udp_listener->socket.set_option(asio::socket_base::receive_buffer_size(config_.udp_receive_buffer_bytes),
                                        ignored);
      }
      if (!error) udp_listener->socket.bind(endpoint, error);
      if (error == asio::error::address_in_use) return unavailable(endpoint.address().to_string(), "address_in_use");
      if (error) return unavailable("UDP bind failed: " + error.message(), "listen_failed");
      auto local = udp_listener->socket.local_endpoint(error);
      bound_.push_back({TransportKind::kUdp, local.address().to_string(), local.port()});
      udp_.push_back(std::move(udp_listener));
    } else {
      auto stream_listener = std::make_unique<StreamListener>(strand_, listener.transport);
      tcp::endpoint endpoint(address, listener.port);
      auto& acceptor = stream_listener->acceptor;
      acceptor.open(endpoint.protocol(), error);
      if (!error) acceptor.set_option(tcp::acceptor::reuse_address(true), error);
      if (!error) acceptor.bind(endpoint, error);
      if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
      if (error == asio::error::address_in_use) return unavailable(endpoint.address().to_string(), "address_in_use");
      if (error) return unavailable("TCP listen failed: " + error.message(), "listen_failed");
      auto local = acceptor.local_endpoint(error);
      bound_.push_back({listener.transport, local.address().to_string(), local.port()});
      stream_.push_back(std::move(stream_listener));
    }
  }
  for (auto& listener : udp_) receive_udp(*listener);
  for (auto& listener : stream_) accept(*listener);
  if (!stream_.empty() && config_.idle_timeout.count() > 0) schedule_reaper();
  for (const auto& bound : bound_) {
    logger().info("SIP listener bound", {{"network.transport", std::string(transport_name(bound.transport))},
                                         {"server.address", bound.address},
                                         {"server.port", bound.port}});
  }
  return Status::ok();
}

void Transport::Impl::stop() {
  if (stopped_) return;
  stopped_ = true;
  reaper_.cancel();
  error_code ignored;
  for (auto& listener : udp_) listener->socket.close(ignored);
  for (auto& listener : stream_) listener->acceptor.close(ignored);
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [id, connection] : connections) connection->close();
  by_remote_.clear();
  handler_ = nullptr;
}

void Transport::Impl::receive_udp(UdpListener& listener) {
  listener.socket.async_receive_from(
      asio::buffer(listener.buffer), listener.sender,
      [self = shared_from_this(), &listener](const error_code& error, size_t n) {
        if (self->stopped_ || error == asio::error::operation_aborted) return;
        if (!error) {
          if (n > self->config_.max_datagram_bytes || n >= listener.buffer.size()) {
            ++self->dropped_oversize_;
          } else {
            Peer source{TransportKind::kUdp, listener.sender.address().to_string(), listener.sender.port(), 0};
            self->handle_raw(std::string_view(listener.buffer.data(), n), source);
          }
        }
        if (!self->stopped_) self->receive_udp(listener);
      });
}

void Transport::Impl::accept(StreamListener& listener) {
  listener.acceptor.async_accept(
      strand_, [self = shared_from_this(), &listener](const error_code& error, tcp::socket socket) {
        if (self->stopped_ || error == asio::error::operation_aborted) return;
        if (!error) {
          error_code remote_error;
          auto remote = socket.remote_endpoint(remote_error);
          if (remote_error || self->connections_.size() >= self->config_.max_connections ||
              !self->admits(remote.address().to_string())) {
            ++self->connections_refused_;
            if (!remote_error) {
              logger().debug("SIP connection refused",
                             {{"source.ip", remote.address().to_string()}, {"source.port", remote.port()}});
            }
            error_code ignored;
            socket.close(ignored);
          } else {
            Peer peer{listener.transport, remote.address().to_string(), remote.port(), 0};
            auto connection = self->make_connection(listener.transport, std::move(socket), peer, /*inbound=*/true);
            if (connection) connection->start_inbound();
          }
        }
        self->accept(listener);
      });
}

bool Transport::Impl::admits(const std::string& source) const {
  if (config_.trusted_sources.contains(source)) return true;
  auto it = inbound_by_source_.find(source);
  return it == inbound_by_source_.end() || it->second < config_.max_connections_per_source;
}

void Transport::Impl::schedule_reaper() {
  reaper_.expires_after(config_.idle_check_interval);
  reaper_.async_wait([self = shared_from_this()](const error_code& error) {
    if (error || self->stopped_) return;
    self->reap_idle();
    self->schedule_reaper();
  });
}

void Transport::Impl::reap_idle() {
  const TimePoint now = clock_.now();
  std::vector<std::shared_ptr<Connection>> idle;
  for (const auto& [id, connection] : connections_) {
    if (now - connection->last_activity() >= config_.idle_timeout) idle.push_back(connection);
  }
  for (const auto& connection : idle) {
    ++connections_reaped_;
    logger().debug("idle SIP connection closed", {{"source.ip", connection->peer().address},
                                                  {"source.port", connection->peer().port},
                                                  {"vontres.sip.idle_timeout_ms", config_.idle_timeout.count()}});
    connection->close();  // calls connection_closed(), which forgets it
  }
}

std::shared_ptr<Connection> Transport::Impl::make_connection(TransportKind transport, tcp::socket socket, Peer peer,
                                                             bool inbound) {
  const uint64_t id = next_connection_++;
  peer.connection = id;
  std::shared_ptr<Connection> connection;
  if (transport == TransportKind::kTls) {
    ssl::context* context = inbound ? server_tls_.get() : client_tls_.get();
    if (!context) return nullptr;
    connection = std::make_shared<StreamConnection<ssl::stream<tcp::socket>>>(
        id, peer, inbound, clock_.now(), ssl::stream<tcp::socket>(std::move(socket), *context), weak_from_this(),
        config_);
  } else {
    connection = std::make_shared<StreamConnection<tcp::socket>>(id, peer, inbound, clock_.now(), std::move(socket),
                                                                 weak_from_this(), config_);
  }
  connections_.emplace(id, connection);
  if (inbound) ++inbound_by_source_[peer.address];
  by_remote_[remote_key(transport, peer.address, peer.port)] = id;
  connections_open_ = connections_.size();
  return connection;
}

void Transport::Impl::connection_closed(uint64_t id) {
  auto found = connections_.find(id);
  if (found == connections_.end()) return;
  const Peer& peer = found->second->peer();
  auto key = remote_key(peer.transport, peer.address, peer.port);
  if (auto remote = by_remote_.find(key); remote != by_remote_.end() && remote->second == id) by_remote_.erase(remote);
  if (found->second->inbound()) {
    if (auto source = inbound_by_source_.find(peer.address);
        source != inbound_by_source_.end() && --source->second == 0) {
      inbound_by_source_.erase(source);
    }
  }
  connections_.erase(found);
  connections_open_ = connections_.size();
}

void Transport::Impl::handle_raw(std::string_view raw, const Peer& source) {
  if (stopped_ || !handler_) return;
  if (is_keepalive(raw)) return;
  auto parsed = sip::parse_message(raw);
  if (!parsed) {
    std::optional<sip::Message> response;
    if (parsed.error) response = error_response_for(raw, *parsed.error);
    if (response) {
      ++answered_;
      send(response->serialize(), source, {});
    } else {
      ++dropped_unparsable_;
    }
    return;
  }
  sip::Message message = std::move(*parsed.message);
  if (!message.has_header("Via") || !message.has_header("CSeq")) {
    ++dropped_unparsable_;
    return;
  }
  ++received_;
  if (message.is_request()) stamp_received(message, source);
  handler_(std::move(message), source);
}

void Transport::Impl::send(std::string bytes, const Peer& peer, std::function<void()> on_failure) {
  auto fail = [this, &on_failure] {
    ++send_failures_;
    if (on_failure) asio::post(strand_, std::move(on_failure));
  };
  if (stopped_) return fail();
  auto address = resolve_numeric(peer.address);
  if (!address) return fail();
  auto shared = std::make_shared<const std::string>(std::move(bytes));
  if (peer.transport == TransportKind::kUdp) {
    udp::socket* socket = nullptr;
    for (auto& listener : udp_) {
      error_code error;
      auto local = listener->socket.local_endpoint(error);
      if (!error && local.address().is_v4() == address->is_v4()) {
        socket = &listener->socket;
        break;
      }
    }
    if (!socket) return fail();
    ++sent_;
    socket->async_send_to(asio::buffer(*shared), udp::endpoint(*address, peer.port),
                          [self = shared_from_this(), shared, on_failure = std::move(on_failure)](
                              const error_code& error, size_t) mutable {
                            if (error && !self->stopped_) {
                              ++self->send_failures_;
                              if (on_failure) on_failure();
                            }
                          });
    return;
  }
  std::shared_ptr<Connection> connection;
  if (peer.connection != 0) {
    if (auto found = connections_.find(peer.connection); found != connections_.end()) connection = found->second;
  }
  if (!connection) {
    auto key = remote_key(peer.transport, address->to_string(), peer.port);
    if (auto found = by_remote_.find(key); found != by_remote_.end()) connection = connections_.at(found->second);
  }
  if (!connection) {
    if (connections_.size() >= config_.max_connections) return fail();
    Peer remote{peer.transport, address->to_string(), peer.port, 0};
    connection = make_connection(peer.transport, tcp::socket(strand_), remote, /*inbound=*/false);
    if (!connection) return fail();
    connection->start_outbound(tcp::endpoint(*address, peer.port));
  }
  ++sent_;
  connection->write(shared, std::move(on_failure));
}

Transport::Transport(Strand strand, TransportConfig config, MessageHandler on_message, const Clock& clock)
    : impl_(std::make_shared<Impl>(std::move(strand), std::move(config), std::move(on_message), clock)) {}

Transport::~Transport() { impl_->stop(); }

Status Transport::start() { return impl_->start(); }
void Transport::stop() { impl_->stop(); }
const std::vector<BoundListener>& Transport::listeners() const { return impl_->bound_; }

const BoundListener* Transport::listener(TransportKind transport) const {
  for (const auto& bound : impl_->bound_) {
    if (bound.transport == transport) return &bound;
  }
  return nullptr;
}

void Transport::send(std::string bytes, const Peer& peer, std::function<void()> on_failure) {
  impl_->send(std::move(bytes), peer, std::move(on_failure));
}

TransportStats Transport::stats() const {
  TransportStats stats;
  stats.messages_received = impl_->received_;
  stats.messages_sent = impl_->sent_;
  stats.dropped_unparsable = impl_->dropped_unparsable_;
  stats.dropped_oversize = impl_->dropped_oversize_;
  stats.answered_malformed = impl_->answered_;
  stats.send_failures = impl_->send_failures_;
  stats.connections_open = impl_->connections_open_;
  stats.connections_refused = impl_->connections_refused_;
  stats.connections_reaped = impl_->connections_reaped_;
  return stats;
}

}  // namespace vontres::telephony::ua
