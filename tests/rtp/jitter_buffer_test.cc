#include "telephony/rtp/jitter_buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace vontres::telephony::rtp {
namespace {

using std::chrono::milliseconds;

std::vector<uint8_t> payload_of(int index) {
  return {static_cast<uint8_t>(index), static_cast<uint8_t>(index >> 8), 0xAB};
}

class JitterBufferTest : public ::testing::Test {
 protected:
  void push(JitterBuffer& buffer, uint16_t sequence, int index) {
    auto payload = payload_of(index);
    buffer.push(sequence, static_cast<uint32_t>(index * 160), 0, payload, clock_.now());
  }
  std::vector<JitterFrame> pop_all(JitterBuffer& buffer) {
    std::vector<JitterFrame> frames;
    while (auto frame = buffer.pop(clock_.now())) frames.push_back(std::move(*frame));
    return frames;
  }
  ManualClock clock_;
};

TEST_F(JitterBufferTest, HoldsTheFirstPacketForTheTargetDelay) {
  JitterBuffer buffer(JitterBufferOptions{.target_delay = milliseconds(60)});
  push(buffer, 10, 0);
  EXPECT_FALSE(buffer.pop(clock_.now()));
  clock_.advance(milliseconds(59));
  EXPECT_FALSE(buffer.pop(clock_.now()));
  clock_.advance(milliseconds(1));
  auto frame = buffer.pop(clock_.now());
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->kind, FrameKind::kAudio);
  EXPECT_EQ(frame->sequence, 10);
  EXPECT_EQ(frame->payload, payload_of(0));
  EXPECT_FALSE(buffer.pop(clock_.now())) << "the next frame is due 20 ms later";
}

TEST_F(JitterBufferTest, ReordersAcrossSequenceWraparound) {
  JitterBuffer buffer(JitterBufferOptions{.target_delay = milliseconds(40)});
  push(buffer, 65535, 0);
  push(buffer, 1, 2);
  push(buffer, 0, 1);
  clock_.advance(milliseconds(40));
  std::vector<uint16_t> played;
  for (int i = 0; i < 3; ++i) {
    for (auto& frame : pop_all(buffer)) played.push_back(frame.sequence);
    clock_.advance(milliseconds(20));
  }
  EXPECT_EQ(played, (std::vector<uint16_t>{65535, 0, 1}));
}

TEST_F(JitterBufferTest, DropsDuplicatesAndLatePackets) {
  JitterBuffer buffer(JitterBufferOptions{.target_delay = milliseconds(20)});
  push(buffer, 100, 0);
  push(buffer, 100, 0);
  clock_.advance(milliseconds(20));
  ASSERT_EQ(pop_all(buffer).size(), 1u);
  push(buffer, 100, 0);  // after it was played
  push(buffer, 99, 0);   // older than anything played
  EXPECT_EQ(buffer.stats().duplicates, 1u);
  EXPECT_EQ(buffer.stats().late, 2u);
}

TEST_F(JitterBufferTest, ConcealsALossWithOneRepeatThenSilence) {
  JitterBuffer buffer(JitterBufferOptions{.target_delay = milliseconds(20), .rebuffer_after_frames = 10});
  push(buffer, 1, 1);
  push(buffer, 5, 5);
  clock_.advance(milliseconds(20));
  std::vector<FrameKind> kinds;
  for (int i = 0; i < 5; ++i) {
    for (auto& frame : pop_all(buffer)) kinds.push_back(frame.kind);
    clock_.advance(milliseconds(20));
  }
  EXPECT_EQ(kinds, (std::vector<FrameKind>{FrameKind::kAudio, FrameKind::kRepeat, FrameKind::kSilence,
                                           FrameKind::kSilence, FrameKind::kAudio}));
  EXPECT_EQ(buffer.stats().concealed, 3u);
  EXPECT_EQ(buffer.stats().played, 2u);
}

TEST_F(JitterBufferTest, StaysBoundedAndDropsTheOldestOnOverflow) {
  JitterBuffer buffer(JitterBufferOptions{.target_delay = milliseconds(1000), .max_packets = 8});
  for (int i = 0; i < 20; ++i) push(buffer, static_cast<uint16_t>(i), i);
  EXPECT_EQ(buffer.stats().buffered, 8u);
  EXPECT_EQ(buffer.stats().overflow, 12u);
  clock_.advance(milliseconds(1000));
  auto frame = buffer.pop(clock_.now());
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->sequence, 12);
}

TEST_F(JitterBufferTest, RebuffersAfterAPauseWithoutDroppingTheResumedPackets) {
  JitterBuffer buffer(JitterBufferOptions{.target_delay = milliseconds(40), .rebuffer_after_frames = 3});
  push(buffer, 1, 1);
  clock_.advance(milliseconds(40));
  ASSERT_EQ(pop_all(buffer).size(), 1u);
  for (int i = 0; i < 5; ++i) {  // the sender pauses (hold): the buffer runs dry
    clock_.advance(milliseconds(20));
    pop_all(buffer);
  }
  EXPECT_FALSE(buffer.playing());
  push(buffer, 2, 2);  // resumes right where it stopped
  push(buffer, 3, 3);
  EXPECT_EQ(buffer.stats().late, 0u);
  clock_.advance(milliseconds(40));
  auto frames = pop_all(buffer);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].sequence, 2);
  EXPECT_EQ(frames[0].kind, FrameKind::kAudio);
}

TEST_F(JitterBufferTest, AHugeSequenceJumpRestartsTheStream) {
  JitterBuffer buffer(JitterBufferOptions{.target_delay = milliseconds(20)});
  push(buffer, 100, 0);
  clock_.advance(milliseconds(20));
  pop_all(buffer);
  push(buffer, 30000, 1);
  EXPECT_EQ(buffer.stats().resyncs, 1u);
  clock_.advance(milliseconds(20));
  auto frames = pop_all(buffer);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].sequence, 30000);
}

// A simulated network: packet i is sent at 20*i ms, delayed by a random amount, sometimes lost or
// duplicated. Events are applied in 5 ms clock steps with a ManualClock.
struct Trace {
  struct Arrival {
    int64_t at_ms;
    int index;
  };
  std::vector<Arrival> arrivals;
  std::set<int> lost;
  int duplicate_deliveries = 0;
};

Trace make_trace(uint32_t seed, int packets, int max_delay_ms, double loss, double duplicate) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> delay(0, max_delay_ms);
  std::bernoulli_distribution lose(loss);
  std::bernoulli_distribution dup(duplicate);
  Trace trace;
  for (int i = 0; i < packets; ++i) {
    bool previous_lost = trace.lost.contains(i - 1);
    if (i > 0 && i < packets - 1 && !previous_lost && lose(random)) {  // isolated losses only
      trace.lost.insert(i);
      continue;
    }
    trace.arrivals.push_back({20 * i + delay(random), i});
    if (dup(random)) {
      trace.arrivals.push_back({20 * i + delay(random), i});
      ++trace.duplicate_deliveries;
    }
  }
  std::stable_sort(trace.arrivals.begin(), trace.arrivals.end(),
                   [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
  return trace;
}

struct Played {
  FrameKind kind;
  uint16_t sequence;
  int index;  // from the payload, -1 when concealed
};

std::vector<Played> run_trace(const Trace& trace, JitterBuffer& buffer, uint16_t first_sequence, int packets,
                              size_t& max_buffered) {
  ManualClock clock;
  std::vector<Played> played;
  size_t next = 0;
  for (int64_t t = 0; t <= 20 * packets + 1000; t += 5) {
    while (next < trace.arrivals.size() && trace.arrivals[next].at_ms <= t) {
      int index = trace.arrivals[next].index;
      auto payload = payload_of(index);
      buffer.push(static_cast<uint16_t>(first_sequence + index), static_cast<uint32_t>(index * 160), 0, payload,
                  clock.now());
      ++next;
      max_buffered = std::max(max_buffered, buffer.stats().buffered);
    }
    while (auto frame = buffer.pop(clock.now())) {
      int index = frame->kind == FrameKind::kAudio ? frame->payload[0] | (frame->payload[1] << 8) : -1;
      played.push_back({frame->kind, frame->sequence, index});
    }
    clock.advance(milliseconds(5));
  }
  return played;
}

class JitterBufferPropertyTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(JitterBufferPropertyTest, DelayWithinTargetPlaysEveryPacketOnceInOrderAndConcealsExactlyTheLosses) {
  constexpr int kPackets = 600;
  const uint16_t first_sequence = static_cast<uint16_t>(65000 + GetParam() * 37);  // wraps mid-stream
  Trace trace = make_trace(GetParam(), kPackets, 50, 0.05, 0.05);
  JitterBuffer buffer(JitterBufferOptions{.target_delay = milliseconds(60), .max_packets = 50});
  size_t max_buffered = 0;
  auto played = run_trace(trace, buffer, first_sequence, kPackets, max_buffered);

  // Up to the last audio frame, frames are consecutive and each audio frame is the packet expected.
  auto last_audio = std::find_if(played.rbegin(), played.rend(), [](const Played& p) { return p.index >= 0; });
  ASSERT_NE(last_audio, played.rend());
  size_t end = played.size() - static_cast<size_t>(last_audio - played.rbegin());
  std::set<int> concealed;
  for (size_t i = 0; i < end; ++i) {
    ASSERT_EQ(played[i].sequence, static_cast<uint16_t>(first_sequence + i)) << "frame " << i;
    if (played[i].index >= 0) {
      ASSERT_EQ(played[i].index, static_cast<int>(i));
    } else {
      concealed.insert(static_cast<int>(i));
    }
  }
  EXPECT_EQ(end, static_cast<size_t>(kPackets));
  EXPECT_EQ(concealed, trace.lost);
  const auto& stats = buffer.stats();
  EXPECT_EQ(stats.played, static_cast<uint64_t>(kPackets) - trace.lost.size());
  EXPECT_EQ(stats.duplicates + stats.late, static_cast<uint64_t>(trace.duplicate_deliveries))
      << "only duplicates can be late when delay stays under the target";
  EXPECT_LE(max_buffered, 50u);
}

TEST_P(JitterBufferPropertyTest, HeavyJitterNeverPlaysBackwardsOrTwiceAndAccountsForEveryPacket) {
  constexpr int kPackets = 600;
  const uint16_t first_sequence = static_cast<uint16_t>(65300 + GetParam());
  Trace trace = make_trace(GetParam() + 1000, kPackets, 250, 0.05, 0.1);
  for (bool adaptive : {false, true}) {
    JitterBuffer buffer(JitterBufferOptions{
        .target_delay = milliseconds(40), .adaptive = adaptive, .max_delay = milliseconds(300), .max_packets = 16});
    size_t max_buffered = 0;
    auto played = run_trace(trace, buffer, first_sequence, kPackets, max_buffered);
    std::set<int> seen;
    int previous = -1;
    for (const auto& p : played) {
      if (p.index < 0) continue;
      ASSERT_GT(p.index, previous) << "played backwards (adaptive=" << adaptive << ")";
      ASSERT_TRUE(seen.insert(p.index).second) << "played twice";
      ASSERT_FALSE(trace.lost.contains(p.index));
      previous = p.index;
    }
    const auto& stats = buffer.stats();
    uint64_t delivered = trace.arrivals.size();
    EXPECT_EQ(stats.received + stats.duplicates + stats.late, delivered);
    EXPECT_EQ(stats.played, seen.size());
    EXPECT_LE(max_buffered, 16u);
    if (adaptive) {
      EXPECT_GT(stats.target_delay, milliseconds(40)) << "jitter of this size raises the target";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, JitterBufferPropertyTest, ::testing::Range<uint32_t>(1, 21));

}  // namespace
}  // namespace vontres::telephony::rtp
