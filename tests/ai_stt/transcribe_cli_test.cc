// `vontres ai transcribe` through the real binary.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "speech_test_util.h"
#include "support/subprocess.h"

namespace vontres::ai::stt {
namespace {

TEST(TranscribeCommandTest, Espeak22kHzWavInGrammarMode) {
  testing::TempDir dir;
  const std::string wav = test::synthesize(dir, "cancel", "I want to cancel my subscription", test::Voice::kEspeak);
  auto r0 = testing::run({"soxi", "-r", wav});
  EXPECT_EQ(r0.out, "22050\n");
  const std::string grammar = dir.path() + "/phrases.txt";
  std::ofstream(grammar) << "I want to cancel my subscription\nI lost my credit card\n# comment\n\nTalk to an agent\n";
  auto r = testing::run({VONTRES_BINARY, "ai", "transcribe", wav, "--mode", "grammar", "--grammar", grammar, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line)) << r.out;
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["text"], "i want to cancel my subscription");
  EXPECT_GE(j["start_ms"].get<int>(), 0);
  EXPECT_GT(j["end_ms"].get<int>(), j["start_ms"].get<int>() + 1000);
  EXPECT_GT(j["confidence"].get<double>(), 0.0);
  EXPECT_FALSE(std::getline(lines, line));
}

TEST(TranscribeCommandTest, MuLaw8kHzWavInOpenMode) {
  testing::TempDir dir;
  const std::string wav = test::synthesize(dir, "card", "I lost my credit card", test::Voice::kFlite);
  const std::string ulaw = dir.path() + "/card-ulaw.wav";
  auto conv = testing::run({"sox", wav, "-r", "8000", "-e", "u-law", "-b", "8", ulaw, "pad", "0.3", "0.3"});
  ASSERT_EQ(conv.exit_code, 0) << conv.err;
  auto r = testing::run({VONTRES_BINARY, "ai", "transcribe", ulaw});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // "[0.01s-1.9s] ... credit card ... (0.xx)"
  EXPECT_NE(r.out.find("credit card"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.rfind("[", 0), 0u) << r.out;
}

TEST(TranscribeCommandTest, ErrorsAreReportedWithCodes) {
  testing::TempDir dir;
  const std::string bad = dir.path() + "/bad.wav";
  std::ofstream(bad) << "not a wav file";
  auto r = testing::run({VONTRES_BINARY, "ai", "transcribe", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: wav_malformed"), std::string::npos) << r.err;
  auto g = testing::run({VONTRES_BINARY, "ai", "transcribe", bad, "--mode", "grammar"});
  EXPECT_EQ(g.exit_code, 1);
  auto m = testing::run({VONTRES_BINARY, "ai", "transcribe", bad, "--mode", "sideways"});
  EXPECT_NE(m.exit_code, 0);
}

}  // namespace
}  // namespace vontres::ai::stt
