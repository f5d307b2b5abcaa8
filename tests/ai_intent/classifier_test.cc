#include "ai/intent/classifier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <thread>

#include "ai/intent/detail/rng.h"
#include "ai_intent/synthetic.h"

namespace vontres::ai::intent {
namespace {

IntentClassifier train_ok(const std::vector<LabelledExample>& examples, const IntentOptions& options = {}) {
  auto classifier = IntentClassifier::train(examples, options);
  EXPECT_TRUE(classifier.is_ok()) << classifier.status().to_string();
  return std::move(classifier).value();
}

TEST(IntentClassifier, RecognisesUnseenWordingsOfSyntheticIntents) {
  const IntentClassifier classifier = train_ok(testdata::training_set());
  EXPECT_EQ(classifier.intents(),
            (std::vector<std::string>{"check_balance", "lost_card", "talk_to_agent", "transfer_money"}));
  for (const LabelledExample& example : testdata::test_set()) {
    const Prediction prediction = classifier.predict(example.text);
    ASSERT_FALSE(prediction.alternatives.empty());
    EXPECT_EQ(prediction.alternatives[0].intent, example.intent) << example.text;
  }
}

TEST(IntentClassifier, NearestCentroidBaselineAlsoLearnsTheSyntheticIntents) {
  IntentOptions options;
  options.model = ModelKind::kNearestCentroid;
  const IntentClassifier classifier = train_ok(testdata::training_set(), options);
  size_t correct = 0;
  for (const LabelledExample& example : testdata::test_set()) {
    correct += classifier.predict(example.text).alternatives[0].intent == example.intent ? 1 : 0;
  }
  EXPECT_GE(correct, testdata::test_set().size() - 1);
}

TEST(IntentClassifier, ProbabilitiesSumToOneAndAlternativesAreSortedTopK) {
  IntentOptions options;
  options.top_k = 2;
  const IntentClassifier classifier = train_ok(testdata::training_set(), options);
  const std::vector<double> p = classifier.probabilities("i lost my card");
  double sum = 0;
  for (const double x : p) sum += x;
  EXPECT_NEAR(sum, 1.0, 1e-9);
  const Prediction prediction = classifier.predict("i lost my card");
  ASSERT_EQ(prediction.alternatives.size(), 2U);
  EXPECT_GE(prediction.alternatives[0].confidence, prediction.alternatives[1].confidence);
  EXPECT_EQ(prediction.confidence, prediction.alternatives[0].confidence);
  EXPECT_EQ(prediction.intent, "lost_card");
  EXPECT_TRUE(prediction.known);
  EXPECT_GT(classifier.temperature(), 0);
}

TEST(IntentClassifier, AnswersUnknownBelowTheThreshold) {
  IntentOptions options;
  options.unknown_threshold = 0.99;
  options.unknown_intent = "fallback";
  const IntentClassifier strict = train_ok(testdata::training_set(), options);
  const Prediction gibberish = strict.predict("the weather in paris is lovely");
  EXPECT_EQ(gibberish.intent, "fallback");
  EXPECT_FALSE(gibberish.known);
  EXPECT_LT(gibberish.confidence, 0.99);
  ASSERT_FALSE(gibberish.alternatives.empty());
  EXPECT_NE(gibberish.alternatives[0].intent, "fallback");  // the best guess is still reported

  options.unknown_threshold = 0.0;
  const IntentClassifier lenient = train_ok(testdata::training_set(), options);
  const Prediction anything = lenient.predict("the weather in paris is lovely");
  EXPECT_TRUE(anything.known);
  EXPECT_EQ(anything.intent, anything.alternatives[0].intent);
  EXPECT_DOUBLE_EQ(anything.confidence, gibberish.confidence);  // the threshold does not change the model
}

TEST(IntentClassifier, EmptyTextFallsBackToAPriorGuess) {
  const IntentClassifier classifier = train_ok(testdata::training_set());
  const Prediction prediction = classifier.predict("");
  EXPECT_EQ(prediction.alternatives.size(), 3U);
  EXPECT_LT(prediction.confidence, 0.9);
}

TEST(IntentClassifier, TrainingIsDeterministicForASeedAndIndependentOfThreads) {
  IntentOptions one;
  one.threads = 1;
  IntentOptions two = one;
  two.threads = 2;
  const IntentClassifier a = train_ok(testdata::training_set(), one);
  const IntentClassifier b = train_ok(testdata::training_set(), one);
  const IntentClassifier c = train_ok(testdata::training_set(), two);
  EXPECT_EQ(a.temperature(), b.temperature());
  EXPECT_EQ(a.temperature(), c.temperature());
  for (const LabelledExample& example : testdata::test_set()) {
    EXPECT_EQ(a.scores(example.text), b.scores(example.text));
    EXPECT_EQ(a.scores(example.text), c.scores(example.text));
  }
  IntentOptions other_seed = one;
  other_seed.seed = one.seed + 1;
  const IntentClassifier d = train_ok(testdata::training_set(), other_seed);
  EXPECT_EQ(d.predict("i lost my card").intent, "lost_card");  // a different seed still learns
}

TEST(IntentClassifier, ConcurrentPredictionsMatchSequentialOnes) {
  const IntentClassifier classifier = train_ok(testdata::training_set());
  const std::vector<LabelledExample> tests = testdata::test_set();
  std::vector<std::vector<double>> expected;
  for (const LabelledExample& example : tests) expected.push_back(classifier.probabilities(example.text));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (size_t i = 0; i < tests.size(); ++i) {
          if (classifier.probabilities(tests[i].text) != expected[i]) ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(IntentClassifier, RejectsUnusableTrainingData) {
  const std::vector<LabelledExample> none;
  EXPECT_EQ(IntentClassifier::train(none, {}).status().code(), "intent_no_examples");
  const std::vector<LabelledExample> one_intent = {{"a", "x"}, {"b", "x"}};
  EXPECT_EQ(IntentClassifier::train(one_intent, {}).status().code(), "intent_too_few_intents");
  const std::vector<LabelledExample> unlabelled = {{"a", "x"}, {"b", ""}};
  EXPECT_EQ(IntentClassifier::train(unlabelled, {}).status().code(), "intent_empty_label");
}

TEST(IntentClassifier, RejectsBadOptions) {
  const std::vector<LabelledExample> data = testdata::training_set();
  std::vector<IntentOptions> bad(6);
  bad[0].svm_c = 0;
  bad[1].top_k = 0;
  bad[2].unknown_threshold = 1.5;
  bad[3].features.word_ngram_max = 0;
  bad[3].features.char_ngram_max = 0;
  bad[4].features.char_ngram_min = 6;
  bad[5].features.min_document_frequency = 0;
  for (const IntentOptions& options : bad) {
    EXPECT_EQ(IntentClassifier::train(data, options).status().code(), "intent_bad_options");
  }
}

TEST(IntentClassifier, TrainsOnTinySetsWithoutCalibration) {
  const std::vector<LabelledExample> tiny = {{"yes", "confirm"}, {"no", "deny"}};
  const IntentClassifier classifier = train_ok(tiny);  // too small for calibration folds
  EXPECT_EQ(classifier.temperature(), 1.0);
  EXPECT_EQ(classifier.predict("yes").alternatives[0].intent, "confirm");
  EXPECT_EQ(classifier.predict("no").alternatives[0].intent, "deny");
}

TEST(StratifiedFolds, SpreadsEveryLabelEvenlyAndDependsOnlyOnTheSeed) {
  std::vector<int> labels;
  for (int label = 0; label < 5; ++label) {
    for (int i = 0; i < 10 + label * 7; ++i) labels.push_back(label);
  }
  const std::vector<int> folds = stratified_folds(labels, 4, 7);
  EXPECT_EQ(folds, stratified_folds(labels, 4, 7));
  EXPECT_NE(folds, stratified_folds(labels, 4, 8));
  std::map<int, std::vector<int>> per_label;
  std::vector<int> sizes(4, 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    ASSERT_GE(folds[i], 0);
    ASSERT_LT(folds[i], 4);
    per_label[labels[i]].resize(4);
    ++per_label[labels[i]][folds[i]];
    ++sizes[folds[i]];
  }
  for (const auto& [label, counts] : per_label) {
    EXPECT_LE(*std::max_element(counts.begin(), counts.end()) - *std::min_element(counts.begin(), counts.end()), 1)
        << "label " << label;
  }
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()) - *std::min_element(sizes.begin(), sizes.end()), 1);
}

TEST(FitInverseTemperature, RecoversTheTemperatureThatGeneratedTheLabels) {
  // Labels drawn from softmax(3 * scores): the maximum-likelihood fit should find beta close to 3.
  constexpr size_t kClasses = 5;
  constexpr size_t kRows = 20000;
  constexpr double kBeta = 3.0;
  detail::SplitMix64 rng(11);
  std::vector<float> scores(kRows * kClasses);
  std::vector<int> labels(kRows);
  for (size_t i = 0; i < kRows; ++i) {
    std::vector<double> weights(kClasses);
    double sum = 0;
    for (size_t c = 0; c < kClasses; ++c) {
      scores[i * kClasses + c] = static_cast<float>(static_cast<double>(rng.below(2001)) / 1000.0 - 1.0);
      weights[c] = std::exp(kBeta * scores[i * kClasses + c]);
      sum += weights[c];
    }
    double u = static_cast<double>(rng.below(1000000)) / 1e6 * sum;
    size_t label = 0;
    while (label + 1 < kClasses && u >= weights[label]) u -= weights[label++];
    labels[i] = static_cast<int>(label);
  }
  EXPECT_NEAR(fit_inverse_temperature(scores, labels, kClasses), kBeta, 0.2);
}

}  // namespace
}  // namespace vontres::ai::intent
