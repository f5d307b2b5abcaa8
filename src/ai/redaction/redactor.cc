#include "ai/redaction/redactor.h"

#include <algorithm>
#include <array>
#include <optional>

#include "ai/redaction/detail/digits.h"

namespace vontres::ai::redaction {
namespace {

using detail::DigitRun;
using detail::DigitToken;
using detail::equals_ignore_case;
using detail::Word;

constexpr size_t kMinCard = 13;
constexpr size_t kMaxCard = 19;

struct Candidate {
  PiiClass pii_class;
  size_t start;
  size_t end;
};

enum class ContextKind { kCard, kCvv, kExpiry, kSsn };

struct ContextEvent {
  ContextKind kind;
  size_t end;
};

// A run of digits with no card digit in it, ready for the other classes.
struct Segment {
  size_t start = 0;
  size_t end = 0;
  std::string digits;
  bool spoken = false;
  bool ssn_grouped = false;  // typed as AAA-GG-SSSS (or with spaces)
};

int luhn_double(int d) { return d * 2 > 9 ? d * 2 - 9 : d * 2; }

std::string_view word_at(std::string_view text, const Word& w) { return text.substr(w.start, w.end - w.start); }

bool only_spaces(std::string_view text, size_t from, size_t to) {
  if (to < from) return false;
  for (size_t i = from; i < to; ++i) {
    if (text[i] != ' ' && text[i] != '\t') return false;
  }
  return true;
}

std::vector<ContextEvent> find_keywords(std::string_view text, const std::vector<Word>& words) {
  std::vector<ContextEvent> events;
  auto is = [&](size_t i, std::string_view w) {
    return i < words.size() && equals_ignore_case(word_at(text, words[i]), w);
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const size_t end = words[i].end;
    if (is(i, "cvv") || is(i, "cvc") || is(i, "cv") || is(i, "csc") || is(i, "cid")) {
      events.push_back({ContextKind::kCvv, end});
    } else if ((is(i, "security") || is(i, "verification") || is(i, "digit")) && is(i + 1, "code")) {
      events.push_back({ContextKind::kCvv, words[i + 1].end});
    } else if (is(i, "expiry") || is(i, "expires") || is(i, "expire") || is(i, "expired") || is(i, "expiration") ||
               is(i, "exp")) {
      events.push_back({ContextKind::kExpiry, end});
    } else if (is(i, "valid") && (is(i + 1, "thru") || is(i + 1, "through") || is(i + 1, "until"))) {
      events.push_back({ContextKind::kExpiry, words[i + 1].end});
    } else if (is(i, "ssn") || is(i, "social")) {
      events.push_back({ContextKind::kSsn, end});
    }
  }
  return events;
}

bool ssn_valid(std::string_view d) {
  if (d.size() != 9) return false;
  std::string_view area = d.substr(0, 3);
  if (area == "000" || area == "666" || area[0] == '9') return false;
  if (d.substr(3, 2) == "00") return false;
  return d.substr(5, 4) != "0000";
}

bool nanp_valid(std::string_view d) { return d.size() == 10 && d[0] >= '2' && d[3] >= '2'; }

bool month_valid(std::string_view mm) {
  int month = (mm.size() == 2 ? (mm[0] - '0') * 10 + (mm[1] - '0') : mm[0] - '0');
  return month >= 1 && month <= 12;
}

// MMYY, MMYYYY (20YY) or, only after an expiry keyword, MYY ("five twenty seven").
bool parses_as_expiry(std::string_view d, bool allow_short) {
  if (d.size() == 4) return month_valid(d.substr(0, 2));
  if (d.size() == 6) return month_valid(d.substr(0, 2)) && d.substr(2, 2) == "20";
  if (d.size() == 3 && allow_short) return d[0] != '0';
  return false;
}

// Typed MM/YY or MM/YYYY (also M/YY); returns the end offset of a match starting at `i`.
std::optional<size_t> slash_expiry_at(std::string_view text, size_t i) {
  auto digit = [&](size_t k) { return k < text.size() && detail::is_ascii_digit(static_cast<unsigned char>(text[k])); };
  if (i > 0 && digit(i - 1)) return std::nullopt;
  size_t k = i;
  while (digit(k) && k - i < 3) ++k;
  size_t month_len = k - i;
  if (month_len < 1 || month_len > 2 || !month_valid(text.substr(i, month_len))) return std::nullopt;
  while (k < text.size() && text[k] == ' ') ++k;
  if (k >= text.size() || text[k] != '/') return std::nullopt;
  ++k;
  while (k < text.size() && text[k] == ' ') ++k;
  size_t year_start = k;
  while (digit(k) && k - year_start < 5) ++k;
  size_t year_len = k - year_start;
  if (year_len != 2 && year_len != 4) return std::nullopt;
  return k;
}

class Redactor {
 public:
  Redactor(std::string_view text, const RedactionOptions& options) : text_(text), options_(options) {}

  std::vector<Candidate> run() {
    tokens_ = detail::find_digit_tokens(text_);
    words_ = detail::find_words(text_);
    keywords_ = find_keywords(text_, words_);
    for (const DigitRun& run : detail::group_runs(text_, tokens_)) scan_run(run);
    classify_short_segments();
    if (options_.email) {
      find_typed_emails();
      find_spoken_emails();
    }
    return std::move(found_);
  }

 private:
  void scan_run(const DigitRun& run) {
    std::string digits;
    std::vector<size_t> owner;      // token index of each digit
    std::vector<bool> group_start;  // digit k begins a digit group; one extra entry for the end
    for (size_t t = run.first_token; t < run.last_token; ++t) {
      for (uint8_t k = 0; k < tokens_[t].count; ++k) {
        group_start.push_back(k == 0 &&
                              (t == run.first_token || detail::starts_group(text_, tokens_[t - 1], tokens_[t])));
        digits.push_back(tokens_[t].digits[k]);
        owner.push_back(t);
      }
    }
    std::vector<bool> token_in_card(run.last_token - run.first_token, false);
    group_start.push_back(true);
    if (options_.cards && digits.size() >= kMinCard)
      mark_cards(digits, owner, group_start, run.first_token, token_in_card);
    // Every maximal stretch of tokens outside card spans is a segment for the other classes.
    size_t t = run.first_token;
    while (t < run.last_token) {
      if (token_in_card[t - run.first_token]) {
        ++t;
        continue;
      }
      size_t first = t;
      while (t < run.last_token && !token_in_card[t - run.first_token]) ++t;
      add_segment(first, t);
    }
  }

  // Marks every window of 13-19 digits that starts and ends on digit-group boundaries and passes Luhn.
  void mark_cards(const std::string& digits, const std::vector<size_t>& owner, const std::vector<bool>& group_start,
                  size_t first_token, std::vector<bool>& token_in_card) {
    const size_t n = digits.size();
    // prefix[p][k]: sum over digits before k at positions of parity p, plain and Luhn-doubled.
    std::array<std::vector<int>, 2> plain{std::vector<int>(n + 1, 0), std::vector<int>(n + 1, 0)};
    std::array<std::vector<int>, 2> doubled{std::vector<int>(n + 1, 0), std::vector<int>(n + 1, 0)};
    for (size_t k = 0; k < n; ++k) {
      int d = digits[k] - '0';
      for (size_t p = 0; p < 2; ++p) {
        plain[p][k + 1] = plain[p][k] + (k % 2 == p ? d : 0);
        doubled[p][k + 1] = doubled[p][k] + (k % 2 == p ? luhn_double(d) : 0);
      }
    }
    std::vector<bool> covered(n, false);
    for (size_t j = kMinCard - 1; j < n; ++j) {
      if (!group_start[j + 1]) continue;
      const size_t same = j % 2;
      const size_t other = 1 - same;
      for (size_t len = kMinCard; len <= kMaxCard && len <= j + 1; ++len) {
        const size_t i = j + 1 - len;
        if (!group_start[i]) continue;
        int sum = plain[same][j + 1] - plain[same][i] + doubled[other][j + 1] - doubled[other][i];
        if (sum % 10 == 0)
          std::fill(covered.begin() + static_cast<std::ptrdiff_t>(i),
                    covered.begin() + static_cast<std::ptrdiff_t>(j + 1), true);
      }
    }
    size_t k = 0;
    while (k < n) {
      if (!covered[k]) {
        ++k;
        continue;
      }
      size_t first = k;
      while (k < n && covered[k]) ++k;
      const size_t from = owner[first];
      const size_t to = owner[k - 1];
      for (size_t t = from; t <= to; ++t) token_in_card[t - first_token] = true;
      found_.push_back({PiiClass::kCard, tokens_[from].start, tokens_[to].end});
      context_events_.push_back({ContextKind::kCard, tokens_[to].end});
    }
  }

  void add_segment(size_t first, size_t last) {
    Segment segment;
    segment.start = tokens_[first].start;
    segment.end = tokens_[last - 1].end;
    std::vector<size_t> groups;  // sizes of typed digit groups split by gaps
    bool gaps_ok = true;
    for (size_t t = first; t < last; ++t) {
      segment.digits.append(tokens_[t].digits, tokens_[t].count);
      segment.spoken = segment.spoken || tokens_[t].spoken;
      if (t == first || tokens_[t].start != tokens_[t - 1].end) {
        groups.push_back(0);
        if (t != first) {
          std::string_view gap = text_.substr(tokens_[t - 1].end, tokens_[t].start - tokens_[t - 1].end);
          gaps_ok = gaps_ok && (gap == "-" || gap == " ");
        }
      }
      groups.back() += tokens_[t].count;
    }
    segment.ssn_grouped = !segment.spoken && gaps_ok && groups == std::vector<size_t>{3, 2, 4};
    const std::string& d = segment.digits;
    if (options_.ssn && ssn_valid(d) && (segment.ssn_grouped || near_keyword(segment.start, ContextKind::kSsn))) {
      found_.push_back({PiiClass::kSsn, segment.start, segment.end});
      return;
    }
    if (options_.phone && looks_like_phone(segment)) {
      size_t start = segment.start;
      if (start > 0 && (text_[start - 1] == '+' || text_[start - 1] == '(')) --start;
      found_.push_back({PiiClass::kPhone, start, segment.end});
      return;
    }
    if (d.size() <= 6) short_segments_.push_back(std::move(segment));
  }

  bool looks_like_phone(const Segment& segment) const {
    const std::string& d = segment.digits;
    size_t before = segment.start;
    while (before > 0 && text_[before - 1] == ' ') --before;
    if (before > 0 && text_[before - 1] == '+' && d.size() >= 8 && d.size() <= 15) return true;
    if (nanp_valid(d)) return true;
    if (d.size() == 11 && d[0] == '1' && nanp_valid(std::string_view(d).substr(1))) return true;
    return segment.spoken && d.size() >= 10;
  }

  bool near_keyword(size_t position, ContextKind kind) const {
    for (const ContextEvent& event : keywords_) {
      if (event.kind == kind && event.end <= position && position - event.end <= options_.context_bytes) return true;
    }
    return false;
  }

  // CVV and expiry: only within context_bytes after a card, a keyword, or an accepted CVV/expiry.
  void classify_short_segments() {
    if (!options_.cvv && !options_.expiry) return;
    struct Item {
      size_t start;
      size_t end;
      std::string digits;  // empty for a typed MM/YY
    };
    std::vector<Item> items;
    if (options_.expiry) {
      for (size_t i = 0; i < text_.size(); ++i) {
        if (auto end = slash_expiry_at(text_, i)) items.push_back({i, *end, {}});
      }
    }
    for (Segment& segment : short_segments_) items.push_back({segment.start, segment.end, std::move(segment.digits)});
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.start < b.start; });
    std::vector<ContextEvent> events = keywords_;
    events.insert(events.end(), context_events_.begin(), context_events_.end());
    std::sort(events.begin(), events.end(), [](const ContextEvent& a, const ContextEvent& b) { return a.end < b.end; });
    size_t next_event = 0;
    std::optional<ContextEvent> context;
    size_t covered_until = 0;
    for (const Item& item : items) {
      while (next_event < events.size() && events[next_event].end <= item.start) {
        if (!context || events[next_event].end >= context->end) context = events[next_event];
        ++next_event;
      }
      if (!context || item.start - context->end > options_.context_bytes || item.start < covered_until) continue;
      std::optional<PiiClass> as;
      const std::string& d = item.digits;
      if (d.empty()) {
        as = PiiClass::kExpiry;
      } else if (context->kind == ContextKind::kExpiry) {
        if (parses_as_expiry(d, /*allow_short=*/true)) as = PiiClass::kExpiry;
      } else if (context->kind == ContextKind::kCvv) {
        if (d.size() == 3 || d.size() == 4) as = PiiClass::kCvv;
      } else if (context->kind == ContextKind::kCard) {
        if (d.size() == 3) {
          as = PiiClass::kCvv;
        } else if (parses_as_expiry(d, /*allow_short=*/false)) {
          as = PiiClass::kExpiry;
        } else if (d.size() == 4) {
          as = PiiClass::kCvv;
        }
      }
      if (as == PiiClass::kCvv && !options_.cvv) as.reset();
      if (as == PiiClass::kExpiry && !options_.expiry) as.reset();
      if (!as) continue;
      found_.push_back({*as, item.start, item.end});
      covered_until = item.end;
      context = ContextEvent{ContextKind::kCard, item.end};
    }
  }

  void find_typed_emails() {
    auto local_char = [](unsigned char c) {
      // Bytes >= 0x80: UTF-8 local parts (RFC 6531).
      return detail::is_ascii_letter(c) || detail::is_ascii_digit(c) || c >= 0x80 || c == '.' || c == '_' || c == '%' ||
             c == '+' || c == '-';
    };
    auto label_char = [](unsigned char c) {
      return detail::is_ascii_letter(c) || detail::is_ascii_digit(c) || c == '-';
    };
    for (size_t at = 0; at < text_.size(); ++at) {
      if (text_[at] != '@') continue;
      size_t start = at;
      while (start > 0 && local_char(static_cast<unsigned char>(text_[start - 1]))) --start;
      if (start == at) continue;
      size_t k = at + 1;
      size_t labels = 0;
      size_t end = 0;
      bool last_alpha = false;
      while (k < text_.size()) {
        size_t label_start = k;
        bool alpha = true;
        while (k < text_.size() && label_char(static_cast<unsigned char>(text_[k]))) {
          alpha = alpha && detail::is_ascii_letter(static_cast<unsigned char>(text_[k]));
          ++k;
        }
        if (k == label_start) break;
        ++labels;
        end = k;
        last_alpha = alpha && k - label_start >= 2;
        if (k + 1 < text_.size() && text_[k] == '.' && label_char(static_cast<unsigned char>(text_[k + 1]))) {
          ++k;
        } else {
          break;
        }
      }
      if (labels >= 2 && last_alpha) found_.push_back({PiiClass::kEmail, start, end});
    }
  }

  // "john dot smith at example dot com": words joined by "dot" (or '.') around the word "at",
  // ending in a common top-level domain.
  void find_spoken_emails() {
    static constexpr std::array<std::string_view, 24> kTopLevel = {
        "com",  "org", "net", "edu", "gov", "io",  "co", "uk", "us", "ca", "de", "fr",
        "info", "biz", "me",  "ai",  "app", "dev", "au", "in", "nl", "es", "it", "eu"};
    auto is = [&](size_t i, std::string_view w) { return equals_ignore_case(word_at(text_, words_[i]), w); };
    auto spaced = [&](size_t a, size_t b) {
      return only_spaces(text_, words_[a].end, words_[b].start) && words_[a].end < words_[b].start;
    };
    auto glued = [&](size_t a, size_t b, char c) {
      return words_[b].start == words_[a].end + 1 && text_[words_[a].end] == c;
    };
    auto is_connector = [&](size_t i) {
      return is(i, "dot") || is(i, "underscore") || is(i, "dash") || is(i, "hyphen") || is(i, "period");
    };
    for (size_t i = 1; i + 1 < words_.size(); ++i) {
      if (!is(i, "at") || !spaced(i - 1, i) || !spaced(i, i + 1)) continue;
      size_t k = i + 1;
      size_t labels = 1;
      while (true) {
        if (k + 1 < words_.size() && glued(k, k + 1, '.')) {
          k += 1;
        } else if (k + 2 < words_.size() && is(k + 1, "dot") && spaced(k, k + 1) && spaced(k + 1, k + 2)) {
          k += 2;
        } else {
          break;
        }
        ++labels;
      }
      bool top_level =
          std::any_of(kTopLevel.begin(), kTopLevel.end(), [&](std::string_view tld) { return is(k, tld); });
      if (labels < 2 || !top_level) continue;
      size_t first = i - 1;
      while (true) {
        if (first >= 2 && is_connector(first - 1) && spaced(first - 2, first - 1) && spaced(first - 1, first)) {
          first -= 2;
        } else if (first >= 1 &&
                   (glued(first - 1, first, '.') || glued(first - 1, first, '_') || glued(first - 1, first, '-'))) {
          first -= 1;
        } else {
          break;
        }
      }
      found_.push_back({PiiClass::kEmail, words_[first].start, words_[k].end});
    }
  }

  std::string_view text_;
  const RedactionOptions& options_;
  std::vector<DigitToken> tokens_;
  std::vector<Word> words_;
  std::vector<ContextEvent> keywords_;
  std::vector<ContextEvent> context_events_;
  std::vector<Segment> short_segments_;
  std::vector<Candidate> found_;
};

const std::string& token_for(PiiClass pii_class, const RedactionOptions& options) {
  switch (pii_class) {
    case PiiClass::kCard: return options.card_token;
    case PiiClass::kSsn: return options.ssn_token;
    case PiiClass::kCvv: return options.cvv_token;
    case PiiClass::kExpiry: return options.expiry_token;
    case PiiClass::kEmail: return options.email_token;
    case PiiClass::kPhone: break;
  }
  return options.phone_token;
}

}  // namespace

std::string_view pii_class_name(PiiClass pii_class) {
  switch (pii_class) {
    case PiiClass::kCard: return "card";
    case PiiClass::kSsn: return "ssn";
    case PiiClass::kCvv: return "cvv";
    case PiiClass::kExpiry: return "expiry";
    case PiiClass::kEmail: return "email";
    case PiiClass::kPhone: break;
  }
  return "phone";
}

Status validate(const RedactionOptions& options) {
  for (PiiClass pii_class :
       {PiiClass::kCard, PiiClass::kSsn, PiiClass::kCvv, PiiClass::kExpiry, PiiClass::kEmail, PiiClass::kPhone}) {
    const std::string& token = token_for(pii_class, options);
    bool has_digit = std::any_of(token.begin(), token.end(), [](char c) { return detail::is_ascii_digit(c); });
    bool has_non_separator = std::any_of(token.begin(), token.end(), [](char c) {
      return std::string_view(" \t-.,()").find(c) == std::string_view::npos;
    });
    if (token.empty() || has_digit || !has_non_separator) {
      return invalid_argument(
          std::string(pii_class_name(pii_class)) + " token must be non-empty, digit-free and not only separators",
          "invalid_redaction_options");
    }
  }
  if (options.context_bytes > 4096) {
    return invalid_argument("context_bytes must be at most 4096", "invalid_redaction_options");
  }
  return Status::ok();
}

RedactionResult redact(std::string_view text, const RedactionOptions& options) {
  std::vector<Candidate> found = Redactor(text, options).run();
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    return a.start != b.start ? a.start < b.start : a.end > b.end;
  });
  RedactionResult result;
  for (const Candidate& candidate : found) {
    if (!result.spans.empty() && candidate.start < result.spans.back().end) {
      RedactedSpan& last = result.spans.back();
      last.end = std::max(last.end, candidate.end);
      last.pii_class = std::min(last.pii_class, candidate.pii_class);  // enum order is priority order
      continue;
    }
    result.spans.push_back({candidate.pii_class, candidate.start, candidate.end});
  }
  result.text.reserve(text.size());
  size_t copied = 0;
  for (const RedactedSpan& span : result.spans) {
    result.text.append(text.substr(copied, span.start - copied));
    result.text.append(token_for(span.pii_class, options));
    copied = span.end;
  }
  result.text.append(text.substr(copied));
  return result;
}

}  // namespace vontres::ai::redaction
