#include "ai/stt/resampler.h"

#include <speex/speex_resampler.h>

#include <algorithm>

namespace vontres::ai::stt {

void Resampler::Deleter::operator()(SpeexResamplerState_* state) const { speex_resampler_destroy(state); }

Resampler::Resampler(int in_rate, int out_rate, std::unique_ptr<SpeexResamplerState_, Deleter> state)
    : in_rate_(in_rate), out_rate_(out_rate), state_(std::move(state)) {}
Resampler::~Resampler() = default;

Result<std::unique_ptr<Resampler>> Resampler::create(int in_rate, int out_rate, int quality) {
  if (in_rate <= 0 || out_rate <= 0 || in_rate > 384000 || out_rate > 384000) {
    return invalid_argument("sample rates must be positive", "invalid_sample_rate");
  }
  std::unique_ptr<SpeexResamplerState_, Deleter> state;
  if (in_rate != out_rate) {
    int err = 0;
    state.reset(speex_resampler_init(1, static_cast<spx_uint32_t>(in_rate), static_cast<spx_uint32_t>(out_rate),
                                     std::clamp(quality, 0, 10), &err));
    if (!state || err != RESAMPLER_ERR_SUCCESS) {
      return internal_error(std::string("speexdsp: ") + speex_resampler_strerror(err), "resampler_failed");
    }
    speex_resampler_skip_zeros(state.get());  // no leading delay: timestamps stay aligned
  }
  return std::unique_ptr<Resampler>(new Resampler(in_rate, out_rate, std::move(state)));  // NOLINT
}

void Resampler::process(std::span<const int16_t> in, std::vector<int16_t>& out) {
  if (!state_) {
    out.insert(out.end(), in.begin(), in.end());
    return;
  }
  while (!in.empty()) {
    const auto chunk = static_cast<spx_uint32_t>(std::min<size_t>(in.size(), 4096));
    spx_uint32_t in_len = chunk;
    auto out_cap = static_cast<spx_uint32_t>(static_cast<int64_t>(chunk) * out_rate_ / in_rate_ + 64);
    const size_t old = out.size();
    out.resize(old + out_cap);
    speex_resampler_process_int(state_.get(), 0, in.data(), &in_len, out.data() + old, &out_cap);
    out.resize(old + out_cap);
    in = in.subspan(in_len);
    if (in_len == 0 && out_cap == 0) break;  // cannot happen with a sane state; avoids a spin
  }
}

Result<std::vector<int16_t>> resample(std::span<const int16_t> in, int in_rate, int out_rate) {
  VONTRES_ASSIGN_OR_RETURN(auto resampler, Resampler::create(in_rate, out_rate));
  std::vector<int16_t> out;
  out.reserve(in.size() * static_cast<size_t>(out_rate) / static_cast<size_t>(in_rate) + 16);
  resampler->process(in, out);
  if (in_rate != out_rate) {
    // Flush the filter's tail with zeros, then trim to the exact expected length.
    const std::vector<int16_t> zeros(static_cast<size_t>(in_rate / 50 + 64), 0);
    resampler->process(zeros, out);
    out.resize(std::min(out.size(), static_cast<size_t>(static_cast<int64_t>(in.size()) * out_rate / in_rate)));
  }
  return out;
}

}  // namespace vontres::ai::stt
