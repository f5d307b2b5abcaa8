// The seam between media and the AI service: a MediaTap sees the decoded audio of both sides of
// every call (8 kHz mono 16-bit PCM, 20 ms frames as played out of the jitter buffer). Bridge and
// MediaSession listeners call it; Recorder implements it.
//
// Thread-safety: on_audio() is called on the strand of the session that received the audio, so the
// caller's and the agent's frames of one call may arrive concurrently on two threads. `pcm` is only
// valid during the call; copy what you keep. Implementations must not block.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/clock.h"

namespace vontres::telephony::rtp {

enum class Speaker { kCaller, kAgent };
std::string_view speaker_name(Speaker speaker);  // "caller", "agent"

class MediaTap {
 public:
  virtual ~MediaTap() = default;
  // `timestamp` is the injected clock's time when the frame was played out.
  virtual void on_audio(std::string_view leg_id, Speaker speaker, std::span<const int16_t> pcm,
                        TimePoint timestamp) = 0;
  // A DTMF key (RFC 4733 event end) on one side of a call, so in-call protection can pause
  // recording/transcripts while card digits are keyed. Same threading as on_audio.
  virtual void on_dtmf(std::string_view /*leg_id*/, Speaker /*speaker*/, char /*digit*/, TimePoint /*timestamp*/) {}
};

}  // namespace vontres::telephony::rtp
