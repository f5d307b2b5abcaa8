#include "ai/stt/audio_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "ai/stt/resampler.h"
#include "support/subprocess.h"
#include "telephony/rtp/g711.h"

namespace vontres::ai::stt {
namespace {

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v));
  put16(b, static_cast<uint16_t>(v >> 16));
}
void put_tag(std::vector<uint8_t>& b, const char* tag) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(tag[i]));
}

// A RIFF/WAVE file with the given format fields and raw data bytes.
std::vector<uint8_t> wav(uint16_t format, uint16_t channels, uint32_t rate, uint16_t bits,
                         const std::vector<uint8_t>& data, bool extensible = false) {
  std::vector<uint8_t> fmt;
  put16(fmt, extensible ? 0xFFFE : format);
  put16(fmt, channels);
  put32(fmt, rate);
  put32(fmt, rate * channels * bits / 8);
  put16(fmt, static_cast<uint16_t>(channels * bits / 8));
  put16(fmt, bits);
  if (extensible) {
    put16(fmt, 22);
    put16(fmt, bits);
    put32(fmt, 0);
    put16(fmt, format);  // GUID xxxx0000-0000-0010-8000-00aa00389b71
    const uint8_t rest[14] = {0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71};
    fmt.insert(fmt.end(), rest, rest + 14);
  }
  std::vector<uint8_t> out;
  put_tag(out, "RIFF");
  put32(out, static_cast<uint32_t>(4 + 8 + fmt.size() + 8 + 4 + 8 + data.size()));
  put_tag(out, "WAVE");
  put_tag(out, "fmt ");
  put32(out, static_cast<uint32_t>(fmt.size()));
  out.insert(out.end(), fmt.begin(), fmt.end());
  put_tag(out, "LIST");  // an unrelated chunk before the data is skipped
  put32(out, 4);
  put_tag(out, "INFO");
  put_tag(out, "data");
  put32(out, static_cast<uint32_t>(data.size()));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

const std::vector<int16_t> kSamples = {0, 1000, -1000, 32767, -32768, 12345, -256};

TEST(AudioWavTest, Pcm16) {
  std::vector<uint8_t> data;
  for (int16_t s : kSamples) put16(data, static_cast<uint16_t>(s));
  auto audio = parse_audio_wav(wav(1, 1, 22050, 16, data));
  ASSERT_TRUE(audio) << audio.status().to_string();
  EXPECT_EQ(audio->sample_rate, 22050);
  EXPECT_EQ(audio->samples, kSamples);
}

TEST(AudioWavTest, Pcm8Unsigned) {
  auto audio = parse_audio_wav(wav(1, 1, 8000, 8, {128, 255, 0, 192}));
  ASSERT_TRUE(audio);
  EXPECT_EQ(audio->samples, (std::vector<int16_t>{0, 32512, -32768, 16384}));
}

TEST(AudioWavTest, Pcm24And32KeepTheTop16Bits) {
  std::vector<uint8_t> d24, d32;
  for (int16_t s : kSamples) {
    const uint32_t v24 = static_cast<uint32_t>(static_cast<int32_t>(s) * 256);
    d24.push_back(static_cast<uint8_t>(v24));
    d24.push_back(static_cast<uint8_t>(v24 >> 8));
    d24.push_back(static_cast<uint8_t>(v24 >> 16));
    put32(d32, static_cast<uint32_t>(static_cast<int32_t>(s) * 65536));
  }
  auto a24 = parse_audio_wav(wav(1, 1, 44100, 24, d24));
  auto a32 = parse_audio_wav(wav(1, 1, 44100, 32, d32, /*extensible=*/true));
  ASSERT_TRUE(a24) << a24.status().to_string();
  ASSERT_TRUE(a32) << a32.status().to_string();
  EXPECT_EQ(a24->samples, kSamples);
  EXPECT_EQ(a32->samples, kSamples);
}

TEST(AudioWavTest, Float32ClampsAndScales) {
  std::vector<uint8_t> data;
  for (float f : {0.0f, 0.5f, -0.5f, 2.0f, -2.0f}) {
    uint32_t u = 0;
    std::memcpy(&u, &f, 4);
    put32(data, u);
  }
  auto audio = parse_audio_wav(wav(3, 1, 16000, 32, data));
  ASSERT_TRUE(audio);
  EXPECT_EQ(audio->samples, (std::vector<int16_t>{0, 16384, -16384, 32767, -32768}));
}

TEST(AudioWavTest, G711MatchesTheTelephonyCodec) {
  std::vector<uint8_t> codes(256);
  for (int i = 0; i < 256; ++i) codes[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  auto ulaw = parse_audio_wav(wav(7, 1, 8000, 8, codes));
  auto alaw = parse_audio_wav(wav(6, 1, 8000, 8, codes));
  ASSERT_TRUE(ulaw);
  ASSERT_TRUE(alaw);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(ulaw->samples[static_cast<size_t>(i)], telephony::rtp::ulaw_to_linear(static_cast<uint8_t>(i))) << i;
    EXPECT_EQ(alaw->samples[static_cast<size_t>(i)], telephony::rtp::alaw_to_linear(static_cast<uint8_t>(i))) << i;
  }
}

TEST(AudioWavTest, StereoIsMixedDown) {
  std::vector<uint8_t> data;
  for (int16_t s : {1000, 3000, -2000, -2000, 32767, 32767}) put16(data, static_cast<uint16_t>(s));
  auto audio = parse_audio_wav(wav(1, 2, 8000, 16, data));
  ASSERT_TRUE(audio);
  EXPECT_EQ(audio->source_channels, 2);
  EXPECT_EQ(audio->samples, (std::vector<int16_t>{2000, -2000, 32767}));
}

TEST(AudioWavTest, RejectsBrokenAndUnsupportedFiles) {
  EXPECT_EQ(parse_audio_wav(std::vector<uint8_t>{'R', 'I', 'F', 'F'}).status().code(), "wav_malformed");
  auto good = wav(1, 1, 8000, 16, {0, 0, 1, 0});
  auto no_data = good;
  no_data.resize(good.size() - 12);  // cut inside the LIST chunk, before "data"
  EXPECT_EQ(parse_audio_wav(no_data).status().code(), "wav_malformed");
  EXPECT_EQ(parse_audio_wav(wav(2, 1, 8000, 4, {0, 0})).status().code(), "wav_unsupported");  // MS ADPCM
  EXPECT_EQ(parse_audio_wav(wav(1, 1, 8000, 12, {0, 0})).status().code(), "wav_unsupported");
  EXPECT_EQ(parse_audio_wav(wav(1, 0, 8000, 16, {0, 0})).status().code(), "wav_unsupported");
  EXPECT_EQ(read_audio_wav("/nonexistent/x.wav").status().code(), "wav_io");
}

TEST(AudioWavTest, ReadsFilesWrittenBySox) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/tone.wav";
  auto r = testing::run({"sox", "-n", "-r", "22050", "-c", "2", "-e", "floating-point", "-b", "32", path, "synth",
                         "0.5", "sine", "1000", "vol", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto audio = read_audio_wav(path);
  ASSERT_TRUE(audio) << audio.status().to_string();
  EXPECT_EQ(audio->sample_rate, 22050);
  EXPECT_EQ(audio->samples.size(), 11025u);
  int16_t peak = 0;
  for (int16_t s : audio->samples) peak = std::max<int16_t>(peak, static_cast<int16_t>(std::abs(s)));
  EXPECT_NEAR(peak, 16384, 200);
}

std::vector<int16_t> sine(int rate, int hz, size_t n, double amplitude = 10000) {
  std::vector<int16_t> out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<int16_t>(amplitude * std::sin(2 * M_PI * hz * static_cast<double>(i) / rate));
  return out;
}
size_t zero_crossings(std::span<const int16_t> pcm) {
  size_t n = 0;
  for (size_t i = 1; i < pcm.size(); ++i) n += (pcm[i - 1] < 0) != (pcm[i] < 0) ? 1 : 0;
  return n;
}

TEST(ResamplerTest, UpsamplesAToneKeepingPitchLengthAndLevel) {
  const auto in = sine(8000, 1000, 8000);  // 1 s
  auto out = resample(in, 8000, 16000);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 16000u);
  // 1 kHz: ~2000 zero crossings per second at either rate.
  EXPECT_NEAR(static_cast<double>(zero_crossings(std::span<const int16_t>(*out).subspan(1000, 14000))), 1750.0, 5.0);
  double sum = 0;
  for (size_t i = 1000; i < 15000; ++i) sum += static_cast<double>((*out)[i]) * (*out)[i];
  EXPECT_NEAR(std::sqrt(sum / 14000), 10000 / std::sqrt(2.0), 300);
}

TEST(ResamplerTest, RemovesContentAboveTheNewNyquist) {
  const auto in = sine(16000, 6000, 16000);  // 6 kHz cannot exist at 8 kHz
  auto out = resample(in, 16000, 8000);
  ASSERT_TRUE(out);
  double sum = 0;
  for (size_t i = 500; i < 7500; ++i) sum += static_cast<double>((*out)[i]) * (*out)[i];
  EXPECT_LT(std::sqrt(sum / 7000), 200.0);
}

TEST(ResamplerTest, StreamingInFramesEqualsOneBuffer) {
  const auto in = sine(8000, 440, 4000);
  auto whole = Resampler::create(8000, 16000);
  auto framed = Resampler::create(8000, 16000);
  ASSERT_TRUE(whole && framed);
  std::vector<int16_t> a, b;
  (*whole)->process(in, a);
  for (size_t i = 0; i < in.size(); i += 160) (*framed)->process(std::span<const int16_t>(in).subspan(i, 160), b);
  EXPECT_EQ(a, b);
  EXPECT_GT(a.size(), 7800u);
}

TEST(ResamplerTest, EqualRatesPassThroughAndBadRatesFail) {
  const auto in = sine(16000, 440, 100);
  auto out = resample(in, 16000, 16000);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, in);
  EXPECT_EQ(Resampler::create(0, 16000).status().code(), "invalid_sample_rate");
}

}  // namespace
}  // namespace vontres::ai::stt
