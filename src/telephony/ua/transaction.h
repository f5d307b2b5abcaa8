// The four RFC 3261 section 17 transaction state machines (with the RFC 6026 "Accepted" state
// for INVITE 2xx), as pure logic: no sockets, no threads, no sleeping. Every input takes the
// current time and returns a TransactionOutput saying what to send to the peer and what to
// pass up to the transaction user (TU); next_deadline() says when on_timer() must be called.
//
// Reliable transports (TCP/TLS) never retransmit (timers A, E, G off) and linger zero time
// (timers D, I, J, K are zero: the machine terminates at once).
//
// Thread-safety: none; one owner (the TransactionLayer) drives each machine.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "telephony/sip/message.h"
#include "telephony/ua/types.h"

namespace vontres::telephony::ua {

struct TransactionOutput {
  std::vector<sip::Message> send;       // to the transaction's peer, in order
  std::optional<sip::Message> deliver;  // to the TU: a response (client) or an ACK (server, Accepted)
  bool timed_out = false;               // Timer B/F/proceeding timeout (client), Timer H (server)
  bool transport_failed = false;        // on_transport_error() was called
};

enum class TransactionState {
  kCalling,     // client INVITE, request sent
  kTrying,      // client/server non-INVITE, no response yet
  kProceeding,  // a provisional response was received / sent
  kAccepted,    // INVITE 2xx passed (RFC 6026): absorbs retransmissions
  kCompleted,   // final response received / sent (non-2xx for INVITE)
  kConfirmed,   // server INVITE: ACK received for a non-2xx final
  kTerminated,
};
std::string_view state_name(TransactionState state);

class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual TransactionOutput on_timer(TimePoint now) = 0;
  // The transport could not deliver a message: the transaction terminates and reports failure.
  virtual TransactionOutput on_transport_error() = 0;
  // Earliest pending timer; nullopt when none is armed.
  virtual std::optional<TimePoint> next_deadline() const = 0;
  TransactionState state() const { return state_; }
  bool terminated() const { return state_ == TransactionState::kTerminated; }
  bool is_invite() const { return invite_; }
  const sip::Message& request() const { return request_; }

 protected:
  Transaction(sip::Message request, bool reliable, const TimerConfig& timers, bool invite)
      : request_(std::move(request)), reliable_(reliable), timers_(timers), invite_(invite) {}
  sip::Message request_;
  bool reliable_;
  TimerConfig timers_;
  bool invite_;
  TransactionState state_ = TransactionState::kTrying;
};

class ClientTransaction : public Transaction {
 public:
  // Sends the request and arms the first timers. Call once, first.
  virtual TransactionOutput start(TimePoint now) = 0;
  virtual TransactionOutput on_response(const sip::Message& response, TimePoint now) = 0;

 protected:
  using Transaction::Transaction;
};

class ServerTransaction : public Transaction {
 public:
  // Arms the machine; for INVITE, the output carries the 100 Trying (sent at once).
  virtual TransactionOutput start(TimePoint now) = 0;
  // A retransmission of the request, or (INVITE) the ACK for a non-2xx final.
  virtual TransactionOutput on_request(const sip::Message& request, TimePoint now) = 0;
  // A response from the TU. Errors (final already sent, not a response) leave the state alone
  // and return invalid_argument "response_not_allowed".
  virtual Result<TransactionOutput> respond(sip::Message response, TimePoint now) = 0;
  // The last response sent (provisional or final), if any.
  virtual const std::optional<sip::Message>& last_response() const = 0;
  bool has_final_response() const { return last_response() && last_response()->status() >= 200; }

 protected:
  using Transaction::Transaction;
};

// RFC 3261 17.1.1 (+ RFC 6026 7.2 Accepted/Timer M). Non-2xx finals are ACKed here.
std::unique_ptr<ClientTransaction> make_client_invite(sip::Message invite, bool reliable, const TimerConfig& timers);
// RFC 3261 17.1.2.
std::unique_ptr<ClientTransaction> make_client_non_invite(sip::Message request, bool reliable,
                                                          const TimerConfig& timers);
// RFC 3261 17.2.1 (+ RFC 6026 7.1 Accepted/Timer L).
std::unique_ptr<ServerTransaction> make_server_invite(sip::Message invite, bool reliable, const TimerConfig& timers);
// RFC 3261 17.2.2.
std::unique_ptr<ServerTransaction> make_server_non_invite(sip::Message request, bool reliable,
                                                          const TimerConfig& timers);

// The ACK for a non-2xx final response (RFC 3261 17.1.1.3): Request-URI, Call-ID, From, top Via
// and Route of the INVITE, To of the response, CSeq <invite number> ACK.
sip::Message make_non_2xx_ack(const sip::Message& invite, const sip::Message& response);

}  // namespace vontres::telephony::ua
