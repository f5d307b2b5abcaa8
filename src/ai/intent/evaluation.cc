#include "ai/intent/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace vontres::ai::intent {
namespace {

std::string fixed(double value, int digits = 4) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

}  // namespace

void EvaluationAccumulator::add(const std::string& truth, const Prediction& prediction) {
  const std::string& best = prediction.alternatives.empty() ? prediction.intent : prediction.alternatives[0].intent;
  rows_.push_back({truth, best, prediction.confidence, prediction.known});
}

EvaluationReport EvaluationAccumulator::finish() const {
  EvaluationReport report;
  report.examples = rows_.size();
  if (rows_.empty()) return report;
  std::map<std::string, IntentMetrics> metrics;
  std::map<std::pair<std::string, std::string>, size_t> confusions;
  size_t correct = 0;
  size_t known = 0;
  size_t known_correct = 0;
  constexpr size_t kBins = 15;
  std::vector<double> bin_confidence(kBins, 0.0);
  std::vector<double> bin_correct(kBins, 0.0);
  std::vector<size_t> bin_count(kBins, 0);
  for (const Row& row : rows_) {
    const bool right = row.truth == row.predicted;
    IntentMetrics& truth = metrics[row.truth];
    truth.intent = row.truth;
    ++truth.support;
    IntentMetrics& predicted = metrics[row.predicted];
    predicted.intent = row.predicted;
    ++predicted.predicted;
    if (right) {
      ++correct;
    } else {
      ++confusions[{row.truth, row.predicted}];
    }
    if (row.known) {
      ++known;
      known_correct += right ? 1 : 0;
    }
    const auto bin = std::min(kBins - 1, static_cast<size_t>(row.confidence * kBins));
    bin_confidence[bin] += row.confidence;
    bin_correct[bin] += right ? 1.0 : 0.0;
    ++bin_count[bin];
  }
  // True positives per intent = support minus the confusions whose truth it is.
  std::map<std::string, size_t> missed;
  for (const auto& [pair, count] : confusions) missed[pair.first] += count;
  const auto n = static_cast<double>(rows_.size());
  double f1_sum = 0;
  for (auto& [name, m] : metrics) {
    const size_t true_positives = m.support - missed[name];
    m.precision = m.predicted > 0 ? static_cast<double>(true_positives) / m.predicted : 0.0;
    m.recall = m.support > 0 ? static_cast<double>(true_positives) / m.support : 0.0;
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
    f1_sum += m.f1;
    report.intents.push_back(m);
  }
  report.accuracy = static_cast<double>(correct) / n;
  report.macro_f1 = f1_sum / static_cast<double>(metrics.size());
  report.unknown_rate = 1.0 - static_cast<double>(known) / n;
  report.accuracy_when_known = known > 0 ? static_cast<double>(known_correct) / known : 0.0;
  double ece = 0;
  for (size_t b = 0; b < kBins; ++b) {
    if (bin_count[b] == 0) continue;
    ece += std::fabs(bin_correct[b] - bin_confidence[b]) / n;
  }
  report.expected_calibration_error = ece;
  for (const auto& [pair, count] : confusions) report.confusions.push_back({pair.first, pair.second, count});
  std::stable_sort(report.confusions.begin(), report.confusions.end(),
                   [](const Confusion& a, const Confusion& b) { return a.count > b.count; });
  return report;
}

EvaluationReport evaluate(const IntentClassifier& classifier, std::span<const LabelledExample> test) {
  EvaluationAccumulator accumulator;
  for (const LabelledExample& example : test) accumulator.add(example.intent, classifier.predict(example.text));
  return accumulator.finish();
}

Result<CrossValidationReport> cross_validate(std::span<const LabelledExample> examples, const IntentOptions& options,
                                             int folds, uint64_t seed) {
  if (folds < 2) return invalid_argument("cross-validation needs at least 2 folds", "intent_bad_folds");
  if (examples.size() < static_cast<size_t>(folds)) {
    return invalid_argument("fewer examples than folds", "intent_bad_folds");
  }
  std::map<std::string, int> label_ids;
  std::vector<int> labels;
  labels.reserve(examples.size());
  for (const LabelledExample& example : examples) {
    labels.push_back(label_ids.emplace(example.intent, static_cast<int>(label_ids.size())).first->second);
  }
  const std::vector<int> fold_of = stratified_folds(labels, folds, seed);
  CrossValidationReport report;
  report.folds = folds;
  EvaluationAccumulator pooled;
  for (int fold = 0; fold < folds; ++fold) {
    std::vector<LabelledExample> train;
    std::vector<LabelledExample> test;
    for (size_t i = 0; i < examples.size(); ++i) (fold_of[i] == fold ? test : train).push_back(examples[i]);
    VONTRES_ASSIGN_OR_RETURN(IntentClassifier classifier, IntentClassifier::train(train, options));
    EvaluationAccumulator accumulator;
    for (const LabelledExample& example : test) {
      const Prediction prediction = classifier.predict(example.text);
      accumulator.add(example.intent, prediction);
      pooled.add(example.intent, prediction);
    }
    report.fold_accuracy.push_back(accumulator.finish().accuracy);
  }
  double sum = 0;
  for (const double a : report.fold_accuracy) sum += a;
  report.mean_accuracy = sum / folds;
  double squares = 0;
  for (const double a : report.fold_accuracy) squares += (a - report.mean_accuracy) * (a - report.mean_accuracy);
  report.stddev_accuracy = std::sqrt(squares / folds);
  report.pooled = pooled.finish();
  return report;
}

void print_summary(const EvaluationReport& report, std::ostream& out, size_t worst, size_t confusions) {
  out << "examples: " << report.examples << "\n";
  out << "macro_f1: " << fixed(report.macro_f1) << "\n";
  out << "expected_calibration_error: " << fixed(report.expected_calibration_error) << "\n";
  out << "unknown_rate: " << fixed(report.unknown_rate) << "\n";
  out << "accuracy_when_known: " << fixed(report.accuracy_when_known) << "\n";
  std::vector<IntentMetrics> by_f1 = report.intents;
  std::stable_sort(by_f1.begin(), by_f1.end(),
                   [](const IntentMetrics& a, const IntentMetrics& b) { return a.f1 < b.f1; });
  out << "worst intents (f1 precision recall support):\n";
  for (size_t i = 0; i < std::min(worst, by_f1.size()); ++i) {
    const IntentMetrics& m = by_f1[i];
    out << "  " << m.intent << " " << fixed(m.f1, 3) << " " << fixed(m.precision, 3) << " " << fixed(m.recall, 3) << " "
        << m.support << "\n";
  }
  out << "most frequent confusions (truth -> predicted: count):\n";
  for (size_t i = 0; i < std::min(confusions, report.confusions.size()); ++i) {
    const Confusion& c = report.confusions[i];
    out << "  " << c.truth << " -> " << c.predicted << ": " << c.count << "\n";
  }
}

}  // namespace vontres::ai::intent
