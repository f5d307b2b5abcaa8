// Test speech: synthesised at test time with espeak-ng or flite, brought to 8 kHz with sox (300 ms
// of silence either side, like a pause on a call), then through G.711 mu-law and back.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ai/stt/audio_file.h"
#include "support/subprocess.h"
#include "telephony/rtp/g711.h"

namespace vontres::ai::stt::test {

enum class Voice { kEspeak, kFlite };

// Writes the synthesised sentence to `dir`/`name`.wav at its native rate and returns the path.
inline std::string synthesize(const testing::TempDir& dir, const std::string& name, const std::string& text,
                              Voice voice) {
  const std::string path = dir.path() + "/" + name + ".wav";
  auto r = voice == Voice::kEspeak ? testing::run({"espeak-ng", "-v", "en-us", "-s", "160", "-w", path, text})
                                   : testing::run({"flite", "-voice", "slt", "-t", text, "-o", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

// `path` at 8 kHz with pauses, as a call leg carries it after G.711.
inline std::vector<int16_t> telephone_audio(const testing::TempDir& dir, const std::string& path) {
  const std::string out = path + ".8k.wav";
  auto r = testing::run({"sox", path, "-r", "8000", "-c", "1", "-b", "16", out, "pad", "0.3", "0.3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto audio = read_audio_wav(out);
  EXPECT_TRUE(audio) << audio.status().to_string();
  if (!audio) return {};
  (void)dir;
  std::vector<uint8_t> codes(audio->samples.size());
  telephony::rtp::g711_encode(telephony::rtp::G711Law::kMuLaw, audio->samples, codes);
  std::vector<int16_t> pcm(codes.size());
  telephony::rtp::g711_decode(telephony::rtp::G711Law::kMuLaw, codes, pcm);
  return pcm;
}

}  // namespace vontres::ai::stt::test
