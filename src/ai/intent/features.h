// Text features for the intent classifier: normalisation into word tokens, word n-grams and
// word-boundary-aware character n-grams, indexed by a dictionary learnt from the training texts
// (64-bit hashes of the n-grams, so no strings are kept), weighted by sublinear TF x IDF and
// L2-normalised per block (words, characters) and overall.
//
// Thread-safety: a fitted FeatureSpace is immutable; transform() may be called from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vontres::ai::intent {

struct FeatureOptions {
  int word_ngram_max = 2;  // 1: unigrams, 2: and bigrams; 0: no word features
  int char_ngram_min = 2;
  int char_ngram_max = 5;  // 0: no character features
  int min_document_frequency = 1;
  bool sublinear_tf = true;  // 1 + ln(tf) instead of tf
  bool use_idf = true;
  double word_block_weight = 1.0;  // weight of the word block relative to the character block
};

// Lower-cases (ASCII, Latin-1, Greek and Cyrillic), keeps letters of any script and apostrophes
// inside words, turns every run of digits into the token class '#', splits on everything else.
// Invalid UTF-8 bytes are kept as single opaque characters, so the output is always valid input.
std::vector<std::string> normalize_tokens(std::string_view text);
// The tokens joined by single spaces.
std::string normalize(std::string_view text);

struct SparseVector {
  std::vector<uint32_t> index;  // strictly increasing
  std::vector<float> value;
};

class FeatureSpace {
 public:
  FeatureSpace() = default;
  // Learns the dictionary and IDF weights from `texts`.
  static FeatureSpace fit(std::span<const std::string_view> texts, const FeatureOptions& options);

  // Unit-length feature vector (or empty when no known feature occurs).
  SparseVector transform(std::string_view text) const;
  size_t dimension() const { return idf_.size(); }
  const FeatureOptions& options() const { return options_; }

 private:
  // Appends the hashes of every n-gram of `text` (repeats included); word hashes have the top bit
  // clear, character hashes have it set.
  void extract(std::string_view text, std::vector<uint64_t>& hashes) const;

  FeatureOptions options_;
  std::unordered_map<uint64_t, uint32_t> index_;
  std::vector<float> idf_;
  uint32_t word_features_ = 0;  // indices below this are word n-grams
};

}  // namespace vontres::ai::intent
