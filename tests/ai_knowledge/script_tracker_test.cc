#include "ai/knowledge/script_tracker.h"

#include <gtest/gtest.h>

#include <string>

namespace vontres::ai::knowledge {
namespace {

Document load(const std::string& name) {
  auto doc = load_markdown_file(std::string(VONTRES_SOURCE_DIR) + "/share/knowledge/" + name + ".md");
  EXPECT_TRUE(doc.is_ok()) << doc.status().to_string();
  return std::move(doc).value();
}

TEST(ScriptTracker, RefusesADocumentWithoutRequiredSteps) {
  ManualClock clock;
  EXPECT_EQ(ScriptTracker::create(load("card-lost"), clock).status().code(), "knowledge_no_required_steps");
}

TEST(ScriptTracker, ParaphrasesOfRequiredStepsAreMarkedDoneWithTime) {
  ManualClock clock;
  auto tracker = ScriptTracker::create(load("cancel-subscription"), clock);
  ASSERT_TRUE(tracker.is_ok());
  EXPECT_EQ(tracker->progress().size(), 4u);
  EXPECT_TRUE(tracker->on_agent_utterance("Before we go on, can you confirm your date of birth for me?") ==
              std::vector<std::string>{"verify_identity"});
  clock.advance(std::chrono::seconds(40));
  EXPECT_EQ(tracker->on_agent_utterance("Just so you know, the notice period is thirty days, that's 30 days."),
            std::vector<std::string>{"read_terms"});
  EXPECT_EQ(tracker->on_agent_utterance("I can give you a special offer if you'd like to stay with us"),
            std::vector<std::string>{"offer_retention"});
  EXPECT_FALSE(tracker->complete());
  EXPECT_EQ(tracker->on_agent_utterance("So your service ends on the 31st of March."),
            std::vector<std::string>{"confirm_date"});
  EXPECT_TRUE(tracker->complete());
  const auto progress = tracker->progress();
  EXPECT_EQ(progress[0].id, "verify_identity");
  EXPECT_EQ(progress[0].text, "verify the caller's identity");
  ASSERT_TRUE(progress[1].when.has_value());
  EXPECT_EQ(*progress[1].when - *progress[0].when, std::chrono::seconds(40));
  // Already done: not reported again.
  EXPECT_TRUE(tracker->on_agent_utterance("can you confirm your date of birth").empty());
}

TEST(ScriptTracker, MoreParaphrasesMatch) {
  ManualClock clock;
  auto tracker = ScriptTracker::create(load("change-address"), clock);
  ASSERT_TRUE(tracker.is_ok());
  EXPECT_EQ(tracker->on_agent_utterance("First I need to verify your identity."),
            std::vector<std::string>{"verify_identity"});
  EXPECT_EQ(tracker->on_agent_utterance("Let me repeat the new address: 12 Baker Street."),
            std::vector<std::string>{"read_back"});
  EXPECT_EQ(tracker->on_agent_utterance("You'll also get a letter at your old address confirming the change."),
            std::vector<std::string>{"inform_letter"});
  EXPECT_EQ(tracker->done_count(), 3u);
}

TEST(ScriptTracker, UnrelatedSentencesDoNotMatch) {
  ManualClock clock;
  auto tracker = ScriptTracker::create(load("cancel-subscription"), clock);
  ASSERT_TRUE(tracker.is_ok());
  for (const char* sentence : {
           "Good morning, thanks for calling, how can I help you today?",
           "Let me pull up your account, one moment please.",
           "Your last bill was 45 euros.",
           "Is there anything else I can help with?",
           "The birth of your new router is a great thing.",
           "I read your e-mail yesterday.",
       }) {
    EXPECT_TRUE(tracker->on_agent_utterance(sentence).empty()) << sentence;
  }
  EXPECT_EQ(tracker->done_count(), 0u);
}

TEST(ScriptTracker, ThresholdIsConfigurable) {
  ManualClock clock;
  ScriptTrackerConfig strict;
  strict.match_threshold = 1.0;
  auto tracker = ScriptTracker::create(load("password-reset"), clock, strict);
  ASSERT_TRUE(tracker.is_ok());
  EXPECT_TRUE(tracker->on_agent_utterance("I'll send a reset link").empty());
  EXPECT_EQ(tracker->on_agent_utterance("I'll send the reset link by SMS now"), std::vector<std::string>{"send_link"});
  EXPECT_DOUBLE_EQ(phrase_coverage("send the reset link by SMS", "send a reset link"), 0.75);
  EXPECT_DOUBLE_EQ(phrase_coverage("send the reset link by SMS", "send"), 0.0);
}

}  // namespace
}  // namespace vontres::ai::knowledge
