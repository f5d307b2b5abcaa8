#include "ai/intent/detail/linear_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "ai/intent/detail/rng.h"

namespace vontres::ai::intent::detail {
namespace {

// Solves the dual of  min_w 0.5|w|^2 + C sum_i loss(y_i w.x_i)  for one binary problem, one
// coordinate (example) at a time in random order; examples whose dual variable sits at a bound with
// a gradient pointing outwards are shrunk out of the active set until the end of a pass.
void solve_binary(const CsrMatrix& x, std::span<const int8_t> y, const SvmOptions& options, uint64_t seed,
                  std::vector<double>& w) {
  const size_t l = x.rows();
  const size_t bias_index = x.columns;
  std::fill(w.begin(), w.end(), 0.0);
  const double inf = std::numeric_limits<double>::infinity();
  const double diag = options.squared_hinge ? 0.5 / options.c : 0.0;
  const double upper = options.squared_hinge ? inf : options.c;
  std::vector<double> alpha(l, 0.0);
  std::vector<double> q_diag(l);
  std::vector<size_t> order(l);
  for (size_t i = 0; i < l; ++i) {
    double sq = options.bias * options.bias;
    for (size_t k = x.row_start[i]; k < x.row_start[i + 1]; ++k) sq += static_cast<double>(x.value[k]) * x.value[k];
    q_diag[i] = sq + diag;
    order[i] = i;
  }
  SplitMix64 rng(seed);
  size_t active = l;
  double pg_max_old = inf;
  double pg_min_old = -inf;
  for (int epoch = 0; epoch < options.max_epochs; ++epoch) {
    double pg_max = -inf;
    double pg_min = inf;
    for (size_t s = 0; s < active; ++s) std::swap(order[s], order[s + rng.below(active - s)]);
    size_t s = 0;
    while (s < active) {
      const size_t i = order[s];
      const double yi = y[i];
      double dot = w[bias_index] * options.bias;
      for (size_t k = x.row_start[i]; k < x.row_start[i + 1]; ++k) dot += w[x.index[k]] * x.value[k];
      const double g = yi * dot - 1.0 + diag * alpha[i];
      double pg = 0.0;
      if (alpha[i] == 0.0) {
        if (g > pg_max_old) {
          std::swap(order[s], order[--active]);
          continue;
        }
        if (g < 0) pg = g;
      } else if (alpha[i] == upper) {
        if (g < pg_min_old) {
          std::swap(order[s], order[--active]);
          continue;
        }
        if (g > 0) pg = g;
      } else {
        pg = g;
      }
      pg_max = std::max(pg_max, pg);
      pg_min = std::min(pg_min, pg);
      if (std::fabs(pg) > 1e-12) {
        const double old = alpha[i];
        alpha[i] = std::min(std::max(old - g / q_diag[i], 0.0), upper);
        const double delta = (alpha[i] - old) * yi;
        for (size_t k = x.row_start[i]; k < x.row_start[i + 1]; ++k) w[x.index[k]] += delta * x.value[k];
        w[bias_index] += delta * options.bias;
      }
      ++s;
    }
    if (pg_max - pg_min <= options.tolerance) {
      if (active == l) break;
      active = l;  // converged on the shrunk set: verify on all examples
      pg_max_old = inf;
      pg_min_old = -inf;
      continue;
    }
    pg_max_old = pg_max <= 0 ? inf : pg_max;
    pg_min_old = pg_min >= 0 ? -inf : pg_min;
  }
}

}  // namespace

void CsrMatrix::add_row(const SparseVector& row) {
  index.insert(index.end(), row.index.begin(), row.index.end());
  value.insert(value.end(), row.value.begin(), row.value.end());
  row_start.push_back(index.size());
}

std::vector<float> train_one_vs_rest_svm(const CsrMatrix& x, std::span<const int> labels, size_t classes,
                                         const SvmOptions& options) {
  const size_t dimension = x.columns + 1;
  std::vector<float> weights(dimension * classes, 0.0F);
  const size_t threads = std::clamp<size_t>(static_cast<size_t>(std::max(options.threads, 1)), 1, classes);
  auto work = [&](size_t first) {
    std::vector<double> w(dimension);
    std::vector<int8_t> y(labels.size());
    for (size_t c = first; c < classes; c += threads) {
      for (size_t i = 0; i < labels.size(); ++i) y[i] = static_cast<size_t>(labels[i]) == c ? 1 : -1;
      solve_binary(x, y, options, options.seed ^ (0x9E3779B97F4A7C15ULL * (c + 1)), w);
      for (size_t f = 0; f < dimension; ++f) weights[f * classes + c] = static_cast<float>(w[f]);
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(work, t);
  work(0);
  for (std::thread& worker : workers) worker.join();
  return weights;
}

std::vector<float> train_nearest_centroid(const CsrMatrix& x, std::span<const int> labels, size_t classes) {
  const size_t dimension = x.columns + 1;
  std::vector<double> sums(dimension * classes, 0.0);
  for (size_t i = 0; i < x.rows(); ++i) {
    const auto c = static_cast<size_t>(labels[i]);
    for (size_t k = x.row_start[i]; k < x.row_start[i + 1]; ++k) sums[x.index[k] * classes + c] += x.value[k];
  }
  std::vector<double> norms(classes, 0.0);
  for (size_t f = 0; f < x.columns; ++f) {
    for (size_t c = 0; c < classes; ++c) norms[c] += sums[f * classes + c] * sums[f * classes + c];
  }
  std::vector<float> weights(dimension * classes, 0.0F);
  for (size_t f = 0; f < x.columns; ++f) {
    for (size_t c = 0; c < classes; ++c) {
      if (norms[c] > 0) weights[f * classes + c] = static_cast<float>(sums[f * classes + c] / std::sqrt(norms[c]));
    }
  }
  return weights;
}

void linear_scores(std::span<const float> weights, size_t classes, double bias, const SparseVector& x,
                   std::span<float> scores) {
  const size_t bias_row = weights.size() / classes - 1;
  const float b = static_cast<float>(bias);
  for (size_t c = 0; c < classes; ++c) scores[c] = b * weights[bias_row * classes + c];
  for (size_t k = 0; k < x.index.size(); ++k) {
    const float v = x.value[k];
    const float* row = weights.data() + static_cast<size_t>(x.index[k]) * classes;
    for (size_t c = 0; c < classes; ++c) scores[c] += v * row[c];
  }
}

}  // namespace vontres::ai::intent::detail
