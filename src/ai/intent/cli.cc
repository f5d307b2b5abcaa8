#include "ai/intent/cli.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "ai/intent/evaluation.h"

namespace vontres::ai::intent {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;

int fail(const Status& status, std::ostream& err) {
  err << "error: " << status.code() << ": " << status.message() << "\n";
  return kExitFailure;
}

std::string fixed4(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", value);
  return buffer;
}

}  // namespace

int run_intent_command(std::string_view text, const std::string& train_csv, std::ostream& out, std::ostream& err,
                       const IntentOptions& options) {
  auto examples = read_labelled_csv(train_csv);
  if (!examples.is_ok()) return fail(examples.status(), err);
  auto classifier = IntentClassifier::train(*examples, options);
  if (!classifier.is_ok()) return fail(classifier.status(), err);
  const Prediction prediction = classifier->predict(text);
  nlohmann::json alternatives = nlohmann::json::array();
  for (const ScoredIntent& alternative : prediction.alternatives) {
    alternatives.push_back({{"intent", alternative.intent}, {"confidence", alternative.confidence}});
  }
  const nlohmann::json result = {{"intent", prediction.intent},
                                 {"confidence", prediction.confidence},
                                 {"known", prediction.known},
                                 {"alternatives", alternatives}};
  out << result.dump() << "\n";
  return kExitOk;
}

int run_eval_intent_command(const std::string& train_csv, const std::string& test_csv, std::ostream& out,
                            std::ostream& err, const IntentOptions& options) {
  auto train = read_labelled_csv(train_csv);
  if (!train.is_ok()) return fail(train.status(), err);
  auto test = read_labelled_csv(test_csv);
  if (!test.is_ok()) return fail(test.status(), err);
  auto classifier = IntentClassifier::train(*train, options);
  if (!classifier.is_ok()) return fail(classifier.status(), err);
  const EvaluationReport report = evaluate(*classifier, *test);
  out << "accuracy: " << fixed4(report.accuracy) << "\n";
  print_summary(report, out);
  return kExitOk;
}

int run_cross_validate_command(const std::string& csv, int folds, std::ostream& out, std::ostream& err,
                               const IntentOptions& options, uint64_t seed) {
  auto examples = read_labelled_csv(csv);
  if (!examples.is_ok()) return fail(examples.status(), err);
  auto report = cross_validate(*examples, options, folds, seed);
  if (!report.is_ok()) return fail(report.status(), err);
  out << "accuracy: " << fixed4(report->mean_accuracy) << "\n";
  out << "folds: " << report->folds << " (stddev " << fixed4(report->stddev_accuracy) << ")";
  for (const double accuracy : report->fold_accuracy) out << " " << fixed4(accuracy);
  out << "\n";
  print_summary(report->pooled, out);
  return kExitOk;
}

}  // namespace vontres::ai::intent
