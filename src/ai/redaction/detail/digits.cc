#include "ai/redaction/detail/digits.h"

#include <algorithm>
#include <array>

namespace vontres::ai::redaction::detail {
namespace {

constexpr std::array<std::string_view, 10> kUnits = {"zero", "one", "two",   "three", "four",
                                                     "five", "six", "seven", "eight", "nine"};
constexpr std::array<std::string_view, 10> kTeens = {"ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                                     "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
constexpr std::array<std::string_view, 8> kTens = {"twenty", "thirty",  "forty",  "fifty",
                                                   "sixty",  "seventy", "eighty", "ninety"};

bool is_separator(char c) { return c == ' ' || c == '\t' || c == '-' || c == '.' || c == ',' || c == '(' || c == ')'; }

bool is_word_byte(unsigned char c) { return is_ascii_letter(c) || c >= 0x80 || c == '\''; }

// Returns 0-9 for a unit word ("oh" and "o" are zero), -1 otherwise.
int unit_value(std::string_view word) {
  for (size_t i = 0; i < kUnits.size(); ++i) {
    if (equals_ignore_case(word, kUnits[i])) return static_cast<int>(i);
  }
  if (equals_ignore_case(word, "oh") || equals_ignore_case(word, "o")) return 0;
  return -1;
}

int index_in(std::string_view word, const auto& table) {
  for (size_t i = 0; i < table.size(); ++i) {
    if (equals_ignore_case(word, table[i])) return static_cast<int>(i);
  }
  return -1;
}

bool short_gap(std::string_view text, size_t from, size_t to) {
  if (to < from || to - from > kMaxGap) return false;
  for (size_t i = from; i < to; ++i) {
    if (!is_separator(text[i])) return false;
  }
  return true;
}

void push_spoken(std::vector<DigitToken>& out, size_t start, size_t end, std::string_view digits) {
  DigitToken token;
  token.start = start;
  token.end = end;
  token.spoken = true;
  token.count = static_cast<uint8_t>(std::min<size_t>(digits.size(), sizeof(token.digits)));
  std::copy_n(digits.begin(), token.count, token.digits);
  out.push_back(token);
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::vector<Word> find_words(std::string_view text) {
  std::vector<Word> words;
  size_t i = 0;
  while (i < text.size()) {
    if (!is_word_byte(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && is_word_byte(static_cast<unsigned char>(text[i]))) ++i;
    words.push_back({start, i});
  }
  return words;
}

std::vector<DigitToken> find_digit_tokens(std::string_view text) {
  std::vector<DigitToken> spoken;
  std::vector<Word> words = find_words(text);
  auto word_text = [&](size_t w) { return text.substr(words[w].start, words[w].end - words[w].start); };
  for (size_t w = 0; w < words.size(); ++w) {
    std::string_view word = word_text(w);
    if (int unit = unit_value(word); unit >= 0) {
      char digit = static_cast<char>('0' + unit);
      push_spoken(spoken, words[w].start, words[w].end, std::string_view(&digit, 1));
      continue;
    }
    if (int teen = index_in(word, kTeens); teen >= 0) {
      const char digits[2] = {'1', static_cast<char>('0' + teen)};
      push_spoken(spoken, words[w].start, words[w].end, std::string_view(digits, 2));
      continue;
    }
    if (int tens = index_in(word, kTens); tens >= 0) {
      char digits[2] = {static_cast<char>('2' + tens), '0'};
      size_t start = words[w].start;
      size_t end = words[w].end;
      if (w + 1 < words.size() && short_gap(text, words[w].end, words[w + 1].start)) {
        // "twenty seven" is 27; "twenty oh" stays "20" then "0".
        if (int unit = unit_value(word_text(w + 1)); unit > 0) {
          digits[1] = static_cast<char>('0' + unit);
          end = words[w + 1].end;
          ++w;
        }
      }
      push_spoken(spoken, start, end, std::string_view(digits, 2));
      continue;
    }
    size_t repeat = equals_ignore_case(word, "double") ? 2 : equals_ignore_case(word, "triple") ? 3 : 0;
    if (repeat > 0 && w + 1 < words.size() && short_gap(text, words[w].end, words[w + 1].start)) {
      int unit = unit_value(word_text(w + 1));
      if (unit >= 0) {
        const char digits[3] = {static_cast<char>('0' + unit), static_cast<char>('0' + unit),
                                static_cast<char>('0' + unit)};
        push_spoken(spoken, words[w].start, words[w + 1].end, std::string_view(digits, repeat));
        ++w;
      }
    }
  }
  std::vector<DigitToken> tokens;
  tokens.reserve(spoken.size() + 16);
  size_t next_spoken = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    while (next_spoken < spoken.size() && spoken[next_spoken].start <= i) tokens.push_back(spoken[next_spoken++]);
    if (is_ascii_digit(static_cast<unsigned char>(text[i]))) {
      DigitToken token;
      token.start = i;
      token.end = i + 1;
      token.digits[0] = text[i];
      token.count = 1;
      tokens.push_back(token);
    }
  }
  while (next_spoken < spoken.size()) tokens.push_back(spoken[next_spoken++]);
  return tokens;
}

bool joins(std::string_view text, const DigitToken& a, const DigitToken& b) {
  if (!short_gap(text, a.end, b.start)) return false;
  if (a.spoken || b.spoken) return true;
  // Typed digits: "1,234,567" and "12, 34" are separate numbers, "4111-1111" and "(415) 555" are not.
  return text.substr(a.end, b.start - a.end).find(',') == std::string_view::npos;
}

bool starts_group(std::string_view text, const DigitToken& previous, const DigitToken& next) {
  if (previous.spoken != next.spoken) return true;
  if (!previous.spoken) return previous.end != next.start;
  // Spoken words are always space-separated; only punctuation marks a pause between groups.
  for (size_t i = previous.end; i < next.start; ++i) {
    if (text[i] != ' ' && text[i] != '\t') return true;
  }
  return false;
}

std::vector<DigitRun> group_runs(std::string_view text, const std::vector<DigitToken>& tokens) {
  std::vector<DigitRun> runs;
  size_t i = 0;
  while (i < tokens.size()) {
    size_t j = i + 1;
    while (j < tokens.size() && joins(text, tokens[j - 1], tokens[j])) ++j;
    runs.push_back({i, j});
    i = j;
  }
  return runs;
}

bool luhn_valid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool double_it = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (double_it) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double_it = !double_it;
  }
  return sum % 10 == 0;
}

}  // namespace vontres::ai::redaction::detail
