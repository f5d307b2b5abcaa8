#include <gtest/gtest.h>

#include <set>

#include "ai/stt/engine.h"

namespace vontres::ai::stt {
namespace {

using Words = std::vector<std::string>;

TEST(NormalizeWordsTest, LowerCasesDropsPunctuationAndSpellsDigits) {
  EXPECT_EQ(normalize_words("Hello, World!  I'd like   option 12."),
            (Words{"hello", "world", "i'd", "like", "option", "one", "two"}));
  EXPECT_EQ(normalize_words("e-mail -- 'quoted' rock'n'roll;"), (Words{"e-mail", "quoted", "rock'n'roll"}));
  EXPECT_TRUE(normalize_words(" ...  ").empty());
}

TEST(BuildJsgfTest, OneAlternativePerPhrase) {
  const Words phrases = {"Check my balance", "Talk to an agent"};
  EXPECT_EQ(build_jsgf(phrases),
            "#JSGF V1.0;\ngrammar vontres;\npublic <utterance> = ( check my balance )\n  | ( talk to an agent ) ;\n");
}

TEST(BuildJsgfTest, EscapesGrammarSyntaxAndReservedWords) {
  const Words phrases = {"public (holiday) | <hours>; *now* = {tag} /1.0/ \"quoted\""};
  const std::string jsgf = build_jsgf(phrases);
  const std::string body = jsgf.substr(jsgf.find('=') + 1);
  EXPECT_EQ(body, " ( \"public\" holiday hours now tag one zero quoted ) ;\n");
}

TEST(BuildJsgfTest, DropsOutOfDictionaryWordsAndReportsThem) {
  const std::set<std::string> dictionary = {"cancel", "my", "plan", "please"};
  const Words phrases = {"Cancel my Vontrex plan", "Vontrex please", "zzz", "cancel my plan"};
  Words dropped;
  const std::string jsgf = build_jsgf(
      phrases, [&](std::string_view w) { return dictionary.count(std::string(w)) != 0; }, &dropped);
  EXPECT_EQ(dropped, (Words{"vontrex", "zzz"}));
  // "cancel my plan" appears once although two phrases reduce to it.
  EXPECT_EQ(jsgf.substr(jsgf.find('=') + 1), " ( cancel my plan )\n  | ( please ) ;\n");
}

TEST(BuildJsgfTest, NothingLeftIsEmpty) {
  const Words phrases = {"", "!!!"};
  EXPECT_EQ(build_jsgf(phrases), "");
  const Words oov = {"qwzx"};
  EXPECT_EQ(build_jsgf(
                oov, [](std::string_view) { return false; }, nullptr),
            "");
}

TEST(ModeTest, NamesRoundTrip) {
  EXPECT_EQ(mode_name(Mode::kGrammar), "grammar");
  EXPECT_EQ(mode_name(Mode::kOpen), "open");
  EXPECT_EQ(*parse_mode("grammar"), Mode::kGrammar);
  EXPECT_EQ(*parse_mode("open"), Mode::kOpen);
  EXPECT_EQ(parse_mode("closed").status().code(), "invalid_stt_mode");
}

}  // namespace
}  // namespace vontres::ai::stt
