// Voice-activity detection and end-of-utterance detection on mono PCM: an energy detector on 10 ms
// frames against an adaptive noise floor (falls at once, rises with VadOptions::floor_rise_time),
// with a start delay, a pre-roll and a hangover. Pure logic: time is the sample count, no clock.
//
// Thread-safety: one instance per stream, used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "ai/stt/engine.h"

namespace vontres::ai::stt {

enum class EndReason { kSilence, kMaxLength, kFlush };

class Endpointer {
 public:
  struct Listener {
    std::function<void(int64_t start_sample)> on_start;          // utterance opens (pre-roll included)
    std::function<void(std::span<const int16_t> pcm)> on_audio;  // utterance audio, in order
    std::function<void(int64_t end_sample, EndReason)> on_end;   // end of the last speech frame
  };
  Endpointer(const VadOptions& options, int sample_rate, Listener listener);

  void feed(std::span<const int16_t> pcm);
  // Ends an utterance in progress (reason kFlush) with the audio buffered so far.
  void flush();

  bool in_utterance() const { return in_utterance_; }
  double noise_floor_db() const { return floor_db_; }
  int64_t samples_seen() const { return samples_seen_; }

  // dB re 1 LSB of the RMS of `frame` (0 for digital silence).
  static double frame_level_db(std::span<const int16_t> frame);

 private:
  void process_frame(std::span<const int16_t> frame);

  VadOptions options_;
  Listener listener_;
  size_t frame_samples_;
  size_t start_frames_, pre_roll_frames_, hangover_frames_, max_frames_;
  double rise_alpha_;
  std::vector<int16_t> partial_frame_;
  std::vector<int16_t> history_;  // last pre_roll_frames_ frames (outside utterances)
  double floor_db_;
  bool in_utterance_ = false;
  size_t speech_run_ = 0;   // consecutive speech frames
  size_t silence_run_ = 0;  // consecutive non-speech frames inside an utterance
  size_t utterance_frames_ = 0;
  int64_t samples_seen_ = 0;  // samples of complete frames processed
  int64_t last_speech_end_ = 0;
};

}  // namespace vontres::ai::stt
