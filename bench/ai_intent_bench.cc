// Intent classifier on BANKING77 (10,003 utterances, 77 intents): training time, predictions per
// second and 5-fold cross-validated accuracy, each next to a nearest-centroid baseline on the same
// features measured in the same run.
//
// Data: $VONTRES_INTENT_DATA, else shared/data/banking77/train.csv searched upwards from the
// working directory. Run from the build directory, e.g.
//   build-intent/bench/vontres_ai_intent_bench --benchmark_filter=CrossValidate
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ai/intent/classifier.h"
#include "ai/intent/evaluation.h"

namespace {

using vontres::ai::intent::IntentClassifier;
using vontres::ai::intent::IntentOptions;
using vontres::ai::intent::LabelledExample;
using vontres::ai::intent::ModelKind;

const std::vector<LabelledExample>* banking77() {
  static const std::optional<std::vector<LabelledExample>> data = []() -> std::optional<std::vector<LabelledExample>> {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("VONTRES_INTENT_DATA")) candidates.emplace_back(env);
    std::string prefix;
    for (int up = 0; up < 4; ++up, prefix += "../") candidates.push_back(prefix + "shared/data/banking77/train.csv");
    for (const std::string& path : candidates) {
      if (!std::filesystem::exists(path)) continue;
      auto examples = vontres::ai::intent::read_labelled_csv(path);
      if (examples.is_ok()) return std::move(examples).value();
    }
    return std::nullopt;
  }();
  return data ? &*data : nullptr;
}

IntentOptions options_for(ModelKind model) {
  IntentOptions options;
  options.model = model;
  return options;
}

bool need_data(benchmark::State& state) {
  if (banking77() != nullptr) return true;
  state.SkipWithError("BANKING77 not found: set VONTRES_INTENT_DATA");
  return false;
}

void BM_Train(benchmark::State& state, ModelKind model, int calibration_folds, int threads) {
  if (!need_data(state)) return;
  IntentOptions options = options_for(model);
  options.calibration_folds = calibration_folds;
  options.threads = threads;
  size_t features = 0;
  for (auto _ : state) {
    auto classifier = IntentClassifier::train(*banking77(), options);
    if (!classifier.is_ok()) {
      state.SkipWithError(classifier.status().to_string().c_str());
      return;
    }
    features = classifier->feature_count();
  }
  state.counters["examples"] = static_cast<double>(banking77()->size());
  state.counters["features"] = static_cast<double>(features);
}
BENCHMARK_CAPTURE(BM_Train, svm_no_calibration, ModelKind::kLinearSvm, 0, 1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_Train, svm_calibrated, ModelKind::kLinearSvm, 3, 1)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_CAPTURE(BM_Train, svm_calibrated_2_threads, ModelKind::kLinearSvm, 3, 2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_Train, baseline_centroid_no_calibration, ModelKind::kNearestCentroid, 0, 1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

void BM_Predict(benchmark::State& state, ModelKind model) {
  if (!need_data(state)) return;
  IntentOptions options = options_for(model);
  options.calibration_folds = 0;
  auto classifier = IntentClassifier::train(*banking77(), options);
  const std::vector<LabelledExample>& data = *banking77();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(classifier->predict(data[i].text));
    i = (i + 1) % data.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK_CAPTURE(BM_Predict, svm, ModelKind::kLinearSvm);
BENCHMARK_CAPTURE(BM_Predict, baseline_centroid, ModelKind::kNearestCentroid);

// 5-fold stratified CV of the SVM and of the baseline in one run, with their ratios.
void BM_CrossValidate(benchmark::State& state) {
  if (!need_data(state)) return;
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    auto svm = vontres::ai::intent::cross_validate(*banking77(), options_for(ModelKind::kLinearSvm), 5, 1);
    const auto t1 = Clock::now();
    auto baseline = vontres::ai::intent::cross_validate(*banking77(), options_for(ModelKind::kNearestCentroid), 5, 1);
    const auto t2 = Clock::now();
    if (!svm.is_ok() || !baseline.is_ok()) {
      state.SkipWithError("cross-validation failed");
      return;
    }
    const double svm_seconds = std::chrono::duration<double>(t1 - t0).count();
    const double baseline_seconds = std::chrono::duration<double>(t2 - t1).count();
    state.counters["cv_accuracy"] = svm->mean_accuracy;
    state.counters["cv_accuracy_stddev"] = svm->stddev_accuracy;
    state.counters["cv_macro_f1"] = svm->pooled.macro_f1;
    state.counters["cv_ece"] = svm->pooled.expected_calibration_error;
    state.counters["baseline_cv_accuracy"] = baseline->mean_accuracy;
    state.counters["baseline_cv_ece"] = baseline->pooled.expected_calibration_error;
    state.counters["accuracy_ratio"] = svm->mean_accuracy / baseline->mean_accuracy;
    state.counters["cv_seconds"] = svm_seconds;
    state.counters["time_ratio_vs_baseline"] = svm_seconds / baseline_seconds;
  }
}
BENCHMARK(BM_CrossValidate)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
