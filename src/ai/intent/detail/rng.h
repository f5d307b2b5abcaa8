// A small seeded generator (SplitMix64) with a fully specified output sequence, so shuffles and
// fold assignments are identical on every platform and standard library.
//
// Thread-safety: none; one instance per thread.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace vontres::ai::intent::detail {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound); bound > 0. The modulo bias is below 2^-40 for the sizes used here.
  uint64_t below(uint64_t bound) { return next() % bound; }

  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }

 private:
  uint64_t state_;
};

}  // namespace vontres::ai::intent::detail
