#include "ai/intent/labelled_csv.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "support/subprocess.h"

namespace vontres::ai::intent {
namespace {

std::vector<LabelledExample> parse_ok(std::string_view content) {
  auto parsed = parse_labelled_csv(content);
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  return parsed.is_ok() ? parsed.value() : std::vector<LabelledExample>{};
}

TEST(LabelledCsv, ParsesQuotedFieldsWithCommasDoubledQuotesAndLineBreaks) {
  const auto examples = parse_ok(
      "text,category\n"
      "plain text,a\n"
      "\"with, comma\",b\n"
      "\"she said \"\"hi\"\"\",c\n"
      "\"two\nlines\",d\n"
      "\"\",e\n");
  const std::vector<LabelledExample> expected = {
      {"plain text", "a"}, {"with, comma", "b"}, {"she said \"hi\"", "c"}, {"two\nlines", "d"}, {"", "e"}};
  EXPECT_EQ(examples, expected);
}

TEST(LabelledCsv, AcceptsCrlfBomBlankLinesAndNoFinalNewline) {
  const auto examples = parse_ok("\xEF\xBB\xBFtext,category\r\nfirst,a\r\n\r\n\"second\r\nline\",b");
  const std::vector<LabelledExample> expected = {{"first", "a"}, {"second\r\nline", "b"}};
  EXPECT_EQ(examples, expected);
}

TEST(LabelledCsv, FindsColumnsByNameInAnyOrderAndIgnoresOthers) {
  const auto examples = parse_ok("id, category ,text\n1,a,hello\n2,b,\"bye, now\"\n");
  const std::vector<LabelledExample> expected = {{"hello", "a"}, {"bye, now", "b"}};
  EXPECT_EQ(examples, expected);
}

TEST(LabelledCsv, HeaderOnlyGivesNoExamples) { EXPECT_TRUE(parse_ok("text,category\n").empty()); }

struct BadCase {
  std::string content;
  std::string code;
  std::string line;  // expected "line N" prefix
};

TEST(LabelledCsv, ReportsErrorsWithStableCodesAndLineNumbers) {
  const std::vector<BadCase> cases = {
      {"", "csv_empty", "line 1"},
      {"\n\n", "csv_empty", "line 1"},
      {"text,label\nx,y\n", "csv_bad_header", "line 1"},
      {"text,category\nok,a\n\"never closed,b\nmore\n", "csv_unterminated_quote", "line 3"},
      {"text,category\nok,a\nbad\"quote,b\n", "csv_bad_quote", "line 3"},
      {"text,category\n\"a\nb\"x,c\n", "csv_bad_quote", "line 3"},
      {"text,category\nok,a\nlonely\n", "csv_field_count", "line 3"},
      {"text,category\nok,a\n\"multi\nline\",a\nmissing,\n", "csv_empty_category", "line 5"},
  };
  for (const BadCase& c : cases) {
    auto parsed = parse_labelled_csv(c.content);
    ASSERT_FALSE(parsed.is_ok()) << c.content;
    EXPECT_EQ(parsed.status().code(), c.code) << c.content;
    EXPECT_EQ(parsed.status().message().rfind(c.line + ":", 0), 0U) << parsed.status().message();
  }
}

TEST(LabelledCsv, ReadsAFileAndNamesThePathInErrors) {
  testing::TempDir dir;
  const std::string good = dir.path() + "/good.csv";
  std::ofstream(good) << "text,category\n\"hi, there\",greeting\n";
  auto examples = read_labelled_csv(good);
  ASSERT_TRUE(examples.is_ok()) << examples.status().to_string();
  ASSERT_EQ(examples->size(), 1U);
  EXPECT_EQ((*examples)[0].text, "hi, there");

  const std::string bad = dir.path() + "/bad.csv";
  std::ofstream(bad) << "text,category\n\"open,x\n";
  auto broken = read_labelled_csv(bad);
  ASSERT_FALSE(broken.is_ok());
  EXPECT_EQ(broken.status().code(), "csv_unterminated_quote");
  EXPECT_NE(broken.status().message().find(bad), std::string::npos);

  auto missing = read_labelled_csv(dir.path() + "/missing.csv");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), "csv_unreadable");
}

TEST(LabelledCsv, ReadsBanking77) {
  const std::string path = std::string(VONTRES_SOURCE_DIR) + "/../shared/data/banking77/train.csv";
  if (!std::filesystem::exists(path)) GTEST_FAIL() << "BANKING77 not found at " << path;
  auto examples = read_labelled_csv(path);
  ASSERT_TRUE(examples.is_ok()) << examples.status().to_string();
  EXPECT_EQ(examples->size(), 10003U);
  std::set<std::string> intents;
  for (const LabelledExample& example : *examples) intents.insert(example.intent);
  EXPECT_EQ(intents.size(), 77U);
}

}  // namespace
}  // namespace vontres::ai::intent
