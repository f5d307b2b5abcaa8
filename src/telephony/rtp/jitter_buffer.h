// A receive jitter buffer for constant-duration audio frames (one RTP packet = one frame), pure and
// clock-driven: push() packets as they arrive, pop(now) the frames due for playout at `now`.
// Packets are ordered by sequence number (16-bit wraparound handled); late packets (behind the
// playout point) and duplicates are dropped; the buffer holds at most `max_packets` (the oldest is
// dropped on overflow). Playout starts `target_delay` after the first packet; a missing frame is
// concealed by repeating the previous payload once (kRepeat), then silence (kSilence). When the
// buffer runs dry for `rebuffer_after_frames` frames it waits for packets again (talkspurt gap,
// hold). Adaptive mode sets the target from the RFC 3550 interarrival jitter (3x, within
// [min_delay, max_delay]): an underrun stretches the delay by a frame, a backlog beyond target plus
// two frames is cut by dropping the oldest frame.
//
// Thread-safety: none; one buffer per media session, used on its strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "core/clock.h"

namespace vontres::telephony::rtp {

struct JitterBufferOptions {
  std::chrono::milliseconds frame_duration{20};
  uint32_t clock_rate = 8000;
  std::chrono::milliseconds target_delay{60};  // fixed mode; the starting target in adaptive mode
  bool adaptive = false;
  std::chrono::milliseconds min_delay{20};
  std::chrono::milliseconds max_delay{200};
  size_t max_packets = 50;
  int rebuffer_after_frames = 3;
};

struct JitterBufferStats {
  uint64_t received = 0;   // accepted into the buffer
  uint64_t played = 0;     // frames played from packets
  uint64_t concealed = 0;  // frames played as kRepeat or kSilence while playing
  uint64_t late = 0;       // arrived after their playout time
  uint64_t duplicates = 0;
  uint64_t overflow = 0;       // dropped because the buffer was full
  uint64_t latency_drops = 0;  // dropped by adaptive mode to shrink the delay
  uint64_t resyncs = 0;        // a sequence jump too large to be reordering: restarted
  double jitter_ms = 0;        // RFC 3550 interarrival jitter
  std::chrono::milliseconds target_delay{0};
  size_t buffered = 0;
};

enum class FrameKind { kAudio, kRepeat, kSilence };

struct JitterFrame {
  FrameKind kind = FrameKind::kAudio;
  uint8_t payload_type = 0;
  uint16_t sequence = 0;         // of the frame played (or concealed)
  std::vector<uint8_t> payload;  // for kAudio and kRepeat; empty for kSilence
};

class JitterBuffer {
 public:
  explicit JitterBuffer(JitterBufferOptions options = {});

  void push(uint16_t sequence, uint32_t rtp_timestamp, uint8_t payload_type, std::span<const uint8_t> payload,
            TimePoint arrival);
  // The next frame due at `now`, or nullopt when none is due yet (or the buffer is waiting for
  // packets). Call repeatedly until nullopt to catch up after a late tick.
  std::optional<JitterFrame> pop(TimePoint now);
  // Forget everything (e.g. a new remote source); statistics are kept.
  void reset();

  const JitterBufferStats& stats();
  bool playing() const { return playing_; }

 private:
  struct Entry {
    uint8_t payload_type = 0;
    std::vector<uint8_t> payload;
  };
  int64_t extend(uint16_t sequence) const;
  void update_jitter(uint32_t rtp_timestamp, TimePoint arrival);
  std::chrono::milliseconds target() const;

  JitterBufferOptions options_;
  JitterBufferStats stats_;
  std::map<int64_t, Entry> packets_;  // by extended sequence number
  bool have_reference_ = false;
  int64_t highest_ = 0;  // highest extended sequence number seen
  bool playing_ = false;
  bool started_ = false;  // next_ is meaningful (something was played)
  int64_t next_ = 0;      // extended sequence number to play next
  TimePoint next_playout_{};
  TimePoint first_arrival_{};
  bool waiting_ = false;  // have a first_arrival_ while not playing
  int empty_frames_ = 0;
  std::optional<Entry> last_;
  bool repeated_ = false;
  // Jitter (RFC 3550 A.8) in timestamp units.
  bool have_previous_ = false;
  TimePoint previous_arrival_{};
  uint32_t previous_timestamp_ = 0;
  double jitter_ = 0;
  std::chrono::milliseconds adaptive_target_;
};

}  // namespace vontres::telephony::rtp
