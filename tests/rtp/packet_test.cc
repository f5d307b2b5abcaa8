#include "telephony/rtp/packet.h"

#include <gtest/gtest.h>

#include <random>

#include "telephony/rtp/rtcp.h"

namespace vontres::telephony::rtp {
namespace {

TEST(RtpPacketTest, ParsesAPlainG711Packet) {
  std::vector<uint8_t> wire = {0x80, 0x80, 0x12, 0x34, 0x00, 0x00, 0x03, 0x20, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3};
  auto view = parse_rtp(wire);
  ASSERT_TRUE(view.is_ok()) << view.status().to_string();
  EXPECT_TRUE(view->marker);
  EXPECT_EQ(view->payload_type, 0);
  EXPECT_EQ(view->sequence, 0x1234);
  EXPECT_EQ(view->timestamp, 800u);
  EXPECT_EQ(view->ssrc, 0xdeadbeefu);
  EXPECT_EQ(view->csrc_count, 0);
  EXPECT_FALSE(view->has_extension);
  EXPECT_EQ(std::vector<uint8_t>(view->payload.begin(), view->payload.end()), (std::vector<uint8_t>{1, 2, 3}));
}

TEST(RtpPacketTest, SerializeParseRoundTripWithCsrcsExtensionAndPadding) {
  RtpPacket packet;
  packet.marker = true;
  packet.payload_type = 101;
  packet.sequence = 65535;
  packet.timestamp = 0xfffffff0;
  packet.ssrc = 42;
  packet.csrcs = {7, 8, 9};
  packet.extension_profile = 0xbede;
  packet.extension = {1, 2, 3, 4, 5, 6, 7, 8};
  packet.payload = {9, 9, 9, 9, 9};
  packet.padding_bytes = 3;
  std::vector<uint8_t> wire;
  ASSERT_TRUE(serialize_rtp(packet, wire).is_ok());
  EXPECT_EQ(wire.size(), 12u + 12 + 4 + 8 + 5 + 3);
  auto view = parse_rtp(wire);
  ASSERT_TRUE(view.is_ok()) << view.status().to_string();
  EXPECT_TRUE(view->marker);
  EXPECT_EQ(view->payload_type, 101);
  EXPECT_EQ(view->sequence, 65535);
  EXPECT_EQ(view->timestamp, 0xfffffff0u);
  ASSERT_EQ(view->csrc_count, 3);
  EXPECT_EQ(view->csrc(2), 9u);
  EXPECT_EQ(view->extension_profile, 0xbede);
  EXPECT_EQ(view->extension.size(), 8u);
  EXPECT_EQ(view->padding_bytes, 3);
  EXPECT_EQ(std::vector<uint8_t>(view->payload.begin(), view->payload.end()), packet.payload);
}

TEST(RtpPacketTest, WriteRtpMatchesSerialize) {
  std::vector<uint8_t> payload(160, 0xff);
  std::vector<uint8_t> fast;
  write_rtp(false, 8, 100, 16000, 5, payload, fast);
  RtpPacket packet;
  packet.payload_type = 8;
  packet.sequence = 100;
  packet.timestamp = 16000;
  packet.ssrc = 5;
  packet.payload = payload;
  std::vector<uint8_t> slow;
  ASSERT_TRUE(serialize_rtp(packet, slow).is_ok());
  EXPECT_EQ(fast, slow);
}

TEST(RtpPacketTest, RejectsMalformedPackets) {
  std::vector<uint8_t> header = {0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
  EXPECT_TRUE(parse_rtp(header).is_ok()) << "an empty payload is allowed";
  EXPECT_EQ(parse_rtp(std::span<const uint8_t>(header.data(), 11)).status().code(), kErrorBadPacket);
  auto bad = header;
  bad[0] = 0x40;  // version 1
  EXPECT_FALSE(parse_rtp(bad).is_ok());
  bad = header;
  bad[0] = 0x82;  // two CSRCs, none present
  EXPECT_FALSE(parse_rtp(bad).is_ok());
  bad = header;
  bad[0] = 0x90;  // extension, no header
  EXPECT_FALSE(parse_rtp(bad).is_ok());
  bad.insert(bad.end(), {0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4});  // claims 2 words, has 1
  EXPECT_FALSE(parse_rtp(bad).is_ok());
  bad = header;
  bad[0] = 0xa0;     // padding
  bad.push_back(0);  // count 0
  EXPECT_FALSE(parse_rtp(bad).is_ok());
  bad.back() = 2;  // more padding than the payload holds
  EXPECT_FALSE(parse_rtp(bad).is_ok());
  bad.back() = 1;
  EXPECT_TRUE(parse_rtp(bad).is_ok());
}

TEST(RtpPacketTest, SerializeRejectsUnencodableFields) {
  std::vector<uint8_t> out;
  RtpPacket packet;
  packet.payload_type = 128;
  EXPECT_FALSE(serialize_rtp(packet, out).is_ok());
  packet.payload_type = 0;
  packet.csrcs.assign(16, 1);
  EXPECT_FALSE(serialize_rtp(packet, out).is_ok());
  packet.csrcs.clear();
  packet.extension_profile = 1;
  packet.extension = {1, 2, 3};
  EXPECT_FALSE(serialize_rtp(packet, out).is_ok());
}

TEST(RtpPacketTest, RandomBytesNeverReadOutOfBounds) {
  std::mt19937 random(7);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> bytes(random() % 64);
    for (auto& b : bytes) b = static_cast<uint8_t>(random());
    if (!bytes.empty()) bytes[0] = static_cast<uint8_t>(0x80 | (bytes[0] & 0x3f));
    auto view = parse_rtp(bytes);
    if (view.is_ok()) {
      EXPECT_LE(view->payload.data() + view->payload.size(), bytes.data() + bytes.size());
      EXPECT_EQ(view->csrc_bytes.size(), 4u * view->csrc_count);
    }
  }
}

TEST(RtcpTest, SenderReportReceiverReportAndByeRoundTrip) {
  SenderReport sr;
  sr.ssrc = 1;
  sr.ntp_timestamp = 0x0123456789abcdefULL;
  sr.rtp_timestamp = 160;
  sr.packet_count = 50;
  sr.octet_count = 8000;
  sr.reports.push_back(ReportBlock{2, 25, -3, 70000, 12, 0x4567, 65536});
  ReceiverReport rr{3, {ReportBlock{4, 0, 100, 5, 6, 7, 8}}};
  Bye bye{{1, 3}, "call ended"};
  std::vector<uint8_t> wire;
  append_sender_report(sr, wire);
  append_sdes_cname(1, "vontres@host", wire);
  append_receiver_report(rr, wire);
  append_bye(bye, wire);
  EXPECT_EQ(wire.size() % 4, 0u);
  auto parsed = parse_rtcp(wire);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  ASSERT_EQ(parsed->sender_reports.size(), 1u);
  EXPECT_EQ(parsed->sender_reports[0], sr);
  ASSERT_EQ(parsed->receiver_reports.size(), 1u);
  EXPECT_EQ(parsed->receiver_reports[0], rr);
  ASSERT_EQ(parsed->byes.size(), 1u);
  EXPECT_EQ(parsed->byes[0], bye);
  EXPECT_EQ(parsed->skipped, 1u) << "the SDES packet";
}

TEST(RtcpTest, RejectsBadLengthsAndVersions) {
  std::vector<uint8_t> wire;
  append_receiver_report(ReceiverReport{3, {ReportBlock{}}}, wire);
  auto truncated = wire;
  truncated.resize(truncated.size() - 4);
  EXPECT_EQ(parse_rtcp(truncated).status().code(), kErrorBadRtcp);
  auto lying_count = wire;
  lying_count[0] = 0x82;  // two report blocks claimed, one present
  EXPECT_FALSE(parse_rtcp(lying_count).is_ok());
  auto version = wire;
  version[0] = 0x41;
  EXPECT_FALSE(parse_rtcp(version).is_ok());
  EXPECT_FALSE(parse_rtcp(std::vector<uint8_t>{0x80, 201}).is_ok());
}

TEST(RtcpTest, NtpTimestampOfTheUnixEpoch) {
  EXPECT_EQ(to_ntp(std::chrono::system_clock::time_point{}), 2208988800ULL << 32);
  EXPECT_EQ(to_ntp(std::chrono::system_clock::time_point{std::chrono::milliseconds(500)}),
            (2208988800ULL << 32) | 0x80000000ULL);
}

TEST(ReceptionStatsTest, CountsLossAcrossSequenceWraparound) {
  ReceptionStats stats;
  uint16_t sequence = 65530;
  uint32_t timestamp = 0;
  for (int i = 0; i < 20; ++i, ++sequence, timestamp += 160) {
    if (i == 4 || i == 9) continue;  // two losses, one of them right after the wrap
    EXPECT_TRUE(stats.on_packet(sequence, timestamp, timestamp));
  }
  EXPECT_EQ(stats.received(), 18u);
  EXPECT_EQ(stats.cumulative_lost(), 2);
  EXPECT_EQ(stats.extended_highest_sequence(), 0x10000u + 13);
  EXPECT_EQ(stats.jitter(), 0u) << "perfectly paced arrivals";
  ReportBlock block = stats.make_report_block(9, 0, 0);
  EXPECT_EQ(block.cumulative_lost, 2);
  EXPECT_EQ(block.fraction_lost, (2 * 256) / 20);
  EXPECT_EQ(stats.make_report_block(9, 0, 0).fraction_lost, 0) << "nothing new since the last report";
}

TEST(ReceptionStatsTest, JitterFollowsVaryingTransitTime) {
  ReceptionStats stats;
  uint32_t arrival = 1000;
  for (int i = 0; i < 200; ++i) {
    arrival += (i % 2 == 0) ? 160 + 80 : 160 - 80;  // +-10 ms around 20 ms
    stats.on_packet(static_cast<uint16_t>(i), static_cast<uint32_t>(i * 160), arrival);
  }
  EXPECT_NEAR(stats.jitter(), 80, 8);
}

TEST(ReceptionStatsTest, ALargeJumpNeedsASecondPacketToBeBelieved) {
  ReceptionStats stats;
  stats.on_packet(100, 0, 0);
  EXPECT_FALSE(stats.on_packet(30000, 160, 160));
  EXPECT_TRUE(stats.on_packet(30001, 320, 320)) << "the source restarted";
  EXPECT_EQ(stats.received(), 1u);
  EXPECT_EQ(stats.cumulative_lost(), 0);
}

}  // namespace
}  // namespace vontres::telephony::rtp
