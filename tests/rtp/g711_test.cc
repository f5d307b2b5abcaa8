#include "telephony/rtp/g711.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

namespace vontres::telephony::rtp {
namespace {

// The ITU-T/Sun reference formulation (segment search over end points), kept independent of the
// production code so the two can be compared over every input.
int search(int value, const std::array<int, 8>& ends) {
  for (int i = 0; i < 8; ++i) {
    if (value <= ends[i]) return i;
  }
  return 8;
}

uint8_t reference_ulaw(int16_t sample) {
  static const std::array<int, 8> kEnds = {0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF};
  int value = sample >> 2;
  int mask = 0xFF;
  if (value < 0) {
    value = -value;
    mask = 0x7F;
  }
  if (value > 8159) value = 8159;
  value += 0x21;
  int segment = search(value, kEnds);
  if (segment >= 8) return static_cast<uint8_t>(0x7F ^ mask);
  return static_cast<uint8_t>(((segment << 4) | ((value >> (segment + 1)) & 0xF)) ^ mask);
}

uint8_t reference_alaw(int16_t sample) {
  static const std::array<int, 8> kEnds = {0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF};
  int value = sample >> 3;
  int mask = 0xD5;
  if (value < 0) {
    mask = 0x55;
    value = -value - 1;
  }
  int segment = search(value, kEnds);
  if (segment >= 8) return static_cast<uint8_t>(0x7F ^ mask);
  int code = segment << 4;
  code |= segment < 2 ? (value >> 1) & 0xF : (value >> segment) & 0xF;
  return static_cast<uint8_t>(code ^ mask);
}

TEST(G711Test, MuLawKnownValues) {
  EXPECT_EQ(linear_to_ulaw(0), 0xFF);
  EXPECT_EQ(linear_to_ulaw(-1), 0x7E);  // -1 >> 2 is still -1: the smallest negative step
  EXPECT_EQ(linear_to_ulaw(32767), 0x80);
  EXPECT_EQ(linear_to_ulaw(-32768), 0x00);
  EXPECT_EQ(ulaw_to_linear(0xFF), 0);
  EXPECT_EQ(ulaw_to_linear(0x7F), 0);
  EXPECT_EQ(ulaw_to_linear(0x80), 32124);
  EXPECT_EQ(ulaw_to_linear(0x00), -32124);
  EXPECT_EQ(ulaw_to_linear(0xFE), 8);
  EXPECT_EQ(ulaw_to_linear(0xEF), 132);   // top of the first segment
  EXPECT_EQ(ulaw_to_linear(0x70), -120);  // ~0x70 = 0x8F: negative, segment 0, step 15
}

TEST(G711Test, ALawKnownValues) {
  EXPECT_EQ(linear_to_alaw(0), 0xD5);
  EXPECT_EQ(linear_to_alaw(-1), 0x55);
  EXPECT_EQ(linear_to_alaw(32767), 0xAA);
  EXPECT_EQ(linear_to_alaw(-32768), 0x2A);
  EXPECT_EQ(alaw_to_linear(0xD5), 8);
  EXPECT_EQ(alaw_to_linear(0x55), -8);
  EXPECT_EQ(alaw_to_linear(0xAA), 32256);
  EXPECT_EQ(alaw_to_linear(0x2A), -32256);
  EXPECT_EQ(alaw_to_linear(0xD4), 24);
}

TEST(G711Test, EncodersMatchTheReferenceForEveryInput) {
  for (int sample = -32768; sample <= 32767; ++sample) {
    auto s = static_cast<int16_t>(sample);
    ASSERT_EQ(linear_to_ulaw(s), reference_ulaw(s)) << sample;
    ASSERT_EQ(linear_to_alaw(s), reference_alaw(s)) << sample;
  }
}

TEST(G711Test, DecodeThenEncodeIsIdentityOnEveryCode) {
  for (int code = 0; code < 256; ++code) {
    auto c = static_cast<uint8_t>(code);
    // mu-law has two zeros (0x7F = -0 and 0xFF = +0); both decode to 0, which encodes as 0xFF.
    if (c != 0x7F) {
      EXPECT_EQ(linear_to_ulaw(ulaw_to_linear(c)), c) << code;
    }
    EXPECT_EQ(linear_to_alaw(alaw_to_linear(c)), c) << code;
  }
}

TEST(G711Test, QuantisationErrorIsWithinHalfAStep) {
  for (int sample = -32000; sample <= 32000; sample += 7) {
    auto s = static_cast<int16_t>(sample);
    int u = ulaw_to_linear(linear_to_ulaw(s));
    int a = alaw_to_linear(linear_to_alaw(s));
    // Half a quantisation step: at most 64 in the low segments, under 4% of the value above them.
    double tolerance = std::max(64.0, std::abs(sample) * 0.04);
    ASSERT_LE(std::abs(u - sample), tolerance) << sample;
    ASSERT_LE(std::abs(a - sample), tolerance) << sample;
  }
}

TEST(G711Test, SpansAndTranscoding) {
  std::vector<int16_t> pcm = {0, 1000, -1000, 32767, -32768, 12345};
  std::vector<uint8_t> ulaw(pcm.size());
  std::vector<uint8_t> alaw(pcm.size());
  g711_encode(G711Law::kMuLaw, pcm, ulaw);
  g711_encode(G711Law::kALaw, pcm, alaw);
  std::vector<uint8_t> transcoded(pcm.size());
  g711_transcode(G711Law::kMuLaw, G711Law::kALaw, ulaw, transcoded);
  std::vector<int16_t> back(pcm.size());
  g711_decode(G711Law::kALaw, transcoded, back);
  for (size_t i = 0; i < pcm.size(); ++i) {
    EXPECT_NEAR(back[i], pcm[i], std::max(64.0, std::abs(pcm[i]) * 0.07)) << i;
  }
  EXPECT_EQ(g711_silence(G711Law::kMuLaw), linear_to_ulaw(0));
  EXPECT_EQ(g711_silence(G711Law::kALaw), linear_to_alaw(0));
}

}  // namespace
}  // namespace vontres::telephony::rtp
