// The bounded pool that transcribes live call legs: at most max_streams decoder streams are open at
// once and `workers` threads run them. Audio is pushed without waiting for decoding; each stream's
// backlog is bounded by max_lag of audio. Overload degrades instead of falling behind without limit:
// a leg beyond max_streams waits for a slot with its audio queued, and audio beyond max_lag (waiting
// or decoding too slowly) is dropped and counted; a waiting leg that loses audio this way counts once
// in streams_skipped.
//
// Thread-safety: all methods may be called from any thread; push() never waits for decoding (it
// takes one short lock). Handlers run on a worker thread, one at a time per stream.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ai/stt/engine.h"
#include "core/clock.h"
#include "core/status.h"

namespace vontres::ai::stt {

struct LiveTranscriberOptions {
  size_t max_streams = 8;                   // decoder slots
  size_t workers = 2;                       // decoding threads
  std::chrono::milliseconds max_lag{3000};  // audio a leg may have queued before frames are dropped
};

struct LiveStats {
  uint64_t frames_in = 0, frames_dropped = 0, streams_active = 0, streams_waiting = 0, streams_skipped = 0,
           utterances = 0;
  double audio_seconds = 0, decode_seconds = 0;  // audio decoded and worker time spent on it (the clock's)
  uint64_t stream_errors = 0;                    // open_stream/feed/finish failures
};

class LiveTranscriber {
 public:
  LiveTranscriber(Engine& engine, LiveTranscriberOptions options, const Clock& clock);
  ~LiveTranscriber();  // stops and joins the workers; queued audio is discarded
  LiveTranscriber(const LiveTranscriber&) = delete;
  LiveTranscriber& operator=(const LiveTranscriber&) = delete;

  using Handler = std::function<void(const std::string& id, const Hypothesis&)>;  // called on a worker thread
  // "already_open" if `id` is open; "invalid_sample_rate" outside 8000..48000.
  Status open(std::string id, Mode mode, int sample_rate, Handler handler);
  void push(std::string_view id, std::span<const int16_t> pcm);  // non-blocking; unknown ids ignored
  void set_mode(std::string_view id, Mode mode);
  void close(std::string_view id);  // flushes (final result delivered) then frees the decoder slot
  LiveStats stats() const;

 private:
  struct Leg;
  void worker_loop();
  void schedule_locked(const std::shared_ptr<Leg>& leg);  // REQUIRES: mutex_ held
  void grant_slots_locked();                              // REQUIRES: mutex_ held
  void run(const std::shared_ptr<Leg>& leg);

  Engine& engine_;
  const LiveTranscriberOptions options_;
  const Clock& clock_;

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  bool stopping_ = false;                                          // GUARDED_BY(mutex_)
  std::map<std::string, std::shared_ptr<Leg>, std::less<>> open_;  // GUARDED_BY(mutex_): ids accepting audio
  std::deque<std::shared_ptr<Leg>> waiting_;                       // GUARDED_BY(mutex_): legs without a slot, FIFO
  std::deque<std::shared_ptr<Leg>> ready_;                         // GUARDED_BY(mutex_): legs with work for a worker
  size_t slots_used_ = 0;                                          // GUARDED_BY(mutex_)
  LiveStats stats_;                                                // GUARDED_BY(mutex_)
  std::vector<std::thread> workers_;
};

}  // namespace vontres::ai::stt
