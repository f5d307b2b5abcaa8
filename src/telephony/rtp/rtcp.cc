#include "telephony/rtp/rtcp.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace vontres::telephony::rtp {
namespace {

constexpr uint8_t kSenderReport = 200;
constexpr uint8_t kReceiverReport = 201;
constexpr uint8_t kSourceDescription = 202;
constexpr uint8_t kBye = 203;
constexpr size_t kMaxCount = 31;

Status bad_rtcp(std::string message) { return invalid_argument(std::move(message), std::string(kErrorBadRtcp)); }

uint32_t read32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

ReportBlock read_block(const uint8_t* p) {
  ReportBlock block;
  block.ssrc = read32(p);
  block.fraction_lost = p[4];
  uint32_t lost = (static_cast<uint32_t>(p[5]) << 16) | (static_cast<uint32_t>(p[6]) << 8) | p[7];
  block.cumulative_lost = (lost & 0x800000) != 0 ? static_cast<int32_t>(lost) - 0x1000000 : static_cast<int32_t>(lost);
  block.highest_sequence = read32(p + 8);
  block.jitter = read32(p + 12);
  block.last_sr = read32(p + 16);
  block.delay_since_last_sr = read32(p + 20);
  return block;
}

void put_block(const ReportBlock& block, std::vector<uint8_t>& out) {
  put32(out, block.ssrc);
  int32_t lost = std::clamp(block.cumulative_lost, -0x800000, 0x7fffff);
  uint32_t wire = static_cast<uint32_t>(lost) & 0xffffff;
  put32(out, (static_cast<uint32_t>(block.fraction_lost) << 24) | wire);
  put32(out, block.highest_sequence);
  put32(out, block.jitter);
  put32(out, block.last_sr);
  put32(out, block.delay_since_last_sr);
}

// Writes the common header with a placeholder length; returns the header's offset.
size_t begin_packet(uint8_t count, uint8_t type, std::vector<uint8_t>& out) {
  size_t start = out.size();
  out.push_back(static_cast<uint8_t>(0x80 | (count & 0x1f)));
  out.push_back(type);
  put16(out, 0);
  return start;
}

void end_packet(size_t start, std::vector<uint8_t>& out) {
  while ((out.size() - start) % 4 != 0) out.push_back(0);
  auto words = static_cast<uint16_t>((out.size() - start) / 4 - 1);
  out[start + 2] = static_cast<uint8_t>(words >> 8);
  out[start + 3] = static_cast<uint8_t>(words);
}

}  // namespace

Result<RtcpCompound> parse_rtcp(std::span<const uint8_t> datagram) {
  if (datagram.size() < 4) return bad_rtcp("shorter than an RTCP header");
  RtcpCompound compound;
  size_t offset = 0;
  while (offset < datagram.size()) {
    if (datagram.size() - offset < 4) return bad_rtcp("truncated RTCP header");
    const uint8_t* p = datagram.data() + offset;
    if ((p[0] >> 6) != 2) return bad_rtcp("RTCP version is not 2");
    bool padding = (p[0] & 0x20) != 0;
    uint8_t count = p[0] & 0x1f;
    uint8_t type = p[1];
    size_t length = (static_cast<size_t>(p[2]) << 8 | p[3]) * 4 + 4;
    if (length > datagram.size() - offset) return bad_rtcp("RTCP length runs past the end");
    size_t body_end = length;  // relative to p
    if (padding) {
      if (offset + length != datagram.size()) return bad_rtcp("padding on a packet that is not the last");
      uint8_t pad = p[length - 1];
      if (pad == 0 || pad > length - 4) return bad_rtcp("bad RTCP padding count");
      body_end -= pad;
    }
    if (type == kSenderReport || type == kReceiverReport) {
      size_t fixed = type == kSenderReport ? 28 : 8;
      if (body_end < fixed + 24u * count) return bad_rtcp("report shorter than its report count");
      std::vector<ReportBlock> blocks;
      blocks.reserve(count);
      for (size_t i = 0; i < count; ++i) blocks.push_back(read_block(p + fixed + 24 * i));
      if (type == kSenderReport) {
        SenderReport report;
        report.ssrc = read32(p + 4);
        report.ntp_timestamp = (static_cast<uint64_t>(read32(p + 8)) << 32) | read32(p + 12);
        report.rtp_timestamp = read32(p + 16);
        report.packet_count = read32(p + 20);
        report.octet_count = read32(p + 24);
        report.reports = std::move(blocks);
        compound.sender_reports.push_back(std::move(report));
      } else {
        compound.receiver_reports.push_back(ReceiverReport{read32(p + 4), std::move(blocks)});
      }
    } else if (type == kBye) {
      if (body_end < 4 + 4u * count) return bad_rtcp("BYE shorter than its source count");
      Bye bye;
      for (size_t i = 0; i < count; ++i) bye.ssrcs.push_back(read32(p + 4 + 4 * i));
      size_t reason_at = 4 + 4u * count;
      if (reason_at < body_end) {
        size_t reason_length = p[reason_at];
        if (reason_at + 1 + reason_length > body_end) return bad_rtcp("BYE reason runs past the end");
        bye.reason.assign(reinterpret_cast<const char*>(p + reason_at + 1), reason_length);
      }
      compound.byes.push_back(std::move(bye));
    } else {
      ++compound.skipped;
    }
    offset += length;
  }
  return compound;
}

void append_sender_report(const SenderReport& report, std::vector<uint8_t>& out) {
  size_t count = std::min(report.reports.size(), kMaxCount);
  size_t start = begin_packet(static_cast<uint8_t>(count), kSenderReport, out);
  put32(out, report.ssrc);
  put32(out, static_cast<uint32_t>(report.ntp_timestamp >> 32));
  put32(out, static_cast<uint32_t>(report.ntp_timestamp));
  put32(out, report.rtp_timestamp);
  put32(out, report.packet_count);
  put32(out, report.octet_count);
  for (size_t i = 0; i < count; ++i) put_block(report.reports[i], out);
  end_packet(start, out);
}

void append_receiver_report(const ReceiverReport& report, std::vector<uint8_t>& out) {
  size_t count = std::min(report.reports.size(), kMaxCount);
  size_t start = begin_packet(static_cast<uint8_t>(count), kReceiverReport, out);
  put32(out, report.ssrc);
  for (size_t i = 0; i < count; ++i) put_block(report.reports[i], out);
  end_packet(start, out);
}

void append_bye(const Bye& bye, std::vector<uint8_t>& out) {
  size_t count = std::min(bye.ssrcs.size(), kMaxCount);
  size_t start = begin_packet(static_cast<uint8_t>(count), kBye, out);
  for (size_t i = 0; i < count; ++i) put32(out, bye.ssrcs[i]);
  if (!bye.reason.empty()) {
    size_t length = std::min<size_t>(bye.reason.size(), 255);
    out.push_back(static_cast<uint8_t>(length));
    out.insert(out.end(), bye.reason.begin(), bye.reason.begin() + static_cast<std::ptrdiff_t>(length));
  }
  end_packet(start, out);
}

void append_sdes_cname(uint32_t ssrc, std::string_view cname, std::vector<uint8_t>& out) {
  size_t start = begin_packet(1, kSourceDescription, out);
  put32(out, ssrc);
  size_t length = std::min<size_t>(cname.size(), 255);
  out.push_back(1);  // CNAME
  out.push_back(static_cast<uint8_t>(length));
  out.insert(out.end(), cname.begin(), cname.begin() + static_cast<std::ptrdiff_t>(length));
  out.push_back(0);  // end of the item list; end_packet pads to a word
  end_packet(start, out);
}

uint64_t to_ntp(std::chrono::system_clock::time_point time) {
  constexpr uint64_t kUnixToNtpSeconds = 2208988800ULL;
  auto since_epoch = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  auto seconds = static_cast<uint64_t>(since_epoch / 1'000'000'000);
  auto nanos = static_cast<uint64_t>(since_epoch % 1'000'000'000);
  uint64_t fraction = (nanos << 32) / 1'000'000'000;
  return ((seconds + kUnixToNtpSeconds) << 32) | fraction;
}

void ReceptionStats::reset(uint16_t sequence) {
  max_sequence_ = sequence;
  cycles_ = 0;
  base_sequence_ = sequence;
  bad_sequence_ = 0x10001;
  received_ = 0;
  expected_prior_ = 0;
  received_prior_ = 0;
}

bool ReceptionStats::on_packet(uint16_t sequence, uint32_t rtp_timestamp, uint32_t arrival) {
  constexpr uint16_t kMaxDropout = 3000;
  constexpr uint16_t kMaxMisorder = 100;
  if (!started_) {
    started_ = true;
    reset(sequence);
  } else {
    auto delta = static_cast<uint16_t>(sequence - max_sequence_);
    if (delta < kMaxDropout) {
      if (sequence < max_sequence_) cycles_ += 0x10000;  // wrapped
      max_sequence_ = sequence;
    } else if (delta <= 0x10000 - kMaxMisorder) {
      // A very large jump: accept it only when the next packet confirms it (the source restarted).
      if (sequence == bad_sequence_) {
        reset(sequence);
      } else {
        bad_sequence_ = (static_cast<uint32_t>(sequence) + 1) & 0xffff;
        return false;
      }
    }
    // else: a duplicate or reordered packet; counted as received.
  }
  ++received_;
  auto transit = static_cast<int64_t>(arrival) - static_cast<int64_t>(rtp_timestamp);
  // Timestamps wrap at 2^32: fold the transit difference into int32 range.
  if (have_transit_) {
    auto d = static_cast<int32_t>(static_cast<uint32_t>(transit - transit_));
    int64_t magnitude = std::abs(static_cast<int64_t>(d));
    jitter_ += magnitude - ((jitter_ + 8) >> 4);
  }
  transit_ = transit;
  have_transit_ = true;
  return true;
}

int64_t ReceptionStats::cumulative_lost() const {
  if (!started_) return 0;
  int64_t expected = static_cast<int64_t>(extended_highest_sequence()) - base_sequence_ + 1;
  return expected - static_cast<int64_t>(received_);
}

ReportBlock ReceptionStats::make_report_block(uint32_t ssrc, uint32_t last_sr, uint32_t delay_since_last_sr) {
  ReportBlock block;
  block.ssrc = ssrc;
  block.cumulative_lost = static_cast<int32_t>(std::clamp<int64_t>(cumulative_lost(), -0x800000, 0x7fffff));
  block.highest_sequence = extended_highest_sequence();
  block.jitter = jitter();
  block.last_sr = last_sr;
  block.delay_since_last_sr = delay_since_last_sr;
  if (started_) {
    uint64_t expected = static_cast<uint64_t>(extended_highest_sequence()) - base_sequence_ + 1;
    uint64_t expected_interval = expected - expected_prior_;
    uint64_t received_interval = received_ - received_prior_;
    expected_prior_ = expected;
    received_prior_ = received_;
    if (expected_interval > 0 && expected_interval > received_interval) {
      block.fraction_lost = static_cast<uint8_t>(((expected_interval - received_interval) << 8) / expected_interval);
    }
  }
  return block;
}

}  // namespace vontres::telephony::rtp
