// SIP transports over Boost.Asio (RFC 3261 18): UDP, TCP and TLS listeners on configured
// addresses (port 0 = the OS picks; listeners() reports the bound port), stream framing with
// sip::MessageFramer, received/rport stamping on incoming requests, error responses for
// malformed requests whose request line and Via are recoverable, and reuse of open TCP/TLS
// connections to the same peer. Parsed messages go to the MessageHandler.
//
// Abuse limits (issue 11, finding 13): stream connections that have received no byte for
// `idle_timeout` are closed (RFC 5626 CRLF keep-alives count as activity, so phones that keep
// their flow alive keep it); inbound connections are capped per source address (trusted sources
// exempt) and in total. Idleness is measured on the injected Clock and checked every
// `idle_check_interval` of real time, so a ManualClock drives it in tests.
//
// Threading: every socket lives on the strand given to the constructor; the handler and every
// failure callback run on it. start(), send() and stop() must be called on that strand (the
// SipStack does). Destroy only after stop() and once the io_context no longer runs its handlers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "telephony/sip/message.h"
#include "telephony/ua/source_limits.h"
#include "telephony/ua/types.h"

namespace vontres::telephony::ua {

struct ListenerConfig {
  TransportKind transport = TransportKind::kUdp;
  std::string address = "127.0.0.1";  // numeric, or "localhost"
  uint16_t port = 0;                  // 0: any free port
};

struct TransportConfig {
  std::vector<ListenerConfig> listeners;
  // TLS listeners and outgoing TLS need both files (PEM).
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  // Outgoing TLS: verify the server against tls_ca_file (system store when empty).
  bool tls_verify_peer = false;
  std::string tls_ca_file;
  size_t max_datagram_bytes = 65507;               // larger datagrams are dropped
  int udp_receive_buffer_bytes = 4 * 1024 * 1024;  // SO_RCVBUF (capped by net.core.rmem_max); 0: OS default
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 64 * 1024;
  size_t max_connections = 4096;                    // further accepts are closed at once
  size_t max_connections_per_source = 64;           // inbound, per source address (not for trusted_sources)
  AddressSet trusted_sources;                       // trunks / edge proxies exempt from the per-source cap
  std::chrono::milliseconds idle_timeout{300'000};  // no byte received this long closes; 0: never
  std::chrono::milliseconds idle_check_interval{1'000};
};

struct BoundListener {
  TransportKind transport;
  std::string address;
  uint16_t port;
};

// Counters since start (readable from any thread).
struct TransportStats {
  uint64_t messages_received = 0;
  uint64_t messages_sent = 0;
  uint64_t dropped_unparsable = 0;  // malformed, no response possible
  uint64_t dropped_oversize = 0;
  uint64_t answered_malformed = 0;  // malformed requests answered with 4xx/5xx
  uint64_t send_failures = 0;
  uint64_t connections_open = 0;
  uint64_t connections_refused = 0;  // accepts closed at once (total or per-source cap)
  uint64_t connections_reaped = 0;   // closed for idleness
};

class Transport {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  using MessageHandler = std::function<void(sip::Message message, const Peer& source)>;

  // `clock` must outlive the transport.
  Transport(Strand strand, TransportConfig config, MessageHandler on_message,
            const Clock& clock = SystemClock::instance());
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds every listener. Errors: invalid_argument "invalid_listen_address", "tls_config";
  // unavailable "address_in_use", "listen_failed".
  Status start();
  // Closes listeners and connections; no handler is called afterwards. Idempotent.
  void stop();

  const std::vector<BoundListener>& listeners() const;
  // The first listener of a transport, if any.
  const BoundListener* listener(TransportKind transport) const;

  // Sends raw bytes to `peer`. UDP: from the first UDP listener's socket. TCP/TLS: over
  // peer.connection when still open, else over an open connection to peer's address:port,
  // else over a new one. `on_failure` runs on the strand when the bytes could not be sent.
  void send(std::string bytes, const Peer& peer, std::function<void()> on_failure = {});

  TransportStats stats() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace vontres::telephony::ua
