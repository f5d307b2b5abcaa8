// RTP packets (RFC 3550 section 5.1): a strict, allocation-free parser that returns a view into the
// datagram, and a serializer. parse_rtp() checks version 2, the CSRC list, the header extension
// and the padding count against the datagram's size; it never reads outside `datagram`.
//
// Thread-safety: pure functions and value types.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/status.h"

namespace vontres::telephony::rtp {

// Status::code() of every parse error.
inline constexpr std::string_view kErrorBadPacket = "rtp_bad_packet";

inline constexpr size_t kRtpHeaderBytes = 12;
inline constexpr size_t kMaxDatagramBytes = 1500;

// A parsed packet; its spans point into the datagram given to parse_rtp().
struct RtpView {
  bool marker = false;
  uint8_t payload_type = 0;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  uint8_t csrc_count = 0;
  std::span<const uint8_t> csrc_bytes;  // 4 * csrc_count bytes, big-endian
  bool has_extension = false;
  uint16_t extension_profile = 0;
  std::span<const uint8_t> extension;  // the extension's data words, without its 4-byte header
  std::span<const uint8_t> payload;    // without padding
  uint8_t padding_bytes = 0;

  uint32_t csrc(size_t index) const;
};

Result<RtpView> parse_rtp(std::span<const uint8_t> datagram);

// An owned packet to send.
struct RtpPacket {
  bool marker = false;
  uint8_t payload_type = 0;  // 0-127
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::vector<uint32_t> csrcs;  // at most 15
  std::optional<uint16_t> extension_profile;
  std::vector<uint8_t> extension;  // a multiple of 4 bytes
  std::vector<uint8_t> payload;
  uint8_t padding_bytes = 0;  // 0 = no padding; else the padding length including its count byte
};

// Appends the wire form to `out`. Fails (invalid_argument, kErrorBadPacket) when a field cannot be
// encoded (payload type > 127, more than 15 CSRCs, extension not a multiple of 4).
Status serialize_rtp(const RtpPacket& packet, std::vector<uint8_t>& out);
// Writes a plain header (no CSRC, no extension) and `payload` to `out` (cleared first): the hot path.
void write_rtp(bool marker, uint8_t payload_type, uint16_t sequence, uint32_t timestamp, uint32_t ssrc,
               std::span<const uint8_t> payload, std::vector<uint8_t>& out);

// A cheap demultiplexing test (RFC 5761 section 4): true when the second byte is an RTCP type 200-204
// (which never collides with audio payload types 0-127 once the marker bit is masked).
bool looks_like_rtcp(std::span<const uint8_t> datagram);

}  // namespace vontres::telephony::rtp
