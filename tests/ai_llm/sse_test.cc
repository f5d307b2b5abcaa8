#include "ai/llm/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vontres::ai::llm {
namespace {

std::vector<SseEvent> parse_all(std::string_view bytes) {
  SseParser parser;
  std::vector<SseEvent> events;
  parser.feed(bytes, events);
  return events;
}

std::vector<std::string> datas(const std::vector<SseEvent>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) out.push_back(event.data);
  return out;
}

// A realistic OpenAI stream with keep-alive comments, CRLF line ends, a role-only first chunk,
// a usage chunk and the [DONE] marker.
const std::string kStream =
    ": keep-alive\r\n\r\n"
    "data: "
    "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\r\n\r\n"
    ":\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u00e9\"},\"finish_reason\":null}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\r\n\r\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3}}\r\n\r\n"
    "data: [DONE]\r\n\r\n";

TEST(SseParser, SplitsOnLfCrlfAndBareCr) {
  EXPECT_EQ(datas(parse_all("data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\n\r\n")),
            (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(SseParser, JoinsMultiLineDataAndKeepsFieldsWithoutSpace) {
  const auto events = parse_all("event: update\nid: 7\ndata:first\ndata: second\ndata\n\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].event, "update");
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[0].data, "first\nsecond\n");
}

TEST(SseParser, IgnoresCommentsUnknownFieldsAndEventsWithoutData) {
  const auto events = parse_all(": ping\n\nevent: nothing\n\nfoo: bar\ndata:  two spaces\n\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].event, "message");
  EXPECT_EQ(events[0].data, " two spaces");  // only one leading space is removed
}

TEST(SseParser, AnEventWithoutTheClosingBlankLineIsNotDispatched) { EXPECT_TRUE(parse_all("data: pending\n").empty()); }

TEST(SseParser, SkipsLeadingByteOrderMarkEvenWhenSplit) {
  SseParser parser;
  std::vector<SseEvent> events;
  parser.feed("\xEF", events);
  parser.feed(
      "\xBB\xBF"
      "data: x\n\n",
      events);
  EXPECT_EQ(datas(events), std::vector<std::string>{"x"});
  // A first byte that only looks like a BOM start stays content.
  EXPECT_EQ(datas(parse_all("\xEF"
                            "data\n\n")),
            std::vector<std::string>{});
}

TEST(SseParser, RetryFieldTakesDigitsOnly) {
  SseParser parser;
  std::vector<SseEvent> events;
  parser.feed("retry: 1500\n\nretry: 12x\n\n", events);
  EXPECT_EQ(parser.retry_ms(), 1500);
}

TEST(SseParser, SameEventsForEverySplitPosition) {
  const auto whole = parse_all(kStream);
  ASSERT_EQ(whole.size(), 6U);  // comment-only blocks dispatch nothing
  for (std::size_t split = 0; split <= kStream.size(); ++split) {
    SseParser parser;
    std::vector<SseEvent> events;
    parser.feed(std::string_view(kStream).substr(0, split), events);
    parser.feed(std::string_view(kStream).substr(split), events);
    ASSERT_EQ(datas(events), datas(whole)) << "split at " << split;
  }
  for (std::size_t a = 0; a <= kStream.size(); a += 7) {
    for (std::size_t b = a; b <= kStream.size(); b += 5) {
      SseParser parser;
      std::vector<SseEvent> events;
      parser.feed(std::string_view(kStream).substr(0, a), events);
      parser.feed(std::string_view(kStream).substr(a, b - a), events);
      parser.feed(std::string_view(kStream).substr(b), events);
      ASSERT_EQ(datas(events), datas(whole)) << "splits at " << a << "," << b;
    }
  }
}

TEST(SseParser, ByteByByteGivesSameEvents) {
  SseParser parser;
  std::vector<SseEvent> events;
  for (const char c : kStream) parser.feed(std::string_view(&c, 1), events);
  EXPECT_EQ(datas(events), datas(parse_all(kStream)));
}

TEST(SseParser, CrLfSplitAcrossFeedsIsOneLineEnd) {
  SseParser parser;
  std::vector<SseEvent> events;
  parser.feed("data: a\r", events);
  parser.feed("\n\r", events);
  parser.feed("\ndata: b\r\n\r\n", events);
  EXPECT_EQ(datas(events), (std::vector<std::string>{"a", "b"}));
}

TEST(SseParser, OverlongLineOverflows) {
  SseParser parser(64);
  std::vector<SseEvent> events;
  parser.feed("data: " + std::string(100, 'x'), events);
  EXPECT_TRUE(parser.overflowed());
  parser.feed("\n\n", events);
  EXPECT_TRUE(events.empty());
}

TEST(ChatChunk, DecodesContentFinishReasonAndUsage) {
  const auto events = parse_all(kStream);
  std::string text;
  std::string finish;
  int prompt = 0;
  int completion = 0;
  for (const auto& event : events) {
    if (is_done_marker(event.data)) break;
    const auto chunk = parse_chat_chunk(event.data);
    ASSERT_TRUE(chunk) << chunk.status().to_string();
    text += chunk->content;
    if (!chunk->finish_reason.empty()) finish = chunk->finish_reason;
    if (chunk->has_usage) {
      prompt = chunk->prompt_tokens;
      completion = chunk->completion_tokens;
    }
  }
  EXPECT_EQ(text, "Hello \xC3\xA9");
  EXPECT_EQ(finish, "stop");
  EXPECT_EQ(prompt, 12);
  EXPECT_EQ(completion, 3);
}

TEST(ChatChunk, RejectsMalformedChunks) {
  for (const char* bad : {"{not json", "[1,2]", "\"text\"", "{}", "{\"choices\":{}}", "{\"choices\":[1]}",
                          "{\"choices\":[{\"delta\":[]}]}", "{\"choices\":[{\"delta\":{\"content\":5}}]}"}) {
    const auto chunk = parse_chat_chunk(bad);
    ASSERT_FALSE(chunk) << bad;
    EXPECT_EQ(chunk.status().code(), "llm_bad_response") << bad;
  }
}

TEST(ChatChunk, ErrorObjectMidStreamIsUnavailable) {
  const auto chunk = parse_chat_chunk(R"({"error":{"message":"overloaded","type":"server_error"}})");
  ASSERT_FALSE(chunk);
  EXPECT_EQ(chunk.status().code(), "llm_unavailable");
  EXPECT_EQ(chunk.status().message(), "overloaded");
}

TEST(ChatChunk, NullContentIsEmptyDelta) {
  const auto chunk = parse_chat_chunk(R"({"choices":[{"delta":{"content":null},"finish_reason":"length"}]})");
  ASSERT_TRUE(chunk);
  EXPECT_EQ(chunk->content, "");
  EXPECT_EQ(chunk->finish_reason, "length");
}

TEST(ChatChunk, DoneMarker) {
  EXPECT_TRUE(is_done_marker("[DONE]"));
  EXPECT_TRUE(is_done_marker("[DONE] "));
  EXPECT_FALSE(is_done_marker("[done]"));
  EXPECT_FALSE(is_done_marker("{\"choices\":[]}"));
}

}  // namespace
}  // namespace vontres::ai::llm
