// Feeds arbitrary datagrams to the RTP and RTCP parsers (and the WAV parser and the DTMF receiver,
// which take the same untrusted bytes). Anything parse_rtp() accepts must survive a
// serialize/parse round trip with the same fields; RTCP reports that parse must re-encode to
// packets that parse to the same reports.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "telephony/rtp/dtmf.h"
#include "telephony/rtp/jitter_buffer.h"
#include "telephony/rtp/packet.h"
#include "telephony/rtp/rtcp.h"
#include "telephony/rtp/wav.h"

namespace rtp = vontres::telephony::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  if (auto view = rtp::parse_rtp(bytes); view.is_ok()) {
    rtp::RtpPacket packet;
    packet.marker = view->marker;
    packet.payload_type = view->payload_type;
    packet.sequence = view->sequence;
    packet.timestamp = view->timestamp;
    packet.ssrc = view->ssrc;
    for (size_t i = 0; i < view->csrc_count; ++i) packet.csrcs.push_back(view->csrc(i));
    if (view->has_extension) {
      packet.extension_profile = view->extension_profile;
      packet.extension.assign(view->extension.begin(), view->extension.end());
    }
    packet.payload.assign(view->payload.begin(), view->payload.end());
    packet.padding_bytes = view->padding_bytes;
    std::vector<uint8_t> wire;
    if (!rtp::serialize_rtp(packet, wire).is_ok()) std::abort();
    auto again = rtp::parse_rtp(wire);
    if (!again.is_ok() || again->sequence != packet.sequence || again->ssrc != packet.ssrc ||
        again->payload.size() != packet.payload.size() || again->csrc_count != view->csrc_count) {
      std::abort();
    }
    rtp::DtmfReceiver receiver;
    (void)receiver.on_packet(view->timestamp, view->payload);
    rtp::JitterBuffer buffer;
    buffer.push(view->sequence, view->timestamp, view->payload_type, view->payload, {});
    (void)buffer.pop(vontres::TimePoint{} + std::chrono::seconds(1));
  }
  if (auto compound = rtp::parse_rtcp(bytes); compound.is_ok()) {
    std::vector<uint8_t> wire;
    for (const auto& report : compound->sender_reports) rtp::append_sender_report(report, wire);
    for (const auto& report : compound->receiver_reports) rtp::append_receiver_report(report, wire);
    for (const auto& bye : compound->byes) rtp::append_bye(bye, wire);
    if (!wire.empty()) {
      auto again = rtp::parse_rtcp(wire);
      if (!again.is_ok() || again->sender_reports != compound->sender_reports ||
          again->receiver_reports != compound->receiver_reports || again->byes != compound->byes) {
        std::abort();
      }
    }
  }
  (void)rtp::parse_wav(bytes);
  return 0;
}
