// Linear multi-class models over sparse features, for IntentClassifier: one-vs-rest L2-regularised
// linear SVMs trained by dual coordinate descent with shrinking (Hsieh et al., ICML 2008, the method
// behind LIBLINEAR), and a nearest-centroid baseline. Weights are stored feature-major,
// (dimension + 1) x classes with the bias in the last row, so scoring touches one contiguous row per
// active feature.
//
// Thread-safety: pure functions; training uses `threads` worker threads internally.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ai/intent/features.h"

namespace vontres::ai::intent::detail {

struct CsrMatrix {
  std::vector<size_t> row_start{0};  // rows + 1 entries
  std::vector<uint32_t> index;
  std::vector<float> value;
  size_t columns = 0;

  size_t rows() const { return row_start.size() - 1; }
  void add_row(const SparseVector& row);
};

struct SvmOptions {
  double c = 1.0;
  bool squared_hinge = true;  // L2-loss (smooth) or L1-loss (hinge) SVM
  double tolerance = 0.1;     // stop when the projected-gradient spread falls below this
  int max_epochs = 1000;
  double bias = 1.0;  // value of the constant feature
  uint64_t seed = 1;
  int threads = 1;
};

// `labels[i]` in [0, classes). Returns (x.columns + 1) * classes weights.
std::vector<float> train_one_vs_rest_svm(const CsrMatrix& x, std::span<const int> labels, size_t classes,
                                         const SvmOptions& options);

// Class centroids of the (unit-length) rows, renormalised: scores are cosine similarities.
std::vector<float> train_nearest_centroid(const CsrMatrix& x, std::span<const int> labels, size_t classes);

// scores[c] = w_c . x + bias * b_c; `scores` has `classes` entries.
void linear_scores(std::span<const float> weights, size_t classes, double bias, const SparseVector& x,
                   std::span<float> scores);

}  // namespace vontres::ai::intent::detail
