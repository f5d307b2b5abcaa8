#include "telephony/ua/sip_stack.h"

#include <algorithm>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>
#include <utility>

#include "core/log.h"
#include "telephony/ua/reliable_response.h"
#include "telephony/ua/request_checks.h"
#include "telephony/ua/transport_rules.h"

namespace vontres::telephony::ua {
namespace {

namespace asio = boost::asio;

const log::Logger& logger() {
  static const log::Logger instance{"sip.stack"};
  return instance;
}

Result<Peer> peer_for(const Destination& to) {
  std::string host = to.host;
  if (host == "localhost") host = "127.0.0.1";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code error;
  auto address = asio::ip::make_address(host, error);
  if (error || to.port == 0) {
    return invalid_argument("destination must be a numeric host and a port: " + to.host, "unresolvable_destination");
  }
  return Peer{to.transport, address.to_string(), to.port, 0};
}

// The CANCEL for a pending INVITE (RFC 3261 9.1).
sip::Message make_cancel(const sip::Message& invite) {
  sip::Message cancel = sip::Message::request("CANCEL", invite.request_uri());
  if (auto via = invite.header("Via")) cancel.add_header("Via", std::string(*via));
  cancel.add_header("Max-Forwards", "70");
  for (auto route : invite.headers_named("Route")) cancel.add_header("Route", std::string(route));
  for (const char* name : {"From", "To", "Call-ID"}) {
    if (auto value = invite.header(name)) cancel.add_header(name, std::string(*value));
  }
  std::string number = "1";
  if (auto cseq = invite.header("CSeq")) number = std::string(cseq->substr(0, cseq->find_first_of(" \t")));
  cancel.add_header("CSeq", number + " CANCEL");
  return cancel;
}

}  // namespace

Result<Destination> destination_for_uri(std::string_view uri) {
  auto parsed = sip::parse_uri(uri);
  if (!parsed) return invalid_argument("not a SIP URI: " + std::string(uri), "unresolvable_uri");
  const sip::Uri& value = *parsed;
  if (value.scheme != "sip" && value.scheme != "sips") {
    return invalid_argument("not a SIP URI: " + std::string(uri), "unresolvable_uri");
  }
  Destination destination;
  destination.transport = value.scheme == "sips" ? TransportKind::kTls : TransportKind::kUdp;
  if (auto transport = value.param("transport")) {
    TransportKind kind;
    if (!parse_transport(*transport, kind)) {
      return invalid_argument("unsupported transport in " + std::string(uri), "unresolvable_uri");
    }
    if (value.scheme != "sips") destination.transport = kind;
  }
  destination.host = value.host;
  if (destination.host.size() > 2 && destination.host.front() == '[') {
    destination.host = destination.host.substr(1, destination.host.size() - 2);
  }
  destination.port = value.port.value_or(destination.transport == TransportKind::kTls ? 5061 : 5060);
  if (!peer_for(destination)) return invalid_argument("host is not numeric: " + value.host, "unresolvable_uri");
  return destination;
}

struct ServerTransactionHandle::State {
  sip::Message request;
  Peer source;
  TransactionId id = 0;
  std::string local_tag;
  std::weak_ptr<SipStack::Impl> stack;
};

class SipStack::Impl : public std::enable_shared_from_this<SipStack::Impl>, public TransactionUser {
 public:
  Impl(asio::io_context& io, SipStackConfig config, const Clock& clock)
      : strand_(asio::make_strand(io)),
        config_(std::move(config)),
        clock_(clock),
        layer_(clock, config_.timers, *this),
        reliable_(config_.timers),
        timer_(strand_),
        rng_(config_.random_seed != 0 ? config_.random_seed : std::random_device{}()) {}

  template <class F>
  void run(F&& function) {
    asio::dispatch(strand_, std::forward<F>(function));
  }

  Status start() {
    std::weak_ptr<Impl> weak = weak_from_this();
    transport_ = std::make_unique<Transport>(
        strand_, config_.transport,
        [weak](const sip::Message& message, const Peer& source) {
          if (auto self = weak.lock()) {
            self->layer_.receive(message, source);
            self->arm();
          }
        },
        clock_);
    VONTRES_RETURN_IF_ERROR(transport_->start());
    listeners_ = transport_->listeners();
    if (listeners_.empty()) return invalid_argument("no listener configured", "invalid_listen_address");
    return Status::ok();
  }

  void shutdown() {
    if (stopped_) return;
    stopped_ = true;
    if (transport_) transport_->stop();
    timer_.cancel();
    handlers_ = {};
    clients_.clear();
    servers_.clear();
    reliable_done_.clear();
  }

  // ---- Identity ----
  std::string random_hex(size_t bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    std::lock_guard lock(rng_mutex_);
    for (size_t i = 0; i < bytes; ++i) {
      auto value = static_cast<unsigned>(rng_() & 0xff);
      out.push_back(kDigits[value >> 4]);
      out.push_back(kDigits[value & 0xf]);
    }
    return out;
  }

  std::string sent_by(TransportKind transport) const {
    std::string host = config_.public_address;
    uint16_t port = config_.public_port;
    const BoundListener* chosen = nullptr;
    for (const auto& bound : listeners_) {
      if (bound.transport == transport) {
        chosen = &bound;
        break;
      }
    }
    if (!chosen && !listeners_.empty()) chosen = &listeners_.front();
    if (host.empty() && chosen) host = chosen->address;
    if (port == 0 && chosen) port = chosen->port;
    if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
    return host + ":" + std::to_string(port);
  }

  std::string contact(TransportKind transport, std::string_view user) const {
    std::string uri = "<sip:";
    if (!user.empty()) uri += std::string(user) + "@";
    uri += sent_by(transport);
    if (transport == TransportKind::kTcp) uri += ";transport=tcp";
    if (transport == TransportKind::kTls) uri += ";transport=tls";
    return uri + ">";
  }

  void prepare_request(sip::Message& request, TransportKind transport, const std::string& branch) const {
    request.prepend_header("Via", "SIP/2.0/" + std::string(transport_name(transport)) + " " + sent_by(transport) +
                                      ";branch=" + branch + ";rport");
    if (!request.has_header("Max-Forwards")) request.add_header("Max-Forwards", "70");
    if (!request.has_header("User-Agent") && !config_.user_agent.empty()) {
      request.add_header("User-Agent", config_.user_agent);
    }
  }

  // ---- Timer ----
  void arm() {
    if (stopped_) return;
    auto next = layer_.next_deadline();
    auto reliable_next = reliable_.next_deadline();
    if (reliable_next && (!next || *reliable_next < *next)) next = reliable_next;
    if (next == armed_) return;
    armed_ = next;
    if (!next) {
      timer_.cancel();
      return;
    }
    auto delay = std::max(Duration::zero(), *next - clock_.now());
    timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      if (error == asio::error::operation_aborted || self->stopped_) return;
      self->armed_.reset();
      self->layer_.on_timer();
      self->on_reliable_timer();
      self->arm();
    });
  }

  void on_reliable_timer() {
    auto due = reliable_.on_timer(clock_.now());
    for (const auto& [response, peer] : due.resend) transport_->send(response.serialize(), peer);
    for (const auto& key : due.expired) {
      auto found = reliable_done_.find(key);
      if (found == reliable_done_.end()) continue;
      auto done = std::move(found->second);
      reliable_done_.erase(found);
      logger().warn("no ACK for 2xx within 64*T1", {{"sip.transaction", key}});
      if (done) done(false);
    }
  }

  // ---- Client side ----
  struct ClientRecord {
    ResponseCallback callback;
    std::string branch;
    std::string ack_key;  // Call-ID|CSeq number of an INVITE, for ACK caching
    Peer peer;
    bool invite = false;
    bool provisional = false;
    bool final = false;
    bool cancel_pending = false;
    std::set<std::string> tags_2xx;
    std::unordered_map<std::string, std::pair<std::string, Peer>> acks;  // To tag -> wire ACK
  };

  void start_client(sip::Message request, const Peer& peer, const std::string& branch, ResponseCallback callback) {
    if (stopped_) return;
    prepare_request(request, peer.transport, branch);
    const bool invite = request.method() == "INVITE";
    std::string ack_key = invite ? ReliableResponses::key_of(request) : std::string();
    auto id = layer_.send_request(request, peer);
    if (!id) {
      logger().warn("cannot start client transaction", {{"error.code", std::string(id.status().code())}});
      if (callback) callback(make_response(request, 503));
      return;
    }
    ClientRecord record;
    record.callback = std::move(callback);
    record.branch = branch;
    record.ack_key = ack_key;
    record.peer = peer;
    record.invite = invite;
    clients_.emplace(*id, std::move(record));
    by_branch_[branch] = *id;
    if (invite) invite_by_key_[ack_key] = *id;
    arm();
  }

  void cancel(const std::string& branch) {
    auto found = by_branch_.find(branch);
    if (found == by_branch_.end()) return;
    auto record = clients_.find(found->second);
    if (record == clients_.end() || !record->second.invite || record->second.final) return;
    if (!record->second.provisional) {
      record->second.cancel_pending = true;
      return;
    }
    send_cancel(found->second);
  }

  void send_cancel(TransactionId invite_id) {
    const ClientTransaction* invite = layer_.client(invite_id);
    auto record = clients_.find(invite_id);
    if (!invite || record == clients_.end()) return;
    Peer peer = record->second.peer;
    auto id = layer_.send_request(make_cancel(invite->request()), peer);
    if (id) clients_.emplace(*id, ClientRecord{});
    arm();
  }

  void send_ack(sip::Message ack, const Peer& peer) {
    if (stopped_) return;
    prepare_request(ack, peer.transport, std::string(kMagicCookie) + random_hex(12));
    std::string wire = ack.serialize();
    if (auto invite = invite_by_key_.find(ReliableResponses::key_of(ack)); invite != invite_by_key_.end()) {
      if (auto record = clients_.find(invite->second); record != clients_.end()) {
        record->second.acks[tag_of(ack.header("To").value_or(""))] = {wire, peer};
      }
    }
    transport_->send(std::move(wire), peer);
  }

  // ---- Server side ----
  void respond(const std::shared_ptr<const ServerTransactionHandle::State>& state, sip::Message response, bool reliably,
               std::function<void(bool)> on_done) {
    if (stopped_) return;
    if (response.status() > 100) {
      if (auto to = response.header("To"); to && tag_of(*to).empty()) {
        response.set_header("To", std::string(*to) + ";tag=" + state->local_tag);
      }
    }
    const bool track =
        reliably && response.status() >= 200 && response.status() < 300 && state->request.method() == "INVITE";
    sip::Message copy = track ? response : sip::Message();
    Status status = layer_.respond(state->id, std::move(response));
    if (!status.is_ok()) {
      logger().debug("response not sent", {{"error.code", std::string(status.code())}});
      if (on_done) on_done(false);
      return;
    }
    if (track) {
      std::string key = ReliableResponses::key_of(copy);
      reliable_.add(std::move(copy), response_peer(state->request, state->source), clock_.now());
      reliable_done_[key] = std::move(on_done);
    }
    arm();
  }

  void answer_default(const ServerTransactionHandle::State& state) {
    const sip::Message& request = state.request;
    sip::Message response;
    if (request.method() == "OPTIONS") {
      response = make_response(request, 200, {}, state.local_tag);
      response.add_header("Allow", join_tokens(config_.allow));
      response.add_header("Accept", "application/sdp");
      response.add_header("Supported", join_tokens(config_.supported));
    } else if (!tag_of(request.header("To").value_or("")).empty()) {
      response = make_response(request, 481, {}, state.local_tag);
    } else if (request.method() == "INVITE") {
      response = make_response(request, 480, {}, state.local_tag);
    } else {
      response = make_response(request, 501, {}, state.local_tag);
    }
    (void)layer_.respond(state.id, std::move(response));
  }

  void handle_cancel(TransactionId cancel_id, const sip::Message& cancel) {
    auto invite_id = layer_.find_invite_for_cancel(cancel);
    const ServerTransaction* invite = invite_id ? layer_.server(*invite_id) : nullptr;
    if (!invite) {
      (void)layer_.respond(cancel_id, make_response(cancel, 481));
      return;
    }
    auto state = servers_.find(*invite_id);
    const std::string tag = state != servers_.end() ? state->second->local_tag : random_hex(8);
    (void)layer_.respond(cancel_id, make_response(cancel, 200, {}, tag));
    if (invite->has_final_response()) return;
    (void)layer_.respond(*invite_id, make_response(invite->request(), 487, {}, tag));
    if (state != servers_.end() && handlers_.on_cancel) {
      ServerTransactionHandle handle;
      handle.state_ = state->second;
      auto on_cancel = handlers_.on_cancel;
      on_cancel(handle);
    }
  }

  // ---- TransactionUser ----
  void send(TransactionId id, const sip::Message& message, const Peer& peer) override {
    Peer target = message.is_response() ? response_peer(message, peer) : peer;
    transport_->send(message.serialize(), target, [weak = weak_from_this(), id] {
      if (auto self = weak.lock(); self && !self->stopped_) {
        self->layer_.on_transport_error(id);
        self->arm();
      }
    });
  }

  void on_response(TransactionId id, const sip::Message& response) override {
    auto found = clients_.find(id);
    if (found == clients_.end()) return;
    ClientRecord& record = found->second;
    const int status = response.status();
    if (status < 200) {
      record.provisional = true;
      if (record.cancel_pending) {
        record.cancel_pending = false;
        send_cancel(id);
      }
    } else if (record.invite && status < 300) {
      std::string tag = tag_of(response.header("To").value_or(""));
      if (!record.tags_2xx.insert(tag).second) {
        // A retransmitted 2xx: our ACK was lost; send it again (13.2.2.4).
        if (auto ack = record.acks.find(tag); ack != record.acks.end()) {
          transport_->send(ack->second.first, ack->second.second);
        }
        return;
      }
      record.final = true;
    } else {
      record.final = true;
    }
    auto callback = record.callback;  // the callback may add records (rehash)
    if (callback) callback(response);
  }

  void on_client_failure(TransactionId id, bool timed_out) override {
    auto found = clients_.find(id);
    const ClientTransaction* transaction = layer_.client(id);
    if (found == clients_.end() || !transaction || found->second.final) return;
    found->second.final = true;
    auto callback = found->second.callback;
    if (callback) callback(make_response(transaction->request(), timed_out ? 408 : 503));
  }

  void on_request(TransactionId id, const sip::Message& request, const Peer& source) override {
    if (layer_.size() > config_.max_transactions && request.method() != "CANCEL") {
      auto busy = make_response(request, 503);
      busy.add_header("Retry-After", "5");
      (void)layer_.respond(id, std::move(busy));
      return;
    }
    if (auto rejection = check_request(request, UasPolicy{config_.allow, config_.supported, config_.content_types})) {
      (void)layer_.respond(id, std::move(*rejection));
      return;
    }
    if (request.method() == "CANCEL") {
      handle_cancel(id, request);
      return;
    }
    auto state = std::make_shared<ServerTransactionHandle::State>();
    state->request = request;
    state->source = source;
    state->id = id;
    state->local_tag = tag_of(request.header("To").value_or(""));
    if (state->local_tag.empty()) state->local_tag = random_hex(8);
    state->stack = weak_from_this();
    servers_[id] = state;
    ServerTransactionHandle handle;
    handle.state_ = state;
    bool taken = false;
    if (handlers_.on_request) {
      auto on_request = handlers_.on_request;
      taken = on_request(handle);
    }
    if (!taken) answer_default(*state);
  }

  void on_server_failure(TransactionId id, bool timed_out) override {
    logger().debug("server transaction failed", {{"sip.transaction_id", id}, {"timed_out", timed_out}});
  }

  void on_stray(const sip::Message& message, const Peer& source) override {
    if (!message.is_request() || message.method() != "ACK") return;  // stray responses are dropped
    if (reliable_.acknowledge(message)) {
      auto found = reliable_done_.find(ReliableResponses::key_of(message));
      if (found != reliable_done_.end()) {
        auto done = std::move(found->second);
        reliable_done_.erase(found);
        if (done) done(true);
      }
    }
    if (handlers_.on_ack) {
      auto on_ack = handlers_.on_ack;
      on_ack(message, source);
    }
  }

  void on_terminated(TransactionId id) override {
    if (auto found = clients_.find(id); found != clients_.end()) {
      if (auto branch = by_branch_.find(found->second.branch); branch != by_branch_.end() && branch->second == id) {
        by_branch_.erase(branch);
      }
      if (auto key = invite_by_key_.find(found->second.ack_key); key != invite_by_key_.end() && key->second == id) {
        invite_by_key_.erase(key);
      }
      clients_.erase(found);
    }
    servers_.erase(id);
  }

  Transport::Strand strand_;
  SipStackConfig config_;
  const Clock& clock_;
  std::unique_ptr<Transport> transport_;
  std::vector<BoundListener> listeners_;
  SipStackHandlers handlers_;
  TransactionLayer layer_;
  ReliableResponses reliable_;
  std::unordered_map<std::string, std::function<void(bool)>> reliable_done_;
  asio::steady_timer timer_;
  std::optional<TimePoint> armed_;
  std::unordered_map<TransactionId, ClientRecord> clients_;
  std::unordered_map<std::string, TransactionId> by_branch_;
  std::unordered_map<std::string, TransactionId> invite_by_key_;
  std::unordered_map<TransactionId, std::shared_ptr<ServerTransactionHandle::State>> servers_;
  std::mutex rng_mutex_;
  std::mt19937_64 rng_;  // guarded by rng_mutex_
  bool stopped_ = false;
};

// ---- ServerTransactionHandle ----
const sip::Message& ServerTransactionHandle::request() const { return state_->request; }
const Peer& ServerTransactionHandle::source() const { return state_->source; }
TransactionId ServerTransactionHandle::id() const { return state_->id; }
const std::string& ServerTransactionHandle::local_tag() const { return state_->local_tag; }

void ServerTransactionHandle::respond(sip::Message response) const {
  auto stack = state_->stack.lock();
  if (!stack) return;
  stack->run([stack, state = state_, response = std::move(response)]() mutable {
    stack->respond(state, std::move(response), false, {});
  });
}

void ServerTransactionHandle::respond(int status, std::string_view reason) const {
  respond(make_response(state_->request, status, reason, state_->local_tag));
}

void ServerTransactionHandle::respond_reliably(sip::Message response, std::function<void(bool acked)> on_done) const {
  auto stack = state_->stack.lock();
  if (!stack) return;
  stack->run([stack, state = state_, response = std::move(response), on_done = std::move(on_done)]() mutable {
    stack->respond(state, std::move(response), true, std::move(on_done));
  });
}

// ---- SipStack ----
SipStack::SipStack(asio::io_context& io, SipStackConfig config, const Clock& clock)
    : impl_(std::make_shared<Impl>(io, std::move(config), clock)) {}

SipStack::~SipStack() { impl_->shutdown(); }

void SipStack::set_handlers(SipStackHandlers handlers) { impl_->handlers_ = std::move(handlers); }

Status SipStack::start() { return impl_->start(); }

void SipStack::stop() {
  impl_->run([impl = impl_] { impl->shutdown(); });
}

std::vector<BoundListener> SipStack::listeners() const { return impl_->listeners_; }

uint16_t SipStack::port(TransportKind transport) const {
  for (const auto& bound : impl_->listeners_) {
    if (bound.transport == transport) return bound.port;
  }
  return 0;
}

Result<std::string> SipStack::send_request(sip::Message request, const Destination& to, ResponseCallback on_response) {
  if (!request.is_request() || request.method() == "ACK" || !request.has_header("Call-ID") ||
      !request.has_header("CSeq") || !request.has_header("From") || !request.has_header("To")) {
    return invalid_argument("a request (not ACK) with Call-ID, CSeq, From and To is needed", "bad_request");
  }
  VONTRES_ASSIGN_OR_RETURN(Peer peer, peer_for(to));
  std::string branch = std::string(kMagicCookie) + impl_->random_hex(12);
  impl_->run([impl = impl_, request = std::move(request), peer, branch, callback = std::move(on_response)]() mutable {
    impl->start_client(std::move(request), peer, branch, std::move(callback));
  });
  return branch;
}

void SipStack::cancel(const std::string& branch) {
  impl_->run([impl = impl_, branch] { impl->cancel(branch); });
}

Status SipStack::send_ack(sip::Message ack, const Destination& to) {
  if (!ack.is_request() || ack.method() != "ACK") return invalid_argument("not an ACK", "bad_request");
  VONTRES_ASSIGN_OR_RETURN(Peer peer, peer_for(to));
  impl_->run([impl = impl_, ack = std::move(ack), peer]() mutable { impl->send_ack(std::move(ack), peer); });
  return Status::ok();
}

sip::Message SipStack::new_request(std::string_view method, std::string request_uri, std::string_view from_uri,
                                   std::string_view to_uri, TransportKind transport) {
  sip::Message request = sip::Message::request(std::string(method), std::move(request_uri));
  request.add_header("Max-Forwards", "70");
  request.add_header("From", "<" + std::string(from_uri) + ">;tag=" + new_tag());
  request.add_header("To", "<" + std::string(to_uri) + ">");
  request.add_header("Call-ID", new_call_id());
  request.add_header("CSeq", "1 " + std::string(method));
  if (method == "INVITE" || method == "SUBSCRIBE" || method == "REFER") {
    request.add_header("Contact", contact(transport));
  }
  return request;
}

std::string SipStack::contact(TransportKind transport, std::string_view user) const {
  return impl_->contact(transport, user);
}
std::string SipStack::new_tag() { return impl_->random_hex(8); }
std::string SipStack::new_call_id() { return impl_->random_hex(16); }
TransportStats SipStack::transport_stats() const {
  return impl_->transport_ ? impl_->transport_->stats() : TransportStats{};
}
size_t SipStack::transaction_count() const { return impl_->layer_.size(); }

}  // namespace vontres::telephony::ua
