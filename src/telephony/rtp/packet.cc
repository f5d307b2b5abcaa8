#include "telephony/rtp/packet.h"

#include <string>

namespace vontres::telephony::rtp {
namespace {

Status bad_packet(std::string message) { return invalid_argument(std::move(message), std::string(kErrorBadPacket)); }

uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t read32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

}  // namespace

uint32_t RtpView::csrc(size_t index) const { return read32(csrc_bytes.data() + 4 * index); }

Result<RtpView> parse_rtp(std::span<const uint8_t> datagram) {
  if (datagram.size() < kRtpHeaderBytes) return bad_packet("shorter than an RTP header");
  const uint8_t* p = datagram.data();
  if ((p[0] >> 6) != 2) return bad_packet("RTP version is not 2");
  RtpView view;
  bool padding = (p[0] & 0x20) != 0;
  view.has_extension = (p[0] & 0x10) != 0;
  view.csrc_count = p[0] & 0x0f;
  view.marker = (p[1] & 0x80) != 0;
  view.payload_type = p[1] & 0x7f;
  view.sequence = read16(p + 2);
  view.timestamp = read32(p + 4);
  view.ssrc = read32(p + 8);
  size_t offset = kRtpHeaderBytes;
  size_t csrc_bytes = 4u * view.csrc_count;
  if (datagram.size() < offset + csrc_bytes) return bad_packet("CSRC list runs past the end");
  view.csrc_bytes = datagram.subspan(offset, csrc_bytes);
  offset += csrc_bytes;
  if (view.has_extension) {
    if (datagram.size() < offset + 4) return bad_packet("extension header runs past the end");
    view.extension_profile = read16(p + offset);
    size_t words = read16(p + offset + 2);
    offset += 4;
    if (datagram.size() < offset + 4 * words) return bad_packet("extension runs past the end");
    view.extension = datagram.subspan(offset, 4 * words);
    offset += 4 * words;
  }
  size_t end = datagram.size();
  if (padding) {
    uint8_t count = datagram[end - 1];
    if (count == 0 || count > end - offset) return bad_packet("bad padding count");
    view.padding_bytes = count;
    end -= count;
  }
  view.payload = datagram.subspan(offset, end - offset);
  return view;
}

Status serialize_rtp(const RtpPacket& packet, std::vector<uint8_t>& out) {
  if (packet.payload_type > 127) return bad_packet("payload type above 127");
  if (packet.csrcs.size() > 15) return bad_packet("more than 15 CSRCs");
  if (packet.extension.size() % 4 != 0 || packet.extension.size() / 4 > 0xffff) {
    return bad_packet("extension must be whole 32-bit words");
  }
  if (!packet.extension.empty() && !packet.extension_profile) return bad_packet("extension without a profile");
  out.push_back(static_cast<uint8_t>(0x80 | (packet.padding_bytes > 0 ? 0x20 : 0) |
                                     (packet.extension_profile ? 0x10 : 0) | packet.csrcs.size()));
  out.push_back(static_cast<uint8_t>((packet.marker ? 0x80 : 0) | packet.payload_type));
  put16(out, packet.sequence);
  put32(out, packet.timestamp);
  put32(out, packet.ssrc);
  for (uint32_t csrc : packet.csrcs) put32(out, csrc);
  if (packet.extension_profile) {
    put16(out, *packet.extension_profile);
    put16(out, static_cast<uint16_t>(packet.extension.size() / 4));
    out.insert(out.end(), packet.extension.begin(), packet.extension.end());
  }
  out.insert(out.end(), packet.payload.begin(), packet.payload.end());
  if (packet.padding_bytes > 0) {
    out.insert(out.end(), packet.padding_bytes - 1, 0);
    out.push_back(packet.padding_bytes);
  }
  return Status::ok();
}

void write_rtp(bool marker, uint8_t payload_type, uint16_t sequence, uint32_t timestamp, uint32_t ssrc,
               std::span<const uint8_t> payload, std::vector<uint8_t>& out) {
  out.clear();
  out.push_back(0x80);
  out.push_back(static_cast<uint8_t>((marker ? 0x80 : 0) | (payload_type & 0x7f)));
  put16(out, sequence);
  put32(out, timestamp);
  put32(out, ssrc);
  out.insert(out.end(), payload.begin(), payload.end());
}

bool looks_like_rtcp(std::span<const uint8_t> datagram) {
  return datagram.size() >= 2 && (datagram[0] >> 6) == 2 && datagram[1] >= 200 && datagram[1] <= 204;
}

}  // namespace vontres::telephony::rtp
