// Intent classifier for the IVR's "How can I help you?": trained at start-up from labelled
// utterances, it maps a transcript to an intent with a calibrated confidence (softmax over the
// linear scores with a temperature fitted on out-of-fold scores, so "0.8" means right about 80 % of
// the time), and answers `unknown_intent` when the confidence is below the threshold.
// Training is deterministic for a given seed and independent of the thread count.
//
// Thread-safety: a trained IntentClassifier is immutable; its const methods may be called from any
// number of threads at once.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ai/intent/features.h"
#include "ai/intent/labelled_csv.h"
#include "core/status.h"

namespace vontres::ai::intent {

enum class ModelKind {
  kLinearSvm,        // one-vs-rest L2-regularised linear SVMs (dual coordinate descent)
  kNearestCentroid,  // cosine to each intent's mean vector: the baseline
};

struct IntentOptions {
  FeatureOptions features;
  ModelKind model = ModelKind::kLinearSvm;
  double svm_c = 1.0;         // inverse regularisation strength
  bool squared_hinge = true;  // L2-loss SVM (false: hinge loss)
  double tolerance = 0.1;     // dual coordinate descent stopping tolerance
  int max_epochs = 1000;      // per binary problem
  uint64_t seed = 20260101;   // shuffles and calibration folds
  int threads = 1;            // training threads (the result does not depend on it)
  int calibration_folds = 3;  // folds for out-of-fold scores to fit the temperature; < 2: no fit
  double unknown_threshold = 0.5;
  std::string unknown_intent = "unknown";
  size_t top_k = 3;  // alternatives returned by predict()
};

struct ScoredIntent {
  std::string intent;
  double confidence = 0;
};

struct Prediction {
  std::string intent;                      // the best intent, or the unknown intent below the threshold
  double confidence = 0;                   // calibrated probability of the best intent
  std::vector<ScoredIntent> alternatives;  // the top-k intents, best first (the best included)
  bool known = false;                      // confidence >= threshold
};

class IntentClassifier {
 public:
  // Codes: intent_no_examples, intent_empty_label, intent_too_few_intents (fewer than 2),
  // intent_bad_options.
  static Result<IntentClassifier> train(std::span<const LabelledExample> examples, const IntentOptions& options);

  Prediction predict(std::string_view text) const;
  // Calibrated probabilities of every intent, in intents() order.
  std::vector<double> probabilities(std::string_view text) const;
  // Uncalibrated linear scores, in intents() order.
  std::vector<float> scores(std::string_view text) const;

  const std::vector<std::string>& intents() const { return intents_; }
  const IntentOptions& options() const { return options_; }
  // The softmax temperature applied to scores (1 / inverse temperature).
  double temperature() const { return 1.0 / inverse_temperature_; }
  size_t feature_count() const { return features_.dimension(); }

 private:
  IntentClassifier() = default;

  IntentOptions options_;
  std::vector<std::string> intents_;  // sorted
  FeatureSpace features_;
  std::vector<float> weights_;  // (features + 1) x intents, feature-major
  double inverse_temperature_ = 1.0;
};

// Fits the inverse temperature beta minimising the mean cross-entropy of softmax(beta * scores)
// against the labels (smoothed by one uniform pseudo-example) on (scores, label) pairs; `scores` is
// row-major, `classes` per row. The result lies in [1e-3, 1e4].
double fit_inverse_temperature(std::span<const float> scores, std::span<const int> labels, size_t classes);

// Assigns each example to one of `folds` folds so that every label is spread evenly over the folds
// (stratified) in a seeded random order. Returns the fold of each example.
std::vector<int> stratified_folds(std::span<const int> labels, int folds, uint64_t seed);

}  // namespace vontres::ai::intent
