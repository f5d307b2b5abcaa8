// RFC 4733 telephone-events for DTMF digits: a receiver that turns the packet stream into begin/end
// notifications, and a sender plan that turns a digit into the packet sequence to transmit.
// An event is identified by its RTP timestamp: updates extend its duration, the end bit ends it and
// the (usually three) retransmitted end packets are ignored; a new timestamp is a new event and
// implicitly ends an unfinished previous one.
//
// Thread-safety: value types; one DtmfReceiver per media session, used on its strand.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace vontres::telephony::rtp {

// '0'-'9', '*', '#', 'A'-'D' <-> RFC 4733 events 0-15. Returns nullopt for anything else.
std::optional<uint8_t> dtmf_event_code(char digit);
std::optional<char> dtmf_digit(uint8_t event_code);

struct DtmfEvent {
  enum class Phase { kBegin, kEnd };
  Phase phase = Phase::kBegin;
  char digit = '0';
  uint32_t rtp_timestamp = 0;
  uint32_t duration = 0;  // in timestamp units (8 per millisecond at 8 kHz); final in kEnd
  uint8_t volume = 0;     // dBm0 below 0, 0-63
  friend bool operator==(const DtmfEvent&, const DtmfEvent&) = default;
};

class DtmfReceiver {
 public:
  // Feeds one telephone-event payload with its RTP timestamp. Returns 0, 1 or 2 notifications
  // (an implicit end of the previous event, then the begin of a new one; or a begin and end at once
  // when the first packet seen already carries the end bit). Malformed payloads and events that are
  // not DTMF digits (e.g. 16, flash) give none.
  std::vector<DtmfEvent> on_packet(uint32_t rtp_timestamp, std::span<const uint8_t> payload);
  uint64_t malformed() const { return malformed_; }

 private:
  struct Current {
    uint32_t timestamp = 0;
    char digit = '0';
    uint32_t duration = 0;
    uint8_t volume = 0;
    bool ended = false;
  };
  std::optional<Current> current_;
  uint64_t malformed_ = 0;
};

// One packet of a digit being sent; all packets of an event share the event's RTP timestamp.
struct DtmfPacket {
  bool marker = false;  // first packet of the event
  std::array<uint8_t, 4> payload{};
};

// The packets for `digit` lasting `duration`, one per `interval` (the ptime): updates with growing
// duration, then the final duration with the end bit three times (RFC 4733 section 2.5.1.4).
// Empty for a character that is not a DTMF digit. Durations are capped at 0xFFFF units.
std::vector<DtmfPacket> dtmf_packets(char digit, std::chrono::milliseconds duration,
                                     std::chrono::milliseconds interval = std::chrono::milliseconds(20),
                                     uint8_t volume = 10, uint32_t clock_rate = 8000);

}  // namespace vontres::telephony::rtp
