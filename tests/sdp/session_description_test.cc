#include "telephony/sdp/session_description.h"

#include <gtest/gtest.h>

#include <string>

namespace vontres::telephony::sdp {
namespace {

std::string crlf(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

const std::string kOffer = crlf(
    "v=0\n"
    "o=alice 2890844526 2890844527 IN IP4 192.0.2.10\n"
    "s=-\n"
    "c=IN IP4 192.0.2.10\n"
    "t=0 0\n"
    "a=tool:test\n"
    "m=audio 49170 RTP/AVP 0 8 101\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-16\n"
    "a=ptime:20\n"
    "a=rtcp:49200 IN IP4 192.0.2.11\n"
    "a=sendonly\n"
    "m=video 0 RTP/AVP 31\n"
    "c=IN IP6 2001:db8::1\n");

TEST(SdpParseTest, ParsesEveryFieldVontresUses) {
  auto parsed = parse(kOffer);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  const SessionDescription& d = *parsed;
  EXPECT_EQ(d.origin.username, "alice");
  EXPECT_EQ(d.origin.session_id, 2890844526u);
  EXPECT_EQ(d.origin.session_version, 2890844527u);
  EXPECT_EQ(d.origin.address, "192.0.2.10");
  EXPECT_EQ(d.session_name, "-");
  ASSERT_TRUE(d.connection);
  EXPECT_EQ(d.connection->address, "192.0.2.10");
  ASSERT_EQ(d.attributes.size(), 1u);
  EXPECT_EQ(d.attributes[0].name, "tool");
  EXPECT_EQ(d.attributes[0].value, "test");
  ASSERT_EQ(d.media.size(), 2u);
  const MediaDescription& audio = d.media[0];
  EXPECT_EQ(audio.port, 49170);
  EXPECT_EQ(audio.formats, (std::vector<std::string>{"0", "8", "101"}));
  ASSERT_NE(audio.rtpmap_for(101), nullptr);
  EXPECT_EQ(audio.rtpmap_for(101)->encoding, "telephone-event");
  ASSERT_NE(audio.fmtp_for(101), nullptr);
  EXPECT_EQ(audio.fmtp_for(101)->parameters, "0-16");
  EXPECT_EQ(audio.ptime, 20);
  ASSERT_TRUE(audio.rtcp);
  EXPECT_EQ(audio.rtcp->port, 49200);
  EXPECT_EQ(audio.rtcp->connection->address, "192.0.2.11");
  EXPECT_EQ(d.direction_for(audio), Direction::kSendOnly);
  EXPECT_EQ(d.connection_for(audio)->address, "192.0.2.10");
  const MediaDescription& video = d.media[1];
  EXPECT_EQ(video.port, 0);
  EXPECT_EQ(d.connection_for(video)->address_type, AddressType::kIp6);
  EXPECT_EQ(d.direction_for(video), Direction::kSendRecv);
}

TEST(SdpParseTest, SerializeThenParseGivesTheSameDescription) {
  auto parsed = parse(kOffer);
  ASSERT_TRUE(parsed.is_ok());
  std::string wire = serialize(*parsed);
  auto again = parse(wire);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string() << "\n" << wire;
  EXPECT_EQ(*again, *parsed);
  EXPECT_EQ(serialize(*again), wire);
}

TEST(SdpParseTest, AcceptsBareLineFeedsAndRfc3264EmptySessionName) {
  auto parsed = parse(
      "v=0\no=- 1 1 IN IP4 host.atlanta.example.com\ns=\nc=IN IP4 host.atlanta.example.com\nt=0 0\n"
      "m=audio 49170 RTP/AVP 0\n");
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->session_name, "");
  EXPECT_EQ(parsed->connection->address, "host.atlanta.example.com");
}

TEST(SdpParseTest, SessionLevelDirectionAppliesToMediaWithoutItsOwn) {
  auto parsed =
      parse(crlf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\na=inactive\n"
                 "m=audio 4000 RTP/AVP 0\nm=audio 4002 RTP/AVP 0\na=recvonly\n"));
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed->direction_for(parsed->media[0]), Direction::kInactive);
  EXPECT_EQ(parsed->direction_for(parsed->media[1]), Direction::kRecvOnly);
}

struct BadCase {
  const char* name;
  std::string text;
  std::string_view code;
};

class SdpRejectTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(SdpRejectTest, RejectsWithStableCode) {
  auto parsed = parse(GetParam().text);
  ASSERT_FALSE(parsed.is_ok()) << GetParam().name;
  EXPECT_EQ(parsed.status().code(), GetParam().code) << parsed.status().to_string();
}

const std::string kHead = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";

INSTANTIATE_TEST_SUITE_P(
    Table, SdpRejectTest,
    ::testing::Values(
        BadCase{"empty", "", kErrorMissingLine}, BadCase{"no_version", "o=- 1 1 IN IP4 1.2.3.4\r\n", kErrorMissingLine},
        BadCase{"version_1", "v=1\r\n", kErrorSyntax},
        BadCase{"no_time", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n", kErrorMissingLine},
        BadCase{"media_before_time", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\n",
                kErrorMissingLine},
        BadCase{"c_after_t", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 10.0.0.1\r\n",
                kErrorLineOrder},
        BadCase{"two_session_names", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\ns=-\r\nt=0 0\r\n", kErrorLineOrder},
        BadCase{"t_in_media", kHead + "m=audio 1 RTP/AVP 0\r\nt=0 0\r\n", kErrorLineOrder},
        BadCase{"no_connection", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n",
                kErrorMissingLine},
        BadCase{"bad_port", kHead + "m=audio 70000 RTP/AVP 0\r\n", kErrorSyntax},
        BadCase{"no_formats", kHead + "m=audio 4000 RTP/AVP\r\n", kErrorSyntax},
        BadCase{"pt_too_big", kHead + "m=audio 4000 RTP/AVP 128\r\n", kErrorSyntax},
        BadCase{"double_space", kHead + "m=audio  4000 RTP/AVP 0\r\n", kErrorSyntax},
        BadCase{"bad_ip4", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 300.1.1.1\r\nt=0 0\r\n", kErrorSyntax},
        BadCase{"bad_ip6", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP6 2001:::1::\r\nt=0 0\r\n", kErrorSyntax},
        BadCase{"multicast", "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 224.2.1.1/127\r\nt=0 0\r\n",
                kErrorSyntax},
        BadCase{"bad_rtpmap", kHead + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n", kErrorSyntax},
        BadCase{"duplicate_rtpmap",
                kHead + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:0 PCMU/8000\r\n", kErrorSyntax},
        BadCase{"two_directions", kHead + "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\na=recvonly\r\n", kErrorSyntax},
        BadCase{"bad_ptime", kHead + "m=audio 4000 RTP/AVP 0\r\na=ptime:0\r\n", kErrorSyntax},
        BadCase{"not_a_line", kHead + "hello\r\n", kErrorSyntax},
        BadCase{"nul_byte", kHead + std::string("a=x\0y\r\n", 7), kErrorSyntax},
        BadCase{"blank_line_inside", kHead + "\r\nm=audio 4000 RTP/AVP 0\r\n", kErrorSyntax},
        BadCase{"too_large", kHead + std::string(20000, 'a'), kErrorTooLarge},
        BadCase{"long_line", kHead + "a=x:" + std::string(2000, 'a') + "\r\n", kErrorTooLarge}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(SdpLimitsTest, RejectsTooManyMediaSectionsAndAttributes) {
  std::string many_media = kHead;
  for (int i = 0; i < 9; ++i) many_media += "m=audio 4000 RTP/AVP 0\r\n";
  EXPECT_EQ(parse(many_media).status().code(), kErrorTooLarge);
  std::string many_attributes = kHead;
  for (int i = 0; i < 65; ++i) many_attributes += "a=x" + std::to_string(i) + "\r\n";
  EXPECT_EQ(parse(many_attributes).status().code(), kErrorTooLarge);
  std::string many_formats = kHead + "m=audio 4000 RTP/AVP";
  for (int i = 0; i < 33; ++i) many_formats += " " + std::to_string(i);
  EXPECT_EQ(parse(many_formats + "\r\n").status().code(), kErrorTooLarge);
}

}  // namespace
}  // namespace vontres::telephony::sdp
