#include "telephony/rtp/jitter_buffer.h"

#include <algorithm>
#include <cmath>

namespace vontres::telephony::rtp {
namespace {

// A jump larger than this (in packets) is a new stream, not reordering.
constexpr int64_t kResyncDistance = 1000;

}  // namespace

JitterBuffer::JitterBuffer(JitterBufferOptions options) : options_(options), adaptive_target_(options.target_delay) {}

int64_t JitterBuffer::extend(uint16_t sequence) const {
  if (!have_reference_) return sequence;
  auto delta = static_cast<int16_t>(static_cast<uint16_t>(sequence - static_cast<uint16_t>(highest_)));
  return highest_ + delta;
}

std::chrono::milliseconds JitterBuffer::target() const {
  return options_.adaptive ? adaptive_target_ : options_.target_delay;
}

void JitterBuffer::update_jitter(uint32_t rtp_timestamp, TimePoint arrival) {
  if (have_previous_) {
    double arrival_units =
        std::chrono::duration<double>(arrival - previous_arrival_).count() * static_cast<double>(options_.clock_rate);
    double timestamp_units = static_cast<int32_t>(rtp_timestamp - previous_timestamp_);
    double difference = std::fabs(arrival_units - timestamp_units);
    jitter_ += (difference - jitter_) / 16.0;
  }
  have_previous_ = true;
  previous_arrival_ = arrival;
  previous_timestamp_ = rtp_timestamp;
  if (options_.adaptive) {
    double jitter_ms = jitter_ * 1000.0 / options_.clock_rate;
    auto frame = options_.frame_duration.count();
    auto wanted = static_cast<int64_t>(std::ceil(3.0 * jitter_ms / static_cast<double>(frame))) * frame;
    auto bounded = std::clamp<int64_t>(wanted, options_.min_delay.count(), options_.max_delay.count());
    // Grow at once; shrink one millisecond per packet so one calm second does not undo a burst.
    if (bounded > adaptive_target_.count()) {
      adaptive_target_ = std::chrono::milliseconds(bounded);
    } else if (bounded < adaptive_target_.count()) {
      adaptive_target_ -= std::chrono::milliseconds(1);
    }
  }
}

void JitterBuffer::push(uint16_t sequence, uint32_t rtp_timestamp, uint8_t payload_type,
                        std::span<const uint8_t> payload, TimePoint arrival) {
  int64_t extended = extend(sequence);
  if (!have_reference_) {
    have_reference_ = true;
    highest_ = extended;
  } else if (std::abs(extended - highest_) > kResyncDistance) {
    ++stats_.resyncs;
    packets_.clear();
    playing_ = false;
    started_ = false;
    waiting_ = false;
    highest_ = extended;
  }
  if (started_ && extended < next_) {
    ++stats_.late;
    return;
  }
  auto [it, inserted] = packets_.try_emplace(extended);
  if (!inserted) {
    ++stats_.duplicates;
    return;
  }
  it->second.payload_type = payload_type;
  it->second.payload.assign(payload.begin(), payload.end());
  ++stats_.received;
  highest_ = std::max(highest_, extended);
  update_jitter(rtp_timestamp, arrival);
  if (packets_.size() > options_.max_packets) {
    packets_.erase(packets_.begin());
    ++stats_.overflow;
    if (started_) next_ = std::max(next_, packets_.begin()->first);
  }
  if (!playing_ && !waiting_) {
    waiting_ = true;
    first_arrival_ = arrival;
  }
}

std::optional<JitterFrame> JitterBuffer::pop(TimePoint now) {
  if (!playing_) {
    if (!waiting_ || packets_.empty() || now < first_arrival_ + target()) return std::nullopt;
    playing_ = true;
    waiting_ = false;
    started_ = true;
    next_ = packets_.begin()->first;
    next_playout_ = first_arrival_ + target();  // a late caller catches up on every frame due
    empty_frames_ = 0;
  }
  if (now < next_playout_) return std::nullopt;
  next_playout_ += options_.frame_duration;

  if (options_.adaptive && packets_.contains(next_)) {
    auto backlog = options_.frame_duration * (highest_ - next_ + 1);
    if (backlog > target() + 2 * options_.frame_duration) {
      packets_.erase(next_);
      ++next_;
      ++stats_.latency_drops;
    }
  }

  JitterFrame frame;
  auto it = packets_.find(next_);
  if (it != packets_.end()) {
    frame.kind = FrameKind::kAudio;
    frame.payload_type = it->second.payload_type;
    frame.sequence = static_cast<uint16_t>(next_);
    frame.payload = it->second.payload;
    last_ = std::move(it->second);
    repeated_ = false;
    packets_.erase(it);
    ++next_;
    ++stats_.played;
    empty_frames_ = 0;
    return frame;
  }

  frame.sequence = static_cast<uint16_t>(next_);
  if (packets_.empty()) {
    // Underrun: nothing newer has arrived either.
    if (options_.adaptive) {
      adaptive_target_ = std::min(adaptive_target_ + options_.frame_duration, options_.max_delay);
    } else {
      ++next_;
    }
    if (++empty_frames_ >= options_.rebuffer_after_frames) {
      // The stream paused rather than lost packets: wait for it, and accept the frames we had
      // written off (a sender that resumes where it stopped is not late).
      playing_ = false;
      if (!options_.adaptive) next_ -= empty_frames_;
    }
  } else {
    ++next_;  // lost: a newer packet is already here
  }
  ++stats_.concealed;
  if (last_ && !repeated_) {
    frame.kind = FrameKind::kRepeat;
    frame.payload_type = last_->payload_type;
    frame.payload = last_->payload;
    repeated_ = true;
  } else {
    frame.kind = FrameKind::kSilence;
    frame.payload_type = last_ ? last_->payload_type : 0;
  }
  return frame;
}

void JitterBuffer::reset() {
  packets_.clear();
  have_reference_ = false;
  playing_ = false;
  started_ = false;
  waiting_ = false;
  empty_frames_ = 0;
  last_.reset();
  repeated_ = false;
  have_previous_ = false;
  jitter_ = 0;
  adaptive_target_ = options_.target_delay;
}

const JitterBufferStats& JitterBuffer::stats() {
  stats_.buffered = packets_.size();
  stats_.jitter_ms = jitter_ * 1000.0 / options_.clock_rate;
  stats_.target_delay = target();
  return stats_;
}

}  // namespace vontres::telephony::rtp
