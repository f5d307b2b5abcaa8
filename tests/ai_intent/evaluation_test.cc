#include "ai/intent/evaluation.h"

#include <gtest/gtest.h>

#include <sstream>

#include "ai_intent/synthetic.h"

namespace vontres::ai::intent {
namespace {

Prediction guess(const std::string& intent, double confidence, bool known = true) {
  return Prediction{intent, confidence, {{intent, confidence}}, known};
}

const IntentMetrics& metrics_of(const EvaluationReport& report, const std::string& intent) {
  for (const IntentMetrics& m : report.intents) {
    if (m.intent == intent) return m;
  }
  ADD_FAILURE() << "no metrics for " << intent;
  return report.intents.front();
}

TEST(EvaluationAccumulator, ComputesAccuracyPerIntentMetricsAndConfusions) {
  EvaluationAccumulator accumulator;
  // truth a: a, a, b ; truth b: b ; truth c: a
  accumulator.add("a", guess("a", 1.0));
  accumulator.add("a", guess("a", 1.0));
  accumulator.add("a", guess("b", 1.0));
  accumulator.add("b", guess("b", 1.0));
  accumulator.add("c", guess("a", 1.0, false));
  const EvaluationReport report = accumulator.finish();
  EXPECT_EQ(report.examples, 5U);
  EXPECT_DOUBLE_EQ(report.accuracy, 3.0 / 5.0);
  const IntentMetrics& a = metrics_of(report, "a");
  EXPECT_EQ(a.support, 3U);
  EXPECT_EQ(a.predicted, 3U);
  EXPECT_DOUBLE_EQ(a.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(a.recall, 2.0 / 3.0);
  const IntentMetrics& b = metrics_of(report, "b");
  EXPECT_DOUBLE_EQ(b.precision, 0.5);
  EXPECT_DOUBLE_EQ(b.recall, 1.0);
  EXPECT_DOUBLE_EQ(b.f1, 2.0 / 3.0);
  const IntentMetrics& c = metrics_of(report, "c");
  EXPECT_DOUBLE_EQ(c.f1, 0.0);
  EXPECT_DOUBLE_EQ(report.macro_f1, (2.0 / 3.0 + 2.0 / 3.0 + 0.0) / 3.0);
  ASSERT_EQ(report.confusions.size(), 2U);
  EXPECT_EQ(report.confusions[0].truth, "a");
  EXPECT_EQ(report.confusions[0].predicted, "b");
  EXPECT_DOUBLE_EQ(report.unknown_rate, 0.2);
  EXPECT_DOUBLE_EQ(report.accuracy_when_known, 3.0 / 4.0);
  // All at confidence 1 with 60 % right: ECE = 0.4.
  EXPECT_NEAR(report.expected_calibration_error, 0.4, 1e-12);
}

TEST(EvaluationAccumulator, CalibratedConfidencesHaveZeroCalibrationError) {
  EvaluationAccumulator accumulator;
  for (int i = 0; i < 10; ++i) accumulator.add("a", guess(i < 7 ? "a" : "b", 0.7));
  for (int i = 0; i < 4; ++i) accumulator.add("a", guess(i < 1 ? "a" : "b", 0.25));
  EXPECT_NEAR(accumulator.finish().expected_calibration_error, 0.0, 1e-12);
}

TEST(Evaluate, ScoresAClassifierOnATestSet) {
  auto classifier = IntentClassifier::train(testdata::training_set(), {});
  ASSERT_TRUE(classifier.is_ok());
  const EvaluationReport report = evaluate(*classifier, testdata::test_set());
  EXPECT_EQ(report.examples, testdata::test_set().size());
  EXPECT_DOUBLE_EQ(report.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(report.macro_f1, 1.0);
  EXPECT_TRUE(report.confusions.empty());
}

TEST(CrossValidate, IsStratifiedSeededAndReportsEveryFold) {
  auto first = cross_validate(testdata::training_set(), {}, 4, 3);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->folds, 4);
  EXPECT_EQ(first->fold_accuracy.size(), 4U);
  EXPECT_EQ(first->pooled.examples, testdata::training_set().size());
  EXPECT_GE(first->mean_accuracy, 0.9);
  auto second = cross_validate(testdata::training_set(), {}, 4, 3);
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(first->fold_accuracy, second->fold_accuracy);
}

TEST(CrossValidate, RejectsTooFewFolds) {
  EXPECT_EQ(cross_validate(testdata::training_set(), {}, 1, 1).status().code(), "intent_bad_folds");
  const std::vector<LabelledExample> two = {{"a", "x"}, {"b", "y"}};
  EXPECT_EQ(cross_validate(two, {}, 3, 1).status().code(), "intent_bad_folds");
}

TEST(PrintSummary, ListsWorstIntentsAndConfusions) {
  EvaluationAccumulator accumulator;
  accumulator.add("lost_card", guess("lost_card", 0.9));
  accumulator.add("lost_card", guess("card_arrival", 0.6));
  std::ostringstream out;
  print_summary(accumulator.finish(), out);
  EXPECT_NE(out.str().find("macro_f1: "), std::string::npos);
  EXPECT_NE(out.str().find("lost_card -> card_arrival: 1"), std::string::npos);
}

}  // namespace
}  // namespace vontres::ai::intent
