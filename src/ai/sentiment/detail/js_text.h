// The pieces of JavaScript string semantics that vader-sentiment 1.1.3 depends on, over UTF-8
// bytes: what `/\s/` matches, `String.length` (UTF-16 code units), `toLowerCase()` as far as it can
// change a lexicon match, and `parseFloat(x.toFixed(digits))`. Invalid UTF-8 is read the way
// node decodes it (WHATWG: each maximal invalid subsequence is one U+FFFD).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vontres::ai::sentiment::detail {

struct DecodedCodePoint {
  uint32_t code_point;  // U+FFFD for an invalid sequence
  size_t length;        // bytes consumed, >= 1
};

// Decodes the code point starting at text[0] (text must not be empty).
DecodedCodePoint decode_utf8(std::string_view text);

// True for the code points JavaScript's `\s` matches (WhiteSpace and LineTerminator).
bool is_js_whitespace(uint32_t code_point);

// `text.split(/\s/)`: the pieces between single whitespace code points, empty ones included.
std::vector<std::string_view> split_js_whitespace(std::string_view text);

// The JavaScript `length` of the UTF-8 text: UTF-16 code units.
size_t utf16_length(std::string_view text);

// `toLowerCase()` for lexicon lookups: maps A-Z and U+212A KELVIN SIGN (the only code point besides
// A-Z whose lower case is pure ASCII) and copies every other byte. JavaScript lower-cases other
// letters too, but their lower case is never ASCII, so no ASCII key can match either way; keys
// with other characters are dropped when the lexicon is loaded (see vader.cc). Appends to out; the
// result is never longer than text.
void js_lower_for_lookup(std::string_view text, std::string& out);

// `parseFloat(x.toFixed(digits))` for |x| < 1e15 and digits <= 4: rounds the exact binary value of x
// half away from zero (toFixed picks the larger n on a tie) to `digits` decimals, then returns the
// double nearest to that decimal. -0 stays -0 when x < 0 rounds to zero, as in JavaScript.
double js_round_to_fixed(double x, int digits);

// `JSON.stringify` of a number that js_round_to_fixed produced: the shortest round-trip decimal in
// fixed notation, "0" for both zeros. Appends to out.
void append_js_number(double x, std::string& out);

}  // namespace vontres::ai::sentiment::detail
