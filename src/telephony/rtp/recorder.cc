#include "telephony/rtp/recorder.h"

#include <algorithm>
#include <vector>

namespace vontres::telephony::rtp {
namespace {

constexpr size_t kMaxSkewSamples = 1600;  // 200 ms at 8 kHz

}  // namespace

Result<std::shared_ptr<Recorder>> Recorder::open(const std::string& path) {
  VONTRES_ASSIGN_OR_RETURN(auto writer, WavWriter::open(path, 8000, 2));
  return std::make_shared<Recorder>(Key{}, std::move(writer));
}

Recorder::Recorder(Key /*key*/, std::unique_ptr<WavWriter> writer) : writer_(std::move(writer)) {}

void Recorder::on_audio(std::string_view /*leg_id*/, Speaker speaker, std::span<const int16_t> pcm,
                        TimePoint /*timestamp*/) {
  std::lock_guard lock(mutex_);
  if (!writer_) return;
  auto& pending = pending_[speaker == Speaker::kCaller ? 0 : 1];
  if (paused_) {
    pending.insert(pending.end(), pcm.size(), 0);
  } else {
    pending.insert(pending.end(), pcm.begin(), pcm.end());
  }
  Status written = write_aligned(false);
  if (!written.is_ok() && status_.is_ok()) status_ = written;
}

Status Recorder::write_aligned(bool flush) {
  auto& left = pending_[0];
  auto& right = pending_[1];
  // A side that fell too far behind has gone quiet: pad it with silence.
  size_t longest = std::max(left.size(), right.size());
  if (flush || longest > kMaxSkewSamples) {
    size_t target = flush ? longest : longest - kMaxSkewSamples;
    if (left.size() < target) left.insert(left.end(), target - left.size(), 0);
    if (right.size() < target) right.insert(right.end(), target - right.size(), 0);
  }
  size_t frames = std::min(left.size(), right.size());
  if (frames == 0) return Status::ok();
  std::vector<int16_t> interleaved(frames * 2);
  for (size_t i = 0; i < frames; ++i) {
    interleaved[2 * i] = left[i];
    interleaved[2 * i + 1] = right[i];
  }
  left.erase(left.begin(), left.begin() + static_cast<std::ptrdiff_t>(frames));
  right.erase(right.begin(), right.begin() + static_cast<std::ptrdiff_t>(frames));
  return writer_->write(interleaved);
}

void Recorder::pause() {
  std::lock_guard lock(mutex_);
  paused_ = true;
}

void Recorder::resume() {
  std::lock_guard lock(mutex_);
  paused_ = false;
}

bool Recorder::paused() const {
  std::lock_guard lock(mutex_);
  return paused_;
}

Status Recorder::close() {
  std::lock_guard lock(mutex_);
  if (!writer_) return status_;
  Status flushed = write_aligned(true);
  Status closed = writer_->close();
  writer_.reset();
  if (status_.is_ok()) status_ = !flushed.is_ok() ? flushed : closed;
  return status_;
}

uint64_t Recorder::frames_written() const {
  std::lock_guard lock(mutex_);
  return writer_ ? writer_->frames_written() : 0;
}

}  // namespace vontres::telephony::rtp
