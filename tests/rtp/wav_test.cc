#include "telephony/rtp/wav.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "support/subprocess.h"
#include "telephony/rtp/audio_source.h"
#include "telephony/rtp/recorder.h"

namespace vontres::telephony::rtp {
namespace {

std::vector<int16_t> tone(size_t samples, double frequency, uint32_t rate = 8000) {
  std::vector<int16_t> out(samples);
  for (size_t i = 0; i < samples; ++i) {
    out[i] = static_cast<int16_t>(10000 * std::sin(2 * M_PI * frequency * static_cast<double>(i) / rate));
  }
  return out;
}

double rms_of(const std::vector<int16_t>& samples) {
  double sum = 0;
  for (int16_t s : samples) sum += static_cast<double>(s) * s;
  return samples.empty() ? 0 : std::sqrt(sum / static_cast<double>(samples.size()));
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(WavTest, WriteThenReadRoundTripsSamplesAndRate) {
  testing::TempDir dir;
  auto samples = tone(12345, 440, 16000);
  std::string path = dir.path() + "/tone.wav";
  ASSERT_TRUE(write_wav(path, 16000, 1, samples).is_ok());
  EXPECT_EQ(read_bytes(path).size(), 44 + 2 * samples.size());
  auto audio = read_wav(path);
  ASSERT_TRUE(audio.is_ok()) << audio.status().to_string();
  EXPECT_EQ(audio->sample_rate, 16000u);
  EXPECT_EQ(audio->samples, samples);
}

TEST(WavTest, StreamingWriterFinalisesSizesOnClose) {
  testing::TempDir dir;
  std::string path = dir.path() + "/stream.wav";
  {
    auto writer = WavWriter::open(path, 8000, 1);
    ASSERT_TRUE(writer.is_ok());
    auto chunk = tone(160, 1000);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*writer)->write(chunk).is_ok());
    EXPECT_EQ((*writer)->frames_written(), 1600u);
    // Destroyed without close(): the destructor finalises.
  }
  auto bytes = read_bytes(path);
  ASSERT_EQ(bytes.size(), 44u + 3200);
  EXPECT_EQ(bytes[40] | (bytes[41] << 8), 3200);
  EXPECT_EQ(bytes[4] | (bytes[5] << 8), 3200 + 36);
  auto audio = parse_wav(bytes);
  ASSERT_TRUE(audio.is_ok());
  EXPECT_EQ(audio->samples.size(), 1600u);
}

TEST(WavTest, RejectsStereoEightBitAndNonPcmClearly) {
  testing::TempDir dir;
  std::string stereo = dir.path() + "/stereo.wav";
  ASSERT_TRUE(write_wav(stereo, 8000, 2, std::vector<int16_t>(320, 0)).is_ok());
  auto audio = read_wav(stereo);
  ASSERT_FALSE(audio.is_ok());
  EXPECT_EQ(audio.status().code(), "wav_unsupported");
  EXPECT_NE(audio.status().message().find("mono"), std::string::npos);

  auto bytes = read_bytes(stereo);
  auto eight_bit = bytes;
  eight_bit[22] = 1;  // mono
  eight_bit[34] = 8;  // 8 bits
  EXPECT_EQ(parse_wav(eight_bit).status().code(), "wav_unsupported");
  auto float_format = bytes;
  float_format[22] = 1;
  float_format[20] = 3;  // IEEE float
  EXPECT_EQ(parse_wav(float_format).status().code(), "wav_unsupported");
}

TEST(WavTest, RejectsMalformedFiles) {
  EXPECT_EQ(parse_wav(std::vector<uint8_t>{'R', 'I', 'F', 'F'}).status().code(), "wav_malformed");
  testing::TempDir dir;
  std::string path = dir.path() + "/a.wav";
  ASSERT_TRUE(write_wav(path, 8000, 1, std::vector<int16_t>(100, 1)).is_ok());
  auto bytes = read_bytes(path);
  auto truncated = bytes;
  truncated.resize(100);  // data chunk claims 200 bytes
  EXPECT_EQ(parse_wav(truncated).status().code(), "wav_malformed");
  EXPECT_EQ(read_wav(dir.path() + "/missing.wav").status().code(), "wav_io");
}

TEST(WavTest, AnEmptyDataChunkIsAnEmptyFile) {
  testing::TempDir dir;
  std::string path = dir.path() + "/empty.wav";
  ASSERT_TRUE(write_wav(path, 8000, 1, {}).is_ok());
  auto audio = read_wav(path);
  ASSERT_TRUE(audio.is_ok()) << audio.status().to_string();
  EXPECT_TRUE(audio->samples.empty());
}

TEST(WavTest, SkipsUnknownChunksIncludingOddSizedOnes) {
  testing::TempDir dir;
  std::string path = dir.path() + "/a.wav";
  ASSERT_TRUE(write_wav(path, 8000, 1, std::vector<int16_t>{1, 2, 3}).is_ok());
  auto bytes = read_bytes(path);
  std::vector<uint8_t> with_list(bytes.begin(), bytes.begin() + 36);
  const std::vector<uint8_t> list_chunk = {'L', 'I', 'S', 'T', 3, 0, 0, 0, 'x', 'y', 'z', 0};
  with_list.insert(with_list.end(), list_chunk.begin(), list_chunk.end());
  with_list.insert(with_list.end(), bytes.begin() + 36, bytes.end());
  auto audio = parse_wav(with_list);
  ASSERT_TRUE(audio.is_ok()) << audio.status().to_string();
  EXPECT_EQ(audio->samples, (std::vector<int16_t>{1, 2, 3}));
}

TEST(PromptPlayerTest, PlaysOncePaddingTheLastFrameAndReportsCompletionOnce) {
  auto audio = std::make_shared<WavAudio>();
  audio->samples.assign(400, 7);  // 2.5 frames
  int finished = 0;
  PromptPlayer player(audio, PromptPlayer::Mode::kOnce, [&] { ++finished; });
  std::vector<int16_t> frame(kSamplesPerFrame);
  ASSERT_TRUE(player.read_frame(frame));
  ASSERT_TRUE(player.read_frame(frame));
  ASSERT_TRUE(player.read_frame(frame));
  EXPECT_EQ(frame[79], 7);
  EXPECT_EQ(frame[80], 0);
  EXPECT_EQ(finished, 1);
  EXPECT_FALSE(player.read_frame(frame));
  EXPECT_EQ(finished, 1);
  EXPECT_TRUE(player.finished());
}

TEST(PromptPlayerTest, LoopsSeamlesslyForMusicOnHold) {
  auto audio = std::make_shared<WavAudio>();
  for (int i = 0; i < 100; ++i) audio->samples.push_back(static_cast<int16_t>(i));
  PromptPlayer player(audio, PromptPlayer::Mode::kLoop);
  std::vector<int16_t> frame(kSamplesPerFrame);
  for (int f = 0; f < 10; ++f) {
    ASSERT_TRUE(player.read_frame(frame));
    for (size_t i = 0; i < frame.size(); ++i) ASSERT_EQ(frame[i], static_cast<int16_t>((f * 160 + i) % 100));
  }
  EXPECT_FALSE(player.finished());
}

TEST(PromptPlayerTest, LoadPromptRequiresEightKilohertz) {
  testing::TempDir dir;
  ASSERT_TRUE(write_wav(dir.path() + "/wide.wav", 16000, 1, std::vector<int16_t>(10, 0)).is_ok());
  EXPECT_EQ(load_prompt(dir.path() + "/wide.wav").status().code(), "wav_unsupported");
  ASSERT_TRUE(write_wav(dir.path() + "/ok.wav", 8000, 1, std::vector<int16_t>(10, 0)).is_ok());
  EXPECT_TRUE(load_prompt(dir.path() + "/ok.wav").is_ok());
}

std::vector<int16_t> read_stereo(const std::string& path, std::vector<int16_t>& right) {
  auto bytes = read_bytes(path);
  std::vector<int16_t> left;
  for (size_t i = 44; i + 3 < bytes.size(); i += 4) {
    left.push_back(static_cast<int16_t>(bytes[i] | (bytes[i + 1] << 8)));
    right.push_back(static_cast<int16_t>(bytes[i + 2] | (bytes[i + 3] << 8)));
  }
  return left;
}

TEST(RecorderTest, WritesCallerLeftAgentRightAndSilenceWhilePaused) {
  testing::TempDir dir;
  std::string path = dir.path() + "/call.wav";
  auto recorder = Recorder::open(path);
  ASSERT_TRUE(recorder.is_ok());
  std::vector<int16_t> caller(160, 100);
  std::vector<int16_t> agent(160, -200);
  TimePoint now{};
  (*recorder)->on_audio("c", Speaker::kCaller, caller, now);
  (*recorder)->on_audio("a", Speaker::kAgent, agent, now);
  (*recorder)->pause();
  (*recorder)->on_audio("c", Speaker::kCaller, caller, now);
  (*recorder)->on_audio("a", Speaker::kAgent, agent, now);
  (*recorder)->resume();
  (*recorder)->on_audio("c", Speaker::kCaller, caller, now);  // the agent side never arrives
  ASSERT_TRUE((*recorder)->close().is_ok());
  std::vector<int16_t> right;
  auto left = read_stereo(path, right);
  ASSERT_EQ(left.size(), 480u);
  EXPECT_EQ(left[0], 100);
  EXPECT_EQ(right[0], -200);
  EXPECT_EQ(left[200], 0) << "paused";
  EXPECT_EQ(right[200], 0);
  EXPECT_EQ(left[400], 100);
  EXPECT_EQ(right[400], 0) << "padded on close";
}

TEST(RecorderTest, PadsASideThatWentQuietOnceTheOtherIsFarAhead) {
  testing::TempDir dir;
  auto recorder = Recorder::open(dir.path() + "/hold.wav");
  ASSERT_TRUE(recorder.is_ok());
  std::vector<int16_t> caller(160, 5);
  for (int i = 0; i < 50; ++i) (*recorder)->on_audio("c", Speaker::kCaller, caller, TimePoint{});  // 1 s
  EXPECT_EQ((*recorder)->frames_written(), 8000u - 1600u) << "all but the 200 ms alignment window";
}

// The build generates the prompts with scripts/make-prompts; every file must load as a prompt.
TEST(PromptScriptTest, GeneratesEveryListedPromptAndHoldMusicAsLoadable8kMonoWavs) {
  testing::TempDir dir;
  auto result = testing::run({std::string(VONTRES_SOURCE_DIR) + "/scripts/make-prompts", dir.path()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::ifstream list(std::string(VONTRES_SOURCE_DIR) + "/share/prompts/prompts.txt");
  std::vector<std::string> ids = {"hold-music"};
  for (std::string line; std::getline(list, line);) {
    if (!line.empty() && line[0] != '#') ids.push_back(line.substr(0, line.find('|')));
  }
  ASSERT_GE(ids.size(), 7u);
  for (const auto& id : ids) {
    auto prompt = load_prompt(dir.path() + "/" + id + ".wav");
    ASSERT_TRUE(prompt.is_ok()) << id << ": " << prompt.status().to_string();
    EXPECT_GT((*prompt)->samples.size(), 4000u) << id << " lasts more than half a second";
  }
  auto welcome = load_prompt(dir.path() + "/welcome.wav");
  ASSERT_TRUE(welcome.is_ok());
  EXPECT_GT(rms_of((*welcome)->samples), 500.0) << "speech, not silence";
}

TEST(PromptScriptTest, RejectsAMalformedList) {
  testing::TempDir dir;
  std::ofstream(dir.path() + "/bad.txt") << "Not An Id|hello\n";
  auto result = testing::run(
      {std::string(VONTRES_SOURCE_DIR) + "/scripts/make-prompts", dir.path() + "/out", dir.path() + "/bad.txt"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("bad line"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace vontres::telephony::rtp
