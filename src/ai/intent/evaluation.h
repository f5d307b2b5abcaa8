// Measuring an intent classifier: accuracy, macro-F1, per-intent precision/recall, the most
// frequent confusions and the expected calibration error on a labelled test set, and stratified,
// seeded k-fold cross-validation on one labelled set.
//
// Thread-safety: pure functions over their arguments.
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "ai/intent/classifier.h"
#include "core/status.h"

namespace vontres::ai::intent {

struct IntentMetrics {
  std::string intent;
  size_t support = 0;    // test examples with this true intent
  size_t predicted = 0;  // test examples predicted as this intent
  double precision = 0;
  double recall = 0;
  double f1 = 0;
};

struct Confusion {
  std::string truth;
  std::string predicted;
  size_t count = 0;
};

struct EvaluationReport {
  size_t examples = 0;
  double accuracy = 0;                    // of the best intent, ignoring the unknown threshold
  double macro_f1 = 0;                    // over intents that occur in the test set or the predictions
  double expected_calibration_error = 0;  // 15 equal-width confidence bins
  double unknown_rate = 0;                // share below the threshold
  double accuracy_when_known = 0;         // accuracy on the rest
  std::vector<IntentMetrics> intents;     // sorted by name
  std::vector<Confusion> confusions;      // most frequent first (ties by name)
};

// Collects predictions one at a time; evaluate() and cross_validate() are built on it.
class EvaluationAccumulator {
 public:
  void add(const std::string& truth, const Prediction& prediction);
  EvaluationReport finish() const;

 private:
  struct Row {
    std::string truth;
    std::string predicted;
    double confidence;
    bool known;
  };
  std::vector<Row> rows_;
};

EvaluationReport evaluate(const IntentClassifier& classifier, std::span<const LabelledExample> test);

struct CrossValidationReport {
  int folds = 0;
  std::vector<double> fold_accuracy;
  double mean_accuracy = 0;
  double stddev_accuracy = 0;
  EvaluationReport pooled;  // all out-of-fold predictions together
};

// Stratified k-fold cross-validation (folds >= 2; codes: intent_bad_folds and train()'s codes).
Result<CrossValidationReport> cross_validate(std::span<const LabelledExample> examples, const IntentOptions& options,
                                             int folds, uint64_t seed);

// Human-readable summary: macro-F1, calibration, the `worst` intents by F1 and the `confusions`
// most frequent confusions. Accuracy is not printed (callers put it on a line of its own).
void print_summary(const EvaluationReport& report, std::ostream& out, size_t worst = 10, size_t confusions = 10);

}  // namespace vontres::ai::intent
