#include "ai/sentiment/detail/js_text.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vontres::ai::sentiment::detail {
namespace {

TEST(JsTextTest, DecodesValidUtf8) {
  EXPECT_EQ(decode_utf8("a").code_point, 'a');
  EXPECT_EQ(decode_utf8("\xC3\xA9").code_point, 0xE9u);
  EXPECT_EQ(decode_utf8("\xE2\x82\xAC").length, 3u);
  EXPECT_EQ(decode_utf8("\xF0\x9F\x98\x80").code_point, 0x1F600u);
}

TEST(JsTextTest, InvalidUtf8BecomesOneReplacementPerMaximalSubpart) {
  // WHATWG: a truncated sequence is one U+FFFD; the byte that broke it is read again.
  EXPECT_EQ(decode_utf8("\xE2\x82"
                        "a")
                .code_point,
            0xFFFDu);
  EXPECT_EQ(decode_utf8("\xE2\x82"
                        "a")
                .length,
            2u);
  EXPECT_EQ(decode_utf8("\xFF").length, 1u);
  EXPECT_EQ(decode_utf8("\xC0\xAF").length, 1u);      // overlong lead
  EXPECT_EQ(decode_utf8("\xED\xA0\x80").length, 1u);  // surrogate: ED A0 is out of range
  EXPECT_EQ(decode_utf8("\xF4\x90\x80\x80").length, 1u);
  EXPECT_EQ(decode_utf8("\xF0\x9F\x98").length, 3u);  // truncated at the end
  EXPECT_EQ(utf16_length("\xED\xA0\x80"), 3u);
}

TEST(JsTextTest, SplitsOnJavaScriptWhitespaceKeepingEmptyPieces) {
  EXPECT_EQ(split_js_whitespace("a  b"), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_EQ(split_js_whitespace("a\xE2\x80\xA8"
                                "b\xEF\xBB\xBF"
                                "c"),
            (std::vector<std::string_view>{"a", "b", "c"}));
  EXPECT_EQ(split_js_whitespace(""), (std::vector<std::string_view>{""}));
  EXPECT_TRUE(is_js_whitespace(0x200A));
  EXPECT_FALSE(is_js_whitespace(0x200B));  // zero width space is not \s
  EXPECT_FALSE(is_js_whitespace(0x180E));
  EXPECT_FALSE(is_js_whitespace(0x85));
}

TEST(JsTextTest, LengthCountsUtf16CodeUnits) {
  EXPECT_EQ(utf16_length("ab"), 2u);
  EXPECT_EQ(utf16_length("\xC3\xA9"), 1u);
  EXPECT_EQ(utf16_length("\xF0\x9F\x98\x80"), 2u);
}

TEST(JsTextTest, LowerCasesAsciiAndKelvinSign) {
  std::string out = "x:";
  js_lower_for_lookup("GooD \xE2\x84\xAAind \xC3\x89", out);
  EXPECT_EQ(out, "x:good kind \xC3\x89");  // appended
}

TEST(JsTextTest, RoundsLikeToFixedHalfAwayFromZero) {
  EXPECT_EQ(js_round_to_fixed(0.1875, 3), 0.188);  // exact tie: toFixed takes the larger n
  EXPECT_EQ(js_round_to_fixed(0.0625, 3), 0.063);
  EXPECT_EQ(js_round_to_fixed(-0.03125, 4), -0.0313);
  EXPECT_EQ(js_round_to_fixed(1.005, 2), 1.0);  // 1.005 is 1.00499999999999989...
  EXPECT_EQ(js_round_to_fixed(0.44043, 4), 0.4404);
  EXPECT_EQ(js_round_to_fixed(1.0, 3), 1.0);
  EXPECT_TRUE(std::signbit(js_round_to_fixed(-0.00001, 4)));
}

TEST(JsTextTest, PrintsNumbersLikeJsonStringify) {
  std::string out;
  for (const double x : {0.0, -0.0, 1.0, 0.5, 0.4404, -0.296, 0.0001, 0.188}) {
    append_js_number(x, out);
    out.push_back(' ');
  }
  EXPECT_EQ(out, "0 0 1 0.5 0.4404 -0.296 0.0001 0.188 ");
}

}  // namespace
}  // namespace vontres::ai::sentiment::detail
