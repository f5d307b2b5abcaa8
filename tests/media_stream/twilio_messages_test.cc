#include "telephony/media_stream/twilio_messages.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vontres::telephony::media_stream {
namespace {

using nlohmann::json;

constexpr const char* kSid = "MZ18ad3ab5a668481ce02b83e7395059f0";

// The examples from Twilio's "Media Streams - WebSocket Messages" documentation.
constexpr const char* kTwilioStart =
    R"({"event":"start","sequenceNumber":"1","start":{"accountSid":"AC123","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","callSid":"CA123","tracks":["inbound","outbound"],"customParameters":{"FirstName":"Jane","LastName":"Doe"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"})";
constexpr const char* kTwilioMedia =
    R"({"event":"media","sequenceNumber":"3","media":{"track":"outbound","chunk":"1","timestamp":"5","payload":"no+JhoaJjpzSHxAKBgYJDhtEopGKh4aIjZm7JhQMCAYIDBUsz52OiIaHio+q"},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"})";
constexpr const char* kTwilioDtmf =
    R"({"event":"dtmf","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}})";
constexpr const char* kTwilioStop =
    R"({"event":"stop","sequenceNumber":"5","stop":{"accountSid":"AC123","callSid":"CA123"},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"})";
constexpr const char* kTwilioMark =
    R"({"event":"mark","sequenceNumber":"4","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","mark":{"name":"my label"}})";

TEST(TwilioMessages, ParsesTwilioConnectedExample) {
  auto m = parse_message(R"({"event":"connected","protocol":"Call","version":"1.0.0"})");
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  const auto& c = std::get<ConnectedMessage>(*m);
  EXPECT_EQ(c.protocol, "Call");
  EXPECT_EQ(c.version, "1.0.0");
}

TEST(TwilioMessages, ParsesTwilioStartExample) {
  auto m = parse_message(kTwilioStart);
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  const auto& s = std::get<StartMessage>(*m);
  EXPECT_EQ(s.sequence_number, 1U);
  EXPECT_EQ(s.stream_sid, kSid);
  EXPECT_EQ(s.account_sid, "AC123");
  EXPECT_EQ(s.call_sid, "CA123");
  EXPECT_EQ(s.tracks, (std::vector<Track>{Track::kInbound, Track::kOutbound}));
  EXPECT_EQ(s.custom_parameters.at("FirstName"), "Jane");
  EXPECT_EQ(s.media_format, MediaFormat{});
}

TEST(TwilioMessages, ParsesTwilioMediaExampleAndDecodesItsBase64Payload) {
  auto m = parse_message(kTwilioMedia);
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  const auto& media = std::get<MediaMessage>(*m);
  EXPECT_EQ(media.sequence_number, 3U);
  EXPECT_EQ(media.track, Track::kOutbound);
  EXPECT_EQ(media.chunk, 1U);
  EXPECT_EQ(media.timestamp_ms, 5U);
  ASSERT_EQ(media.payload.size(), 45U);  // 60 base64 characters
  EXPECT_EQ(media.payload[0], 0x9E);
  EXPECT_EQ(media.payload[1], 0x8F);
}

TEST(TwilioMessages, ParsesTwilioDtmfMarkAndStopExamples) {
  auto d = parse_message(kTwilioDtmf);
  ASSERT_TRUE(d.is_ok()) << d.status().message();
  EXPECT_EQ(std::get<DtmfMessage>(*d).digit, '1');
  EXPECT_EQ(std::get<DtmfMessage>(*d).track, Track::kInbound);
  auto k = parse_message(kTwilioMark);
  ASSERT_TRUE(k.is_ok()) << k.status().message();
  EXPECT_EQ(std::get<MarkMessage>(*k).name, "my label");
  auto s = parse_message(kTwilioStop);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(std::get<StopMessage>(*s).call_sid, "CA123");
  EXPECT_EQ(std::get<StopMessage>(*s).sequence_number, 5U);
}

TEST(TwilioMessages, SerializesTheExactShapeTwilioSends) {
  for (const char* example : {kTwilioStart, kTwilioMedia, kTwilioDtmf, kTwilioStop, kTwilioMark}) {
    auto m = parse_message(example);
    ASSERT_TRUE(m.is_ok()) << example;
    EXPECT_EQ(json::parse(serialize(*m)), json::parse(example)) << example;
  }
}

TEST(TwilioMessages, EveryMessageRoundTrips) {
  StartMessage start;
  start.sequence_number = 1;
  start.stream_sid = "s1";
  start.call_sid = "call-1";
  start.tracks = {Track::kInbound};
  start.custom_parameters = {{"call_id", "call-1"}, {"org_id", "o1"}, {"leg_id", "leg-a"}, {"speaker", "caller"}};
  MediaMessage media;
  media.sequence_number = 2;
  media.stream_sid = "s1";
  media.chunk = 1;
  media.timestamp_ms = 20;
  media.payload = encode_mulaw(std::vector<int16_t>(160, 1000));
  const std::vector<Message> messages = {ConnectedMessage{},
                                         start,
                                         media,
                                         DtmfMessage{3, "s1", Track::kOutbound, '#'},
                                         MarkMessage{4, "s1", "m"},
                                         StopMessage{5, "s1", "", "call-1"}};
  for (const auto& message : messages) {
    auto again = parse_message(serialize(message));
    ASSERT_TRUE(again.is_ok()) << serialize(message) << ": " << again.status().message();
    EXPECT_EQ(*again, message) << serialize(message);
  }
}

TEST(TwilioMessages, AcceptsNumbersWhereTwilioSendsStrings) {
  auto m = parse_message(
      R"({"event":"media","sequenceNumber":7,"streamSid":"s","media":{"track":"inbound","chunk":2,"timestamp":40,"payload":""}})");
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ(std::get<MediaMessage>(*m).chunk, 2U);
  EXPECT_TRUE(std::get<MediaMessage>(*m).payload.empty());
}

TEST(TwilioMessages, MalformedInputGivesAStableCodeNamingTheField) {
  struct Case {
    const char* text;
    const char* code;
    const char* mentions;
  };
  const Case cases[] = {
      {"", "media_stream_malformed_json", ""},
      {"[1,2]", "media_stream_malformed_json", ""},
      {R"({"event":"media"})", "media_stream_missing_field", "sequenceNumber"},
      {R"({"event":"hello","sequenceNumber":"1","streamSid":"s"})", "media_stream_unknown_event", "hello"},
      {R"({"event":"media","sequenceNumber":"1x","streamSid":"s"})", "media_stream_bad_field", "sequenceNumber"},
      {R"({"event":"media","sequenceNumber":"-1","streamSid":"s"})", "media_stream_bad_field", "sequenceNumber"},
      {R"({"event":"media","sequenceNumber":"1","streamSid":"s"})", "media_stream_missing_field", "media"},
      {R"({"event":"media","sequenceNumber":"1","streamSid":"s","media":{"track":"sideways","chunk":"1","timestamp":"0","payload":""}})",
       "media_stream_bad_field", "track"},
      {R"({"event":"media","sequenceNumber":"1","streamSid":"s","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"a!=="}})",
       "media_stream_bad_payload", "payload"},
      {R"({"event":"dtmf","sequenceNumber":"1","streamSid":"s","dtmf":{"track":"inbound_track","digit":"12"}})",
       "media_stream_bad_field", "digit"},
      {R"({"event":"stop","sequenceNumber":"1","stop":{}})", "media_stream_missing_field", "streamSid"},
      {R"({"event":"start","sequenceNumber":"1","start":{"streamSid":"s","callSid":"c","tracks":[],"mediaFormat":{}}})",
       "media_stream_bad_field", "tracks"},
  };
  for (const auto& c : cases) {
    auto m = parse_message(c.text);
    ASSERT_FALSE(m.is_ok()) << c.text;
    EXPECT_EQ(m.status().code(), c.code) << c.text;
    EXPECT_NE(m.status().message().find(c.mentions), std::string::npos) << m.status().message();
  }
}

TEST(Base64, MatchesRfc4648TestVectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    const std::vector<uint8_t> bytes(plain.begin(), plain.end());
    EXPECT_EQ(base64_encode(bytes), encoded);
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, bytes);
  }
}

TEST(Base64, RejectsBadAlphabetPaddingAndLength) {
  for (const char* bad : {"Zg=", "Z===", "Zg==Zm8=", "Zm9v!A==", "=Zm9"}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

TEST(MuLaw, KnownValuesOfTheItuReference) {
  // Silence encodes as 0xFF; 0xFF and 0x7F decode to 0; 0x00 / 0x80 are the extremes.
  EXPECT_EQ(encode_mulaw(std::vector<int16_t>{0}), std::vector<uint8_t>{0xFF});
  EXPECT_EQ(decode_mulaw(std::vector<uint8_t>{0xFF, 0x7F}), (std::vector<int16_t>{0, 0}));
  EXPECT_EQ(decode_mulaw(std::vector<uint8_t>{0x00, 0x80}), (std::vector<int16_t>{-32124, 32124}));
  // Round trip of codes is exact: decode then encode returns each code (except -0 -> +0).
  for (int code = 0; code < 256; ++code) {
    if (code == 0x7F) continue;
    auto pcm = decode_mulaw(std::vector<uint8_t>{static_cast<uint8_t>(code)});
    EXPECT_EQ(encode_mulaw(pcm)[0], code) << code;
  }
}

}  // namespace
}  // namespace vontres::telephony::media_stream
