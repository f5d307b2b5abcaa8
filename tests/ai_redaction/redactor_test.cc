#include "ai/redaction/redactor.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace vontres::ai::redaction {
namespace {

std::string redacted(std::string_view text, const RedactionOptions& options = {}) { return redact(text, options).text; }

bool luhn(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (dbl) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    dbl = !dbl;
  }
  return !digits.empty() && sum % 10 == 0;
}

// Independent of the redactor: runs of ASCII digit groups joined by single ' ' or '-'; true when
// some window of 13-19 digits that starts and ends on group boundaries passes Luhn.
bool has_luhn_valid_run(std::string_view text) {
  std::string run;
  std::vector<size_t> boundaries;  // digit offsets in `run` where a group starts
  auto check = [&]() {
    boundaries.push_back(run.size());
    for (size_t a = 0; a < boundaries.size(); ++a) {
      for (size_t b = a + 1; b < boundaries.size(); ++b) {
        size_t len = boundaries[b] - boundaries[a];
        if (len >= 13 && len <= 19 && luhn(std::string_view(run).substr(boundaries[a], len))) return true;
      }
    }
    return false;
  };
  bool in_gap = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      if (run.empty() || in_gap) boundaries.push_back(run.size());
      in_gap = false;
      run.push_back(c);
    } else if ((c == ' ' || c == '-') && !run.empty() && !in_gap && i + 1 < text.size() && text[i + 1] >= '0' &&
               text[i + 1] <= '9') {
      in_gap = true;
    } else {
      if (check()) return true;
      run.clear();
      boundaries.clear();
      in_gap = false;
    }
  }
  return !run.empty() && check();
}

TEST(Redactor, RedactsTestCardNumbersInCommonFormats) {
  EXPECT_EQ(redacted("my card is 4111 1111 1111 1111 thanks"), "my card is [CARD] thanks");
  EXPECT_EQ(redacted("4111-1111-1111-1111"), "[CARD]");
  EXPECT_EQ(redacted("4111111111111111"), "[CARD]");
  EXPECT_EQ(redacted("5500 0000 0000 0004."), "[CARD].");
  EXPECT_EQ(redacted("amex 3400 0000 0000 009 ok"), "amex [CARD] ok");
  EXPECT_EQ(redacted("amex 340000000000009"), "amex [CARD]");
}

TEST(Redactor, LeavesLuhnInvalidCardLengthNumbersAlone) {
  EXPECT_EQ(redacted("4111 1111 1111 1112"), "4111 1111 1111 1112");
  EXPECT_EQ(redacted("5500 0000 0000 0005"), "5500 0000 0000 0005");
  EXPECT_EQ(redacted("3400 0000 0000 008"), "3400 0000 0000 008");
  EXPECT_EQ(redacted("order 4111111111111121"), "order 4111111111111121");
}

TEST(Redactor, ReportsSpansOnTheOriginalText) {
  std::string text = "card 4111 1111 1111 1111 ok";
  RedactionResult result = redact(text, {});
  ASSERT_EQ(result.spans.size(), 1u);
  EXPECT_EQ(result.spans[0].pii_class, PiiClass::kCard);
  EXPECT_EQ(text.substr(result.spans[0].start, result.spans[0].end - result.spans[0].start), "4111 1111 1111 1111");
}

TEST(Redactor, RedactsSpokenCardNumbers) {
  EXPECT_EQ(redacted("it's four one one one one one one one one one one one one one one one"), "it's [CARD]");
  EXPECT_EQ(redacted("Five five oh oh, oh oh oh oh, zero zero zero zero, zero zero zero four please"), "[CARD] please");
  EXPECT_EQ(redacted("four one double one triple one one one one one one one one one one"), "[CARD]");
  EXPECT_EQ(redacted("4111 one one one one 1111 one one one one"), "[CARD]");
}

TEST(Redactor, SpokenLuhnInvalidTenPlusDigitsAreTreatedAsPhone) {
  EXPECT_EQ(redacted("four one one one one one one one one one one one one one one two"), "[PHONE]");
}

TEST(Redactor, RedactsCvvAndExpiryNearACard) {
  EXPECT_EQ(redacted("4111 1111 1111 1111 exp 05/27 cvv 123"), "[CARD] exp [EXPIRY] cvv [CVV]");
  EXPECT_EQ(redacted("4111 1111 1111 1111, 12/2028, 737"), "[CARD], [EXPIRY], [CVV]");
  EXPECT_EQ(redacted("4111111111111111 and the code is 4821"), "[CARD] and the code is [CVV]");
  EXPECT_EQ(redacted("it expires oh five twenty seven"), "it expires [EXPIRY]");
  EXPECT_EQ(redacted("expiry is five twenty seven"), "expiry is [EXPIRY]");
  EXPECT_EQ(redacted("expiry oh five twenty twenty seven"), "expiry [EXPIRY]");
  EXPECT_EQ(redacted("the security code is one two three"), "the security code is [CVV]");
  EXPECT_EQ(redacted("CVV: 9876"), "CVV: [CVV]");
}

TEST(Redactor, LeavesShortNumbersAloneAwayFromCardsAndKeywords) {
  EXPECT_EQ(redacted("I waited 123 minutes on 05/27 for order 4821"), "I waited 123 minutes on 05/27 for order 4821");
  EXPECT_EQ(redacted("room one two three"), "room one two three");
  std::string far = "4111 1111 1111 1111" + std::string(60, ' ') + "x 123";
  EXPECT_EQ(redacted(far), "[CARD]" + std::string(60, ' ') + "x 123");
}

TEST(Redactor, RespectsDisabledClasses) {
  RedactionOptions options;
  options.cards = false;
  options.phone = false;
  EXPECT_EQ(redacted("4111 1111 1111 1111", options), "4111 1111 1111 1111");
  options = {};
  options.cvv = false;
  EXPECT_EQ(redacted("4111 1111 1111 1111 cvv 123", options), "[CARD] cvv 123");
  options = {};
  options.email = false;
  EXPECT_EQ(redacted("a@example.com", options), "a@example.com");
}

TEST(Redactor, RedactsValidSsnsOnly) {
  EXPECT_EQ(redacted("ssn 123-45-6789."), "ssn [SSN].");
  EXPECT_EQ(redacted("it is 123 45 6789"), "it is [SSN]");
  EXPECT_EQ(redacted("000-12-3456, 666-12-3456, 900-12-3456, 123-00-4567, 123-45-0000"),
            "000-12-3456, 666-12-3456, 900-12-3456, 123-00-4567, 123-45-0000");
  EXPECT_EQ(redacted("my social is one two three four five six seven eight nine"), "my social is [SSN]");
  EXPECT_EQ(redacted("part 123456789"), "part 123456789");  // ungrouped and no keyword
  EXPECT_EQ(redacted("ssn 123456789"), "ssn [SSN]");
}

TEST(Redactor, RedactsTypedEmails) {
  EXPECT_EQ(redacted("mail john.smith+x@mail.example.co.uk now"), "mail [EMAIL] now");
  EXPECT_EQ(redacted("a@b"), "a@b");
  EXPECT_EQ(redacted("@example.com"), "@example.com");
  EXPECT_EQ(redacted("x@example.com."), "[EMAIL].");
}

TEST(Redactor, RedactsSpokenEmails) {
  EXPECT_EQ(redacted("it's john dot smith at example dot com thanks"), "it's [EMAIL] thanks");
  EXPECT_EQ(redacted("mary at gmail dot com"), "[EMAIL]");
  EXPECT_EQ(redacted("send to jane underscore doe at mail.example.org"), "send to [EMAIL]");
  EXPECT_EQ(redacted("I was at home at noon"), "I was at home at noon");
  EXPECT_EQ(redacted("look at this dot thing"), "look at this dot thing");
}

TEST(Redactor, RedactsPhoneNumbers) {
  EXPECT_EQ(redacted("call +44 20 7946 0958 now"), "call [PHONE] now");
  EXPECT_EQ(redacted("(415) 555-2671"), "[PHONE]");
  EXPECT_EQ(redacted("415-555-2671 or 415.555.2671"), "[PHONE] or [PHONE]");
  EXPECT_EQ(redacted("1-800-555-0199"), "[PHONE]");
  EXPECT_EQ(redacted("four one five five five five two six seven one"), "[PHONE]");
  EXPECT_EQ(redacted("ticket 1234567890"), "ticket 1234567890");  // not a NANP number
  EXPECT_EQ(redacted("serial 5500000000000005"), "serial 5500000000000005");
}

TEST(Redactor, MergesOverlappingMatchesIntoTheHigherPriorityClass) {
  RedactionResult result = redact("4111111111111111@example.com", {});
  EXPECT_EQ(result.text, "[CARD]");
  ASSERT_EQ(result.spans.size(), 1u);
  EXPECT_EQ(result.spans[0].pii_class, PiiClass::kCard);
  EXPECT_EQ(redacted("415 555 2671, 4111 1111 1111 1111"), "[PHONE], [CARD]");
}

TEST(Redactor, KeepsUtf8AroundMatches) {
  EXPECT_EQ(redacted("carte № 4111 1111 1111 1111 — merci ✓"), "carte № [CARD] — merci ✓");
  EXPECT_EQ(redacted("émail: zoë@example.com 😀"), "émail: [EMAIL] 😀");
  EXPECT_EQ(redacted("fourée one"), "fourée one");
}

TEST(Redactor, HandlesEmptyAndLongInput) {
  RedactionResult empty = redact("", {});
  EXPECT_EQ(empty.text, "");
  EXPECT_TRUE(empty.spans.empty());
  std::string longer;
  for (int i = 0; i < 20000; ++i) longer += "hello 4111 1111 1111 1111 and ";
  RedactionResult result = redact(longer, {});
  EXPECT_EQ(result.spans.size(), 20000u);
  EXPECT_FALSE(has_luhn_valid_run(result.text));
  std::string digits(200000, '7');
  EXPECT_FALSE(has_luhn_valid_run(redact(digits, {}).text));
}

TEST(Redactor, UsesConfiguredTokensAndValidatesThem) {
  RedactionOptions options;
  options.card_token = "<card>";
  EXPECT_TRUE(validate(options).is_ok());
  EXPECT_EQ(redacted("4111111111111111", options), "<card>");
  options.card_token = "";
  EXPECT_EQ(validate(options).code(), "invalid_redaction_options");
  options.card_token = "card1";
  EXPECT_EQ(validate(options).code(), "invalid_redaction_options");
  options.card_token = " - ";
  EXPECT_EQ(validate(options).code(), "invalid_redaction_options");
  EXPECT_TRUE(validate(RedactionOptions{}).is_ok());
}

// Property: random mixes of digits, separators, letters and embedded real card numbers never
// leave a Luhn-valid 13-19 digit run, and spans stay in bounds, sorted and disjoint.
TEST(Redactor, NeverLeavesALuhnValidRunInRandomText) {
  std::mt19937 rng(20261125);
  const std::string alphabet = "0123456789012345678901234567890123456789 -.,()/ab@+\xc3\xa9";
  const std::vector<std::string> cards = {"4111111111111111", "5500 0000 0000 0004", "3400-0000-0000-009",
                                          "four one one one one one one one one one one one one one one one"};
  int redacted_count = 0;
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string text;
    size_t length = rng() % 120;
    for (size_t i = 0; i < length; ++i) {
      if (rng() % 40 == 0) {
        text += cards[rng() % cards.size()];
      } else {
        text.push_back(alphabet[rng() % alphabet.size()]);
      }
    }
    RedactionResult result = redact(text, {});
    ASSERT_FALSE(has_luhn_valid_run(result.text)) << "input: " << text << "\noutput: " << result.text;
    size_t previous_end = 0;
    for (const RedactedSpan& span : result.spans) {
      ASSERT_LE(previous_end, span.start);
      ASSERT_LT(span.start, span.end);
      ASSERT_LE(span.end, text.size());
      previous_end = span.end;
    }
    if (has_luhn_valid_run(text)) ++redacted_count;
  }
  EXPECT_GT(redacted_count, 100);  // the generator does produce card-like input
}

}  // namespace
}  // namespace vontres::ai::redaction
