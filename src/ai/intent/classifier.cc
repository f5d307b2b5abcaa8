#include "ai/intent/classifier.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "ai/intent/detail/linear_model.h"
#include "ai/intent/detail/rng.h"

namespace vontres::ai::intent {
namespace {

constexpr double kBias = 1.0;

Status validate(const IntentOptions& options) {
  const FeatureOptions& f = options.features;
  auto bad = [](const std::string& what) { return invalid_argument(what, "intent_bad_options"); };
  if (!(options.svm_c > 0)) return bad("svm_c must be positive");
  if (!(options.tolerance > 0)) return bad("tolerance must be positive");
  if (options.max_epochs < 1) return bad("max_epochs must be at least 1");
  if (options.top_k < 1) return bad("top_k must be at least 1");
  if (!(options.unknown_threshold >= 0 && options.unknown_threshold <= 1)) {
    return bad("unknown_threshold must be in [0, 1]");
  }
  if (f.word_ngram_max < 0 || f.char_ngram_max < 0) return bad("n-gram sizes must not be negative");
  if (f.char_ngram_max > 0 && (f.char_ngram_min < 1 || f.char_ngram_min > f.char_ngram_max)) {
    return bad("char_ngram_min must be in [1, char_ngram_max]");
  }
  if (f.word_ngram_max == 0 && f.char_ngram_max == 0) return bad("no features: enable word or character n-grams");
  if (f.min_document_frequency < 1) return bad("min_document_frequency must be at least 1");
  if (!(f.word_block_weight >= 0)) return bad("word_block_weight must not be negative");
  return Status::ok();
}

struct LinearFit {
  FeatureSpace features;
  std::vector<float> weights;
};

// Fits features and weights on the examples selected by `rows`.
LinearFit fit_linear(std::span<const LabelledExample> examples, std::span<const int> labels,
                     std::span<const size_t> rows, size_t classes, const IntentOptions& options) {
  std::vector<std::string_view> texts;
  texts.reserve(rows.size());
  for (const size_t r : rows) texts.emplace_back(examples[r].text);
  LinearFit fit;
  fit.features = FeatureSpace::fit(texts, options.features);
  detail::CsrMatrix x;
  x.columns = fit.features.dimension();
  std::vector<int> y;
  y.reserve(rows.size());
  for (const size_t r : rows) {
    x.add_row(fit.features.transform(examples[r].text));
    y.push_back(labels[r]);
  }
  if (options.model == ModelKind::kNearestCentroid) {
    fit.weights = detail::train_nearest_centroid(x, y, classes);
  } else {
    detail::SvmOptions svm;
    svm.c = options.svm_c;
    svm.squared_hinge = options.squared_hinge;
    svm.tolerance = options.tolerance;
    svm.max_epochs = options.max_epochs;
    svm.bias = kBias;
    svm.seed = options.seed;
    svm.threads = options.threads;
    fit.weights = detail::train_one_vs_rest_svm(x, y, classes, svm);
  }
  return fit;
}

// Softmax of beta * scores into `out`.
void softmax(std::span<const float> scores, double beta, std::span<double> out) {
  const float top = *std::max_element(scores.begin(), scores.end());
  double sum = 0;
  for (size_t c = 0; c < scores.size(); ++c) {
    out[c] = std::exp(beta * (static_cast<double>(scores[c]) - top));
    sum += out[c];
  }
  for (double& p : out) p /= sum;
}

}  // namespace

std::vector<int> stratified_folds(std::span<const int> labels, int folds, uint64_t seed) {
  std::vector<int> assignment(labels.size(), 0);
  if (folds < 2) return assignment;
  std::map<int, std::vector<size_t>> by_label;
  for (size_t i = 0; i < labels.size(); ++i) by_label[labels[i]].push_back(i);
  detail::SplitMix64 rng(seed);
  // Continue the round-robin where the previous label stopped, so fold sizes differ by at most one.
  size_t next = 0;
  for (auto& [label, members] : by_label) {
    rng.shuffle(members);
    for (const size_t i : members) assignment[i] = static_cast<int>(next++ % static_cast<size_t>(folds));
  }
  return assignment;
}

double fit_inverse_temperature(std::span<const float> scores, std::span<const int> labels, size_t classes) {
  const size_t n = labels.size();
  if (n == 0 || classes < 2) return 1.0;
  std::vector<double> p(classes);
  // Targets are the labels smoothed by one pseudo-example spread evenly over the classes, so that
  // perfectly separated data (small, clean training sets) still gives a finite temperature instead
  // of certainty; on thousands of examples the effect is negligible.
  const double smoothing = 1.0 / (static_cast<double>(n) + 1.0);
  // d/d(beta) of the mean cross-entropy: E_p[s] - E_target[s], increasing in beta (it is convex).
  auto derivative = [&](double beta) {
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      const std::span<const float> row = scores.subspan(i * classes, classes);
      softmax(row, beta, p);
      double expected = 0;
      double mean = 0;
      for (size_t c = 0; c < classes; ++c) {
        expected += p[c] * row[c];
        mean += row[c];
      }
      const double target =
          (1.0 - smoothing) * row[static_cast<size_t>(labels[i])] + smoothing * mean / static_cast<double>(classes);
      total += expected - target;
    }
    return total / static_cast<double>(n);
  };
  double lo = std::log(1e-3);
  double hi = std::log(1e4);
  if (derivative(std::exp(lo)) >= 0) return std::exp(lo);
  if (derivative(std::exp(hi)) <= 0) return std::exp(hi);
  for (int iteration = 0; iteration < 40; ++iteration) {
    const double mid = 0.5 * (lo + hi);
    (derivative(std::exp(mid)) < 0 ? lo : hi) = mid;
  }
  return std::exp(0.5 * (lo + hi));
}

Result<IntentClassifier> IntentClassifier::train(std::span<const LabelledExample> examples,
                                                 const IntentOptions& options) {
  VONTRES_RETURN_IF_ERROR(validate(options));
  if (examples.empty()) return invalid_argument("no training examples", "intent_no_examples");
  IntentClassifier classifier;
  classifier.options_ = options;
  for (size_t i = 0; i < examples.size(); ++i) {
    if (examples[i].intent.empty()) {
      return invalid_argument("example " + std::to_string(i + 1) + " has an empty intent", "intent_empty_label");
    }
    classifier.intents_.push_back(examples[i].intent);
  }
  std::sort(classifier.intents_.begin(), classifier.intents_.end());
  classifier.intents_.erase(std::unique(classifier.intents_.begin(), classifier.intents_.end()),
                            classifier.intents_.end());
  const size_t classes = classifier.intents_.size();
  if (classes < 2) return invalid_argument("need examples of at least two intents", "intent_too_few_intents");
  std::vector<int> labels;
  labels.reserve(examples.size());
  for (const LabelledExample& example : examples) {
    labels.push_back(
        static_cast<int>(std::lower_bound(classifier.intents_.begin(), classifier.intents_.end(), example.intent) -
                         classifier.intents_.begin()));
  }

  // Out-of-fold scores: what the model says about utterances it has not seen, like in production.
  const int folds = options.calibration_folds;
  if (folds >= 2 && examples.size() >= 2 * static_cast<size_t>(folds)) {
    const std::vector<int> fold_of = stratified_folds(labels, folds, options.seed ^ 0xC0FFEEULL);
    std::vector<float> oof(examples.size() * classes);
    for (int fold = 0; fold < folds; ++fold) {
      std::vector<size_t> train_rows;
      for (size_t i = 0; i < examples.size(); ++i) {
        if (fold_of[i] != fold) train_rows.push_back(i);
      }
      const LinearFit fit = fit_linear(examples, labels, train_rows, classes, options);
      for (size_t i = 0; i < examples.size(); ++i) {
        if (fold_of[i] != fold) continue;
        detail::linear_scores(fit.weights, classes, kBias, fit.features.transform(examples[i].text),
                              std::span<float>(oof).subspan(i * classes, classes));
      }
    }
    classifier.inverse_temperature_ = fit_inverse_temperature(oof, labels, classes);
  }

  std::vector<size_t> all(examples.size());
  std::iota(all.begin(), all.end(), size_t{0});
  LinearFit fit = fit_linear(examples, labels, all, classes, options);
  classifier.features_ = std::move(fit.features);
  classifier.weights_ = std::move(fit.weights);
  return classifier;
}

std::vector<float> IntentClassifier::scores(std::string_view text) const {
  std::vector<float> out(intents_.size());
  detail::linear_scores(weights_, intents_.size(), kBias, features_.transform(text), out);
  return out;
}

std::vector<double> IntentClassifier::probabilities(std::string_view text) const {
  const std::vector<float> s = scores(text);
  std::vector<double> p(s.size());
  softmax(s, inverse_temperature_, p);
  return p;
}

Prediction IntentClassifier::predict(std::string_view text) const {
  const std::vector<double> p = probabilities(text);
  std::vector<size_t> order(p.size());
  std::iota(order.begin(), order.end(), size_t{0});
  const size_t k = std::min(options_.top_k, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](size_t a, size_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
  Prediction prediction;
  for (size_t i = 0; i < k; ++i) prediction.alternatives.push_back({intents_[order[i]], p[order[i]]});
  prediction.confidence = p[order[0]];
  prediction.known = prediction.confidence >= options_.unknown_threshold;
  prediction.intent = prediction.known ? intents_[order[0]] : options_.unknown_intent;
  return prediction;
}

}  // namespace vontres::ai::intent
