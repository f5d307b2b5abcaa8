#include "ai/intent/cli.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ai_intent/synthetic.h"
#include "support/subprocess.h"

namespace vontres::ai::intent {
namespace {

std::string quote(const std::string& field) {
  std::string out = "\"";
  for (const char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string write_csv(const testing::TempDir& dir, const std::string& name, const std::vector<LabelledExample>& rows) {
  const std::string path = dir.path() + "/" + name;
  std::ofstream file(path);
  file << "text,category\n";
  for (const LabelledExample& row : rows) file << quote(row.text) << "," << row.intent << "\n";
  return path;
}

TEST(IntentCli, PredictPrintsJsonWithIntentConfidenceAndAlternatives) {
  testing::TempDir dir;
  const std::string train = write_csv(dir, "train.csv", testdata::training_set());
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(run_intent_command("I think my card was stolen", train, out, err), 0) << err.str();
  const nlohmann::json result = nlohmann::json::parse(out.str());
  EXPECT_EQ(result["intent"], "lost_card");
  EXPECT_GT(result["confidence"].get<double>(), 0.5);
  EXPECT_TRUE(result["known"].get<bool>());
  ASSERT_EQ(result["alternatives"].size(), 3U);
  EXPECT_EQ(result["alternatives"][0]["intent"], "lost_card");
}

TEST(IntentCli, EvalPrintsAccuracyOnItsOwnLineThenASummary) {
  testing::TempDir dir;
  const std::string train = write_csv(dir, "train.csv", testdata::training_set());
  const std::string test = write_csv(dir, "test.csv", testdata::test_set());
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(run_eval_intent_command(train, test, out, err), 0) << err.str();
  EXPECT_EQ(out.str().rfind("accuracy: 1.0000\n", 0), 0U) << out.str();
  EXPECT_NE(out.str().find("\nmacro_f1: 1.0000\n"), std::string::npos);
  EXPECT_NE(out.str().find("most frequent confusions"), std::string::npos);
}

TEST(IntentCli, CrossValidatePrintsMeanAccuracyAndFolds) {
  testing::TempDir dir;
  const std::string data = write_csv(dir, "data.csv", testdata::training_set());
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(run_cross_validate_command(data, 3, out, err), 0) << err.str();
  EXPECT_EQ(out.str().rfind("accuracy: ", 0), 0U);
  EXPECT_NE(out.str().find("\nfolds: 3 "), std::string::npos);
}

TEST(IntentCli, ReportsBadInputWithCodeAndExitCodeOne) {
  testing::TempDir dir;
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_intent_command("hello", dir.path() + "/missing.csv", out, err), 1);
  EXPECT_NE(err.str().find("error: csv_unreadable: "), std::string::npos);
  const std::string one_intent = write_csv(dir, "one.csv", {{"a", "x"}, {"b", "x"}});
  err.str("");
  EXPECT_EQ(run_eval_intent_command(one_intent, one_intent, out, err), 1);
  EXPECT_NE(err.str().find("intent_too_few_intents"), std::string::npos);
  err.str("");
  EXPECT_EQ(run_cross_validate_command(one_intent, 1, out, err), 1);
  EXPECT_NE(err.str().find("intent_bad_folds"), std::string::npos);
  EXPECT_TRUE(out.str().empty());
}

}  // namespace
}  // namespace vontres::ai::intent
