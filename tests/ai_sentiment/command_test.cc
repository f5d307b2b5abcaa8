#include "ai/sentiment/command.h"

#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace vontres::ai::sentiment {
namespace {

class SentimentCommandTest : public ::testing::Test {
 protected:
  SentimentAnalyzer analyzer_;
};

TEST_F(SentimentCommandTest, ScoresTheGivenTextAsOneJsonLine) {
  std::istringstream in("ignored\n");
  std::ostringstream out;
  EXPECT_EQ(run_sentiment_command(analyzer_, std::string("The service is good"), in, out), 0);
  EXPECT_EQ(out.str(), "{\"neg\":0,\"neu\":0.508,\"pos\":0.492,\"compound\":0.4404}\n");
}

TEST_F(SentimentCommandTest, ScoresEveryLineOfInputInOrder) {
  std::istringstream in("The service is good\n\ngood but bad\nno");  // empty line; last line without '\n'
  std::ostringstream out;
  EXPECT_EQ(run_sentiment_command(analyzer_, std::nullopt, in, out), 0);
  EXPECT_EQ(out.str(),
            "{\"neg\":0,\"neu\":0.508,\"pos\":0.492,\"compound\":0.4404}\n"
            "{\"neg\":0,\"neu\":0,\"pos\":0,\"compound\":0}\n"
            "{\"neg\":0.617,\"neu\":0.13,\"pos\":0.253,\"compound\":-0.5859}\n"
            "{\"neg\":1,\"neu\":0,\"pos\":0,\"compound\":-0.296}\n");
}

TEST_F(SentimentCommandTest, LinesLongerThanTheReadBlockAndManyLinesKeepTheirOrder) {
  std::string long_line;
  for (int i = 0; i < 20000; ++i) long_line += "okay ";  // 100 kB, more than one read block
  std::string input = long_line + "\n";
  std::string expected = scores_json(analyzer_.polarity_scores(long_line)) + "\n";
  for (int i = 0; i < 30000; ++i) {
    const std::string line = i % 3 == 0 ? "good" : (i % 3 == 1 ? "bad" : "meh okay");
    input += line + "\n";
    expected += scores_json(analyzer_.polarity_scores(line)) + "\n";
  }
  std::istringstream in(input);
  std::ostringstream out;
  EXPECT_EQ(run_sentiment_command(analyzer_, std::nullopt, in, out), 0);
  EXPECT_EQ(out.str(), expected);
}

TEST_F(SentimentCommandTest, EmptyInputPrintsNothing) {
  std::istringstream in("");
  std::ostringstream out;
  EXPECT_EQ(run_sentiment_command(analyzer_, std::nullopt, in, out), 0);
  EXPECT_EQ(out.str(), "");
}

TEST_F(SentimentCommandTest, FailedOutputGivesExitCodeOne) {
  std::istringstream in("good\n");
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  EXPECT_EQ(run_sentiment_command(analyzer_, std::nullopt, in, out), 1);
}

}  // namespace
}  // namespace vontres::ai::sentiment
