// WAV files (RIFF, PCM 16-bit): reading mono files of any sample rate (prompts, hold music), writing
// whole files, and a streaming writer for call recordings that fixes the RIFF/data sizes on close
// (a recording cut short by a crash still has its samples, with sizes of 0 that players repair).
// Anything that is not 16-bit PCM mono is rejected with "wav_unsupported"; broken files with
// "wav_malformed"; file errors with "wav_io".
//
// Thread-safety: functions are reentrant; a WavWriter is used by one thread at a time.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace vontres::telephony::rtp {

struct WavAudio {
  uint32_t sample_rate = 8000;
  std::vector<int16_t> samples;  // mono
};

Result<WavAudio> parse_wav(std::span<const uint8_t> bytes);
Result<WavAudio> read_wav(const std::string& path);
// Writes a whole file; `samples` are interleaved when channels is 2.
Status write_wav(const std::string& path, uint32_t sample_rate, uint16_t channels, std::span<const int16_t> samples);

class WavWriter {
 public:
  static Result<std::unique_ptr<WavWriter>> open(const std::string& path, uint32_t sample_rate, uint16_t channels);

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }  // NOLINT(cppcoreguidelines-owning-memory)
  };
  struct Key {};  // only open() constructs

 public:
  WavWriter(Key key, std::unique_ptr<std::FILE, FileCloser> file, uint16_t channels, std::string path);
  ~WavWriter();
  WavWriter(const WavWriter&) = delete;
  WavWriter& operator=(const WavWriter&) = delete;

  // Appends interleaved samples (a multiple of the channel count).
  Status write(std::span<const int16_t> samples);
  // Writes the final sizes and closes the file. Called by the destructor if needed.
  Status close();
  uint64_t frames_written() const { return data_bytes_ / (2u * channels_); }

 private:
  std::unique_ptr<std::FILE, FileCloser> file_;
  uint16_t channels_;
  std::string path_;
  uint64_t data_bytes_ = 0;
};

}  // namespace vontres::telephony::rtp
