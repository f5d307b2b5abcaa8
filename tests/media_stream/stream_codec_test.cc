#include "telephony/media_stream/stream_codec.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vontres::telephony::media_stream {
namespace {

// A MediaTap with real behaviour: keeps what it is given.
class RecordingTap final : public rtp::MediaTap {
 public:
  void on_audio(std::string_view leg_id, rtp::Speaker speaker, std::span<const int16_t> pcm,
                TimePoint /*timestamp*/) override {
    ids.emplace_back(leg_id);
    speakers.push_back(speaker);
    samples.insert(samples.end(), pcm.begin(), pcm.end());
  }
  void on_dtmf(std::string_view /*leg_id*/, rtp::Speaker /*speaker*/, char digit, TimePoint /*timestamp*/) override {
    digits += digit;
  }
  std::vector<std::string> ids;
  std::vector<rtp::Speaker> speakers;
  std::vector<int16_t> samples;
  std::string digits;
};

LegStreamIdentity agent_leg() { return {"call-7", "org-1", "leg-b", rtp::Speaker::kAgent}; }

TEST(LegStream, WriterFramesReachTheReadersTapAsDecodedPcmAndDtmf) {
  ManualClock clock;
  RecordingTap tap;
  LegStreamReader reader(tap, clock);
  LegStreamWriter writer(agent_leg(), "leg-b-node-1");
  for (const auto& frame : writer.open(clock.now())) ASSERT_TRUE(reader.on_frame(frame).is_ok()) << frame;
  ASSERT_TRUE(reader.started());
  EXPECT_EQ(reader.identity()->org_id, "org-1");

  std::vector<int16_t> pcm(400);  // 50 ms: two 20 ms frames now, 80 samples wait
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<int16_t>((i % 40) * 500 - 10000);
  auto frames = writer.audio(pcm);
  ASSERT_EQ(frames.size(), 2U);
  frames.push_back(writer.dtmf('5'));
  frames.push_back(writer.stop());
  for (const auto& frame : frames) ASSERT_TRUE(reader.on_frame(frame).is_ok()) << frame;

  EXPECT_EQ(tap.ids, (std::vector<std::string>{"call-7", "call-7"}));
  EXPECT_EQ(tap.speakers[0], rtp::Speaker::kAgent);
  ASSERT_EQ(tap.samples.size(), 320U);
  // mu-law is lossy: the decoded sample is the encoded code's midpoint.
  const auto expected = decode_mulaw(encode_mulaw(std::span<const int16_t>(pcm).first(320)));
  EXPECT_EQ(tap.samples, expected);
  EXPECT_EQ(tap.digits, "5");
  EXPECT_TRUE(reader.stopped());
}

TEST(LegStream, WriterNumbersChunksAndTimestampsLikeTwilio) {
  LegStreamWriter writer(agent_leg(), "s");
  (void)writer.open({});
  auto frames = writer.audio(std::vector<int16_t>(480, 0));
  ASSERT_EQ(frames.size(), 3U);
  auto third = parse_message(frames[2]);
  ASSERT_TRUE(third.is_ok());
  const auto& m = std::get<MediaMessage>(*third);
  EXPECT_EQ(m.chunk, 3U);
  EXPECT_EQ(m.timestamp_ms, 40U);
  EXPECT_EQ(m.sequence_number, 4U);  // start is 1 (connected has none), media 2, 3, 4
  EXPECT_EQ(m.payload.size(), 160U);
}

TEST(LegStream, ReaderRefusesMediaBeforeStartAndStartsWithoutTheLegsParameters) {
  ManualClock clock;
  RecordingTap tap;
  LegStreamReader reader(tap, clock);
  LegStreamWriter writer(agent_leg(), "s");
  (void)writer.open(clock.now());
  auto media = writer.audio(std::vector<int16_t>(160, 0));
  EXPECT_EQ(reader.on_frame(media[0]).code(), "media_stream_not_started");

  StartMessage start;
  start.stream_sid = "s";
  start.call_sid = "c";
  start.tracks = {Track::kInbound};
  start.custom_parameters = {{"call_id", "c"}, {"org_id", "o"}, {"leg_id", "l"}};
  EXPECT_EQ(reader.on_frame(serialize(start)).code(), "media_stream_bad_start");
  start.custom_parameters["speaker"] = "robot";
  EXPECT_EQ(reader.on_frame(serialize(start)).code(), "media_stream_bad_start");
  start.custom_parameters["speaker"] = "caller";
  start.media_format.sample_rate = 16000;
  EXPECT_EQ(reader.on_frame(serialize(start)).code(), "media_stream_bad_start");
  EXPECT_FALSE(reader.started());
  EXPECT_TRUE(tap.samples.empty());
}

TEST(LegStream, ReaderRefusesAnotherStreamsFrames) {
  ManualClock clock;
  RecordingTap tap;
  LegStreamReader reader(tap, clock);
  LegStreamWriter mine(agent_leg(), "mine");
  LegStreamWriter other(agent_leg(), "other");
  for (const auto& frame : mine.open(clock.now())) ASSERT_TRUE(reader.on_frame(frame).is_ok());
  EXPECT_EQ(reader.on_frame(other.dtmf('1')).code(), "media_stream_wrong_stream");
  EXPECT_EQ(reader.on_frame("{not json").code(), "media_stream_malformed_json");
  EXPECT_TRUE(tap.digits.empty());
}

TEST(BoundedFrameQueue, AStalledConsumerMakesPushDropAndCountInsteadOfWaiting) {
  BoundedFrameQueue queue(4);
  // Nobody drains: the producer (a media strand) must still return from every push.
  int accepted = 0;
  for (int i = 0; i < 100; ++i) accepted += queue.push("frame-" + std::to_string(i)) ? 1 : 0;
  EXPECT_EQ(accepted, 4);
  EXPECT_EQ(queue.size(), 4U);
  EXPECT_EQ(queue.dropped(), 96U);
  // The oldest frames are kept (a gap, not a rewrite of what was already queued).
  auto drained = queue.drain();
  ASSERT_EQ(drained.size(), 4U);
  EXPECT_EQ(drained.front(), "frame-0");
  EXPECT_EQ(queue.size(), 0U);
  EXPECT_TRUE(queue.push("after"));
  EXPECT_EQ(queue.dropped(), 96U);
}

}  // namespace
}  // namespace vontres::telephony::media_stream
