#include "ai/sentiment/tracker.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "core/clock.h"

namespace vontres::ai::sentiment {
namespace {

using std::chrono::seconds;

// "no" scores -0.296, "terrible" -0.4767, "good" 0.4404, "The service is good" 0.4404.
class SentimentTrackerTest : public ::testing::Test {
 protected:
  SentimentTracker make(const SentimentTrackerOptions& options = {}) {
    auto tracker = SentimentTracker::create(analyzer_, clock_, options);
    EXPECT_TRUE(tracker.is_ok()) << tracker.status().to_string();
    return std::move(tracker).value();
  }
  SentimentAnalyzer analyzer_;
  ManualClock clock_;
};

TEST_F(SentimentTrackerTest, RejectsOptionsOutOfRange) {
  SentimentTrackerOptions options;
  options.alert_threshold = -1.0;
  EXPECT_EQ(SentimentTracker::create(analyzer_, clock_, options).status().code(), "invalid_sentiment_tracker_options");
  options = {};
  options.alert_duration = seconds(0);
  EXPECT_FALSE(SentimentTracker::create(analyzer_, clock_, options).is_ok());
  options = {};
  options.half_life = seconds(-1);
  EXPECT_FALSE(SentimentTracker::create(analyzer_, clock_, options).is_ok());
}

TEST_F(SentimentTrackerTest, ScoresEachUtteranceAndKeepsOneRollingScorePerSpeaker) {
  auto tracker = make();
  EXPECT_FALSE(tracker.rolling_score(Speaker::kCaller));
  const auto first = tracker.add_utterance(Speaker::kCaller, "terrible");
  EXPECT_DOUBLE_EQ(first.scores.compound, -0.4767);
  EXPECT_DOUBLE_EQ(*first.rolling_score, -0.4767);
  EXPECT_EQ(first.at, clock_.now());
  const auto agent = tracker.add_utterance(Speaker::kAgent, "good");
  EXPECT_DOUBLE_EQ(*agent.rolling_score, 0.4404);
  EXPECT_DOUBLE_EQ(*tracker.rolling_score(Speaker::kCaller), -0.4767);
}

TEST_F(SentimentTrackerTest, RollingScoreWeighsOlderUtterancesByHalfLife) {
  SentimentTrackerOptions options;
  options.half_life = seconds(10);
  auto tracker = make(options);
  (void)tracker.add_utterance(Speaker::kCaller, "terrible");
  clock_.advance(seconds(10));  // the first now weighs 1/2
  const auto second = tracker.add_utterance(Speaker::kCaller, "good");
  EXPECT_NEAR(*second.rolling_score, (-0.4767 * 0.5 + 0.4404) / 1.5, 1e-12);
  clock_.advance(seconds(20));  // the weights so far now weigh 1/4
  const auto third = tracker.add_utterance(Speaker::kCaller, "good");
  EXPECT_NEAR(*third.rolling_score, ((-0.4767 * 0.5 + 0.4404) * 0.25 + 0.4404) / (1.5 * 0.25 + 1), 1e-12);
}

TEST_F(SentimentTrackerTest, UtterancesWithoutWordsAreNotAveraged) {
  auto tracker = make();
  (void)tracker.add_utterance(Speaker::kCaller, "terrible");
  const auto empty = tracker.add_utterance(Speaker::kCaller, "a . ?");
  EXPECT_DOUBLE_EQ(empty.scores.neu, 0.0);
  EXPECT_DOUBLE_EQ(*empty.rolling_score, -0.4767);
}

TEST_F(SentimentTrackerTest, AlertsOnceWhenTheCallerStaysBelowTheThresholdLongEnough) {
  auto tracker = make();  // -0.3 for 20 s
  const TimePoint start = clock_.now();
  EXPECT_FALSE(tracker.add_utterance(Speaker::kCaller, "terrible").alert);
  clock_.advance(seconds(10));
  EXPECT_FALSE(tracker.add_utterance(Speaker::kAgent, "I am sorry to hear that").alert);
  EXPECT_FALSE(tracker.poll());
  clock_.advance(seconds(9));
  EXPECT_FALSE(tracker.poll());
  clock_.advance(seconds(1));
  const auto alert = tracker.poll();
  ASSERT_TRUE(alert);
  EXPECT_EQ(alert->below_since, start);
  EXPECT_EQ(alert->raised_at, start + seconds(20));
  EXPECT_DOUBLE_EQ(alert->rolling_score, -0.4767);
  EXPECT_TRUE(tracker.alert_raised());
  // Still below: no second alert.
  clock_.advance(seconds(30));
  EXPECT_FALSE(tracker.poll());
  EXPECT_FALSE(tracker.add_utterance(Speaker::kCaller, "terrible").alert);
}

TEST_F(SentimentTrackerTest, AlertCanComeWithAnUtterance) {
  auto tracker = make();
  (void)tracker.add_utterance(Speaker::kCaller, "terrible");
  clock_.advance(seconds(25));
  EXPECT_TRUE(tracker.add_utterance(Speaker::kCaller, "still terrible").alert);
}

TEST_F(SentimentTrackerTest, RecoveryBeforeTheDurationCancelsTheAlert) {
  auto tracker = make();
  (void)tracker.add_utterance(Speaker::kCaller, "terrible");
  clock_.advance(seconds(15));
  const auto better = tracker.add_utterance(Speaker::kCaller, "good, great, thanks");
  EXPECT_GE(*better.rolling_score, -0.3);
  clock_.advance(seconds(60));
  EXPECT_FALSE(tracker.poll());
}

TEST_F(SentimentTrackerTest, ReArmsAfterRecovery) {
  auto tracker = make();
  (void)tracker.add_utterance(Speaker::kCaller, "terrible");
  clock_.advance(seconds(20));
  ASSERT_TRUE(tracker.poll());
  // Recover: enough positive utterances lift the weighted mean above -0.3.
  (void)tracker.add_utterance(Speaker::kCaller, "wonderful, thank you so much");
  EXPECT_FALSE(tracker.alert_raised());
  clock_.advance(seconds(600));  // the old scores weigh almost nothing now
  const TimePoint dip = clock_.now();
  (void)tracker.add_utterance(Speaker::kCaller, "this is terrible and awful");
  clock_.advance(seconds(19));
  EXPECT_FALSE(tracker.poll());
  clock_.advance(seconds(1));
  const auto second = tracker.poll();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->below_since, dip);
}

TEST_F(SentimentTrackerTest, TheAgentsScoreNeverAlerts) {
  auto tracker = make();
  (void)tracker.add_utterance(Speaker::kAgent, "terrible");
  clock_.advance(seconds(60));
  EXPECT_FALSE(tracker.poll());
  EXPECT_EQ(speaker_name(Speaker::kAgent), "agent");
}

}  // namespace
}  // namespace vontres::ai::sentiment
