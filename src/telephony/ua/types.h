// Small value types shared by every layer of the SIP user agent: transports, peers (where a
// message came from / goes to), the RFC 3261 timer values, and helpers that build the parts of
// messages the transaction layer must generate itself (100 Trying, ACK for non-2xx, 408).
//
// Thread-safety: value types and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "telephony/sip/message.h"

namespace vontres::telephony::ua {

enum class TransportKind { kUdp, kTcp, kTls };

// "UDP", "TCP", "TLS" (the Via transport token).
std::string_view transport_name(TransportKind kind);
// Parses a Via transport token or a ";transport=" URI parameter, case-insensitively.
bool parse_transport(std::string_view text, TransportKind& out);
// TCP and TLS are reliable: no retransmissions, zero linger timers (RFC 3261 17.1.1.2 ...).
inline bool is_reliable(TransportKind kind) { return kind != TransportKind::kUdp; }

// The other end of a message: numeric address + port over a transport. `connection` names the
// stream connection a message arrived on (0 for UDP or "any/new connection").
struct Peer {
  TransportKind transport = TransportKind::kUdp;
  std::string address;  // numeric IPv4/IPv6 (no brackets)
  uint16_t port = 0;
  uint64_t connection = 0;
  std::string to_string() const;  // "udp:127.0.0.1:5060"
  friend bool operator==(const Peer& a, const Peer& b) = default;
};

// RFC 3261 17.1.1.1 timer base values. Defaults are the RFC's recommended values.
struct TimerConfig {
  std::chrono::milliseconds t1{500};   // RTT estimate
  std::chrono::milliseconds t2{4000};  // maximum retransmit interval for non-INVITE / responses
  std::chrono::milliseconds t4{5000};  // maximum time a message stays in the network
  // Not in RFC 3261: an INVITE client transaction in Proceeding otherwise waits forever for a
  // final response (the TU is meant to CANCEL). After this, a 408 is reported (like
  // Kamailio's fr_inv_timer). Zero disables it.
  std::chrono::milliseconds invite_proceeding_timeout{std::chrono::minutes(3)};
  std::chrono::milliseconds timeout() const { return 64 * t1; }  // Timers B, F, H, J, L, M
};

// The z9hG4bK magic cookie (RFC 3261 8.1.1.7).
inline constexpr std::string_view kMagicCookie = "z9hG4bK";

// A response to `request` with Via (all), From, To, Call-ID, CSeq and Timestamp copied
// (RFC 3261 8.2.6). `to_tag`, when non-empty and To has no tag yet, is added to To. An empty
// `reason` means the standard phrase (sip::reason_phrase).
sip::Message make_response(const sip::Message& request, int status, std::string_view reason = {},
                           std::string_view to_tag = {});

// The tag parameter of a From/To value, or "" (tolerates unparsable values).
std::string tag_of(std::string_view name_addr);

}  // namespace vontres::telephony::ua
