#include "telephony/ua/transaction_layer.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace vontres::telephony::ua {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return out;
}

std::optional<sip::CSeq> cseq_of(const sip::Message& message) {
  auto text = message.header("CSeq");
  if (!text) return std::nullopt;
  auto cseq = sip::parse_cseq(*text);
  if (!cseq) return std::nullopt;
  return std::move(cseq).value();
}

std::optional<sip::Via> top_via(const sip::Message& message) {
  auto text = message.header("Via");
  if (!text) return std::nullopt;
  auto via = sip::parse_via(*text);
  if (!via) return std::nullopt;
  return std::move(via).value();
}

}  // namespace

std::string client_key(const sip::Message& message) {
  auto via = top_via(message);
  auto cseq = cseq_of(message);
  if (!via || !cseq) return {};
  std::string branch = via->branch();
  if (branch.empty()) return {};
  return branch + "|" + cseq->method;
}

std::string server_key(const sip::Message& request, std::string_view method_override) {
  auto via = top_via(request);
  auto cseq = cseq_of(request);
  if (!via || !cseq) return {};
  std::string method = method_override.empty() ? request.method() : std::string(method_override);
  if (method == "ACK") method = "INVITE";
  std::string branch = via->branch();
  if (branch.starts_with(kMagicCookie)) {
    uint16_t port = via->port.value_or(via->transport == "TLS" ? 5061 : 5060);
    return "3261|" + branch + "|" + lower(via->host) + ":" + std::to_string(port) + "|" + method;
  }
  // RFC 2543 (17.2.3): Request-URI, From tag, Call-ID, CSeq number and top Via. The To tag is
  // left out so the ACK (which carries our tag) finds the INVITE (which did not).
  std::string key = "2543|" + request.request_uri() + "|" + tag_of(request.header("From").value_or("")) + "|" +
                    std::string(request.header("Call-ID").value_or("")) + "|" + std::to_string(cseq->sequence) + "|" +
                    via->to_string() + "|" + method;
  return key;
}

TransactionLayer::TransactionLayer(const Clock& clock, const TimerConfig& timers, TransactionUser& user)
    : clock_(clock), timers_(timers), user_(user) {}

TransactionLayer::~TransactionLayer() = default;

Result<TransactionId> TransactionLayer::send_request(sip::Message request, const Peer& destination) {
  if (!request.is_request() || request.method() == "ACK") {
    return invalid_argument("ACK and responses are sent without a transaction", "not_a_transaction_request");
  }
  std::string key = client_key(request);
  if (key.empty() || !key.starts_with(kMagicCookie)) {
    return invalid_argument("request needs a top Via with a z9hG4bK branch and a CSeq", "missing_branch");
  }
  if (client_index_.contains(key)) return invalid_argument("branch already in use: " + key, "duplicate_transaction");
  const bool reliable = is_reliable(destination.transport);
  const bool invite = request.method() == "INVITE";
  TransactionId id = next_id_++;
  Entry entry;
  entry.client = invite ? make_client_invite(std::move(request), reliable, timers_)
                        : make_client_non_invite(std::move(request), reliable, timers_);
  entry.peer = destination;
  entry.key = key;
  auto output = entry.client->start(clock_.now());
  entries_.emplace(id, std::move(entry));
  client_index_.emplace(std::move(key), id);
  apply(id, std::move(output));
  return id;
}

void TransactionLayer::receive(const sip::Message& message, const Peer& source) {
  const TimePoint now = clock_.now();
  if (message.is_response()) {
    auto found = client_index_.find(client_key(message));
    if (found == client_index_.end()) {
      user_.on_stray(message, source);
      return;
    }
    TransactionId id = found->second;
    apply(id, entries_.at(id).client->on_response(message, now));
    return;
  }
  std::string key = server_key(message);
  if (key.empty()) return;  // no Via/CSeq: the transport should not have passed it up
  if (auto found = server_index_.find(key); found != server_index_.end()) {
    TransactionId id = found->second;
    apply(id, entries_.at(id).server->on_request(message, now));
    return;
  }
  if (message.method() == "ACK") {
    user_.on_stray(message, source);
    return;
  }
  const bool reliable = is_reliable(source.transport);
  TransactionId id = next_id_++;
  Entry entry;
  entry.server = message.method() == "INVITE" ? make_server_invite(message, reliable, timers_)
                                              : make_server_non_invite(message, reliable, timers_);
  entry.peer = source;
  entry.key = key;
  auto output = entry.server->start(now);
  entries_.emplace(id, std::move(entry));
  server_index_.emplace(std::move(key), id);
  apply(id, std::move(output));
  user_.on_request(id, message, source);
  reschedule(id);
}

Status TransactionLayer::respond(TransactionId server, sip::Message response) {
  auto found = entries_.find(server);
  if (found == entries_.end() || !found->second.server) {
    return not_found("no server transaction " + std::to_string(server), "transaction_not_found");
  }
  auto output = found->second.server->respond(std::move(response), clock_.now());
  if (!output) return output.status();
  apply(server, std::move(output).value());
  return Status::ok();
}

void TransactionLayer::on_timer() {
  const TimePoint now = clock_.now();
  std::vector<TransactionId> due;
  for (const auto& [deadline, id] : deadlines_) {
    if (deadline > now) break;
    due.push_back(id);
  }
  for (TransactionId id : due) {
    auto found = entries_.find(id);
    if (found == entries_.end()) continue;
    apply(id, found->second.machine().on_timer(now));
  }
}

std::optional<TimePoint> TransactionLayer::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

void TransactionLayer::on_transport_error(TransactionId id) {
  auto found = entries_.find(id);
  if (found == entries_.end()) return;
  apply(id, found->second.machine().on_transport_error());
}

std::optional<TransactionId> TransactionLayer::find_invite_for_cancel(const sip::Message& cancel) const {
  auto found = server_index_.find(server_key(cancel, "INVITE"));
  if (found == server_index_.end()) return std::nullopt;
  return found->second;
}

const ServerTransaction* TransactionLayer::server(TransactionId id) const {
  auto found = entries_.find(id);
  return found == entries_.end() ? nullptr : found->second.server.get();
}

const ClientTransaction* TransactionLayer::client(TransactionId id) const {
  auto found = entries_.find(id);
  return found == entries_.end() ? nullptr : found->second.client.get();
}

const Peer* TransactionLayer::peer(TransactionId id) const {
  auto found = entries_.find(id);
  return found == entries_.end() ? nullptr : &found->second.peer;
}

void TransactionLayer::apply(TransactionId id, TransactionOutput output) {
  auto found = entries_.find(id);
  if (found == entries_.end()) return;
  const Peer peer = found->second.peer;
  const bool is_client = found->second.client != nullptr;
  for (const auto& message : output.send) user_.send(id, message, peer);
  if (output.deliver) {
    if (is_client) {
      user_.on_response(id, *output.deliver);
    } else {
      user_.on_stray(*output.deliver, peer);
    }
  }
  if (output.timed_out || output.transport_failed) {
    if (is_client) {
      user_.on_client_failure(id, output.timed_out);
    } else {
      user_.on_server_failure(id, output.timed_out);
    }
  }
  reschedule(id);
}

void TransactionLayer::reschedule(TransactionId id) {
  auto found = entries_.find(id);
  if (found == entries_.end()) return;
  Entry& entry = found->second;
  if (entry.machine().terminated()) {
    erase(id);
    return;
  }
  auto next = entry.machine().next_deadline();
  if (next == entry.scheduled) return;
  if (entry.scheduled) deadlines_.erase({*entry.scheduled, id});
  entry.scheduled = next;
  if (next) deadlines_.emplace(*next, id);
}

void TransactionLayer::erase(TransactionId id) {
  auto found = entries_.find(id);
  if (found == entries_.end()) return;
  Entry& entry = found->second;
  if (entry.scheduled) deadlines_.erase({*entry.scheduled, id});
  auto& index = entry.client ? client_index_ : server_index_;
  if (auto k = index.find(entry.key); k != index.end() && k->second == id) index.erase(k);
  entries_.erase(found);
  user_.on_terminated(id);
}

}  // namespace vontres::telephony::ua
