// VADER sentiment (Hutto & Gilbert, 2014) with the exact behaviour of the npm reference
// `vader-sentiment` 1.1.3, its quirks included (no emoji lexicon, "never so" and "so" boosts on
// the third preceding word, `but` matched in lower or upper case only, JS string semantics for
// whitespace, lengths and rounding): every score equals the JS output for the same UTF-8 text.
// The lexicon is embedded at build time (scripts/fetch-vader, docs/sentiment.md).
//
// Thread-safety: a SentimentAnalyzer is immutable after construction; polarity_scores() may be
// called from any number of threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace vontres::ai::sentiment {

// The four numbers of the JS `polarity_scores`: neg/neu/pos are shares of the text (rounded to 3
// decimals), compound the normalised sum in [-1, 1] (rounded to 4 decimals). All zero when the
// text has no word of two or more characters.
struct Scores {
  double neg = 0;
  double neu = 0;
  double pos = 0;
  double compound = 0;

  friend bool operator==(const Scores&, const Scores&) = default;
};

class SentimentAnalyzer {
 public:
  // Loads the embedded lexicon (about 7,500 entries; a few milliseconds). Construct once and share.
  SentimentAnalyzer();
  ~SentimentAnalyzer();
  SentimentAnalyzer(SentimentAnalyzer&&) noexcept;
  SentimentAnalyzer& operator=(SentimentAnalyzer&&) noexcept;
  SentimentAnalyzer(const SentimentAnalyzer&) = delete;
  SentimentAnalyzer& operator=(const SentimentAnalyzer&) = delete;

  Scores polarity_scores(std::string_view text) const;

  // Number of distinct lexicon tokens a lookup can reach.
  size_t lexicon_size() const;

 private:
  struct Tables;
  std::unique_ptr<const Tables> tables_;
};

// `JSON.stringify(polarity_scores(text))` of the JS reference, e.g.
// {"neg":0,"neu":0.508,"pos":0.492,"compound":0.4404}. Appends to out (no newline).
void append_scores_json(const Scores& scores, std::string& out);
std::string scores_json(const Scores& scores);

}  // namespace vontres::ai::sentiment
