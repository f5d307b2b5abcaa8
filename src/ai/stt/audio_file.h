// Reads WAV files of any common encoding into mono 16-bit PCM for transcription: little-endian RIFF
// with format PCM 8-bit (unsigned), 16/24/32-bit signed, IEEE float 32/64-bit,
// G.711 mu-law and A-law, and WAVE_FORMAT_EXTENSIBLE wrapping those; any sample rate. Multi-channel
// files are mixed down to mono by averaging the channels. Errors: "wav_malformed",
// "wav_unsupported", "wav_io".
//
// Thread-safety: reentrant functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace vontres::ai::stt {

struct PcmAudio {
  int sample_rate = 0;
  int source_channels = 1;
  std::vector<int16_t> samples;  // mono
};

Result<PcmAudio> parse_audio_wav(std::span<const uint8_t> bytes);
Result<PcmAudio> read_audio_wav(const std::string& path);

}  // namespace vontres::ai::stt
