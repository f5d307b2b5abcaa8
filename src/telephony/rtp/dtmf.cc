#include "telephony/rtp/dtmf.h"

#include <algorithm>

namespace vontres::telephony::rtp {

std::optional<uint8_t> dtmf_event_code(char digit) {
  if (digit >= '0' && digit <= '9') return static_cast<uint8_t>(digit - '0');
  if (digit == '*') return 10;
  if (digit == '#') return 11;
  if (digit >= 'A' && digit <= 'D') return static_cast<uint8_t>(12 + digit - 'A');
  if (digit >= 'a' && digit <= 'd') return static_cast<uint8_t>(12 + digit - 'a');
  return std::nullopt;
}

std::optional<char> dtmf_digit(uint8_t event_code) {
  if (event_code <= 9) return static_cast<char>('0' + event_code);
  if (event_code == 10) return '*';
  if (event_code == 11) return '#';
  if (event_code <= 15) return static_cast<char>('A' + event_code - 12);
  return std::nullopt;
}

std::vector<DtmfEvent> DtmfReceiver::on_packet(uint32_t rtp_timestamp, std::span<const uint8_t> payload) {
  std::vector<DtmfEvent> events;
  if (payload.size() < 4) {
    ++malformed_;
    return events;
  }
  auto digit = dtmf_digit(payload[0]);
  bool end = (payload[1] & 0x80) != 0;
  auto volume = static_cast<uint8_t>(payload[1] & 0x3f);
  auto duration = static_cast<uint32_t>((payload[2] << 8) | payload[3]);
  if (current_ && rtp_timestamp == current_->timestamp) {
    if (current_->ended) return events;  // a retransmitted end packet
    current_->duration = std::max(current_->duration, duration);
    if (end) {
      current_->ended = true;
      events.push_back(DtmfEvent{DtmfEvent::Phase::kEnd, current_->digit, current_->timestamp, current_->duration,
                                 current_->volume});
    }
    return events;
  }
  if (current_ && static_cast<int32_t>(rtp_timestamp - current_->timestamp) < 0) {
    return events;  // a straggler of an older event
  }
  if (!digit) return events;
  if (current_ && !current_->ended) {
    events.push_back(
        DtmfEvent{DtmfEvent::Phase::kEnd, current_->digit, current_->timestamp, current_->duration, current_->volume});
  }
  current_ = Current{rtp_timestamp, *digit, duration, volume, end};
  events.push_back(DtmfEvent{DtmfEvent::Phase::kBegin, *digit, rtp_timestamp, duration, volume});
  if (end) events.push_back(DtmfEvent{DtmfEvent::Phase::kEnd, *digit, rtp_timestamp, duration, volume});
  return events;
}

std::vector<DtmfPacket> dtmf_packets(char digit, std::chrono::milliseconds duration, std::chrono::milliseconds interval,
                                     uint8_t volume, uint32_t clock_rate) {
  std::vector<DtmfPacket> packets;
  auto code = dtmf_event_code(digit);
  if (!code || interval.count() <= 0) return packets;
  auto units_per_interval = static_cast<uint32_t>(interval.count() * clock_rate / 1000);
  auto total = static_cast<uint32_t>(std::min<int64_t>(duration.count() * clock_rate / 1000, 0xffff));
  total = std::max(total, units_per_interval);
  auto make = [&](uint32_t units, bool end, bool marker) {
    DtmfPacket packet;
    packet.marker = marker;
    packet.payload = {*code, static_cast<uint8_t>((end ? 0x80 : 0) | (volume & 0x3f)), static_cast<uint8_t>(units >> 8),
                      static_cast<uint8_t>(units)};
    return packet;
  };
  for (uint32_t units = units_per_interval; units < total; units += units_per_interval) {
    packets.push_back(make(units, false, packets.empty()));
  }
  for (int i = 0; i < 3; ++i) packets.push_back(make(total, true, packets.empty()));
  return packets;
}

}  // namespace vontres::telephony::rtp
