#include "ai/redaction/card_guard.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/clock.h"

namespace vontres::ai::redaction {
namespace {

using std::chrono::seconds;

class CardGuardTest : public ::testing::Test {
 protected:
  std::vector<GuardTransition> key_all(std::string_view keys) {
    std::vector<GuardTransition> all;
    for (char key : keys) {
      auto result = guard_.on_dtmf(key);
      EXPECT_TRUE(result.is_ok());
      all.insert(all.end(), result->begin(), result->end());
    }
    return all;
  }

  ManualClock clock_;
  CardGuard guard_{clock_, CardGuardOptions{}};
};

TEST_F(CardGuardTest, PausesOnTriggerPhraseAndResumesAfterQuietTime) {
  EXPECT_TRUE(guard_.on_transcript("I'd like to pay", false).empty());
  auto paused = guard_.on_transcript("I'd like to pay, my Credit Card", false);
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_TRUE(paused[0].paused);
  EXPECT_EQ(paused[0].reason, GuardReason::kTriggerPhrase);
  EXPECT_EQ(paused[0].event_name(), "ai.protection_paused");
  EXPECT_TRUE(guard_.paused());
  EXPECT_EQ(guard_.next_deadline(), clock_.now() + seconds(20));
  clock_.advance(seconds(19));
  EXPECT_TRUE(guard_.poll().empty());
  clock_.advance(seconds(1));
  auto resumed = guard_.poll();
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_FALSE(resumed[0].paused);
  EXPECT_EQ(resumed[0].reason, GuardReason::kQuietTimeout);
  EXPECT_EQ(resumed[0].event_name(), "ai.protection_resumed");
  EXPECT_FALSE(guard_.paused());
  // The same utterance growing does not pause again for what was already handled.
  EXPECT_TRUE(guard_.on_transcript("I'd like to pay, my Credit Card", true).empty());
}

TEST_F(CardGuardTest, PausesOnFourSpokenDigitsAndResumesAfterCompleteNumberAndDetailsWindow) {
  EXPECT_TRUE(guard_.on_transcript("it's four one one", false).empty());
  auto paused = guard_.on_transcript("it's four one one one", false);
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_EQ(paused[0].reason, GuardReason::kSpokenDigits);
  EXPECT_TRUE(guard_.on_transcript("it's four one one one one one one one", true).empty());
  clock_.advance(seconds(3));
  EXPECT_TRUE(guard_.on_transcript("one one one one one one one one", true).empty());
  EXPECT_EQ(guard_.next_deadline(), clock_.now() + seconds(15));
  clock_.advance(seconds(10));
  EXPECT_TRUE(guard_.on_transcript("oh five twenty seven", true).empty());  // expiry, still paused
  clock_.advance(seconds(5));
  auto resumed = guard_.poll();
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].reason, GuardReason::kNumberComplete);
}

TEST_F(CardGuardTest, LuhnInvalidNumberDoesNotCompleteAndEndsByQuietTime) {
  ASSERT_EQ(guard_.on_transcript("4111 1111 1111 1112", true).size(), 1u);
  clock_.advance(seconds(15));
  EXPECT_TRUE(guard_.poll().empty());
  clock_.advance(seconds(5));
  auto resumed = guard_.poll();
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].reason, GuardReason::kQuietTimeout);
}

TEST_F(CardGuardTest, DigitsKeepThePauseAlive) {
  ASSERT_EQ(guard_.on_transcript("card number", true).size(), 1u);
  clock_.advance(seconds(15));
  EXPECT_TRUE(guard_.on_transcript("five five", false).empty());
  clock_.advance(seconds(15));
  EXPECT_TRUE(guard_.poll().empty());
  EXPECT_TRUE(guard_.paused());
}

TEST_F(CardGuardTest, PausesOnFourKeyedDigitsAndResumesAfterAmexLength) {
  EXPECT_TRUE(key_all("340").empty());
  auto paused = key_all("0");
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_EQ(paused[0].reason, GuardReason::kKeyedDigits);
  EXPECT_TRUE(key_all("0000000000").empty());
  EXPECT_EQ(guard_.next_deadline(), clock_.now() + seconds(20));
  EXPECT_TRUE(key_all("9").empty());  // 15 digits, Luhn-valid Amex
  EXPECT_EQ(guard_.next_deadline(), clock_.now() + seconds(15));
  clock_.advance(seconds(15));
  auto resumed = guard_.poll();
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].reason, GuardReason::kNumberComplete);
}

TEST_F(CardGuardTest, KeyedDigitsSeparatedByLongGapsOrHashDoNotPause) {
  EXPECT_TRUE(key_all("12").empty());
  clock_.advance(seconds(6));
  EXPECT_TRUE(key_all("34").empty());
  EXPECT_TRUE(key_all("5#67").empty());
  EXPECT_FALSE(guard_.paused());
  EXPECT_EQ(key_all("89").size(), 1u);
}

TEST_F(CardGuardTest, RejectsUnknownDtmfKeys) {
  EXPECT_EQ(guard_.on_dtmf('x').status().code(), "invalid_dtmf_key");
  EXPECT_TRUE(guard_.on_dtmf('#').is_ok());
  EXPECT_TRUE(guard_.on_dtmf('D').is_ok());
}

TEST_F(CardGuardTest, ExplicitPauseAndResume) {
  auto paused = guard_.pause();
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_EQ(paused[0].reason, GuardReason::kExplicit);
  EXPECT_TRUE(guard_.pause().empty());
  auto resumed = guard_.resume();
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].reason, GuardReason::kExplicit);
  EXPECT_EQ(resumed[0].at, clock_.now());
  EXPECT_TRUE(guard_.resume().empty());
  EXPECT_FALSE(guard_.next_deadline().has_value());
}

TEST_F(CardGuardTest, ZeroDetailsWindowResumesAsSoonAsNumberIsComplete) {
  CardGuardOptions options;
  options.details_window = Duration::zero();
  CardGuard guard(clock_, options);
  auto transitions = guard.on_transcript("my card number is 5500 0000 0000 0004", true);
  ASSERT_EQ(transitions.size(), 2u);
  EXPECT_TRUE(transitions[0].paused);
  EXPECT_EQ(transitions[1].reason, GuardReason::kNumberComplete);
  EXPECT_FALSE(guard.paused());
  // A new utterance with a new trigger pauses again.
  EXPECT_EQ(guard.on_transcript("another credit card", true).size(), 1u);
}

TEST(CardGuardOptionsTest, Validates) {
  EXPECT_TRUE(validate(CardGuardOptions{}).is_ok());
  CardGuardOptions options;
  options.pause_after_digits = 1;
  EXPECT_EQ(validate(options).code(), "invalid_card_guard_options");
  options = {};
  options.quiet_timeout = Duration::zero();
  EXPECT_EQ(validate(options).code(), "invalid_card_guard_options");
  options = {};
  options.trigger_phrases = {"Card"};
  EXPECT_EQ(validate(options).code(), "invalid_card_guard_options");
}

TEST(GuardReasonTest, HasStableNames) {
  EXPECT_EQ(guard_reason_name(GuardReason::kTriggerPhrase), "trigger_phrase");
  EXPECT_EQ(guard_reason_name(GuardReason::kQuietTimeout), "quiet_timeout");
  EXPECT_EQ(guard_reason_name(GuardReason::kNumberComplete), "number_complete");
}

}  // namespace
}  // namespace vontres::ai::redaction
