#include "telephony/sdp/offer_answer.h"

#include <gtest/gtest.h>

#include <string>

namespace vontres::telephony::sdp {
namespace {

SessionDescription must_parse(const std::string& text) {
  auto parsed = parse(text);
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().to_string() << "\n" << text;
  return parsed.is_ok() ? *parsed : SessionDescription{};
}

LocalMedia local_media() {
  LocalMedia local;
  local.address = "198.51.100.7";
  local.rtp_port = 30000;
  return local;
}

std::string offer_text(const std::string& connection, const std::string& media_lines) {
  return "v=0\r\no=caller 100 200 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 " + connection + "\r\nt=0 0\r\n" + media_lines;
}

// RFC 3264 section 10.1: audio (PCMU, PCMA, iLBC) and video; we accept PCMU and reject video.
TEST(OfferAnswerTest, Rfc3264Example1AcceptsFirstCodecAndRejectsVideo) {
  OfferAnswer negotiator(local_media(), 42);
  auto answer = negotiator.answer(must_parse(
      "v=0\r\no=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\ns=\r\n"
      "c=IN IP4 host.atlanta.example.com\r\nt=0 0\r\n"
      "m=audio 49170 RTP/AVP 0 8 97\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:97 iLBC/8000\r\n"
      "m=video 51372 RTP/AVP 31 32\r\na=rtpmap:31 H261/90000\r\na=rtpmap:32 MPV/90000\r\n"));
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  const auto& d = answer->description;
  ASSERT_EQ(d.media.size(), 2u);
  EXPECT_EQ(d.media[0].port, 30000);
  EXPECT_EQ(d.media[0].formats, (std::vector<std::string>{"0"}));
  EXPECT_EQ(d.media[0].direction, Direction::kSendRecv);
  EXPECT_EQ(d.media[1].media, "video");
  EXPECT_EQ(d.media[1].port, 0);
  EXPECT_EQ(d.origin.session_id, 42u);
  EXPECT_EQ(d.connection->address, "198.51.100.7");
  const NegotiatedAudio& audio = answer->audio;
  EXPECT_EQ(audio.codec, AudioCodec::kPcmu);
  EXPECT_EQ(audio.payload_type, 0);
  EXPECT_FALSE(audio.telephone_event_payload_type);
  EXPECT_EQ(audio.remote_address, "host.atlanta.example.com");
  EXPECT_EQ(audio.remote_rtp_port, 49170);
  EXPECT_EQ(audio.remote_rtcp_port, 49171);
  EXPECT_TRUE(audio.send);
  EXPECT_TRUE(audio.receive);
  EXPECT_FALSE(audio.remote_hold);
  // The answer is valid SDP that parses back to itself.
  auto reparsed = parse(serialize(d));
  ASSERT_TRUE(reparsed.is_ok());
  EXPECT_EQ(*reparsed, d);
}

TEST(OfferAnswerTest, FollowsTheOfferersCodecOrderAndEchoesItsTelephoneEventType) {
  OfferAnswer negotiator(local_media(), 1);
  auto answer = negotiator.answer(must_parse(
      offer_text("192.0.2.1",
                 "m=audio 5004 RTP/AVP 18 8 0 96\r\na=rtpmap:18 G729/8000\r\na=rtpmap:96 telephone-event/8000\r\n"
                 "a=fmtp:96 0-16\r\na=ptime:30\r\n")));
  ASSERT_TRUE(answer.is_ok());
  EXPECT_EQ(answer->audio.codec, AudioCodec::kPcma);
  EXPECT_EQ(answer->audio.payload_type, 8);
  EXPECT_EQ(answer->audio.telephone_event_payload_type, 96);
  EXPECT_EQ(answer->audio.ptime_ms, 30);
  const auto& m = answer->description.media[0];
  EXPECT_EQ(m.formats, (std::vector<std::string>{"8", "96"}));
  ASSERT_NE(m.fmtp_for(96), nullptr);
  EXPECT_EQ(m.fmtp_for(96)->parameters, "0-15");
  EXPECT_EQ(m.rtpmap_for(96)->encoding, "telephone-event");
}

TEST(OfferAnswerTest, MatchesDynamicPayloadTypesByNameCaseInsensitively) {
  OfferAnswer negotiator(local_media(), 1);
  auto answer =
      negotiator.answer(must_parse(offer_text("192.0.2.1", "m=audio 5004 RTP/AVP 110\r\na=rtpmap:110 pcmu/8000\r\n")));
  ASSERT_TRUE(answer.is_ok());
  EXPECT_EQ(answer->audio.codec, AudioCodec::kPcmu);
  EXPECT_EQ(answer->audio.payload_type, 110);
}

TEST(OfferAnswerTest, NoCommonCodecIsNotAcceptable488) {
  OfferAnswer negotiator(local_media(), 1);
  auto answer = negotiator.answer(must_parse(offer_text(
      "192.0.2.1", "m=audio 5004 RTP/AVP 18 9 101\r\na=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\n")));
  ASSERT_FALSE(answer.is_ok());
  EXPECT_EQ(answer.status().code(), kNotAcceptable);
}

TEST(OfferAnswerTest, SecureProfilesAndRejectedStreamsAreNotAcceptable) {
  OfferAnswer negotiator(local_media(), 1);
  EXPECT_EQ(negotiator.answer(must_parse(offer_text("192.0.2.1", "m=audio 5004 RTP/SAVP 0\r\n"))).status().code(),
            kNotAcceptable);
  EXPECT_EQ(negotiator.answer(must_parse(offer_text("192.0.2.1", "m=audio 0 RTP/AVP 0\r\n"))).status().code(),
            kNotAcceptable);
  EXPECT_EQ(negotiator.answer(must_parse(offer_text("192.0.2.1", "m=image 5004 udptl t38\r\n"))).status().code(),
            kNotAcceptable);
  LocalMedia alaw_only = local_media();
  alaw_only.pcmu = false;
  OfferAnswer picky(alaw_only, 1);
  EXPECT_EQ(picky.answer(must_parse(offer_text("192.0.2.1", "m=audio 5004 RTP/AVP 0\r\n"))).status().code(),
            kNotAcceptable);
}

TEST(OfferAnswerTest, AcceptsOnlyTheFirstUsableAudioStream) {
  OfferAnswer negotiator(local_media(), 1);
  auto answer = negotiator.answer(must_parse(
      offer_text("192.0.2.1", "m=audio 5004 RTP/AVP 18\r\nm=audio 5006 RTP/AVP 8\r\nm=audio 5008 RTP/AVP 0\r\n")));
  ASSERT_TRUE(answer.is_ok());
  EXPECT_EQ(answer->audio.media_index, 1u);
  EXPECT_EQ(answer->audio.remote_rtp_port, 5006);
  EXPECT_EQ(answer->description.media[0].port, 0);
  EXPECT_EQ(answer->description.media[1].port, 30000);
  EXPECT_EQ(answer->description.media[2].port, 0);
}

struct DirectionCase {
  const char* name;
  std::string connection;
  std::string offered;  // direction line or ""
  Direction local;
  Direction answered;
  bool send;
  bool receive;
  bool remote_hold;
};

class DirectionTest : public ::testing::TestWithParam<DirectionCase> {};

// RFC 3264 sections 6.1 and 8.4: the answer's direction mirrors the offer's.
TEST_P(DirectionTest, AnswerMirrorsTheOffer) {
  const auto& c = GetParam();
  OfferAnswer negotiator(local_media(), 1);
  std::string media = "m=audio 5004 RTP/AVP 0\r\n" + (c.offered.empty() ? "" : "a=" + c.offered + "\r\n");
  auto answer = negotiator.answer(must_parse(offer_text(c.connection, media)), c.local);
  ASSERT_TRUE(answer.is_ok());
  EXPECT_EQ(answer->description.media[0].direction, c.answered);
  EXPECT_EQ(answer->audio.send, c.send);
  EXPECT_EQ(answer->audio.receive, c.receive);
  EXPECT_EQ(answer->audio.remote_hold, c.remote_hold);
  // Our answer never carries the hold address.
  EXPECT_EQ(answer->description.connection->address, "198.51.100.7");
}

INSTANTIATE_TEST_SUITE_P(
    Table, DirectionTest,
    ::testing::Values(
        DirectionCase{"default", "192.0.2.1", "", Direction::kSendRecv, Direction::kSendRecv, true, true, false},
        DirectionCase{"sendrecv", "192.0.2.1", "sendrecv", Direction::kSendRecv, Direction::kSendRecv, true, true,
                      false},
        DirectionCase{"hold_sendonly", "192.0.2.1", "sendonly", Direction::kSendRecv, Direction::kRecvOnly, false, true,
                      true},
        DirectionCase{"recvonly", "192.0.2.1", "recvonly", Direction::kSendRecv, Direction::kSendOnly, true, false,
                      false},
        DirectionCase{"inactive", "192.0.2.1", "inactive", Direction::kSendRecv, Direction::kInactive, false, false,
                      true},
        DirectionCase{"old_style_hold", "0.0.0.0", "", Direction::kSendRecv, Direction::kRecvOnly, false, true, true},
        DirectionCase{"old_style_hold_inactive", "0.0.0.0", "recvonly", Direction::kSendRecv, Direction::kInactive,
                      false, false, true},
        DirectionCase{"we_hold", "192.0.2.1", "sendrecv", Direction::kSendOnly, Direction::kSendOnly, true, false,
                      false},
        DirectionCase{"both_hold", "192.0.2.1", "sendonly", Direction::kSendOnly, Direction::kInactive, false, false,
                      true}),
    [](const ::testing::TestParamInfo<DirectionCase>& info) { return std::string(info.param.name); });

TEST(OfferAnswerTest, OfferListsOurCodecsAndVersionGrowsOnlyWhenItChanges) {
  LocalMedia local = local_media();
  local.rtcp_port = 30011;
  OfferAnswer negotiator(local, 77);
  SessionDescription first = negotiator.offer();
  ASSERT_EQ(first.media.size(), 1u);
  EXPECT_EQ(first.media[0].formats, (std::vector<std::string>{"0", "8", "101"}));
  EXPECT_EQ(first.media[0].fmtp_for(101)->parameters, "0-15");
  EXPECT_EQ(first.media[0].ptime, 20);
  EXPECT_EQ(first.media[0].rtcp->port, 30011);
  EXPECT_EQ(first.media[0].direction, Direction::kSendRecv);
  uint64_t v1 = first.origin.session_version;
  EXPECT_EQ(negotiator.offer().origin.session_version, v1) << "unchanged offer keeps its version";
  SessionDescription hold = negotiator.offer(Direction::kSendOnly);
  EXPECT_EQ(hold.origin.session_version, v1 + 1);
  EXPECT_EQ(hold.media[0].direction, Direction::kSendOnly);
  SessionDescription resume = negotiator.offer(Direction::kSendRecv);
  EXPECT_EQ(resume.origin.session_version, v1 + 2);
  EXPECT_EQ(resume.origin.session_id, 77u);
}

TEST(OfferAnswerTest, AcceptsAnAnswerToOurOffer) {
  OfferAnswer negotiator(local_media(), 5);
  (void)negotiator.offer();
  auto audio = negotiator.accept_answer(must_parse(
      offer_text("192.0.2.50", "m=audio 6000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp:7000\r\n")));
  ASSERT_TRUE(audio.is_ok()) << audio.status().to_string();
  EXPECT_EQ(audio->codec, AudioCodec::kPcma);
  EXPECT_EQ(audio->telephone_event_payload_type, 101);
  EXPECT_EQ(audio->remote_address, "192.0.2.50");
  EXPECT_EQ(audio->remote_rtp_port, 6000);
  EXPECT_EQ(audio->remote_rtcp_port, 7000);
  EXPECT_TRUE(audio->send);
  EXPECT_TRUE(audio->receive);
}

TEST(OfferAnswerTest, HoldOfferAnsweredRecvOnlyMeansWeSendOnly) {
  OfferAnswer negotiator(local_media(), 5);
  (void)negotiator.offer(Direction::kSendOnly);
  auto audio =
      negotiator.accept_answer(must_parse(offer_text("192.0.2.50", "m=audio 6000 RTP/AVP 0\r\na=recvonly\r\n")));
  ASSERT_TRUE(audio.is_ok());
  EXPECT_TRUE(audio->send);
  EXPECT_FALSE(audio->receive);
  EXPECT_FALSE(audio->remote_hold);
}

TEST(OfferAnswerTest, RejectsAnswersThatDoNotMatchTheOffer) {
  OfferAnswer negotiator(local_media(), 5);
  EXPECT_EQ(
      negotiator.accept_answer(must_parse(offer_text("192.0.2.50", "m=audio 6000 RTP/AVP 0\r\n"))).status().code(),
      kBadAnswer)
      << "no offer outstanding";
  (void)negotiator.offer();
  EXPECT_EQ(negotiator.accept_answer(must_parse(offer_text("192.0.2.50", "m=audio 0 RTP/AVP 0\r\n"))).status().code(),
            kNotAcceptable);
  EXPECT_EQ(
      negotiator
          .accept_answer(must_parse(offer_text("192.0.2.50", "m=audio 6000 RTP/AVP 97\r\na=rtpmap:97 PCMU/8000\r\n")))
          .status()
          .code(),
      kBadAnswer);
  EXPECT_EQ(
      negotiator
          .accept_answer(must_parse(offer_text("192.0.2.50", "m=audio 6000 RTP/AVP 0\r\nm=audio 6002 RTP/AVP 0\r\n")))
          .status()
          .code(),
      kBadAnswer);
  EXPECT_EQ(
      negotiator.accept_answer(must_parse(offer_text("192.0.2.50", "m=audio 6000 RTP/AVP 18\r\n"))).status().code(),
      kNotAcceptable);
}

}  // namespace
}  // namespace vontres::telephony::sdp
