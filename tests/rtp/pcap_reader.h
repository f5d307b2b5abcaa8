// Reads the UDP payloads out of a classic libpcap file (Ethernet or Linux cooked link types, IPv4),
// so tests can feed real captured RTP (e.g. Debian sip-tester's RFC 4733 captures) to the parsers.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace vontres::telephony::rtp::testing {

inline std::vector<std::vector<uint8_t>> read_pcap_udp_payloads(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::vector<uint8_t>> payloads;
  auto read32 = [&](size_t at) {
    return static_cast<uint32_t>(bytes[at]) | (static_cast<uint32_t>(bytes[at + 1]) << 8) |
           (static_cast<uint32_t>(bytes[at + 2]) << 16) | (static_cast<uint32_t>(bytes[at + 3]) << 24);
  };
  if (bytes.size() < 24 || read32(0) != 0xa1b2c3d4) return payloads;
  uint32_t link_type = read32(20);
  size_t link_header = link_type == 1 ? 14 : link_type == 113 ? 16 : 0;
  size_t offset = 24;
  while (offset + 16 <= bytes.size()) {
    uint32_t captured = read32(offset + 8);
    size_t frame = offset + 16;
    offset = frame + captured;
    if (offset > bytes.size()) break;
    size_t ip = frame + link_header;
    if (ip + 20 > offset || (bytes[ip] >> 4) != 4 || bytes[ip + 9] != 17) continue;  // IPv4 UDP only
    size_t udp = ip + 4u * (bytes[ip] & 0x0f);
    if (udp + 8 > offset) continue;
    payloads.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(udp + 8),
                          bytes.begin() + static_cast<std::ptrdiff_t>(offset));
  }
  return payloads;
}

}  // namespace vontres::telephony::rtp::testing
