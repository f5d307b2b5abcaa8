#include "ai/stt/live_transcriber.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace vontres::ai::stt {
namespace {

using namespace std::chrono_literals;

// A decoder stand-in: counts the samples of each utterance and reports "<mode> <samples>" as the
// final result on finish(). feed() can be held at a gate to play a slow decoder.
class FakeEngine final : public Engine {
 public:
  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    bool gate_open = true;
    int feeds_waiting = 0;
    int streams_opened = 0;
    int streams_alive = 0;
  };

  class FakeStream final : public Stream {
   public:
    FakeStream(Shared& shared, Mode mode, HypothesisHandler handler)
        : shared_(shared), mode_(mode), handler_(std::move(handler)) {}
    ~FakeStream() override {
      std::lock_guard lock(shared_.mutex);
      --shared_.streams_alive;
      shared_.changed.notify_all();
    }
    Status feed(std::span<const int16_t> pcm) override {
      std::unique_lock lock(shared_.mutex);
      ++shared_.feeds_waiting;
      shared_.changed.notify_all();
      shared_.changed.wait(lock, [this] { return shared_.gate_open; });
      --shared_.feeds_waiting;
      samples_ += pcm.size();
      return Status::ok();
    }
    Status finish() override {
      handler_(Hypothesis{.text = std::string(mode_name(mode_)) + " " + std::to_string(samples_), .is_final = true});
      samples_ = 0;
      return Status::ok();
    }
    Status set_mode(Mode mode) override {
      mode_ = mode;
      return Status::ok();
    }

   private:
    Shared& shared_;
    Mode mode_;
    HypothesisHandler handler_;
    size_t samples_ = 0;
  };

  Result<std::unique_ptr<Stream>> open_stream(Mode mode, int /*sample_rate*/, HypothesisHandler handler) override {
    std::lock_guard lock(shared.mutex);
    ++shared.streams_opened;
    ++shared.streams_alive;
    return std::unique_ptr<Stream>(std::make_unique<FakeStream>(shared, mode, std::move(handler)));
  }

  void close_gate() {
    std::lock_guard lock(shared.mutex);
    shared.gate_open = false;
  }
  void open_gate() {
    std::lock_guard lock(shared.mutex);
    shared.gate_open = true;
    shared.changed.notify_all();
  }
  // Waits (bounded) until a worker sits in feed() behind the closed gate.
  bool wait_for_blocked_feed() {
    std::unique_lock lock(shared.mutex);
    return shared.changed.wait_for(lock, 10s, [this] { return shared.feeds_waiting > 0; });
  }

  Shared shared;
};

// Collects final results per id; wait_for() blocks until `count` finals arrived (bounded, not a timing assertion).
class Finals {
 public:
  LiveTranscriber::Handler handler() {
    return [this](const std::string& id, const Hypothesis& h) {
      std::lock_guard lock(mutex_);
      if (h.is_final) texts_[id].push_back(h.text);
      ++total_;
      changed_.notify_all();
    };
  }
  bool wait_for(size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return total_ >= count; });
  }
  std::vector<std::string> of(const std::string& id) {
    std::lock_guard lock(mutex_);
    return texts_[id];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::vector<std::string>> texts_;
  size_t total_ = 0;
};

// Stats are updated just after the handler returns: poll (bounded) until they settle.
template <typename Predicate>
bool eventually(Predicate predicate) {
  for (int i = 0; i < 10000; ++i) {
    if (predicate()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return predicate();
}

const std::vector<int16_t> kFrame(160, 100);  // 20 ms at 8 kHz

TEST(LiveTranscriberTest, CloseFlushesTheFinalResultAndFreesTheSlot) {
  FakeEngine engine;
  ManualClock clock;
  Finals finals;
  {
    LiveTranscriber live(engine, {.max_streams = 2, .workers = 2}, clock);
    ASSERT_TRUE(live.open("a", Mode::kOpen, 8000, finals.handler()));
    for (int i = 0; i < 5; ++i) live.push("a", kFrame);
    live.close("a");
    ASSERT_TRUE(finals.wait_for(1));
    EXPECT_EQ(finals.of("a"), std::vector<std::string>{"open 800"});
    ASSERT_TRUE(eventually([&] { return live.stats().streams_active == 0; }));
    auto stats = live.stats();
    EXPECT_EQ(stats.frames_in, 5u);
    EXPECT_EQ(stats.frames_dropped, 0u);
    EXPECT_EQ(stats.utterances, 1u);
    EXPECT_EQ(stats.streams_active, 0u);
    EXPECT_DOUBLE_EQ(stats.audio_seconds, 0.1);
    EXPECT_EQ(stats.decode_seconds, 0.0);  // the manual clock did not move
  }
  EXPECT_EQ(engine.shared.streams_alive, 0);
}

TEST(LiveTranscriberTest, OpeningAnOpenIdFailsAndUnknownIdsAreIgnored) {
  FakeEngine engine;
  ManualClock clock;
  Finals finals;
  LiveTranscriber live(engine, {}, clock);
  ASSERT_TRUE(live.open("a", Mode::kOpen, 8000, finals.handler()));
  EXPECT_EQ(live.open("a", Mode::kOpen, 8000, finals.handler()).code(), "already_open");
  EXPECT_EQ(live.open("b", Mode::kOpen, 4000, finals.handler()).code(), "invalid_sample_rate");
  live.push("nobody", kFrame);
  live.set_mode("nobody", Mode::kGrammar);
  live.close("nobody");
  EXPECT_EQ(live.stats().frames_in, 0u);
  live.close("a");
  ASSERT_TRUE(finals.wait_for(1));
  // A closed id can be opened again.
  EXPECT_TRUE(live.open("a", Mode::kOpen, 8000, finals.handler()));
}

TEST(LiveTranscriberTest, BeyondMaxStreamsALegWaitsWithItsAudioQueued) {
  FakeEngine engine;
  ManualClock clock;
  Finals finals;
  LiveTranscriber live(engine, {.max_streams = 1, .workers = 2, .max_lag = 1000ms}, clock);
  ASSERT_TRUE(live.open("a", Mode::kOpen, 8000, finals.handler()));
  ASSERT_TRUE(live.open("b", Mode::kGrammar, 8000, finals.handler()));
  auto stats = live.stats();
  EXPECT_EQ(stats.streams_active, 1u);
  EXPECT_EQ(stats.streams_waiting, 1u);
  for (int i = 0; i < 10; ++i) live.push("b", kFrame);  // 200 ms, within max_lag
  live.push("a", kFrame);
  live.close("a");
  ASSERT_TRUE(finals.wait_for(1));
  EXPECT_EQ(finals.of("a"), std::vector<std::string>{"open 160"});
  // b got a's slot and decoded what it had queued while waiting.
  live.close("b");
  ASSERT_TRUE(finals.wait_for(2));
  EXPECT_EQ(finals.of("b"), std::vector<std::string>{"grammar 1600"});
  stats = live.stats();
  EXPECT_EQ(stats.frames_dropped, 0u);
  EXPECT_EQ(stats.streams_skipped, 0u);
  EXPECT_EQ(engine.shared.streams_opened, 2);
}

TEST(LiveTranscriberTest, AWaitingLegBeyondMaxLagDropsFramesAndCountsAsSkipped) {
  FakeEngine engine;
  ManualClock clock;
  Finals finals;
  LiveTranscriber live(engine, {.max_streams = 1, .workers = 1, .max_lag = 100ms}, clock);
  ASSERT_TRUE(live.open("a", Mode::kOpen, 8000, finals.handler()));
  ASSERT_TRUE(live.open("b", Mode::kOpen, 8000, finals.handler()));
  for (int i = 0; i < 12; ++i) live.push("b", kFrame);  // 100 ms = 5 frames fit, 7 are dropped
  auto stats = live.stats();
  EXPECT_EQ(stats.frames_in, 12u);
  EXPECT_EQ(stats.frames_dropped, 7u);
  EXPECT_EQ(stats.streams_skipped, 1u);
  EXPECT_EQ(stats.streams_waiting, 1u);
  live.close("a");
  live.close("b");
  ASSERT_TRUE(finals.wait_for(2));
  EXPECT_EQ(finals.of("b"), std::vector<std::string>{"open 800"});
}

TEST(LiveTranscriberTest, PushNeverWaitsForASlowDecoder) {
  FakeEngine engine;
  ManualClock clock;
  Finals finals;
  LiveTranscriber live(engine, {.max_streams = 1, .workers = 1, .max_lag = 200ms}, clock);
  ASSERT_TRUE(live.open("a", Mode::kOpen, 8000, finals.handler()));
  engine.close_gate();
  live.push("a", kFrame);
  ASSERT_TRUE(engine.wait_for_blocked_feed());  // the only worker is stuck in feed()
  // If push() waited for the decoder this loop would never end (the gate opens only after it).
  for (int i = 0; i < 50; ++i) live.push("a", kFrame);
  auto stats = live.stats();
  EXPECT_EQ(stats.frames_in, 51u);
  EXPECT_EQ(stats.frames_dropped, 40u);  // 200 ms (10 frames) queue; the rest is dropped
  EXPECT_EQ(stats.streams_skipped, 0u);  // it has a slot: it is slow, not waiting
  engine.open_gate();
  live.close("a");
  ASSERT_TRUE(finals.wait_for(1));
  EXPECT_EQ(finals.of("a"), std::vector<std::string>{"open 1760"});  // 11 frames decoded
}

TEST(LiveTranscriberTest, ModeChangeReachesTheStream) {
  FakeEngine engine;
  ManualClock clock;
  Finals finals;
  LiveTranscriber live(engine, {}, clock);
  ASSERT_TRUE(live.open("a", Mode::kOpen, 16000, finals.handler()));
  live.set_mode("a", Mode::kGrammar);
  live.push("a", kFrame);
  live.close("a");
  ASSERT_TRUE(finals.wait_for(1));
  EXPECT_EQ(finals.of("a"), std::vector<std::string>{"grammar 160"});
}

TEST(LiveTranscriberTest, ManyLegsOnFewSlotsAllFinish) {
  FakeEngine engine;
  ManualClock clock;
  Finals finals;
  {
    LiveTranscriber live(engine, {.max_streams = 3, .workers = 2, .max_lag = 5000ms}, clock);
    for (int leg = 0; leg < 20; ++leg) {
      const std::string id = "leg" + std::to_string(leg);
      ASSERT_TRUE(live.open(id, Mode::kOpen, 8000, finals.handler()));
      for (int i = 0; i <= leg; ++i) live.push(id, kFrame);
      live.close(id);
    }
    ASSERT_TRUE(finals.wait_for(20));
    for (int leg = 0; leg < 20; ++leg) {
      EXPECT_EQ(finals.of("leg" + std::to_string(leg)),
                std::vector<std::string>{"open " + std::to_string(160 * (leg + 1))});
    }
    EXPECT_LE(engine.shared.streams_opened, 20);
    ASSERT_TRUE(eventually([&] { return live.stats().streams_active == 0; }));
    auto stats = live.stats();
    EXPECT_EQ(stats.streams_active, 0u);
    EXPECT_EQ(stats.streams_waiting, 0u);
    EXPECT_EQ(stats.utterances, 20u);
  }
  EXPECT_EQ(engine.shared.streams_alive, 0);
}

TEST(LiveTranscriberTest, DestructionWithOpenLegsJoinsCleanly) {
  FakeEngine engine;
  ManualClock clock;
  Finals finals;
  {
    LiveTranscriber live(engine, {.max_streams = 1}, clock);
    ASSERT_TRUE(live.open("a", Mode::kOpen, 8000, finals.handler()));
    ASSERT_TRUE(live.open("b", Mode::kOpen, 8000, finals.handler()));
    live.push("a", kFrame);
    live.push("b", kFrame);
  }
  EXPECT_EQ(engine.shared.streams_alive, 0);
}

}  // namespace
}  // namespace vontres::ai::stt
