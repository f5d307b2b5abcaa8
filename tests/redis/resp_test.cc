#include "redis/resp.h"

#include <gtest/gtest.h>

namespace vontres::redis {
namespace {

std::vector<Reply> parse_all(RespParser& parser) {
  std::vector<Reply> out;
  for (int i = 0; i < 1000; ++i) {
    auto next = parser.next();
    EXPECT_TRUE(next.is_ok()) << next.status().to_string();
    if (!next.is_ok() || !next->has_value()) break;
    out.push_back(std::move(**next));
  }
  return out;
}

TEST(RespTest, EncodesCommandsAsArraysOfBulkStrings) {
  using namespace std::string_literals;
  EXPECT_EQ(encode_command({"SET", "k", "a\0b"s}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n"s);
  EXPECT_EQ(encode_command({"SET", "k", ""}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(RespTest, ParsesEveryReplyType) {
  RespParser parser;
  parser.feed("+OK\r\n-ERR bad\r\n:-42\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n$0\r\n\r\n*2\r\n:1\r\n*1\r\n$1\r\nx\r\n");
  auto replies = parse_all(parser);
  ASSERT_EQ(replies.size(), 8u);
  EXPECT_EQ(replies[0], Reply::simple("OK"));
  EXPECT_EQ(replies[1], Reply::error("ERR bad"));
  EXPECT_EQ(replies[1].error_code(), "ERR");
  EXPECT_EQ(replies[2], Reply::number(-42));
  EXPECT_EQ(replies[3], Reply::bulk("hello"));
  EXPECT_TRUE(replies[4].is_nil());
  EXPECT_TRUE(replies[5].is_nil());
  EXPECT_EQ(replies[6], Reply::bulk(""));
  EXPECT_EQ(replies[7], Reply::array({Reply::number(1), Reply::array({Reply::bulk("x")})}));
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(RespTest, ParsesIncrementallyByteByByte) {
  const std::string stream = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$4\r\na\r\nb\r\n:7\r\n";
  RespParser parser;
  std::vector<Reply> replies;
  for (char c : stream) {
    parser.feed(std::string_view(&c, 1));
    auto got = parse_all(parser);
    for (auto& reply : got) replies.push_back(std::move(reply));
  }
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0], Reply::array({Reply::bulk("message"), Reply::bulk("ch"), Reply::bulk("a\r\nb")}));
  EXPECT_EQ(replies[1], Reply::number(7));
}

TEST(RespTest, BulkStringsMayContainCrLfAndBinary) {
  RespParser parser;
  const std::string value("\r\n\0\xff", 4);
  std::string wire;
  encode_reply(wire, Reply::bulk(value));
  parser.feed(wire);
  auto replies = parse_all(parser);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].text, value);
}

TEST(RespTest, RefusesMalformedStreamsAndStaysFailed) {
  for (const std::string bad : {"?what\r\n", ":12x\r\n", "$3\r\nabcd\r\n", "$-2\r\n", "*-5\r\n", ":\r\n"}) {
    RespParser parser;
    parser.feed(bad);
    auto next = parser.next();
    ASSERT_FALSE(next.is_ok()) << bad;
    EXPECT_EQ(next.status().code(), "redis_protocol");
    parser.feed("+OK\r\n");
    EXPECT_FALSE(parser.next().is_ok()) << "a failed parser stays failed";
  }
}

TEST(RespTest, EnforcesLimits) {
  RespLimits limits;
  limits.max_bulk_bytes = 10;
  limits.max_array_elements = 2;
  limits.max_depth = 2;
  limits.max_line_bytes = 16;
  {
    RespParser parser(limits);
    parser.feed("$11\r\n");
    EXPECT_FALSE(parser.next().is_ok()) << "bulk too long, refused before its bytes arrive";
  }
  {
    RespParser parser(limits);
    parser.feed("*3\r\n");
    EXPECT_FALSE(parser.next().is_ok());
  }
  {
    RespParser parser(limits);
    parser.feed("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n");
    EXPECT_FALSE(parser.next().is_ok()) << "nested too deep";
  }
  {
    RespParser parser(limits);
    parser.feed("+" + std::string(40, 'a'));
    EXPECT_FALSE(parser.next().is_ok()) << "a line without an end is refused once over the limit";
  }
}

TEST(RespTest, IncompleteInputWaitsForMore) {
  RespParser parser;
  parser.feed("*2\r\n$3\r\nfoo\r\n");
  auto next = parser.next();
  ASSERT_TRUE(next.is_ok());
  EXPECT_FALSE(next->has_value());
  parser.feed("$3\r\nbar\r\n");
  next = parser.next();
  ASSERT_TRUE(next.is_ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ(**next, Reply::array({Reply::bulk("foo"), Reply::bulk("bar")}));
}

TEST(RespTest, RoundTripsThroughTheEncoder) {
  const Reply original = Reply::array({Reply::simple("OK"), Reply::error("MOVED 1 127.0.0.1:7000"),
                                       Reply::number(INT64_MIN), Reply::bulk("v"), Reply::nil(), Reply::array({})});
  std::string wire;
  encode_reply(wire, original);
  RespParser parser;
  parser.feed(wire);
  auto replies = parse_all(parser);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0], original);
}

}  // namespace
}  // namespace vontres::redis
