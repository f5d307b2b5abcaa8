#include "telephony/rtp/dtmf.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "rtp/pcap_reader.h"
#include "telephony/rtp/packet.h"

namespace vontres::telephony::rtp {
namespace {

using Phase = DtmfEvent::Phase;

std::array<uint8_t, 4> event_payload(uint8_t code, bool end, uint16_t duration, uint8_t volume = 10) {
  return {code, static_cast<uint8_t>((end ? 0x80 : 0) | volume), static_cast<uint8_t>(duration >> 8),
          static_cast<uint8_t>(duration)};
}

TEST(DtmfTest, DigitCodesRoundTrip) {
  for (char digit : std::string("0123456789*#ABCD")) {
    auto code = dtmf_event_code(digit);
    ASSERT_TRUE(code);
    EXPECT_EQ(dtmf_digit(*code), digit);
  }
  EXPECT_FALSE(dtmf_event_code('x'));
  EXPECT_FALSE(dtmf_digit(16));
}

TEST(DtmfReceiverTest, OneEventWithUpdatesAndThreeEndPacketsIsOneDigit) {
  DtmfReceiver receiver;
  std::vector<DtmfEvent> events;
  auto feed = [&](uint32_t ts, std::array<uint8_t, 4> payload) {
    auto out = receiver.on_packet(ts, payload);
    events.insert(events.end(), out.begin(), out.end());
  };
  feed(1000, event_payload(5, false, 160));
  feed(1000, event_payload(5, false, 320));
  feed(1000, event_payload(5, false, 480));
  feed(1000, event_payload(5, true, 800));
  feed(1000, event_payload(5, true, 800));
  feed(1000, event_payload(5, true, 800));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], (DtmfEvent{Phase::kBegin, '5', 1000, 160, 10}));
  EXPECT_EQ(events[1], (DtmfEvent{Phase::kEnd, '5', 1000, 800, 10}));
}

TEST(DtmfReceiverTest, SameDigitTwiceIsTwoEventsBecauseTheTimestampChanges) {
  DtmfReceiver receiver;
  int ends = 0;
  for (uint32_t ts : {1000u, 3000u}) {
    for (auto& e : receiver.on_packet(ts, event_payload(1, false, 160))) ends += e.phase == Phase::kEnd;
    for (int i = 0; i < 3; ++i) {
      for (auto& e : receiver.on_packet(ts, event_payload(1, true, 640))) ends += e.phase == Phase::kEnd;
    }
  }
  EXPECT_EQ(ends, 2);
}

TEST(DtmfReceiverTest, LostEndPacketsAreImpliedByTheNextEvent) {
  DtmfReceiver receiver;
  receiver.on_packet(1000, event_payload(1, false, 160));
  auto events = receiver.on_packet(2000, event_payload(2, false, 160));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].phase, Phase::kEnd);
  EXPECT_EQ(events[0].digit, '1');
  EXPECT_EQ(events[1].phase, Phase::kBegin);
  EXPECT_EQ(events[1].digit, '2');
}

TEST(DtmfReceiverTest, OnlyEndPacketsSeenStillReportTheDigitOnce) {
  DtmfReceiver receiver;
  auto first = receiver.on_packet(1000, event_payload(11, true, 800));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].phase, Phase::kBegin);
  EXPECT_EQ(first[1].phase, Phase::kEnd);
  EXPECT_EQ(first[1].digit, '#');
  EXPECT_TRUE(receiver.on_packet(1000, event_payload(11, true, 800)).empty());
}

TEST(DtmfReceiverTest, IgnoresStragglersNonDigitsAndShortPayloads) {
  DtmfReceiver receiver;
  receiver.on_packet(5000, event_payload(3, true, 800));
  EXPECT_TRUE(receiver.on_packet(4000, event_payload(4, false, 160)).empty()) << "older timestamp";
  EXPECT_TRUE(receiver.on_packet(6000, event_payload(16, false, 160)).empty()) << "flash is not a digit";
  std::array<uint8_t, 3> short_payload{1, 2, 3};
  EXPECT_TRUE(receiver.on_packet(7000, short_payload).empty());
  EXPECT_EQ(receiver.malformed(), 1u);
}

TEST(DtmfSenderTest, PlansUpdatesThenThreeEndPackets) {
  auto packets = dtmf_packets('9', std::chrono::milliseconds(100));
  // 100 ms at 20 ms: updates at 160, 320, 480, 640, then 800 with the end bit three times.
  ASSERT_EQ(packets.size(), 7u);
  EXPECT_TRUE(packets[0].marker);
  for (size_t i = 1; i < packets.size(); ++i) EXPECT_FALSE(packets[i].marker);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(packets[i].payload, event_payload(9, false, static_cast<uint16_t>(160 * (i + 1))));
  }
  for (size_t i = 4; i < 7; ++i) EXPECT_EQ(packets[i].payload, event_payload(9, true, 800));
  EXPECT_TRUE(dtmf_packets('x', std::chrono::milliseconds(100)).empty());
}

TEST(DtmfSenderTest, WhatTheSenderPlansTheReceiverDecodesAsOneDigit) {
  for (char digit : std::string("0123456789*#ABCD")) {
    DtmfReceiver receiver;
    std::vector<DtmfEvent> events;
    for (const auto& packet : dtmf_packets(digit, std::chrono::milliseconds(160))) {
      auto out = receiver.on_packet(4242, packet.payload);
      events.insert(events.end(), out.begin(), out.end());
    }
    ASSERT_EQ(events.size(), 2u) << digit;
    EXPECT_EQ(events[1], (DtmfEvent{Phase::kEnd, digit, 4242, 1280, 10}));
  }
}

// Real RFC 4733 packets captured by the SIPp project (Debian sip-tester).
TEST(DtmfReceiverTest, DecodesSipTesterCaptures) {
  const std::string directory = "/usr/share/sip-tester";
  if (!std::filesystem::exists(directory + "/dtmf_2833_1.pcap")) GTEST_FAIL() << "sip-tester is not installed";
  std::vector<std::pair<std::string, char>> files = {{"0", '0'}, {"1", '1'},     {"5", '5'},
                                                     {"9", '9'}, {"pound", '#'}, {"star", '*'}};
  for (const auto& [name, digit] : files) {
    auto datagrams = testing::read_pcap_udp_payloads(directory + "/dtmf_2833_" + name + ".pcap");
    ASSERT_FALSE(datagrams.empty()) << name;
    DtmfReceiver receiver;
    std::vector<DtmfEvent> ends;
    for (const auto& datagram : datagrams) {
      auto packet = parse_rtp(datagram);
      ASSERT_TRUE(packet.is_ok()) << name << ": " << packet.status().to_string();
      ASSERT_EQ(packet->payload_type, 101);
      for (const auto& event : receiver.on_packet(packet->timestamp, packet->payload)) {
        if (event.phase == Phase::kEnd) ends.push_back(event);
      }
    }
    ASSERT_EQ(ends.size(), 1u) << name << ": the retransmitted end packets count once";
    EXPECT_EQ(ends[0].digit, digit);
    EXPECT_GT(ends[0].duration, 0u);
  }
}

TEST(RtpPcapTest, SipTesterG711ACaptureIsAllValidPcmaPackets) {
  const std::string path = "/usr/share/sip-tester/g711a.pcap";
  if (!std::filesystem::exists(path)) GTEST_FAIL() << "sip-tester is not installed";
  auto datagrams = testing::read_pcap_udp_payloads(path);
  ASSERT_GT(datagrams.size(), 10u);
  size_t rtp = 0;
  for (const auto& datagram : datagrams) {
    auto packet = parse_rtp(datagram);
    if (!packet.is_ok() || packet->payload_type != 8) continue;
    EXPECT_EQ(packet->payload.size() % 80, 0u) << "whole 10 ms blocks of 8 kHz samples";
    ++rtp;
  }
  EXPECT_GT(rtp, 10u);
}

}  // namespace
}  // namespace vontres::telephony::rtp
