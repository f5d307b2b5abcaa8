#include "ai/intent/features.h"

#include <gtest/gtest.h>

#include <cmath>

namespace vontres::ai::intent {
namespace {

TEST(Normalize, LowerCasesSplitsOnPunctuationAndMapsDigitRunsToOneClass) {
  EXPECT_EQ(normalize("I paid 1,000.50 on 12/03, WHY?"), "i paid # on # # why");
  EXPECT_EQ(normalize("card4u  top-up"), "card#u top up");
  EXPECT_EQ(normalize("   "), "");
}

TEST(Normalize, KeepsApostrophesInsideWordsOnly) {
  EXPECT_EQ(normalize("Don't 'quote' it\xE2\x80\x99s"), "don't quote it's");
}

TEST(Normalize, LowerCasesUtf8LettersAndKeepsCurrencySymbols) {
  EXPECT_EQ(normalize("CAF\xC3\x89 \xD0\x9F\xD0\xA0\xD0\x98\xD0\x92\xD0\x95\xD0\xA2 \xCE\x9B"),
            "caf\xC3\xA9 \xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xCE\xBB");
  EXPECT_EQ(normalize("\xC2\xA3"
                      "5 or \xE2\x82\xAC"
                      "5 or $5"),
            "\xC2\xA3 # or \xE2\x82\xAC # or $ #");
  EXPECT_EQ(normalize("\xC2\xABquoted\xC2\xBB \xE2\x80\x94 dash"), "quoted dash");
}

TEST(Normalize, KeepsInvalidUtf8BytesAsOpaqueCharacters) {
  EXPECT_EQ(normalize("ab\xFF"
                      "c \xC3"),
            "ab\xFF"
            "c \xC3");
  EXPECT_EQ(normalize("\xE2\x82"), "\xE2\x82");  // truncated sequence: two opaque bytes
}

TEST(FeatureSpace, CharacterNgramsStayInsideWords) {
  const std::vector<std::string_view> texts = {"ab cd"};
  const FeatureSpace space = FeatureSpace::fit(texts, FeatureOptions{});
  // Words: ab, cd, "ab cd". Per padded word " ab ": 2-grams 3, 3-grams 2, 4-gram 1 -> 6 each.
  EXPECT_EQ(space.dimension(), 3U + 12U);
}

TEST(FeatureSpace, CharacterNgramsCountCodePointsNotBytes) {
  const std::vector<std::string_view> texts = {"\xC3\xA9"};
  const FeatureSpace space = FeatureSpace::fit(texts, FeatureOptions{});
  EXPECT_EQ(space.dimension(), 1U + 3U);  // word; " é", "é ", " é "
}

TEST(FeatureSpace, TransformsToSortedUnitVectorsAndIgnoresUnseenFeatures) {
  const std::vector<std::string_view> texts = {"check my balance", "lost my card", "my card my card"};
  const FeatureSpace space = FeatureSpace::fit(texts, FeatureOptions{});
  const SparseVector v = space.transform("Lost my CARD again");
  ASSERT_FALSE(v.index.empty());
  double norm = 0;
  for (size_t i = 0; i < v.index.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(v.index[i - 1], v.index[i]);
    }
    EXPECT_LT(v.index[i], space.dimension());
    norm += static_cast<double>(v.value[i]) * v.value[i];
  }
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_TRUE(space.transform("zzz qqq").index.empty());
}

TEST(FeatureSpace, MinimumDocumentFrequencyDropsRareFeatures) {
  const std::vector<std::string_view> texts = {"aa", "aa", "bb"};
  FeatureOptions options;
  options.char_ngram_max = 0;
  options.min_document_frequency = 2;
  const FeatureSpace space = FeatureSpace::fit(texts, options);
  EXPECT_EQ(space.dimension(), 1U);
  EXPECT_TRUE(space.transform("bb").index.empty());
  EXPECT_EQ(space.transform("aa").index.size(), 1U);
}

TEST(FeatureSpace, RarerFeaturesWeighMoreWithIdf) {
  const std::vector<std::string_view> texts = {"common rare", "common", "common", "common"};
  FeatureOptions options;
  options.char_ngram_max = 0;
  options.word_ngram_max = 1;
  const FeatureSpace space = FeatureSpace::fit(texts, options);
  const SparseVector v = space.transform("common rare");
  ASSERT_EQ(v.value.size(), 2U);
  const float common = space.transform("common").value.at(0);
  EXPECT_FLOAT_EQ(common, 1.0F);
  EXPECT_NE(v.value[0], v.value[1]);
  EXPECT_GT(std::max(v.value[0], v.value[1]), 0.8F);  // "rare" dominates
}

}  // namespace
}  // namespace vontres::ai::intent
