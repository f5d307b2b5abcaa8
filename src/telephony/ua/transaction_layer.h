// The transaction layer (RFC 3261 17): owns every client and server transaction, matches
// incoming messages to them (17.1.3 for responses; 17.2.3 for requests: z9hG4bK branch +
// sent-by + method, with the RFC 2543 fallback for branches without the magic cookie), creates
// server transactions for new requests, and turns machine outputs into calls on the
// TransactionUser. Pure: time comes from the injected Clock, nothing sleeps; the owner calls
// on_timer() at next_deadline().
//
// Reentrancy: TransactionUser callbacks may call back into the layer (respond(), send_request()).
// Thread-safety: none; use it from one thread/strand.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "core/status.h"
#include "telephony/sip/message.h"
#include "telephony/ua/transaction.h"
#include "telephony/ua/types.h"

namespace vontres::telephony::ua {

using TransactionId = uint64_t;

// What the layer needs from above (the SipStack, or a test).
class TransactionUser {
 public:
  virtual ~TransactionUser() = default;
  // Hand `message` (sent by transaction `id`) to the transport for `peer`; report a failure
  // with TransactionLayer::on_transport_error(id).
  virtual void send(TransactionId id, const sip::Message& message, const Peer& peer) = 0;
  // A response for a client transaction (provisionals, the final, retransmitted 2xx for INVITE).
  virtual void on_response(TransactionId client, const sip::Message& response) = 0;
  // The client transaction ended without a final response: Timer B/F (timed_out) or transport error.
  virtual void on_client_failure(TransactionId client, bool timed_out) = 0;
  // A new request (not ACK) created server transaction `server`; answer with respond().
  virtual void on_request(TransactionId server, const sip::Message& request, const Peer& source) = 0;
  // The server transaction failed: Timer H (no ACK for a non-2xx final) or a transport error.
  virtual void on_server_failure(TransactionId server, bool timed_out) = 0;
  // A message no transaction took: an ACK for a 2xx (or for nothing), a response matching no
  // client transaction (e.g. a 2xx retransmission after Timer M).
  virtual void on_stray(const sip::Message& message, const Peer& source) = 0;
  // The transaction is gone (terminated and removed); its id will not be used again.
  virtual void on_terminated(TransactionId /*id*/) {}
};

// The matching keys, exposed for tests and for the stack's CANCEL lookup.
// Client (17.1.3): top-Via branch + CSeq method. Empty when the message has no usable Via/CSeq.
std::string client_key(const sip::Message& message);
// Server (17.2.3): branch + sent-by + method (ACK counts as INVITE); RFC 2543 fallback otherwise.
// `method_override`, when non-empty, replaces the method (e.g. "INVITE" to find a CANCEL's INVITE).
std::string server_key(const sip::Message& request, std::string_view method_override = {});

class TransactionLayer {
 public:
  TransactionLayer(const Clock& clock, const TimerConfig& timers, TransactionUser& user);
  ~TransactionLayer();
  TransactionLayer(const TransactionLayer&) = delete;
  TransactionLayer& operator=(const TransactionLayer&) = delete;

  // Starts a client transaction for `request` (not ACK), which must carry a top Via with a
  // z9hG4bK branch and a CSeq. Errors: invalid_argument "missing_branch", "duplicate_transaction".
  Result<TransactionId> send_request(sip::Message request, const Peer& destination);

  // An incoming message (already stamped with received/rport by the transport).
  void receive(const sip::Message& message, const Peer& source);

  // A response for server transaction `server`. Errors: not_found "transaction_not_found",
  // invalid_argument "response_not_allowed".
  Status respond(TransactionId server, sip::Message response);

  // Fires every timer that is due at clock.now().
  void on_timer();
  std::optional<TimePoint> next_deadline() const;

  // Reports a transport failure for messages sent to `peer` by this transaction.
  void on_transport_error(TransactionId id);

  // The server INVITE transaction a CANCEL refers to (RFC 3261 9.2), if it still exists.
  std::optional<TransactionId> find_invite_for_cancel(const sip::Message& cancel) const;
  // The transaction, or null when it terminated. Valid until the next call into the layer.
  const ServerTransaction* server(TransactionId id) const;
  const ClientTransaction* client(TransactionId id) const;
  const Peer* peer(TransactionId id) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::unique_ptr<ClientTransaction> client;
    std::unique_ptr<ServerTransaction> server;
    Peer peer;
    std::string key;
    std::optional<TimePoint> scheduled;
    Transaction& machine() { return client ? static_cast<Transaction&>(*client) : *server; }
  };
  void apply(TransactionId id, TransactionOutput output);
  void reschedule(TransactionId id);
  void erase(TransactionId id);

  const Clock& clock_;
  TimerConfig timers_;
  TransactionUser& user_;
  TransactionId next_id_ = 1;
  std::unordered_map<TransactionId, Entry> entries_;
  std::unordered_map<std::string, TransactionId> client_index_;
  std::unordered_map<std::string, TransactionId> server_index_;
  std::set<std::pair<TimePoint, TransactionId>> deadlines_;
};

}  // namespace vontres::telephony::ua
