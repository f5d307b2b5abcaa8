#include "ai/stt/vad.h"

#include <algorithm>
#include <cmath>

namespace vontres::ai::stt {

namespace {
size_t frames_of(std::chrono::milliseconds duration) {
  return static_cast<size_t>(std::max<int64_t>(0, duration.count() / 10));
}
}  // namespace

Endpointer::Endpointer(const VadOptions& options, int sample_rate, Listener listener)
    : options_(options),
      listener_(std::move(listener)),
      frame_samples_(static_cast<size_t>(std::max(1, sample_rate / 100))),
      start_frames_(std::max<size_t>(1, frames_of(options.start_after))),
      pre_roll_frames_(frames_of(options.pre_roll)),
      hangover_frames_(std::max<size_t>(1, frames_of(options.hangover))),
      max_frames_(std::max<size_t>(1, frames_of(options.max_utterance))),
      rise_alpha_(1.0 / static_cast<double>(std::max<size_t>(1, frames_of(options.floor_rise_time)))),
      floor_db_(options.initial_noise_floor_db) {
  partial_frame_.reserve(frame_samples_);
}

double Endpointer::frame_level_db(std::span<const int16_t> frame) {
  if (frame.empty()) return 0.0;
  double sum = 0.0;
  for (int16_t s : frame) sum += static_cast<double>(s) * s;
  return 10.0 * std::log10(sum / static_cast<double>(frame.size()) + 1.0);
}

void Endpointer::feed(std::span<const int16_t> pcm) {
  while (!pcm.empty()) {
    if (partial_frame_.empty() && pcm.size() >= frame_samples_) {
      process_frame(pcm.first(frame_samples_));
      pcm = pcm.subspan(frame_samples_);
      continue;
    }
    size_t take = std::min(pcm.size(), frame_samples_ - partial_frame_.size());
    partial_frame_.insert(partial_frame_.end(), pcm.begin(), pcm.begin() + static_cast<std::ptrdiff_t>(take));
    pcm = pcm.subspan(take);
    if (partial_frame_.size() == frame_samples_) {
      std::vector<int16_t> frame;
      frame.swap(partial_frame_);
      process_frame(frame);
      partial_frame_.reserve(frame_samples_);
    }
  }
}

void Endpointer::process_frame(std::span<const int16_t> frame) {
  const double level = frame_level_db(frame);
  const bool speech = level >= options_.min_speech_db && level >= floor_db_ + options_.snr_db;
  // The floor follows quiet frames down at once and creeps up otherwise, so stationary noise is
  // absorbed after a few seconds while the pauses between words keep it low during speech.
  if (level < floor_db_) {
    floor_db_ = level;
  } else {
    floor_db_ += rise_alpha_ * (level - floor_db_);
  }
  const int64_t frame_start = samples_seen_;
  samples_seen_ += static_cast<int64_t>(frame.size());

  if (!in_utterance_) {
    history_.insert(history_.end(), frame.begin(), frame.end());
    speech_run_ = speech ? speech_run_ + 1 : 0;
    if (speech_run_ >= start_frames_) {
      // Open with the speech run plus the pre-roll before it.
      const size_t keep_frames = std::min(history_.size() / frame_samples_, speech_run_ + pre_roll_frames_);
      const size_t keep = keep_frames * frame_samples_;
      in_utterance_ = true;
      utterance_frames_ = keep_frames;
      silence_run_ = 0;
      last_speech_end_ = samples_seen_;
      if (listener_.on_start) listener_.on_start(samples_seen_ - static_cast<int64_t>(keep));
      if (listener_.on_audio) listener_.on_audio(std::span<const int16_t>(history_).last(keep));
      history_.clear();
      speech_run_ = 0;
    } else {
      const size_t limit = (pre_roll_frames_ + start_frames_) * frame_samples_;
      if (history_.size() > limit) {
        history_.erase(history_.begin(), history_.begin() + static_cast<std::ptrdiff_t>(history_.size() - limit));
      }
    }
    return;
  }

  ++utterance_frames_;
  if (listener_.on_audio) listener_.on_audio(frame);
  if (speech) {
    silence_run_ = 0;
    last_speech_end_ = frame_start + static_cast<int64_t>(frame.size());
  } else {
    ++silence_run_;
  }
  if (silence_run_ >= hangover_frames_) {
    in_utterance_ = false;
    if (listener_.on_end) listener_.on_end(last_speech_end_, EndReason::kSilence);
  } else if (utterance_frames_ >= max_frames_) {
    in_utterance_ = false;
    if (listener_.on_end) listener_.on_end(samples_seen_, EndReason::kMaxLength);
  }
}

void Endpointer::flush() {
  if (!in_utterance_) return;
  if (!partial_frame_.empty() && listener_.on_audio) listener_.on_audio(partial_frame_);
  samples_seen_ += static_cast<int64_t>(partial_frame_.size());
  partial_frame_.clear();
  in_utterance_ = false;
  // Without trailing silence the end is where the audio stops.
  const int64_t end = silence_run_ == 0 ? samples_seen_ : last_speech_end_;
  if (listener_.on_end) listener_.on_end(end, EndReason::kFlush);
}

}  // namespace vontres::ai::stt
