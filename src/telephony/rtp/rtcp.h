// RTCP (RFC 3550 section 6): sender reports, receiver reports and BYE, parsed from and appended to
// compound packets; other packet types (SDES, APP, XR, feedback) are skipped and counted. Also the
// receive-side statistics of RFC 3550 appendix A (sequence tracking with wraparound, loss, jitter)
// that fill a report block.
//
// Thread-safety: pure functions and value types; ReceptionStats is single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace vontres::telephony::rtp {

inline constexpr std::string_view kErrorBadRtcp = "rtcp_bad_packet";

struct ReportBlock {
  uint32_t ssrc = 0;
  uint8_t fraction_lost = 0;         // lost fraction since the last report, in 1/256
  int32_t cumulative_lost = 0;       // 24-bit signed on the wire
  uint32_t highest_sequence = 0;     // extended: cycles << 16 | highest sequence number
  uint32_t jitter = 0;               // in timestamp units
  uint32_t last_sr = 0;              // middle 32 bits of the last SR's NTP timestamp
  uint32_t delay_since_last_sr = 0;  // in 1/65536 s
  friend bool operator==(const ReportBlock&, const ReportBlock&) = default;
};

struct SenderReport {
  uint32_t ssrc = 0;
  uint64_t ntp_timestamp = 0;  // 32.32 fixed point seconds since 1900
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;          // payload octets
  std::vector<ReportBlock> reports;  // at most 31
  friend bool operator==(const SenderReport&, const SenderReport&) = default;
};

struct ReceiverReport {
  uint32_t ssrc = 0;
  std::vector<ReportBlock> reports;  // at most 31
  friend bool operator==(const ReceiverReport&, const ReceiverReport&) = default;
};

struct Bye {
  std::vector<uint32_t> ssrcs;  // at most 31
  std::string reason;           // at most 255 bytes
  friend bool operator==(const Bye&, const Bye&) = default;
};

struct RtcpCompound {
  std::vector<SenderReport> sender_reports;
  std::vector<ReceiverReport> receiver_reports;
  std::vector<Bye> byes;
  size_t skipped = 0;  // packets of other types
};

// Parses a compound packet: every packet must be version 2 with a length that fits; padding only
// on the last one (RFC 3550 6.4.1 / A.2).
Result<RtcpCompound> parse_rtcp(std::span<const uint8_t> datagram);

// Append one packet to `out`; report lists longer than 31 and reasons longer than 255 are truncated.
void append_sender_report(const SenderReport& report, std::vector<uint8_t>& out);
void append_receiver_report(const ReceiverReport& report, std::vector<uint8_t>& out);
void append_bye(const Bye& bye, std::vector<uint8_t>& out);
// An SDES packet with one CNAME item (RFC 3550 requires one in every compound packet).
void append_sdes_cname(uint32_t ssrc, std::string_view cname, std::vector<uint8_t>& out);

// NTP 32.32 timestamp of a system_clock time point.
uint64_t to_ntp(std::chrono::system_clock::time_point time);

// Receive statistics for one source (RFC 3550 A.1, A.3, A.8).
class ReceptionStats {
 public:
  // Records a packet; `arrival` is in timestamp units (sample clock). Returns false for a packet the
  // source-validation rules of A.1 reject (a large jump not yet confirmed by a second packet).
  bool on_packet(uint16_t sequence, uint32_t rtp_timestamp, uint32_t arrival);

  uint64_t received() const { return received_; }
  // Expected minus received since the first packet; negative with duplicates.
  int64_t cumulative_lost() const;
  uint32_t extended_highest_sequence() const { return cycles_ + max_sequence_; }
  // Interarrival jitter in timestamp units.
  uint32_t jitter() const { return static_cast<uint32_t>(jitter_ / 16); }
  bool started() const { return started_; }

  // A report block for `ssrc`; updates the "since the last report" state for fraction_lost.
  ReportBlock make_report_block(uint32_t ssrc, uint32_t last_sr, uint32_t delay_since_last_sr);

 private:
  void reset(uint16_t sequence);
  bool started_ = false;
  uint16_t max_sequence_ = 0;
  uint32_t cycles_ = 0;
  uint32_t base_sequence_ = 0;
  uint32_t bad_sequence_ = 0x10001;
  uint64_t received_ = 0;
  uint64_t expected_prior_ = 0;
  uint64_t received_prior_ = 0;
  int64_t transit_ = 0;
  int64_t jitter_ = 0;  // scaled by 16 (A.8)
  bool have_transit_ = false;
};

}  // namespace vontres::telephony::rtp
