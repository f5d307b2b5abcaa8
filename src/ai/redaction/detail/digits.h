// Internal to ai/redaction: finds digits in text the way a speech-to-text engine writes them
// (typed "4111", words "four one one", "oh", "double one", "twenty seven", "eleven") and groups
// them into runs separated only by short punctuation gaps. Shared by the redactor and the card guard.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace vontres::ai::redaction::detail {

// One typed digit, or one spoken number word (or word pair) worth 1-3 digits.
struct DigitToken {
  size_t start = 0;  // byte offsets into the text, [start, end)
  size_t end = 0;
  char digits[3] = {};
  uint8_t count = 0;
  bool spoken = false;
};

// Tokens joined by gaps of at most kMaxGap bytes of ' ', '\t', '-', '.', '(', ')' (and ',' next to
// a spoken token).
struct DigitRun {
  size_t first_token = 0;  // [first_token, last_token) into the token vector
  size_t last_token = 0;
};

inline constexpr size_t kMaxGap = 3;

std::vector<DigitToken> find_digit_tokens(std::string_view text);
// Within a run, whether `next` starts a new digit group: typed digits with any gap between them,
// spoken words with punctuation between them, or a switch between typed and spoken. Card numbers
// are only looked for in whole groups ("4111 1111 1111 1112" holds no card even though
// "1111 1111 1112" might pass Luhn).
bool starts_group(std::string_view text, const DigitToken& previous, const DigitToken& next);
std::vector<DigitRun> group_runs(std::string_view text, const std::vector<DigitToken>& tokens);

// Luhn check of ASCII digits; false for an empty string.
bool luhn_valid(std::string_view digits);

inline bool is_ascii_letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_ascii_digit(unsigned char c) { return c >= '0' && c <= '9'; }
inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool equals_ignore_case(std::string_view a, std::string_view b);

// A word: a maximal run of ASCII letters (bytes >= 0x80 and digits glued to it make it part of a
// longer, non-matching word).
struct Word {
  size_t start = 0;
  size_t end = 0;
};
std::vector<Word> find_words(std::string_view text);

}  // namespace vontres::ai::redaction::detail
