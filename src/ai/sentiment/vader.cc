#include "ai/sentiment/vader.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ai/sentiment/detail/js_text.h"
#include "ai/sentiment/detail/lexicon_data.h"

namespace vontres::ai::sentiment {

namespace {

using detail::js_lower_for_lookup;
using detail::utf16_length;

// Constants of vaderSentiment.js 1.1.3.
constexpr double kBoosterIncrement = 0.293;
constexpr double kBoosterDecrement = -0.293;
constexpr double kCapsIncrement = 0.733;
constexpr double kNegationScalar = -0.74;
constexpr double kNormalizeAlpha = 15;

constexpr std::array<std::string_view, 17> kPunctuationList = {
    ".", "!", "?", ",", ";", ":", "-", "'", "\"", "!!", "!!!", "??", "???", "?!?", "!?!", "?!?!", "!?!?"};

constexpr std::array<std::string_view, 59> kNegations = {
    "aint",    "arent",    "cannot",  "cant",    "couldnt", "darent",   "didnt",   "doesnt",    "ain't",    "aren't",
    "can't",   "couldn't", "daren't", "didn't",  "doesn't", "dont",     "hadnt",   "hasnt",     "havent",   "isnt",
    "mightnt", "mustnt",   "neither", "don't",   "hadn't",  "hasn't",   "haven't", "isn't",     "mightn't", "mustn't",
    "neednt",  "needn't",  "never",   "none",    "nope",    "nor",      "not",     "nothing",   "nowhere",  "oughtnt",
    "shant",   "shouldnt", "uhuh",    "wasnt",   "werent",  "oughtn't", "shan't",  "shouldn't", "uh-uh",    "wasn't",
    "weren't", "without",  "wont",    "wouldnt", "won't",   "wouldn't", "rarely",  "seldom",    "despite"};

struct BoosterEntry {
  std::string_view word;
  double scalar;
};
constexpr std::array<BoosterEntry, 66> kBoosters = {{
    {"absolutely", kBoosterIncrement},   {"amazingly", kBoosterIncrement},     {"awfully", kBoosterIncrement},
    {"completely", kBoosterIncrement},   {"considerably", kBoosterIncrement},  {"decidedly", kBoosterIncrement},
    {"deeply", kBoosterIncrement},       {"effing", kBoosterIncrement},        {"enormously", kBoosterIncrement},
    {"entirely", kBoosterIncrement},     {"especially", kBoosterIncrement},    {"exceptionally", kBoosterIncrement},
    {"extremely", kBoosterIncrement},    {"fabulously", kBoosterIncrement},    {"flipping", kBoosterIncrement},
    {"flippin", kBoosterIncrement},      {"fricking", kBoosterIncrement},      {"frickin", kBoosterIncrement},
    {"frigging", kBoosterIncrement},     {"friggin", kBoosterIncrement},       {"fully", kBoosterIncrement},
    {"fucking", kBoosterIncrement},      {"greatly", kBoosterIncrement},       {"hella", kBoosterIncrement},
    {"highly", kBoosterIncrement},       {"hugely", kBoosterIncrement},        {"incredibly", kBoosterIncrement},
    {"intensely", kBoosterIncrement},    {"majorly", kBoosterIncrement},       {"more", kBoosterIncrement},
    {"most", kBoosterIncrement},         {"particularly", kBoosterIncrement},  {"purely", kBoosterIncrement},
    {"quite", kBoosterIncrement},        {"really", kBoosterIncrement},        {"remarkably", kBoosterIncrement},
    {"so", kBoosterIncrement},           {"substantially", kBoosterIncrement}, {"thoroughly", kBoosterIncrement},
    {"totally", kBoosterIncrement},      {"tremendously", kBoosterIncrement},  {"uber", kBoosterIncrement},
    {"unbelievably", kBoosterIncrement}, {"unusually", kBoosterIncrement},     {"utterly", kBoosterIncrement},
    {"very", kBoosterIncrement},         {"almost", kBoosterDecrement},        {"barely", kBoosterDecrement},
    {"hardly", kBoosterDecrement},       {"just enough", kBoosterDecrement},   {"kind of", kBoosterDecrement},
    {"kinda", kBoosterDecrement},        {"kindof", kBoosterDecrement},        {"kind-of", kBoosterDecrement},
    {"less", kBoosterDecrement},         {"little", kBoosterDecrement},        {"marginally", kBoosterDecrement},
    {"occasionally", kBoosterDecrement}, {"partly", kBoosterDecrement},        {"scarcely", kBoosterDecrement},
    {"slightly", kBoosterDecrement},     {"somewhat", kBoosterDecrement},      {"sort of", kBoosterDecrement},
    {"sorta", kBoosterDecrement},        {"sortof", kBoosterDecrement},        {"sort-of", kBoosterDecrement},
}};

struct Idiom {
  std::array<std::string_view, 3> words;  // unused trailing slots are empty
  double valence;
};
constexpr std::array<Idiom, 7> kIdioms = {{
    {{"the", "shit", ""}, 3},
    {{"the", "bomb", ""}, 3},
    {{"bad", "ass", ""}, 1.5},
    {{"yeah", "right", ""}, -2},
    {{"cut", "the", "mustard"}, 2},
    {{"kiss", "of", "death"}, -1.5},
    {{"hand", "to", "mouth"}, -2},
}};

bool is_ascii_punctuation(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

// `/^[^a-z]*[A-Z]+[^a-z]*$/`: no ASCII lower-case letter and at least one ASCII upper-case one.
bool is_upper_python(std::string_view word) {
  bool upper = false;
  for (const char c : word) {
    if (c >= 'a' && c <= 'z') return false;
    if (c >= 'A' && c <= 'Z') upper = true;
  }
  return upper;
}

bool is_in_punctuation_list(std::string_view s) {
  return std::find(kPunctuationList.begin(), kPunctuationList.end(), s) != kPunctuationList.end();
}

// SentiText.get_words_and_emoticons maps `<p><word>` and `<word><p>` to `<word>` for every p in
// PUNC_LIST and every punctuation-free word of the text longer than one code unit. The word left
// after removing p from a token is always such a word when it is free of punctuation, so a token is
// stripped exactly when its punctuation is one PUNC_LIST entry at one end and the rest is long enough.
std::string_view strip_punctuation(std::string_view token) {
  size_t lead = 0;
  while (lead < token.size() && is_ascii_punctuation(token[lead])) ++lead;
  if (lead == token.size()) return token;
  size_t trail = 0;
  while (is_ascii_punctuation(token[token.size() - 1 - trail])) ++trail;
  if ((lead > 0) == (trail > 0)) return token;  // none, or at both ends
  const std::string_view rest = token.substr(lead, token.size() - lead - trail);
  if (std::any_of(rest.begin(), rest.end(), is_ascii_punctuation)) return token;
  const std::string_view punctuation = lead > 0 ? token.substr(0, lead) : token.substr(token.size() - trail);
  if (!is_in_punctuation_list(punctuation) || utf16_length(rest) <= 1) return token;
  return rest;
}

// What a lower-cased word means to VADER; one hash lookup per word answers all of it.
struct WordInfo {
  bool in_lexicon = false;
  double valence = 0;
  double booster = 0;  // BOOSTER_DICT scalar, 0 when not a booster
};

struct Word {
  std::string_view raw;
  std::string_view lower;
  const WordInfo* info = nullptr;  // null: neither in the lexicon nor a booster
  bool upper = false;

  bool in_lexicon() const { return info != nullptr && info->in_lexicon; }
  double booster() const { return info != nullptr ? info->booster : 0.0; }
};

}  // namespace

struct SentimentAnalyzer::Tables {
  std::unordered_map<std::string_view, WordInfo> words;  // keys point into static data
  std::unordered_set<std::string_view> negations;
  // The two-word BOOSTER_DICT keys ("kind of", ...) as word pairs.
  std::vector<std::pair<std::string_view, std::string_view>> booster_phrases;
  size_t lexicon_size = 0;
  bool least_in_lexicon = false;

  // `negated([word])` of the JS: an exact NEGATE entry or any word containing "n't".
  bool negated(std::string_view word) const {
    return negations.contains(word) || word.find("n't") != std::string_view::npos;
  }

  double scalar_inc_dec(const Word& word, double valence, bool is_cap_diff) const {
    double scalar = 0.0;
    const double booster = word.booster();
    if (booster != 0) {
      scalar = booster;
      if (valence < 0) scalar *= -1;
      if (is_cap_diff && word.upper) {
        if (valence > 0) {
          scalar += kCapsIncrement;
        } else {
          scalar -= kCapsIncrement;
        }
      }
    }
    return scalar;
  }

  double never_check(double valence, const std::vector<Word>& w, size_t start_i, size_t index) const {
    const auto is_so_or_this = [](std::string_view s) { return s == "so" || s == "this"; };
    if (start_i == 0) {
      if (negated(w[index - 1].raw)) valence *= kNegationScalar;
    }
    if (start_i == 1) {
      if (w[index - 2].raw == "never" && is_so_or_this(w[index - 1].raw)) {
        valence *= 1.5;
      } else if (negated(w[index - 2].raw)) {
        valence *= kNegationScalar;
      }
    }
    if (start_i == 2) {
      if ((w[index - 3].raw == "never" && is_so_or_this(w[index - 2].raw)) || is_so_or_this(w[index - 1].raw)) {
        valence *= 1.25;
      } else if (negated(w[index - 3].raw)) {
        valence *= kNegationScalar;
      }
    }
    return valence;
  }

  // Only called with index >= 3. Words never contain whitespace, so comparing the JS's
  // space-joined sequences equals comparing word by word.
  double idioms_check(double valence, const std::vector<Word>& w, size_t index) const {
    const auto idiom_value = [](std::string_view a, std::string_view b, std::string_view c) -> const Idiom* {
      for (const Idiom& idiom : kIdioms) {
        if (idiom.words[0] == a && idiom.words[1] == b && idiom.words[2] == c) return &idiom;
      }
      return nullptr;
    };
    const std::string_view w0 = w[index].raw;
    const std::string_view w1 = w[index - 1].raw;
    const std::string_view w2 = w[index - 2].raw;
    const std::string_view w3 = w[index - 3].raw;
    // onezero, twoonezero, twoone, threetwoone, threetwo: the first match wins.
    const std::array<std::array<std::string_view, 3>, 5> sequences = {{
        {w1, w0, ""},
        {w2, w1, w0},
        {w2, w1, ""},
        {w3, w2, w1},
        {w3, w2, ""},
    }};
    for (const auto& sequence : sequences) {
      if (const Idiom* idiom = idiom_value(sequence[0], sequence[1], sequence[2])) {
        valence = idiom->valence;
        break;
      }
    }
    if (w.size() - 1 > index) {
      if (const Idiom* idiom = idiom_value(w0, w[index + 1].raw, "")) valence = idiom->valence;
    }
    if (w.size() - 1 > index + 1) {
      if (const Idiom* idiom = idiom_value(w0, w[index + 1].raw, w[index + 2].raw)) valence = idiom->valence;
    }
    if (is_booster_phrase(w3, w2) || is_booster_phrase(w2, w1)) valence += kBoosterDecrement;
    return valence;
  }

  bool is_booster_phrase(std::string_view first, std::string_view second) const {
    return std::find(booster_phrases.begin(), booster_phrases.end(), std::pair(first, second)) != booster_phrases.end();
  }

  double least_check(double valence, const std::vector<Word>& w, size_t index) const {
    if (index > 1 && w[index - 1].lower == "least" && !least_in_lexicon) {
      if (w[index - 2].lower != "at" && w[index - 2].lower != "very") valence *= kNegationScalar;
    } else if (index > 0 && w[index - 1].lower == "least" && !least_in_lexicon) {
      valence *= kNegationScalar;
    }
    return valence;
  }

  double sentiment_valence(const std::vector<Word>& w, size_t index, bool is_cap_diff) const {
    const Word& item = w[index];
    if (!item.in_lexicon()) return 0;
    double valence = item.info->valence;
    if (item.upper && is_cap_diff) {
      if (valence > 0) {
        valence += kCapsIncrement;
      } else {
        valence -= kCapsIncrement;
      }
    }
    for (size_t start_i = 0; start_i < 3; ++start_i) {
      if (index > start_i && !w[index - (start_i + 1)].in_lexicon()) {
        // Dampen the modifier of words further away from the item.
        double s = scalar_inc_dec(w[index - (start_i + 1)], valence, is_cap_diff);
        if (start_i == 1 && s != 0) {
          s = s * 0.95;
        } else if (start_i == 2 && s != 0) {
          s = s * 0.9;
        }
        valence = valence + s;
        valence = never_check(valence, w, start_i, index);
        if (start_i == 2) valence = idioms_check(valence, w, index);
      }
    }
    return least_check(valence, w, index);
  }
};

namespace {

// `score_valence` of the JS; `sentiments` is not empty.
Scores score_valence(const std::vector<double>& sentiments, std::string_view text) {
  double sum_s = 0;
  for (const double s : sentiments) sum_s += s;

  // Emphasis from exclamation marks (up to 4) and question marks (2 or more) anywhere in the text.
  const auto ep_count = std::min<std::ptrdiff_t>(std::count(text.begin(), text.end(), '!'), 4);
  const double ep_amplifier = static_cast<double>(ep_count) * 0.292;
  const auto qm_count = std::count(text.begin(), text.end(), '?');
  double qm_amplifier = 0;
  if (qm_count > 1) qm_amplifier = qm_count <= 3 ? static_cast<double>(qm_count) * 0.18 : 0.96;
  const double punct_emph_amplifier = ep_amplifier + qm_amplifier;
  if (sum_s > 0) {
    sum_s += punct_emph_amplifier;
  } else if (sum_s < 0) {
    sum_s -= punct_emph_amplifier;
  }
  double compound = sum_s / std::sqrt(sum_s * sum_s + kNormalizeAlpha);
  compound = std::clamp(compound, -1.0, 1.0);

  double pos_sum = 0.0;
  double neg_sum = 0.0;
  int neu_count = 0;
  for (const double s : sentiments) {
    if (s > 0) {
      pos_sum += s + 1;  // compensates for neutral words that are counted as 1
    } else if (s < 0) {
      neg_sum += s - 1;
    } else {
      neu_count += 1;
    }
  }
  if (pos_sum > std::fabs(neg_sum)) {
    pos_sum += punct_emph_amplifier;
  } else if (pos_sum < std::fabs(neg_sum)) {
    neg_sum -= punct_emph_amplifier;
  }
  const double total = pos_sum + std::fabs(neg_sum) + neu_count;
  Scores scores;
  scores.neg = detail::js_round_to_fixed(std::fabs(neg_sum / total), 3);
  scores.neu = detail::js_round_to_fixed(std::fabs(neu_count / total), 3);
  scores.pos = detail::js_round_to_fixed(std::fabs(pos_sum / total), 3);
  scores.compound = detail::js_round_to_fixed(compound, 4);
  return scores;
}

}  // namespace

SentimentAnalyzer::SentimentAnalyzer() {
  auto tables = std::make_unique<Tables>();
  for (const detail::LexiconEntry& entry : detail::vader_lexicon_entries()) {
    // Lookups are lower-cased, so a key with an upper-case letter can never match in the JS
    // (":D" is looked up as ":d", its own entry). The only non-ASCII keys of 1.1.3 (":-Þ", ":Þ")
    // contain an upper-case letter too; dropping non-ASCII keys keeps the simple lower-casing exact.
    const bool reachable = std::none_of(entry.token.begin(), entry.token.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80;
    });
    if (!reachable) continue;
    WordInfo& info = tables->words[entry.token];
    info.in_lexicon = true;
    info.valence = entry.valence;  // a later duplicate overrides, as in the JS object literal
  }
  tables->lexicon_size = tables->words.size();
  for (const BoosterEntry& booster : kBoosters) {
    if (const size_t space = booster.word.find(' '); space != std::string_view::npos) {
      tables->booster_phrases.emplace_back(booster.word.substr(0, space), booster.word.substr(space + 1));
    } else {
      tables->words[booster.word].booster = booster.scalar;
    }
  }
  tables->negations.insert(kNegations.begin(), kNegations.end());
  const auto least = tables->words.find("least");
  tables->least_in_lexicon = least != tables->words.end() && least->second.in_lexicon;
  tables_ = std::move(tables);
}

SentimentAnalyzer::~SentimentAnalyzer() = default;
SentimentAnalyzer::SentimentAnalyzer(SentimentAnalyzer&&) noexcept = default;
SentimentAnalyzer& SentimentAnalyzer::operator=(SentimentAnalyzer&&) noexcept = default;

size_t SentimentAnalyzer::lexicon_size() const { return tables_->lexicon_size; }

Scores SentimentAnalyzer::polarity_scores(std::string_view text) const {
  const Tables& tables = *tables_;

  // SentiText.words_and_emoticons: whitespace-separated tokens longer than one UTF-16 code unit,
  // with one leading or trailing PUNC_LIST entry removed.
  std::vector<Word> words;
  // All lower-cased words back to back. Lower-casing never lengthens a word, so this never
  // reallocates and the views into it stay valid.
  std::string lowered;
  lowered.reserve(text.size());
  for (const std::string_view piece : detail::split_js_whitespace(text)) {
    if (utf16_length(piece) <= 1) continue;
    Word word;
    word.raw = strip_punctuation(piece);
    word.upper = is_upper_python(word.raw);
    const size_t begin = lowered.size();
    js_lower_for_lookup(word.raw, lowered);
    word.lower = std::string_view(lowered).substr(begin);
    if (const auto it = tables.words.find(word.lower); it != tables.words.end()) word.info = &it->second;
    words.push_back(word);
  }
  if (words.empty()) return {};

  // allcap_differential: some, but not all, words are in capitals.
  const auto capitals =
      static_cast<size_t>(std::count_if(words.begin(), words.end(), [](const Word& w) { return w.upper; }));
  const size_t cap_differential = words.size() - capitals;
  const bool is_cap_diff = cap_differential > 0 && cap_differential < words.size();

  std::vector<double> sentiments;
  sentiments.reserve(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    const Word& item = words[i];
    // "kind of" and boosters carry no valence of their own.
    if ((i < words.size() - 1 && item.lower == "kind" && words[i + 1].lower == "of") || item.booster() != 0) {
      sentiments.push_back(0);
      continue;
    }
    sentiments.push_back(tables.sentiment_valence(words, i, is_cap_diff));
  }

  // but_check: the first "but" (or, when there is none, the first "BUT") halves what precedes it
  // and multiplies what follows by 1.5.
  auto but = std::find_if(words.begin(), words.end(), [](const Word& w) { return w.raw == "but"; });
  if (but == words.end()) but = std::find_if(words.begin(), words.end(), [](const Word& w) { return w.raw == "BUT"; });
  if (but != words.end()) {
    const auto but_index = static_cast<size_t>(but - words.begin());
    for (size_t i = 0; i < sentiments.size(); ++i) {
      if (i < but_index) {
        sentiments[i] = sentiments[i] * 0.5;
      } else if (i > but_index) {
        sentiments[i] = sentiments[i] * 1.5;
      }
    }
  }
  return score_valence(sentiments, text);
}

void append_scores_json(const Scores& scores, std::string& out) {
  out.append("{\"neg\":");
  detail::append_js_number(scores.neg, out);
  out.append(",\"neu\":");
  detail::append_js_number(scores.neu, out);
  out.append(",\"pos\":");
  detail::append_js_number(scores.pos, out);
  out.append(",\"compound\":");
  detail::append_js_number(scores.compound, out);
  out.push_back('}');
}

std::string scores_json(const Scores& scores) {
  std::string out;
  append_scores_json(scores, out);
  return out;
}

}  // namespace vontres::ai::sentiment
