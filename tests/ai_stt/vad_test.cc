#include "ai/stt/vad.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace vontres::ai::stt {
namespace {

constexpr int kRate = 8000;

std::vector<int16_t> silence(int ms) { return std::vector<int16_t>(static_cast<size_t>(kRate * ms / 1000), 0); }
std::vector<int16_t> tone(int ms, double amplitude = 8000, double hz = 440) {
  std::vector<int16_t> out(static_cast<size_t>(kRate * ms / 1000));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<int16_t>(amplitude * std::sin(2 * M_PI * hz * static_cast<double>(i) / kRate));
  }
  return out;
}
std::vector<int16_t> noise(int ms, double stddev, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0, stddev);
  std::vector<int16_t> out(static_cast<size_t>(kRate * ms / 1000));
  for (auto& s : out) s = static_cast<int16_t>(std::clamp(dist(rng), -32768.0, 32767.0));
  return out;
}
void append(std::vector<int16_t>& to, const std::vector<int16_t>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

struct Utterance {
  int64_t start = -1, end = -1;
  EndReason reason = EndReason::kFlush;
  size_t samples = 0;
  bool ended = false;
};

struct Recorder {
  std::vector<Utterance> utterances;
  Endpointer::Listener listener() {
    return {[this](int64_t s) { utterances.push_back({.start = s}); },
            [this](std::span<const int16_t> pcm) { utterances.back().samples += pcm.size(); },
            [this](int64_t e, EndReason r) {
              utterances.back().end = e;
              utterances.back().reason = r;
              utterances.back().ended = true;
            }};
  }
};

int64_t ms(int v) { return static_cast<int64_t>(kRate) * v / 1000; }

TEST(EndpointerTest, DigitalSilenceNeverStartsAnUtterance) {
  Recorder rec;
  Endpointer vad({}, kRate, rec.listener());
  vad.feed(silence(5000));
  vad.flush();
  EXPECT_TRUE(rec.utterances.empty());
  EXPECT_EQ(vad.samples_seen(), ms(5000));
}

TEST(EndpointerTest, ToneBurstIsOneUtteranceWithPreRollAndHangover) {
  Recorder rec;
  VadOptions options;  // pre-roll 200 ms, hangover 600 ms, start after 50 ms
  Endpointer vad(options, kRate, rec.listener());
  std::vector<int16_t> audio = silence(1000);
  append(audio, tone(1000));
  append(audio, silence(2000));
  vad.feed(audio);
  ASSERT_EQ(rec.utterances.size(), 1u);
  const auto& u = rec.utterances[0];
  EXPECT_TRUE(u.ended);
  EXPECT_EQ(u.reason, EndReason::kSilence);
  EXPECT_EQ(u.start, ms(800));  // 1000 ms onset minus the 200 ms pre-roll
  EXPECT_EQ(u.end, ms(2000));   // the end of the last loud frame, not of the hangover
  // Pre-roll, the burst and the hangover silence were all forwarded.
  EXPECT_EQ(static_cast<int64_t>(u.samples), ms(200) + ms(1000) + ms(600));
  EXPECT_FALSE(vad.in_utterance());
}

TEST(EndpointerTest, ShortPausesInsideSpeechDoNotEndTheUtterance) {
  Recorder rec;
  Endpointer vad({}, kRate, rec.listener());
  std::vector<int16_t> audio = silence(500);
  for (int i = 0; i < 4; ++i) {
    append(audio, tone(300));
    append(audio, silence(300));  // shorter than the 600 ms hangover
  }
  append(audio, silence(1000));
  vad.feed(audio);
  ASSERT_EQ(rec.utterances.size(), 1u);
  EXPECT_EQ(rec.utterances[0].end, ms(500 + 3 * 600 + 300));
}

TEST(EndpointerTest, QuietToneBelowTheAbsoluteThresholdIsIgnored) {
  Recorder rec;
  Endpointer vad({}, kRate, rec.listener());
  vad.feed(tone(2000, 100));  // RMS ~71 -> 37 dB < 40 dB
  EXPECT_TRUE(rec.utterances.empty());
}

TEST(EndpointerTest, StationaryNoiseIsAbsorbedIntoTheFloor) {
  Recorder rec;
  Endpointer vad({}, kRate, rec.listener());
  vad.feed(noise(10000, 1000));  // ~60 dB white noise from the first sample
  // At most one false start while the floor climbs, and it ends within a few seconds.
  ASSERT_LE(rec.utterances.size(), 1u);
  if (!rec.utterances.empty()) {
    EXPECT_TRUE(rec.utterances[0].ended);
    EXPECT_LT(rec.utterances[0].end, ms(5000));
  }
  EXPECT_GT(vad.noise_floor_db(), 50.0);
  // Speech-level tone above that noise is still detected.
  const size_t before = rec.utterances.size();
  std::vector<int16_t> mixed = noise(1000, 1000, 9);
  const auto burst = tone(1000, 12000);
  for (size_t i = 0; i < mixed.size(); ++i)
    mixed[i] = static_cast<int16_t>(std::clamp(mixed[i] + burst[i], -32768, 32767));
  vad.feed(mixed);
  vad.feed(noise(1000, 1000, 11));
  EXPECT_EQ(rec.utterances.size(), before + 1);
}

TEST(EndpointerTest, MaxUtteranceForcesAnEndAndSpeechContinuesInANewOne) {
  Recorder rec;
  VadOptions options;
  options.max_utterance = std::chrono::milliseconds(3000);
  Endpointer vad(options, kRate, rec.listener());
  std::vector<int16_t> audio;
  for (int i = 0; i < 20; ++i) {  // 8 s of syllable-like bursts
    append(audio, tone(300));
    append(audio, silence(100));
  }
  vad.feed(audio);
  ASSERT_GE(rec.utterances.size(), 2u);
  EXPECT_EQ(rec.utterances[0].reason, EndReason::kMaxLength);
  EXPECT_EQ(rec.utterances[0].end - rec.utterances[0].start, ms(3000));
  EXPECT_GE(rec.utterances[1].start, rec.utterances[0].end);
}

TEST(EndpointerTest, FlushEndsAnUtteranceInProgress) {
  Recorder rec;
  Endpointer vad({}, kRate, rec.listener());
  vad.feed(silence(300));
  vad.feed(tone(500));
  ASSERT_EQ(rec.utterances.size(), 1u);
  EXPECT_FALSE(rec.utterances[0].ended);
  vad.flush();
  EXPECT_TRUE(rec.utterances[0].ended);
  EXPECT_EQ(rec.utterances[0].reason, EndReason::kFlush);
  EXPECT_EQ(rec.utterances[0].end, ms(800));
  vad.flush();  // nothing in progress: no second end
  EXPECT_EQ(rec.utterances.size(), 1u);
}

TEST(EndpointerTest, ChunkSizeDoesNotChangeTheResult) {
  std::vector<int16_t> audio = silence(700);
  append(audio, tone(900));
  append(audio, silence(1500));
  append(audio, noise(400, 3000));
  append(audio, silence(1000));
  Recorder whole;
  Endpointer a({}, kRate, whole.listener());
  a.feed(audio);
  for (size_t chunk : {1u, 7u, 160u, 333u}) {
    Recorder pieces;
    Endpointer b({}, kRate, pieces.listener());
    for (size_t i = 0; i < audio.size(); i += chunk) {
      b.feed(std::span<const int16_t>(audio).subspan(i, std::min(chunk, audio.size() - i)));
    }
    ASSERT_EQ(pieces.utterances.size(), whole.utterances.size()) << chunk;
    for (size_t i = 0; i < whole.utterances.size(); ++i) {
      EXPECT_EQ(pieces.utterances[i].start, whole.utterances[i].start);
      EXPECT_EQ(pieces.utterances[i].end, whole.utterances[i].end);
      EXPECT_EQ(pieces.utterances[i].samples, whole.utterances[i].samples);
    }
  }
  EXPECT_EQ(whole.utterances.size(), 2u);
}

TEST(EndpointerTest, FrameLevel) {
  EXPECT_EQ(Endpointer::frame_level_db(silence(10)), 0.0);
  std::vector<int16_t> full(80, 32767);
  EXPECT_NEAR(Endpointer::frame_level_db(full), 90.3, 0.1);
}

}  // namespace
}  // namespace vontres::ai::stt
