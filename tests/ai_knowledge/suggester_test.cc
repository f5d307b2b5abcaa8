#include "ai/knowledge/suggester.h"

#include <gtest/gtest.h>

#include <string>

namespace vontres::ai::knowledge {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

class SuggesterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto docs = load_directory(std::string(VONTRES_SOURCE_DIR) + "/share/knowledge");
    ASSERT_TRUE(docs.is_ok()) << docs.status().to_string();
    ASSERT_TRUE(index_.add_all(std::move(docs).value()).is_ok());
  }

  std::vector<Suggestion> say(CallSuggester& suggester, Speaker speaker, const std::string& text) {
    return suggester.on_utterance({speaker, text, clock_.now()});
  }

  Bm25Index index_;
  ManualClock clock_;
};

TEST_F(SuggesterTest, SuggestsTheMatchingArticleWithItsPassage) {
  CallSuggester suggester(index_, clock_);
  const auto out = say(suggester, Speaker::kCaller, "Hi, I lost my card yesterday at the station");
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].document_id, "card-lost");
  EXPECT_EQ(out[0].title, "Card lost or stolen");
  EXPECT_FALSE(out[0].passage.empty());
  EXPECT_LE(out.size(), 3u);
}

TEST_F(SuggesterTest, SmallTalkSuggestsNothing) {
  CallSuggester suggester(index_, clock_);
  EXPECT_TRUE(say(suggester, Speaker::kAgent, "Good morning, thank you for calling, how can I help?").empty());
  EXPECT_TRUE(say(suggester, Speaker::kCaller, "Hello, yes, good morning").empty());
}

TEST_F(SuggesterTest, SameTopHitIsNotRepeated) {
  CallSuggester suggester(index_, clock_);
  ASSERT_FALSE(say(suggester, Speaker::kCaller, "I lost my card").empty());
  clock_.advance(seconds(30));
  EXPECT_TRUE(say(suggester, Speaker::kAgent, "I'm sorry to hear that").empty());
}

TEST_F(SuggesterTest, RateLimitsThenFiresOnTheNextUtteranceAfterTheInterval) {
  SuggesterConfig config;
  config.min_interval = seconds(10);
  config.window_utterances = 1;
  CallSuggester suggester(index_, clock_, config);
  ASSERT_FALSE(say(suggester, Speaker::kCaller, "I lost my card").empty());
  clock_.advance(seconds(3));
  EXPECT_TRUE(say(suggester, Speaker::kCaller, "Also I want to cancel my broadband subscription").empty());
  clock_.advance(seconds(8));
  const auto out = say(suggester, Speaker::kCaller, "yes cancel the subscription contract");
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].document_id, "cancel-subscription");
}

TEST_F(SuggesterTest, DoesNotRepeatADocumentWithinTheDedupeWindow) {
  SuggesterConfig config;
  config.window_utterances = 1;
  config.max_suggestions = 1;
  config.dedupe_window = minutes(5);
  CallSuggester suggester(index_, clock_, config);
  ASSERT_EQ(say(suggester, Speaker::kCaller, "I lost my card")[0].document_id, "card-lost");
  clock_.advance(seconds(20));
  ASSERT_EQ(say(suggester, Speaker::kCaller, "I want to cancel my subscription")[0].document_id, "cancel-subscription");
  clock_.advance(seconds(20));
  // Top hit changes back to card-lost, which was shown 40 s ago: suppressed.
  const auto again = say(suggester, Speaker::kCaller, "my card was stolen, it is lost");
  for (const auto& s : again) EXPECT_NE(s.document_id, "card-lost");
  clock_.advance(minutes(5));
  say(suggester, Speaker::kCaller, "cancel my contract please");
  clock_.advance(seconds(20));
  const auto later = say(suggester, Speaker::kCaller, "my card was stolen, it is lost");
  ASSERT_FALSE(later.empty());
  EXPECT_EQ(later[0].document_id, "card-lost");
}

TEST_F(SuggesterTest, CallerWordsWeighMoreThanAgentWords) {
  CallSuggester suggester(index_, clock_);
  say(suggester, Speaker::kAgent, "is this about your password?");
  say(suggester, Speaker::kCaller, "no, roaming");
  double password = 0;
  double roaming = 0;
  for (const WeightedTerm& term : suggester.window_terms()) {
    if (term.term == "password") password = term.weight;
    if (term.term == "roam") roaming = term.weight;
  }
  EXPECT_GT(roaming, password);
  EXPECT_GT(password, 0);
}

TEST_F(SuggesterTest, ScoreJumpOnTheSameTopHitRefires) {
  SuggesterConfig config;
  config.min_interval = seconds(0);
  config.dedupe_window = seconds(0);
  config.window_utterances = 4;
  CallSuggester suggester(index_, clock_, config);
  ASSERT_FALSE(say(suggester, Speaker::kCaller, "roaming").empty());
  clock_.advance(seconds(1));
  const auto out = say(suggester, Speaker::kCaller, "roaming charges abroad exchange rate foreign currency fee");
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].document_id, "international-charges");
  clock_.advance(seconds(1));
  EXPECT_TRUE(say(suggester, Speaker::kCaller, "okay").empty());
}

}  // namespace
}  // namespace vontres::ai::knowledge
