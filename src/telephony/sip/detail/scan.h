// Character classes and small scanning helpers shared by the SIP parsers (RFC 3261 section 25).
// Internal to telephony/sip: pure functions over string_view, no allocation unless a function
// returns std::string. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vontres::telephony::sip::detail {

inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
inline bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
inline bool is_ws(char c) { return c == ' ' || c == '\t'; }
inline char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
inline char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
inline bool is_token_char(char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '!':
    case '%':
    case '*':
    case '_':
    case '+':
    case '`':
    case '\'':
    case '~': return true;
    default: return false;
  }
}
// unreserved = alphanum / mark
inline bool is_unreserved(char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '-':
    case '_':
    case '.':
    case '!':
    case '~':
    case '*':
    case '\'':
    case '(':
    case ')': return true;
    default: return false;
  }
}
// user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
inline bool is_user_char(char c) {
  if (is_unreserved(c)) return true;
  switch (c) {
    case '&':
    case '=':
    case '+':
    case '$':
    case ',':
    case ';':
    case '?':
    case '/': return true;
    default: return false;
  }
}
// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
inline bool is_password_char(char c) {
  if (is_unreserved(c)) return true;
  switch (c) {
    case '&':
    case '=':
    case '+':
    case '$':
    case ',': return true;
    default: return false;
  }
}
// paramchar = param-unreserved / unreserved / escaped; param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"
inline bool is_param_char(char c) {
  if (is_unreserved(c)) return true;
  switch (c) {
    case '[':
    case ']':
    case '/':
    case ':':
    case '&':
    case '+':
    case '$': return true;
    default: return false;
  }
}
// hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$"
inline bool is_header_char(char c) {
  if (is_unreserved(c)) return true;
  switch (c) {
    case '[':
    case ']':
    case '/':
    case '?':
    case ':':
    case '+':
    case '$': return true;
    default: return false;
  }
}
// uric = reserved / unreserved / escaped (RFC 2396), for absoluteURI of other schemes.
inline bool is_uric(char c) {
  if (is_unreserved(c)) return true;
  switch (c) {
    case ';':
    case '/':
    case '?':
    case ':':
    case '@':
    case '&':
    case '=':
    case '+':
    case '$':
    case ',':
    case '%':
    case '#':
    case '[':
    case ']': return true;
    default: return false;
  }
}
// word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")" / "<" / ">" /
//        ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
inline bool is_word_char(char c) {
  if (is_token_char(c)) return true;
  switch (c) {
    case '(':
    case ')':
    case '<':
    case '>':
    case ':':
    case '\\':
    case '"':
    case '/':
    case '[':
    case ']':
    case '?':
    case '{':
    case '}': return true;
    default: return false;
  }
}

inline std::string_view trim(std::string_view s) {
  size_t b = 0;
  while (b < s.size() && is_ws(s[b])) ++b;
  size_t e = s.size();
  while (e > b && is_ws(s[e - 1])) --e;
  return s.substr(b, e - b);
}
inline std::string_view skip_ws(std::string_view s) {
  size_t b = 0;
  while (b < s.size() && is_ws(s[b])) ++b;
  return s.substr(b);
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}
inline bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

// Parses 1*DIGIT into a value no larger than `max`; rejects signs, spaces, overflow.
inline std::optional<uint64_t> parse_decimal(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 40) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// Scans a quoted-string starting at s[0] == '"'. Returns the length including both quotes, or
// nullopt when unterminated or when it holds a bare CR/LF.
inline std::optional<size_t> scan_quoted(std::string_view s) {
  if (s.empty() || s[0] != '"') return std::nullopt;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\') {
      if (i + 1 >= s.size() || s[i + 1] == '\r' || s[i + 1] == '\n') return std::nullopt;
      ++i;
    } else if (c == '"') {
      return i + 1;
    } else if (c == '\r' || c == '\n') {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// Removes the quotes and resolves quoted-pairs of a quoted-string scanned by scan_quoted.
inline std::string unquote(std::string_view quoted) {
  std::string out;
  out.reserve(quoted.size());
  for (size_t i = 1; i + 1 < quoted.size(); ++i) {
    if (quoted[i] == '\\' && i + 2 < quoted.size()) ++i;
    out.push_back(quoted[i]);
  }
  return out;
}

// Quotes `s` as a quoted-string, escaping '"' and '\'.
inline std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Splits a header value at top-level commas (outside quoted strings and <...>). Returns nullopt
// on an unterminated quote or '<'. Elements are trimmed; empty elements are kept so callers can
// reject them.
inline std::optional<std::vector<std::string_view>> split_commas(std::string_view value) {
  std::vector<std::string_view> out;
  size_t start = 0;
  bool in_angle = false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '"') {
      auto len = scan_quoted(value.substr(i));
      if (!len) return std::nullopt;
      i += *len - 1;
    } else if (c == '<') {
      if (in_angle) return std::nullopt;
      in_angle = true;
    } else if (c == '>') {
      in_angle = false;
    } else if (c == ',' && !in_angle) {
      out.push_back(trim(value.substr(start, i - start)));
      start = i + 1;
    }
  }
  if (in_angle) return std::nullopt;
  out.push_back(trim(value.substr(start)));
  return out;
}

inline int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  return to_lower(c) - 'a' + 10;
}

// Percent-decodes `s` whose characters must satisfy `allowed` (or be part of a valid %HH escape).
template <typename Pred>
std::optional<std::string> decode_escaped(std::string_view s, Pred allowed) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return std::nullopt;
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else if (allowed(c)) {
      out.push_back(c);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// Percent-encodes every byte of `s` that `allowed` rejects (and '%').
template <typename Pred>
std::string encode_escaped(std::string_view s, Pred allowed) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != '%' && allowed(c)) {
      out.push_back(c);
    } else {
      auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

}  // namespace vontres::telephony::sip::detail
