// What a MediaSession sends when it is not bridged: an AudioSource yields 20 ms frames of 8 kHz PCM
// on demand. PromptPlayer plays a WAV once (reporting completion) or in a loop (music on hold);
// SilenceSource sends digital silence (keeps NAT bindings and the peer's RTP timers alive).
//
// Thread-safety: read_frame() and the completion callback run on the strand of the session the
// source is attached to; attach a source to one session at a time.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/status.h"
#include "telephony/rtp/wav.h"

namespace vontres::telephony::rtp {

inline constexpr size_t kSamplesPerFrame = 160;  // 20 ms at 8 kHz

class AudioSource {
 public:
  virtual ~AudioSource() = default;
  // Fills `frame` (kSamplesPerFrame samples). False when there is nothing to send (finished).
  virtual bool read_frame(std::span<int16_t> frame) = 0;
};

class SilenceSource final : public AudioSource {
 public:
  bool read_frame(std::span<int16_t> frame) override;
};

// Loads a prompt: the WAV must be 8 kHz mono 16-bit ("wav_unsupported" otherwise).
Result<std::shared_ptr<const WavAudio>> load_prompt(const std::string& path);

class PromptPlayer final : public AudioSource {
 public:
  enum class Mode { kOnce, kLoop };
  // `on_finished` runs once, after the last frame of a kOnce prompt was read (never for kLoop).
  PromptPlayer(std::shared_ptr<const WavAudio> audio, Mode mode, std::function<void()> on_finished = {});

  bool read_frame(std::span<int16_t> frame) override;
  bool finished() const { return finished_; }
  size_t frames_played() const { return frames_played_; }

 private:
  std::shared_ptr<const WavAudio> audio_;
  Mode mode_;
  std::function<void()> on_finished_;
  size_t position_ = 0;
  size_t frames_played_ = 0;
  bool finished_ = false;
};

}  // namespace vontres::telephony::rtp
