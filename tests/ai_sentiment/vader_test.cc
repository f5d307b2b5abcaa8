// One test per VADER rule of vader-sentiment 1.1.3, with expected scores worked out by hand from the
// lexicon means (good 1.9, bad -2.5, bomb -2.2, no -1.2) and the JS constants: booster 0.293,
// capitals 0.733, negation x -0.74, "but" x0.5 / x1.5, compound = s / sqrt(s^2 + 15).
#include "ai/sentiment/vader.h"

#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vontres::ai::sentiment {
namespace {

class VaderTest : public ::testing::Test {
 protected:
  Scores score(const std::string& text) const { return analyzer_.polarity_scores(text); }
  SentimentAnalyzer analyzer_;
};

MATCHER_P4(ScoresAre, neg, neu, pos, compound, "") {
  return arg.neg == neg && arg.neu == neu && arg.pos == pos && arg.compound == compound;
}

TEST_F(VaderTest, LexiconWordScoresItsMeanAndNeutralWordsCountAsOne) {
  // [0, 0, 0, 1.9]: compound 1.9/sqrt(18.61); pos 2.9/5.9, neu 3/5.9.
  EXPECT_EQ(scores_json(score("The service is good")), R"({"neg":0,"neu":0.508,"pos":0.492,"compound":0.4404})");
  EXPECT_THAT(score("The service is good"), ScoresAre(0.0, 0.508, 0.492, 0.4404));
  EXPECT_THAT(score("no"), ScoresAre(1.0, 0.0, 0.0, -0.296));  // "no" is just a lexicon word (-1.2)
}

TEST_F(VaderTest, EmbeddedLexiconHasTheReachableEntriesOf113) {
  // 7,503 distinct tokens, minus the 14 with capitals (":D", "O_o", ":-Þ", ...) a lookup never reaches.
  EXPECT_EQ(analyzer_.lexicon_size(), 7503u - 14u);
}

TEST_F(VaderTest, TextWithoutWordsOfTwoCodeUnitsScoresZero) {
  EXPECT_THAT(score(""), ScoresAre(0.0, 0.0, 0.0, 0.0));
  EXPECT_THAT(score("a I ! ?"), ScoresAre(0.0, 0.0, 0.0, 0.0));
  EXPECT_EQ(scores_json(score("")), R"({"neg":0,"neu":0,"pos":0,"compound":0})");
}

TEST_F(VaderTest, OneLetterWordsAreDroppedBeforeCounting) {
  // "I" is dropped: [0, 1.9] -> neu 1/3.9.
  EXPECT_THAT(score("I am good"), ScoresAre(0.0, 0.256, 0.744, 0.4404));
}

TEST_F(VaderTest, NegationWordBeforeTheWordFlipsAndDampens) {
  // 1.9 * -0.74 = -1.406 -> compound -1.406/sqrt(16.976836); neg 2.406/6.406.
  EXPECT_THAT(score("The service is not good"), ScoresAre(0.376, 0.624, 0.0, -0.3412));
}

TEST_F(VaderTest, AnyWordContainingNtNegates) {
  // "mayn't" is not in the NEGATE list but contains "n't"; it is two words before "good".
  EXPECT_THAT(score("It mayn't be good"), ScoresAre(0.445, 0.555, 0.0, -0.3412));
}

TEST_F(VaderTest, NegationReachesThreeWordsBack) {
  EXPECT_THAT(score("not any way good"), ScoresAre(0.445, 0.555, 0.0, -0.3412));
  // Four words back is out of the window: [0, 0, 0, 0, 1.9].
  EXPECT_THAT(score("not in any way good"), ScoresAre(0.0, 0.58, 0.42, 0.4404));
}

TEST_F(VaderTest, LeastNegatesUnlessAfterAtOrVery) {
  EXPECT_THAT(score("least good"), ScoresAre(0.706, 0.294, 0.0, -0.3412));
  EXPECT_THAT(score("the least good"), ScoresAre(0.546, 0.454, 0.0, -0.3412));
  EXPECT_THAT(score("at least good"), ScoresAre(0.0, 0.408, 0.592, 0.4404));
  // "very" still boosts from two words back: 1.9 + 0.293 * 0.95.
  EXPECT_THAT(score("very least good"), ScoresAre(0.0, 0.386, 0.614, 0.4902));
}

TEST_F(VaderTest, ButHalvesWhatPrecedesAndBoostsWhatFollows) {
  // [1.9 * 0.5, 0, -2.5 * 1.5]
  EXPECT_THAT(score("good but bad"), ScoresAre(0.617, 0.13, 0.253, -0.5859));
  EXPECT_THAT(score("good BUT bad"), ScoresAre(0.617, 0.13, 0.253, -0.5859));
  // The JS only looks for "but" and "BUT".
  EXPECT_THAT(score("good But bad"), ScoresAre(0.473, 0.135, 0.392, -0.1531));
}

TEST_F(VaderTest, CapitalWordAmongLowerCaseOnesIsEmphasised) {
  // 1.9 + 0.733
  EXPECT_THAT(score("The service is GOOD"), ScoresAre(0.0, 0.452, 0.548, 0.5622));
  // All in capitals: no differential, no emphasis.
  EXPECT_THAT(score("THE SERVICE IS GOOD"), ScoresAre(0.0, 0.508, 0.492, 0.4404));
}

TEST_F(VaderTest, BoostersAndDampenersShiftAwayFromZeroOrTowardsIt) {
  EXPECT_THAT(score("very good"), ScoresAre(0.0, 0.238, 0.762, 0.4927));      // 1.9 + 0.293
  EXPECT_THAT(score("very bad"), ScoresAre(0.791, 0.209, 0.0, -0.5849));      // -2.5 - 0.293
  EXPECT_THAT(score("slightly good"), ScoresAre(0.0, 0.277, 0.723, 0.3832));  // 1.9 - 0.293
  // The second booster counts 0.95 of its value: 1.9 + 0.293 + 0.293 * 0.95.
  EXPECT_THAT(score("very very good"), ScoresAre(0.0, 0.366, 0.634, 0.5379));
  // A booster in capitals adds the capitals increment too: 1.9 + 0.293 + 0.733.
  EXPECT_THAT(score("VERY good"), ScoresAre(0.0, 0.203, 0.797, 0.6028));
}

TEST_F(VaderTest, KindOfIsNeutralAndDoesNotScoreKind) {
  // "kind" alone is a lexicon word (2.4); in "kind of" it scores 0: [0, 0, 1.9].
  EXPECT_THAT(score("kind of good"), ScoresAre(0.0, 0.408, 0.592, 0.4404));
}

TEST_F(VaderTest, NeverSoAmplifiesInsteadOfNegating) {
  // (1.9 + 0.293) * 1.5
  EXPECT_THAT(score("never so good"), ScoresAre(0.0, 0.318, 0.682, 0.6474));
}

TEST_F(VaderTest, IdiomReplacesTheValenceOfItsLastWord) {
  // "bomb" (-2.2) three words in: "the bomb" = 3.
  EXPECT_THAT(score("it was the bomb"), ScoresAre(0.0, 0.429, 0.571, 0.6124));
}

TEST_F(VaderTest, ExclamationMarksAddUpToFour) {
  EXPECT_THAT(score("good!"), ScoresAre(0.0, 0.0, 1.0, 0.4926));  // 1.9 + 0.292
  // Four of six count: 1.9 + 4 * 0.292 (the "!!!!!!" token is a neutral word).
  EXPECT_THAT(score("good !!!!!!"), ScoresAre(0.0, 0.197, 0.803, 0.6209));
}

TEST_F(VaderTest, QuestionMarksCountFromTwo) {
  EXPECT_THAT(score("good??"), ScoresAre(0.0, 0.0, 1.0, 0.504));         // 1.9 + 2 * 0.18
  EXPECT_THAT(score("good ???"), ScoresAre(0.0, 0.225, 0.775, 0.533));   // 1.9 + 3 * 0.18
  EXPECT_THAT(score("good ????"), ScoresAre(0.0, 0.206, 0.794, 0.594));  // 1.9 + 0.96
  EXPECT_THAT(score("good?"), ScoresAre(0.0, 0.0, 1.0, 0.4404));         // one does nothing
}

TEST_F(VaderTest, OnlyPunctuationListEntriesAreStrippedFromWords) {
  // "!!!!!!" is not in PUNC_LIST, so "good!!!!!!" is not the word "good" (a JS quirk kept).
  EXPECT_THAT(score("good!!!!!!"), ScoresAre(0.0, 1.0, 0.0, 0.0));
  EXPECT_THAT(score("(good)"), ScoresAre(0.0, 1.0, 0.0, 0.0));
  EXPECT_EQ(score("\"good"), score("good"));
  EXPECT_DOUBLE_EQ(score("good?!?").pos, 1.0);  // stripped: "good" is the only word
}

TEST_F(VaderTest, EmojiAreNeutralWordsWhenTwoUtf16UnitsLong) {
  // No emoji lexicon in 1.1.3. U+1F600 is two UTF-16 units, a word: [1.9, 0].
  EXPECT_THAT(score("good \xF0\x9F\x98\x80"), ScoresAre(0.0, 0.256, 0.744, 0.4404));
  // U+263A is one unit and is dropped like a one-letter word.
  EXPECT_THAT(score("good \xE2\x98\xBA"), ScoresAre(0.0, 0.0, 1.0, 0.4404));
}

TEST_F(VaderTest, UnicodeWhitespaceSeparatesWords) {
  EXPECT_EQ(score("not\xC2\xA0good"), score("not good"));
  EXPECT_EQ(score("not\xE3\x80\x80good"), score("not good"));
  EXPECT_NE(score("not\xC2\x85good"), score("not good"));  // U+0085 is not \s in JavaScript
}

TEST_F(VaderTest, AnalyzerIsSafeToShareBetweenThreads) {
  const std::vector<std::string> texts = {"The service is good", "good but bad", "VERY good", "not any way good"};
  std::vector<Scores> expected;
  for (const auto& text : texts) expected.push_back(score(text));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const size_t k = (t + static_cast<size_t>(i)) % texts.size();
        if (!(analyzer_.polarity_scores(texts[k]) == expected[k])) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace vontres::ai::sentiment
