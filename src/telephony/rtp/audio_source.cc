#include "telephony/rtp/audio_source.h"

#include <algorithm>

#include "telephony/rtp/media_tap.h"

namespace vontres::telephony::rtp {

std::string_view speaker_name(Speaker speaker) { return speaker == Speaker::kCaller ? "caller" : "agent"; }

bool SilenceSource::read_frame(std::span<int16_t> frame) {
  std::fill(frame.begin(), frame.end(), int16_t{0});
  return true;
}

Result<std::shared_ptr<const WavAudio>> load_prompt(const std::string& path) {
  VONTRES_ASSIGN_OR_RETURN(WavAudio audio, read_wav(path));
  if (audio.sample_rate != 8000) {
    return invalid_argument(path + ": prompts must be 8000 Hz (got " + std::to_string(audio.sample_rate) + ")",
                            "wav_unsupported");
  }
  return std::make_shared<const WavAudio>(std::move(audio));
}

PromptPlayer::PromptPlayer(std::shared_ptr<const WavAudio> audio, Mode mode, std::function<void()> on_finished)
    : audio_(std::move(audio)), mode_(mode), on_finished_(std::move(on_finished)) {}

bool PromptPlayer::read_frame(std::span<int16_t> frame) {
  const auto& samples = audio_->samples;
  if (finished_ || samples.empty()) {
    if (!finished_ && mode_ == Mode::kOnce) {
      finished_ = true;
      if (on_finished_) on_finished_();
    }
    return false;
  }
  size_t filled = 0;
  while (filled < frame.size()) {
    size_t take = std::min(frame.size() - filled, samples.size() - position_);
    std::copy_n(samples.begin() + static_cast<std::ptrdiff_t>(position_), take,
                frame.begin() + static_cast<std::ptrdiff_t>(filled));
    filled += take;
    position_ += take;
    if (position_ == samples.size()) {
      if (mode_ == Mode::kOnce) break;
      position_ = 0;
    }
  }
  std::fill(frame.begin() + static_cast<std::ptrdiff_t>(filled), frame.end(), int16_t{0});
  ++frames_played_;
  if (mode_ == Mode::kOnce && position_ == samples.size()) {
    finished_ = true;
    if (on_finished_) on_finished_();
  }
  return true;
}

}  // namespace vontres::telephony::rtp
