// Sample-rate conversion of mono 16-bit PCM with speexdsp's resampler (windowed-sinc; the
// decoders want 16 kHz, calls arrive at 8 kHz). Streaming: state carries over between calls, so
// frames of any size can be pushed. Equal rates pass through untouched.
//
// Thread-safety: one instance per stream, used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"

struct SpeexResamplerState_;

namespace vontres::ai::stt {

class Resampler {
 public:
  // quality 0..10 (speexdsp; 3 is its VoIP default, 4 here). "invalid_sample_rate" for rates <= 0.
  static Result<std::unique_ptr<Resampler>> create(int in_rate, int out_rate, int quality = 4);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  // Appends the converted samples of `in` to `out`.
  void process(std::span<const int16_t> in, std::vector<int16_t>& out);
  int in_rate() const { return in_rate_; }
  int out_rate() const { return out_rate_; }

 private:
  struct Deleter {
    void operator()(SpeexResamplerState_* state) const;
  };
  Resampler(int in_rate, int out_rate, std::unique_ptr<SpeexResamplerState_, Deleter> state);
  int in_rate_, out_rate_;
  std::unique_ptr<SpeexResamplerState_, Deleter> state_;  // null when the rates are equal
};

// Whole-buffer convenience (adds the resampler's tail so nothing is lost at the end).
Result<std::vector<int16_t>> resample(std::span<const int16_t> in, int in_rate, int out_rate);

}  // namespace vontres::ai::stt
