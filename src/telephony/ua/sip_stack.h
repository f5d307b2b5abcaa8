// SipStack: the one object the call service uses to speak SIP. It binds the transports, runs
// the transaction layer, answers what a UA must answer on its own (100 Trying, OPTIONS 200,
// 501 for unknown methods, 481 for CANCEL/requests with no transaction or dialog, 420/416/483
// from request_checks, 200+487 for CANCEL, 503 over max_transactions), retransmits INVITE 2xx
// until ACK, and re-sends the ACK for retransmitted 2xx. Dialog state is the caller's
// (ua/dialog.h); the stack adds Via (branch, rport, advertised sent-by) and User-Agent.
//
// Threading: the stack runs on one strand of the io_context it is given; every handler and
// callback runs on that strand, so they must not block. Public methods may be called from any
// thread (work is dispatched to the strand; inline when already on it). Construct, set the
// handlers, start(); stop() then destroy, with the io_context stopped or from the strand.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "telephony/sip/message.h"
#include "telephony/ua/transaction_layer.h"
#include "telephony/ua/transport.h"
#include "telephony/ua/types.h"

namespace vontres::telephony::ua {

struct SipStackConfig {
  TransportConfig transport;
  // Host written into Via sent-by and Contact; empty: the first listener's bound address.
  std::string public_address;
  // Port written into Via/Contact; 0: the bound port of the listener of the message's transport.
  uint16_t public_port = 0;
  TimerConfig timers;
  std::string user_agent = "Vontres";
  std::vector<std::string> allow = {"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "INFO", "UPDATE", "REFER", "NOTIFY"};
  std::vector<std::string> supported = {"replaces"};  // option tags accepted in Require
  std::vector<std::string> content_types = {"application/sdp", "application/dtmf-relay", "message/sipfrag",
                                            "text/plain"};  // bodies accepted (else 415)
  uint64_t random_seed = 0;                                 // branches, tags, Call-IDs; 0: random_device
  // Overload: new requests beyond this many live transactions get 503 + Retry-After.
  size_t max_transactions = 100000;
};

// Where a request goes: a numeric host (or "localhost") and port over a transport.
struct Destination {
  TransportKind transport = TransportKind::kUdp;
  std::string host;
  uint16_t port = 5060;
};
// The destination of a SIP URI (RFC 3263 without DNS): sips or ;transport=tls -> TLS (5061),
// ;transport=tcp -> TCP, else UDP; port default 5060/5061; ;maddr is not supported.
// Errors: invalid_argument "unresolvable_uri" (not a numeric host / localhost, unknown scheme).
Result<Destination> destination_for_uri(std::string_view uri);

class SipStack;

// A received request and its server transaction. Cheap to copy; respond from any thread. After
// the transaction ends, respond() does nothing.
class ServerTransactionHandle {
 public:
  const sip::Message& request() const;
  const Peer& source() const;  // address, port and transport it came from
  TransactionId id() const;
  // The To tag used for responses that have none (generated per request; the UAS's dialog tag).
  const std::string& local_tag() const;
  // Sends a response; adds local_tag() to To for status > 100 when To has no tag.
  void respond(sip::Message response) const;
  // make_response(request(), status, reason) + local tag, sent.
  void respond(int status, std::string_view reason = {}) const;
  // For a 2xx to INVITE: sent, then retransmitted until the ACK (RFC 3261 13.3.1.4).
  // `on_done(true)` when the ACK came, `on_done(false)` after 64*T1 without it (send BYE then).
  void respond_reliably(sip::Message response, std::function<void(bool acked)> on_done = {}) const;

  struct State;

 private:
  friend class SipStack;
  std::shared_ptr<const State> state_;
};

struct SipStackHandlers {
  // A new request other than ACK/CANCEL, after the stack's checks. Return true when the handler
  // took it (it must then respond, now or later). Returning false lets the stack answer:
  // OPTIONS -> 200 (Allow/Accept/Supported), with a To tag -> 481, INVITE -> 480, others -> 501.
  std::function<bool(const ServerTransactionHandle& transaction)> on_request;
  // An ACK for a 2xx (any retransmission of the 2xx has stopped).
  std::function<void(const sip::Message& ack, const Peer& source)> on_ack;
  // A CANCEL matched a pending INVITE: the stack answered 200 to the CANCEL and 487 to the INVITE.
  std::function<void(const ServerTransactionHandle& invite)> on_cancel;
};

// Every provisional and final response to a request sent with send_request(); a timeout is
// reported as a synthesised 408, a transport failure as 503 (RFC 3261 8.1.3.1). For INVITE,
// each distinct 2xx (fork) is reported once; retransmissions are absorbed (and re-ACKed).
using ResponseCallback = std::function<void(const sip::Message& response)>;

class SipStack {
 public:
  SipStack(boost::asio::io_context& io, SipStackConfig config, const Clock& clock);
  ~SipStack();
  SipStack(const SipStack&) = delete;
  SipStack& operator=(const SipStack&) = delete;

  // Set before start().
  void set_handlers(SipStackHandlers handlers);
  // Binds the listeners (blocking, from any thread but the strand). Errors: see Transport::start.
  Status start();
  // Closes everything; no callback runs afterwards. Blocks until done unless on the strand.
  void stop();

  // The bound listeners (valid after start()).
  std::vector<BoundListener> listeners() const;
  uint16_t port(TransportKind transport) const;

  // Sends `request` (not ACK) in a new client transaction. The stack prepends a Via with a fresh
  // branch and ;rport, adds Max-Forwards and User-Agent if absent. Returns the branch, which
  // names the transaction for cancel(). Errors: invalid_argument "bad_request" (no Call-ID,
  // CSeq, From or To), "unresolvable_destination".
  Result<std::string> send_request(sip::Message request, const Destination& to, ResponseCallback on_response);
  // Cancels the pending INVITE sent with `branch` (RFC 3261 9.1): sends CANCEL once a
  // provisional response came (at once if one did). No effect after a final response.
  void cancel(const std::string& branch);
  // Sends an ACK for a 2xx (no transaction); it is re-sent if the 2xx is retransmitted.
  Status send_ack(sip::Message ack, const Destination& to);

  // Helpers for building requests.
  // A new out-of-dialog request: From <from_uri>;tag=new, To <to_uri>, fresh Call-ID, CSeq 1,
  // Max-Forwards 70, and Contact for INVITE/SUBSCRIBE/REFER (over `transport`).
  sip::Message new_request(std::string_view method, std::string request_uri, std::string_view from_uri,
                           std::string_view to_uri, TransportKind transport = TransportKind::kUdp);
  // "<sip:user@public_address:port[;transport=tcp]>".
  std::string contact(TransportKind transport, std::string_view user = {}) const;
  std::string new_tag();
  std::string new_call_id();

  TransportStats transport_stats() const;
  size_t transaction_count() const;  // for tests/metrics; call on the strand or when idle

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace vontres::telephony::ua
