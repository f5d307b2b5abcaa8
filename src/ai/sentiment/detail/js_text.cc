#include "ai/sentiment/detail/js_text.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace vontres::ai::sentiment::detail {

namespace {

constexpr uint32_t kReplacement = 0xFFFD;

bool is_ascii_whitespace(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace

DecodedCodePoint decode_utf8(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return {lead, 1};
  // The WHATWG UTF-8 decoder: the lead byte fixes how many continuation bytes follow and the
  // range of the first one (no overlong forms, no surrogates, nothing above U+10FFFF); a byte
  // outside the expected range ends the invalid sequence without being consumed.
  size_t needed = 0;
  uint32_t code_point = 0;
  unsigned char lower = 0x80;
  unsigned char upper = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 1;
    code_point = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 2;
    code_point = lead & 0x0Fu;
    if (lead == 0xE0) lower = 0xA0;
    if (lead == 0xED) upper = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 3;
    code_point = lead & 0x07u;
    if (lead == 0xF0) lower = 0x90;
    if (lead == 0xF4) upper = 0x8F;
  } else {
    return {kReplacement, 1};
  }
  size_t i = 1;
  for (; i <= needed; ++i) {
    if (i >= text.size()) return {kReplacement, i};
    const unsigned char c = byte(i);
    if (c < lower || c > upper) return {kReplacement, i};
    lower = 0x80;
    upper = 0xBF;
    code_point = (code_point << 6) | (c & 0x3Fu);
  }
  return {code_point, i};
}

bool is_js_whitespace(uint32_t code_point) {
  switch (code_point) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF: return true;
    default: return code_point >= 0x2000 && code_point <= 0x200A;
  }
}

std::vector<std::string_view> split_js_whitespace(std::string_view text) {
  std::vector<std::string_view> pieces;
  size_t start = 0;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (is_ascii_whitespace(c)) {
        pieces.push_back(text.substr(start, i - start));
        start = i + 1;
      }
      ++i;
      continue;
    }
    const DecodedCodePoint decoded = decode_utf8(text.substr(i));
    if (is_js_whitespace(decoded.code_point)) {
      pieces.push_back(text.substr(start, i - start));
      start = i + decoded.length;
    }
    i += decoded.length;
  }
  pieces.push_back(text.substr(start));
  return pieces;
}

size_t utf16_length(std::string_view text) {
  size_t length = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++length;
      ++i;
      continue;
    }
    const DecodedCodePoint decoded = decode_utf8(text.substr(i));
    length += decoded.code_point >= 0x10000 ? 2 : 1;
    i += decoded.length;
  }
  return length;
}

void js_lower_for_lookup(std::string_view text, std::string& out) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (c == '\xE2' && text.substr(i, 3) == "\xE2\x84\xAA") {  // U+212A KELVIN SIGN
      out.push_back('k');
      i += 2;
    } else {
      out.push_back(c);
    }
  }
}

double js_round_to_fixed(double x, int digits) {
  // x * 10^digits is computed exactly: 5^digits has at most 10 significant bits for digits <= 4,
  // so the product of a 53-bit significand with it fits a 64-bit long double significand, and the
  // factor 2^digits only changes the exponent. That gives the exact fraction to round.
  static_assert(std::numeric_limits<long double>::digits >= 63, "needs an 80-bit or wider long double");
  const bool negative = x < 0;
  long double scaled = std::fabs(static_cast<long double>(x));
  long double power_of_ten = 1;
  for (int i = 0; i < digits; ++i) {
    scaled *= 5;
    power_of_ten *= 10;
  }
  scaled = std::ldexp(scaled, digits);
  long double n = std::floor(scaled);
  if (scaled - n >= 0.5L) n += 1;
  // n and 10^digits are exact doubles, so the correctly rounded quotient is the double nearest to
  // the decimal n / 10^digits, which is what parseFloat returns.
  const double result = static_cast<double>(n) / static_cast<double>(power_of_ten);
  return negative ? -result : result;
}

void append_js_number(double x, std::string& out) {
  if (x == 0) {
    out.push_back('0');
    return;
  }
  std::array<char, 64> buffer{};
  const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), x, std::chars_format::fixed);
  if (error != std::errc()) {  // cannot happen for |x| < 1e21
    out.append("null");
    return;
  }
  out.append(buffer.data(), end);
}

}  // namespace vontres::ai::sentiment::detail
