#include "ai/intent/features.h"

#include <algorithm>
#include <cmath>

namespace vontres::ai::intent {
namespace {

constexpr uint64_t kCharBit = uint64_t{1} << 63;

enum class CharClass { kLetter, kDigit, kApostrophe, kSymbol, kSeparator };

struct CodePoint {
  uint32_t value = 0;
  size_t length = 1;  // bytes consumed
  bool valid = false;
};

// Decodes one UTF-8 sequence at `pos`; an invalid or truncated sequence is one opaque byte.
CodePoint decode(std::string_view s, size_t pos) {
  const auto lead = static_cast<unsigned char>(s[pos]);
  if (lead < 0x80) return {lead, 1, true};
  size_t length = 0;
  uint32_t value = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    value = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    value = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    value = lead & 0x07;
  } else {
    return {lead, 1, false};
  }
  if (pos + length > s.size()) return {lead, 1, false};
  for (size_t i = 1; i < length; ++i) {
    const auto c = static_cast<unsigned char>(s[pos + i]);
    if ((c & 0xC0) != 0x80) return {lead, 1, false};
    value = (value << 6) | (c & 0x3F);
  }
  return {value, length, true};
}

void encode(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

uint32_t to_lower(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 0x20;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 0x20;  // Latin-1
  if (cp >= 0x100 && cp <= 0x137) return cp | 1U;                // Latin Extended-A pairs
  if (cp >= 0x139 && cp <= 0x148 && (cp & 1U) == 1U) return cp + 1;
  if (cp >= 0x14A && cp <= 0x177) return cp | 1U;
  if (cp == 0x178) return 0xFF;
  if (cp >= 0x179 && cp <= 0x17E && (cp & 1U) == 1U) return cp + 1;
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 0x20;  // Greek
  if (cp >= 0x410 && cp <= 0x42F) return cp + 0x20;                 // Cyrillic
  if (cp >= 0x400 && cp <= 0x40F) return cp + 0x50;
  return cp;
}

CharClass classify(const CodePoint& cp) {
  if (!cp.valid) return CharClass::kLetter;  // opaque byte: keep it inside the word
  const uint32_t c = cp.value;
  if (c < 0x80) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return CharClass::kLetter;
    if (c >= '0' && c <= '9') return CharClass::kDigit;
    if (c == '\'') return CharClass::kApostrophe;
    if (c == '$') return CharClass::kSymbol;
    return CharClass::kSeparator;
  }
  if (c == 0x2018 || c == 0x2019) return CharClass::kApostrophe;
  if (c == 0xA3 || c == 0xA5 || c == 0x20AC) return CharClass::kSymbol;  // pound, yen, euro
  if (c <= 0xBF || c == 0xD7 || c == 0xF7) return CharClass::kSeparator;
  if ((c >= 0x2000 && c <= 0x206F) || (c >= 0x3000 && c <= 0x303F) || (c >= 0xFE30 && c <= 0xFE4F)) {
    return CharClass::kSeparator;
  }
  return CharClass::kLetter;
}

// FNV-1a over the bytes, finished with a 64-bit mixer so that the top bit is usable as a tag.
class Hasher {
 public:
  explicit Hasher(uint64_t seed) : h_(0xcbf29ce484222325ULL ^ (seed * 0x9E3779B97F4A7C15ULL)) {}
  void add(std::string_view bytes) {
    for (const char c : bytes) {
      h_ ^= static_cast<unsigned char>(c);
      h_ *= 0x100000001b3ULL;
    }
  }
  void add_byte(unsigned char c) {
    h_ ^= c;
    h_ *= 0x100000001b3ULL;
  }
  uint64_t finish() const {
    uint64_t z = h_;
    z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
    z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
    return z ^ (z >> 33);
  }

 private:
  uint64_t h_;
};

}  // namespace

std::vector<std::string> normalize_tokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::string token;
  bool in_digits = false;
  auto flush = [&] {
    while (!token.empty() && token.back() == '\'') token.pop_back();
    if (!token.empty()) tokens.push_back(std::move(token));
    token.clear();
    in_digits = false;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    const CodePoint cp = decode(text, pos);
    const CharClass cls = classify(cp);
    switch (cls) {
      case CharClass::kLetter:
        if (cp.valid) {
          encode(to_lower(cp.value), token);
        } else {
          token.push_back(text[pos]);
        }
        in_digits = false;
        break;
      case CharClass::kDigit:
        if (!in_digits) token.push_back('#');
        in_digits = true;
        break;
      case CharClass::kApostrophe:
        if (!token.empty() && token.back() != '\'') token.push_back('\'');
        in_digits = false;
        break;
      case CharClass::kSymbol:
        flush();
        tokens.emplace_back(text.substr(pos, cp.length));
        break;
      case CharClass::kSeparator: {
        // A decimal or thousands separator between digits stays inside the number: "1,000.50" -> "#".
        const bool inside_number = in_digits && (cp.value == '.' || cp.value == ',') && pos + 1 < text.size() &&
                                   text[pos + 1] >= '0' && text[pos + 1] <= '9';
        if (!inside_number) flush();
        break;
      }
    }
    pos += cp.length;
  }
  flush();
  return tokens;
}

std::string normalize(std::string_view text) {
  std::string out;
  for (const std::string& token : normalize_tokens(text)) {
    if (!out.empty()) out.push_back(' ');
    out += token;
  }
  return out;
}

void FeatureSpace::extract(std::string_view text, std::vector<uint64_t>& hashes) const {
  const std::vector<std::string> tokens = normalize_tokens(text);
  const int word_max = options_.word_ngram_max;
  for (int n = 1; n <= word_max; ++n) {
    for (size_t i = 0; i + n <= tokens.size(); ++i) {
      Hasher hasher(static_cast<uint64_t>(n));
      for (int k = 0; k < n; ++k) {
        if (k > 0) hasher.add_byte(0x1F);
        hasher.add(tokens[i + k]);
      }
      hashes.push_back(hasher.finish() & ~kCharBit);
    }
  }
  if (options_.char_ngram_max <= 0) return;
  std::string padded;
  std::vector<size_t> offsets;  // byte offset of each code point, plus the end
  for (const std::string& token : tokens) {
    padded.clear();
    padded.push_back(' ');
    padded += token;
    padded.push_back(' ');
    offsets.clear();
    for (size_t pos = 0; pos < padded.size();) {
      offsets.push_back(pos);
      pos += decode(padded, pos).length;
    }
    const size_t chars = offsets.size();
    offsets.push_back(padded.size());
    for (int n = std::max(1, options_.char_ngram_min); n <= options_.char_ngram_max; ++n) {
      const auto width = static_cast<size_t>(n);
      for (size_t start = 0; start + width <= chars; ++start) {
        Hasher hasher(0x100 + static_cast<uint64_t>(n));
        hasher.add(std::string_view(padded).substr(offsets[start], offsets[start + width] - offsets[start]));
        hashes.push_back(hasher.finish() | kCharBit);
      }
    }
  }
}

FeatureSpace FeatureSpace::fit(std::span<const std::string_view> texts, const FeatureOptions& options) {
  FeatureSpace space;
  space.options_ = options;
  std::unordered_map<uint64_t, uint32_t> document_frequency;
  std::vector<uint64_t> hashes;
  for (const std::string_view text : texts) {
    hashes.clear();
    space.extract(text, hashes);
    std::sort(hashes.begin(), hashes.end());
    hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
    for (const uint64_t h : hashes) ++document_frequency[h];
  }
  std::vector<std::pair<uint64_t, uint32_t>> kept;
  kept.reserve(document_frequency.size());
  for (const auto& [hash, df] : document_frequency) {
    if (static_cast<int>(df) >= options.min_document_frequency) kept.emplace_back(hash, df);
  }
  std::sort(kept.begin(), kept.end());  // word features (top bit clear) first; order independent of the map
  const double n = static_cast<double>(texts.size());
  space.index_.reserve(kept.size());
  space.idf_.reserve(kept.size());
  for (const auto& [hash, df] : kept) {
    const auto index = static_cast<uint32_t>(space.idf_.size());
    space.index_.emplace(hash, index);
    if ((hash & kCharBit) == 0) space.word_features_ = index + 1;
    space.idf_.push_back(options.use_idf ? static_cast<float>(std::log((1.0 + n) / (1.0 + df)) + 1.0) : 1.0F);
  }
  return space;
}

SparseVector FeatureSpace::transform(std::string_view text) const {
  std::vector<uint64_t> hashes;
  extract(text, hashes);
  std::vector<uint32_t> indices;
  indices.reserve(hashes.size());
  for (const uint64_t h : hashes) {
    const auto it = index_.find(h);
    if (it != index_.end()) indices.push_back(it->second);
  }
  std::sort(indices.begin(), indices.end());
  SparseVector out;
  double word_norm = 0;
  double char_norm = 0;
  for (size_t i = 0; i < indices.size();) {
    size_t j = i;
    while (j < indices.size() && indices[j] == indices[i]) ++j;
    const double tf = static_cast<double>(j - i);
    const double weight = (options_.sublinear_tf ? 1.0 + std::log(tf) : tf) * idf_[indices[i]];
    out.index.push_back(indices[i]);
    out.value.push_back(static_cast<float>(weight));
    (indices[i] < word_features_ ? word_norm : char_norm) += weight * weight;
    i = j;
  }
  // Each block gets unit length (times its weight) so neither dominates by sheer count.
  const double word_scale = word_norm > 0 ? options_.word_block_weight / std::sqrt(word_norm) : 0.0;
  const double char_scale = char_norm > 0 ? 1.0 / std::sqrt(char_norm) : 0.0;
  double total = 0;
  for (size_t i = 0; i < out.index.size(); ++i) {
    out.value[i] = static_cast<float>(out.value[i] * (out.index[i] < word_features_ ? word_scale : char_scale));
    total += static_cast<double>(out.value[i]) * out.value[i];
  }
  if (total > 0) {
    const double scale = 1.0 / std::sqrt(total);
    for (float& v : out.value) v = static_cast<float>(v * scale);
  }
  return out;
}

}  // namespace vontres::ai::intent
