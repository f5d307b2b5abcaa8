// The two ends of one call leg's media stream, as pure logic (no sockets, no threads):
//  - LegStreamWriter (call host) turns a leg's audio and DTMF into Twilio Media Streams text
//    frames: connected + start on open, media per 20 ms (160 mu-law bytes), dtmf, stop.
//  - LegStreamReader (AI service) checks a stream's frames and hands the decoded PCM and DTMF to a
//    MediaTap, the same interface the in-process tap feeds, so one AI pipeline serves both.
//  - BoundedFrameQueue: the hand-off between a media strand and the I/O thread that writes the
//    WebSocket; push() never blocks and drops (and counts) when full, so a stalled AI consumer can
//    never stall a call's media.
// A leg's start carries customParameters call_id, org_id, leg_id and speaker (caller | agent).
//
// Thread-safety: LegStreamWriter and LegStreamReader are single-threaded (one per leg, owned by
// one strand or connection). BoundedFrameQueue is safe for one producer and one consumer thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "telephony/media_stream/twilio_messages.h"
#include "telephony/rtp/media_tap.h"

namespace vontres::telephony::media_stream {

struct LegStreamIdentity {
  std::string call_id;
  std::string org_id;
  std::string leg_id;
  rtp::Speaker speaker = rtp::Speaker::kCaller;
};

class LegStreamWriter {
 public:
  // `stream_sid` must be unique per leg (e.g. "<leg_id>-<node>").
  LegStreamWriter(LegStreamIdentity identity, std::string stream_sid);
  // The connected and start frames (send first, on every (re)connection).
  std::vector<std::string> open(TimePoint now);
  // Frames for `pcm` (8 kHz mono). Audio is cut into 20 ms media messages; a remainder waits for
  // the next call.
  std::vector<std::string> audio(std::span<const int16_t> pcm);
  std::string dtmf(char digit);
  std::string stop();

 private:
  LegStreamIdentity identity_;
  std::string stream_sid_;
  uint64_t sequence_ = 0;
  uint64_t chunk_ = 0;
  std::vector<int16_t> pending_;
};

class LegStreamReader {
 public:
  // `tap` must outlive the reader. `clock` stamps the frames handed to it.
  LegStreamReader(rtp::MediaTap& tap, Clock& clock) : tap_(tap), clock_(clock) {}
  // One text frame. Errors: parse_message()'s codes, "media_stream_not_started" (media before
  // start), "media_stream_bad_start" (a missing customParameter, an unknown speaker, or a media
  // format other than 8 kHz mono mu-law), "media_stream_wrong_stream" (a streamSid other than the
  // start's). After an error the connection should be closed (policy violation).
  Status on_frame(std::string_view text);
  bool started() const { return identity_.has_value(); }
  bool stopped() const { return stopped_; }
  const std::optional<LegStreamIdentity>& identity() const { return identity_; }
  uint64_t media_frames() const { return media_frames_; }

 private:
  rtp::MediaTap& tap_;
  Clock& clock_;
  std::optional<LegStreamIdentity> identity_;
  std::string stream_sid_;
  bool stopped_ = false;
  uint64_t media_frames_ = 0;
};

class BoundedFrameQueue {
 public:
  explicit BoundedFrameQueue(size_t capacity) : capacity_(capacity) {}
  // Never blocks; false (and the frame counted as dropped) when the queue is full.
  bool push(std::string frame);
  // Everything queued, oldest first (the consumer's side).
  std::vector<std::string> drain();
  size_t size() const;
  uint64_t dropped() const;

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<std::string> frames_;  // GUARDED_BY(mutex_)
  uint64_t dropped_ = 0;            // GUARDED_BY(mutex_)
};

}  // namespace vontres::telephony::media_stream
