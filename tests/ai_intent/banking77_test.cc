// Quality gate on BANKING77: train on four fifths (stratified), check accuracy and calibration on
// the held-out fifth. Skipped when the data set is not beside the checkout.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>

#include "ai/intent/classifier.h"
#include "ai/intent/evaluation.h"

namespace vontres::ai::intent {
namespace {

TEST(Banking77, HeldOutFifthIsAtLeast85PercentAccurateAndCalibrated) {
  const std::string path = std::string(VONTRES_SOURCE_DIR) + "/../shared/data/banking77/train.csv";
  if (!std::filesystem::exists(path)) GTEST_FAIL() << "BANKING77 not found at " << path;
  auto examples = read_labelled_csv(path);
  ASSERT_TRUE(examples.is_ok()) << examples.status().to_string();

  std::map<std::string, int> ids;
  std::vector<int> labels;
  for (const LabelledExample& example : *examples) {
    labels.push_back(ids.emplace(example.intent, static_cast<int>(ids.size())).first->second);
  }
  const std::vector<int> folds = stratified_folds(labels, 5, 1);
  std::vector<LabelledExample> train;
  std::vector<LabelledExample> test;
  for (size_t i = 0; i < examples->size(); ++i) (folds[i] == 0 ? test : train).push_back((*examples)[i]);

  IntentOptions options;
  options.calibration_folds = 2;  // keeps the sanitizer build's run short
  auto classifier = IntentClassifier::train(train, options);
  ASSERT_TRUE(classifier.is_ok()) << classifier.status().to_string();
  EXPECT_EQ(classifier->intents().size(), 77U);
  const EvaluationReport report = evaluate(*classifier, test);
  EXPECT_EQ(report.examples, test.size());
  EXPECT_GE(report.accuracy, 0.85);
  EXPECT_GE(report.macro_f1, 0.85);
  EXPECT_LE(report.expected_calibration_error, 0.06);
  RecordProperty("accuracy", std::to_string(report.accuracy));
  std::cout << "BANKING77 held-out fold: accuracy " << report.accuracy << ", macro-F1 " << report.macro_f1 << ", ECE "
            << report.expected_calibration_error << ", temperature " << classifier->temperature() << "\n";
}

}  // namespace
}  // namespace vontres::ai::intent
