// Call recording as a MediaTap: one stereo WAV per call, 8 kHz 16-bit, the caller on the left
// channel and the agent on the right. The two sides arrive independently (two strands); frames are
// aligned by arrival order and a side that sends nothing (on hold, muted, silence suppression) is
// filled with silence once the other side is more than 200 ms ahead. pause() records silence
// instead of audio (e.g. while a card number is read) so the timeline stays intact; resume() undoes it.
//
// Thread-safety: every method may be called from any thread (a mutex guards the file).
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "core/status.h"
#include "telephony/rtp/media_tap.h"
#include "telephony/rtp/wav.h"

namespace vontres::telephony::rtp {

class Recorder final : public MediaTap {
 public:
  static Result<std::shared_ptr<Recorder>> open(const std::string& path);

  void on_audio(std::string_view leg_id, Speaker speaker, std::span<const int16_t> pcm, TimePoint timestamp) override;
  void pause();
  void resume();
  bool paused() const;
  // Flushes what is pending (the lagging side padded with silence) and finalises the file.
  Status close();
  uint64_t frames_written() const;

 private:
  struct Key {};

 public:
  Recorder(Key key, std::unique_ptr<WavWriter> writer);

 private:
  Status write_aligned(bool flush);  // REQUIRES: mutex_ held

  mutable std::mutex mutex_;
  std::unique_ptr<WavWriter> writer_;  // GUARDED_BY(mutex_)
  std::deque<int16_t> pending_[2];     // GUARDED_BY(mutex_): caller, agent
  bool paused_ = false;                // GUARDED_BY(mutex_)
  Status status_;                      // GUARDED_BY(mutex_): the first write error
};

}  // namespace vontres::telephony::rtp
