#include "ai/stt/live_transcriber.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace vontres::ai::stt {

struct LiveTranscriber::Leg {
  std::string id;
  int sample_rate = 8000;
  Handler handler;
  // Guarded by the transcriber's mutex_:
  std::deque<std::vector<int16_t>> audio;
  size_t queued_samples = 0;
  Mode mode = Mode::kOpen;
  bool mode_changed = false;
  bool has_slot = false;
  bool scheduled = false;  // in ready_ or being run by a worker
  bool closing = false;
  bool skipped = false;
  // Owned by the worker running the leg (only one at a time, see `scheduled`):
  std::unique_ptr<Stream> stream;
  bool open_failed = false;
  uint64_t finals = 0;  // final hypotheses since the last stats update
};

LiveTranscriber::LiveTranscriber(Engine& engine, LiveTranscriberOptions options, const Clock& clock)
    : engine_(engine), options_(options), clock_(clock) {
  const size_t workers = std::max<size_t>(1, options_.workers);
  workers_.reserve(workers);
  for (size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

LiveTranscriber::~LiveTranscriber() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& t : workers_) t.join();
}

Status LiveTranscriber::open(std::string id, Mode mode, int sample_rate, Handler handler) {
  if (sample_rate < 8000 || sample_rate > 48000) {
    return invalid_argument("sample rate must be 8000..48000 Hz", "invalid_sample_rate");
  }
  auto leg = std::make_shared<Leg>();
  leg->id = id;
  leg->sample_rate = sample_rate;
  leg->handler = std::move(handler);
  leg->mode = mode;
  std::lock_guard lock(mutex_);
  if (open_.count(id) != 0) return already_exists("stream '" + id + "' is already open", "already_open");
  open_.emplace(std::move(id), leg);
  waiting_.push_back(leg);
  grant_slots_locked();
  return Status::ok();
}

void LiveTranscriber::grant_slots_locked() {
  while (slots_used_ < options_.max_streams && !waiting_.empty()) {
    auto leg = std::move(waiting_.front());
    waiting_.pop_front();
    leg->has_slot = true;
    ++slots_used_;
    schedule_locked(leg);  // opens the decoder stream on a worker
  }
}

void LiveTranscriber::schedule_locked(const std::shared_ptr<Leg>& leg) {
  if (leg->scheduled || !leg->has_slot) return;
  leg->scheduled = true;
  ready_.push_back(leg);
  work_ready_.notify_one();
}

void LiveTranscriber::push(std::string_view id, std::span<const int16_t> pcm) {
  if (pcm.empty()) return;
  std::lock_guard lock(mutex_);
  auto it = open_.find(id);
  if (it == open_.end()) return;
  Leg& leg = *it->second;
  ++stats_.frames_in;
  const auto limit = static_cast<size_t>(options_.max_lag.count() * leg.sample_rate / 1000);
  if (leg.queued_samples + pcm.size() > limit) {
    ++stats_.frames_dropped;
    if (!leg.has_slot && !leg.skipped) {
      leg.skipped = true;
      ++stats_.streams_skipped;
    }
    return;
  }
  leg.audio.emplace_back(pcm.begin(), pcm.end());
  leg.queued_samples += pcm.size();
  schedule_locked(it->second);
}

void LiveTranscriber::set_mode(std::string_view id, Mode mode) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(id);
  if (it == open_.end()) return;
  it->second->mode = mode;
  it->second->mode_changed = true;
  schedule_locked(it->second);
}

void LiveTranscriber::close(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(id);
  if (it == open_.end()) return;
  auto leg = it->second;
  open_.erase(it);
  leg->closing = true;
  // A waiting leg keeps its place: its queued audio is decoded and flushed once it gets a slot.
  schedule_locked(leg);
}

LiveStats LiveTranscriber::stats() const {
  std::lock_guard lock(mutex_);
  LiveStats s = stats_;
  s.streams_active = slots_used_;
  s.streams_waiting = waiting_.size();
  return s;
}

void LiveTranscriber::worker_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
    if (stopping_) return;
    auto leg = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    run(leg);
    lock.lock();
  }
}

// Runs one leg's pending work outside the lock, then reschedules it if more arrived meanwhile.
void LiveTranscriber::run(const std::shared_ptr<Leg>& leg) {
  uint64_t errors = 0;
  while (true) {
    std::deque<std::vector<int16_t>> audio;
    bool closing = false;
    std::optional<Mode> new_mode;
    Mode open_mode = Mode::kOpen;
    {
      std::lock_guard lock(mutex_);
      audio.swap(leg->audio);
      leg->queued_samples = 0;
      closing = leg->closing;
      open_mode = leg->mode;
      if (leg->mode_changed) new_mode = leg->mode;
      leg->mode_changed = false;
      if (audio.empty() && !closing && !new_mode && (leg->stream || leg->open_failed)) {
        leg->scheduled = false;
        stats_.stream_errors += errors;
        return;
      }
    }
    const TimePoint started = clock_.now();
    size_t samples = 0;
    if (!leg->stream && !leg->open_failed) {
      // The stream belongs to the leg, so the leg outlives every call of this handler.
      Leg* owner = leg.get();
      auto stream = engine_.open_stream(open_mode, leg->sample_rate, [owner](const Hypothesis& h) {
        if (h.is_final) ++owner->finals;
        if (owner->handler) owner->handler(owner->id, h);
      });
      if (stream) {
        leg->stream = std::move(stream).value();
      } else {
        leg->open_failed = true;
        ++errors;
      }
    }
    if (leg->stream) {
      if (new_mode && !leg->stream->set_mode(*new_mode)) ++errors;
      for (const auto& chunk : audio) {
        samples += chunk.size();
        if (!leg->stream->feed(chunk)) ++errors;
      }
      if (closing && !leg->stream->finish()) ++errors;
    }
    const double seconds = std::chrono::duration<double>(clock_.now() - started).count();
    std::lock_guard lock(mutex_);
    stats_.audio_seconds += static_cast<double>(samples) / leg->sample_rate;
    stats_.decode_seconds += seconds;
    stats_.utterances += std::exchange(leg->finals, 0);
    if (closing && leg->audio.empty()) {
      leg->stream.reset();  // returns the decoder to the engine
      leg->has_slot = false;
      leg->scheduled = false;
      --slots_used_;
      stats_.stream_errors += errors;
      grant_slots_locked();
      return;
    }
  }
}

}  // namespace vontres::ai::stt
