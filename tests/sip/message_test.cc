// Parser, serializer and Message API tests (RFC 3261 section 7).
#include "telephony/sip/message.h"

#include <gtest/gtest.h>

#include <string>

namespace vontres::telephony::sip {
namespace {

std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

const char* const kInvite =
    "INVITE sip:bob@example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP pc33.example.org;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "To: Bob <sip:bob@example.com>\n"
    "From: Alice <sip:alice@example.org>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.example.org\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@pc33.example.org>\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 5\n"
    "\n"
    "v=0\n";

ParseResult parse(std::string_view text) { return parse_message(crlf(text)); }

int status_of(std::string_view text) {
  auto r = parse(text);
  return r ? -1 : r.error->response_status;
}

TEST(ParseMessage, ParsesRequestLineHeadersAndBody) {
  auto r = parse(kInvite);
  ASSERT_TRUE(r) << r.error->detail;
  const Message& m = *r.message;
  EXPECT_TRUE(m.is_request());
  EXPECT_EQ(m.method(), "INVITE");
  EXPECT_EQ(m.request_uri(), "sip:bob@example.com");
  EXPECT_EQ(m.header("call-id"), "a84b4c76e66710@pc33.example.org");
  EXPECT_EQ(m.header("i"), "a84b4c76e66710@pc33.example.org");
  EXPECT_EQ(m.body(), "v=0\r\n");
}

TEST(ParseMessage, ParsesStatusLineWithUtf8AndEmptyReason) {
  auto ok = parse("SIP/2.0 486 Busy Here \xc3\xa9\nContent-Length: 0\n\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok.message->status(), 486);
  EXPECT_EQ(ok.message->reason(), "Busy Here \xc3\xa9");
  auto empty = parse("SIP/2.0 100 \nContent-Length: 0\n\n");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty.message->reason(), "");
}

TEST(ParseMessage, CompactFormsMapToLongNames) {
  auto r = parse(
      "OPTIONS sip:a@b.example SIP/2.0\nv: SIP/2.0/UDP h.example;branch=z9hG4bK1\nt: <sip:a@b.example>\n"
      "f: <sip:c@d.example>;tag=1\ni: x@y\nm: <sip:c@h.example>\nc: text/plain\ne: gzip\nk: timer\n"
      "s: hi\nl: 0\no: presence\nu: dialog\nr: <sip:x@y.example>\nb: <sip:z@y.example>\nx: 1800\n"
      "CSeq: 1 OPTIONS\n\n");
  ASSERT_TRUE(r) << r.error->detail;
  std::vector<std::string> names;
  for (const auto& h : r.message->headers()) names.push_back(h.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Via", "To", "From", "Call-ID", "Contact", "Content-Type",
                                             "Content-Encoding", "Supported", "Subject", "Content-Length", "Event",
                                             "Allow-Events", "Refer-To", "Referred-By", "Session-Expires", "CSeq"}));
}

TEST(ParseMessage, HeaderNamesAreCaseInsensitive) {
  auto r = parse("OPTIONS sip:a@b.example SIP/2.0\nVIA: SIP/2.0/UDP h;branch=z9hG4bK1\ncAlL-iD: x\nl: 0\n\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.message->headers()[0].name, "Via");
  EXPECT_EQ(r.message->headers()[1].name, "Call-ID");
  EXPECT_TRUE(r.message->has_header("CALL-ID"));
}

TEST(ParseMessage, FoldedLinesCollapseToOneSpace) {
  auto r = parse("OPTIONS sip:a@b.example SIP/2.0\nSubject: one  \n   two\n\tthree\nl: 0\n\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.message->header("Subject"), "one two three");
}

TEST(ParseMessage, SplitsListHeadersRespectingQuotesAndBrackets) {
  auto r = parse(
      "OPTIONS sip:a@b.example SIP/2.0\n"
      "Contact: \"Doe, John\" <sip:j,k@h.example;x=1>, <sip:k@h.example>;q=0.5\n"
      "Route: <sip:p1.example;lr>,<sip:p2.example;lr>\n"
      "Via: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK2\n"
      "l: 0\n\n");
  ASSERT_TRUE(r) << r.error->detail;
  auto contacts = r.message->headers_named("m");
  ASSERT_EQ(contacts.size(), 2U);
  EXPECT_EQ(contacts[0], "\"Doe, John\" <sip:j,k@h.example;x=1>");
  EXPECT_EQ(contacts[1], "<sip:k@h.example>;q=0.5");
  EXPECT_EQ(r.message->headers_named("Route").size(), 2U);
  auto vias = r.message->headers_named("Via");
  ASSERT_EQ(vias.size(), 2U);
  EXPECT_EQ(parse_via(vias[1])->host, "[2001:db8::1]");
  EXPECT_EQ(parse_via(vias[1])->port, 5061);
}

TEST(ParseMessage, DoesNotSplitAuthorizationDateOrUnknownHeaders) {
  auto r = parse(
      "REGISTER sip:b.example SIP/2.0\n"
      "Authorization: Digest username=\"a\", realm=\"b\", nonce=\"c\", uri=\"sip:b.example\", response=\"d\"\n"
      "WWW-Authenticate: Digest realm=\"b\", nonce=\"c\"\n"
      "Date: Sat, 13 Nov 2010 23:29:00 GMT\n"
      "X-Custom: a, b, c\n"
      "l: 0\n\n");
  ASSERT_TRUE(r) << r.error->detail;
  EXPECT_EQ(r.message->headers_named("Authorization").size(), 1U);
  EXPECT_EQ(r.message->headers_named("WWW-Authenticate").size(), 1U);
  EXPECT_EQ(r.message->header("Date"), "Sat, 13 Nov 2010 23:29:00 GMT");
  EXPECT_EQ(r.message->header("X-Custom"), "a, b, c");
}

TEST(ParseMessage, BodyFollowsContentLengthAndIgnoresExtraDatagramBytes) {
  auto r = parse("MESSAGE sip:a@b.example SIP/2.0\nContent-Type: text/plain\nContent-Length: 5\n\nhello world");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.message->body(), "hello");
}

TEST(ParseMessage, BodyWithoutContentLengthTakesTheRestOfTheDatagram) {
  auto r = parse("MESSAGE sip:a@b.example SIP/2.0\nContent-Type: text/plain\n\nhello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r.message->body(), "hello");
}

TEST(ParseMessage, IgnoresLeadingCrlf) { EXPECT_TRUE(parse("\n\nOPTIONS sip:a@b.example SIP/2.0\nl: 0\n\n")); }

TEST(ParseMessage, RejectsWithTheResponseToSend) {
  EXPECT_EQ(status_of("INVITE sip:a@b.example SIP/2.0\nContent-Length: 10\n\nshort"), 400);
  EXPECT_EQ(status_of("INVITE sip:a@b.example SIP/3.0\nl: 0\n\n"), 505);
  EXPECT_EQ(status_of("INVITE sip:a@b.example HTTP/1.1\nl: 0\n\n"), 400);
  EXPECT_EQ(status_of("INVITE sip:a@b.example?Subject=x SIP/2.0\nl: 0\n\n"), 400);
  EXPECT_EQ(status_of("INVITE " + std::string("sip:") + std::string(5000, 'a') + "@b SIP/2.0\nl: 0\n\n"), 414);
  EXPECT_EQ(status_of("INVITE sip:a@b.example SIP/2.0\nNo colon here\nl: 0\n\n"), 400);
  EXPECT_EQ(status_of("INVITE sip:a@b.example SIP/2.0\nl: 0\nl: 0\n\n"), 400);
  EXPECT_EQ(status_of("INVITE sip:a@b.example SIP/2.0\nMax-Forwards: 256\nl: 0\n\n"), 400);
  EXPECT_EQ(status_of("INVITE sip:a@b.example SIP/2.0\nCSeq: 4294967296 INVITE\nl: 0\n\n"), 400);
  EXPECT_EQ(status_of("INVITE sip:a@b.example SIP/2.0\nl: 0\n"), 400);  // no empty line
  EXPECT_EQ(status_of("SIP/2.0 700 Nope\nl: 0\n\n"), 0);                // responses are dropped
  EXPECT_EQ(status_of("SIP/2.0 20 OK\nl: 0\n\n"), 0);
}

TEST(ParseMessage, EnforcesHardLimits) {
  std::string big =
      "MESSAGE sip:a@b.example SIP/2.0\r\nContent-Type: text/plain\r\n\r\n" + std::string(kMaxMessageBytes, 'x');
  auto r = parse_message(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error->response_status, 413);
  std::string many = "OPTIONS sip:a@b.example SIP/2.0\r\n";
  for (size_t i = 0; i <= kMaxHeaderFields; ++i) many += "X-H: 1\r\n";
  many += "\r\n";
  EXPECT_EQ(parse_message(many).error->response_status, 400);
  std::string longline =
      "OPTIONS sip:a@b.example SIP/2.0\r\nX-Long: " + std::string(kMaxHeaderLineBytes + 1, 'y') + "\r\n\r\n";
  EXPECT_EQ(parse_message(longline).error->response_status, 400);
}

TEST(ParseMessage, NeverReadsPastTheInput) {
  std::string text = crlf(kInvite);
  for (size_t n = 0; n < text.size(); ++n) {
    std::string prefix = text.substr(0, n);  // own allocation: ASan catches an overread
    (void)parse_message(prefix);
  }
}

TEST(Serialize, WritesLongNamesOneValuePerLineAndMatchingContentLength) {
  auto r = parse(
      "OPTIONS sip:a@b.example SIP/2.0\nv: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP "
      "b.example;branch=z9hG4bK2\n"
      "l: 99\n\n");
  ASSERT_FALSE(r);  // Content-Length larger than the body
  Message m = Message::request("OPTIONS", "sip:a@b.example");
  m.add_header("v", "SIP/2.0/UDP a.example;branch=z9hG4bK1");
  m.add_header("Via", "SIP/2.0/UDP b.example;branch=z9hG4bK2");
  m.add_header("Content-Length", "99");
  m.set_body("hi", "text/plain");
  EXPECT_EQ(m.serialize(),
            "OPTIONS sip:a@b.example SIP/2.0\r\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\n"
            "Via: SIP/2.0/UDP b.example;branch=z9hG4bK2\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
}

TEST(Serialize, RoundTripsThroughTheParser) {
  auto r = parse(kInvite);
  ASSERT_TRUE(r);
  auto again = parse_message(r.message->serialize());
  ASSERT_TRUE(again);
  EXPECT_EQ(again.message->serialize(), r.message->serialize());
}

TEST(MessageApi, EditsHeaders) {
  Message m = Message::response(180);
  EXPECT_EQ(m.reason(), "Ringing");
  m.add_header("Via", "SIP/2.0/UDP b.example;branch=z9hG4bK2");
  m.prepend_header("v", "SIP/2.0/UDP a.example;branch=z9hG4bK1");
  EXPECT_EQ(m.headers_named("Via").front(), "SIP/2.0/UDP a.example;branch=z9hG4bK1");
  EXPECT_TRUE(m.remove_first_header("via"));
  EXPECT_EQ(m.headers_named("Via").size(), 1U);
  m.add_header("Via", "SIP/2.0/UDP c.example;branch=z9hG4bK3");
  m.set_header("Via", "SIP/2.0/UDP d.example;branch=z9hG4bK4");
  EXPECT_EQ(m.headers_named("Via"), std::vector<std::string_view>{"SIP/2.0/UDP d.example;branch=z9hG4bK4"});
  EXPECT_EQ(m.remove_header("Via"), 1U);
  EXPECT_FALSE(m.has_header("Via"));
  EXPECT_FALSE(m.remove_first_header("Via"));
}

TEST(CanonicalHeaderName, MapsCompactAndCaseVariants) {
  EXPECT_EQ(canonical_header_name("i"), "Call-ID");
  EXPECT_EQ(canonical_header_name("CALL-id"), "Call-ID");
  EXPECT_EQ(canonical_header_name("cseq"), "CSeq");
  EXPECT_EQ(canonical_header_name("y"), "Identity");
  EXPECT_EQ(canonical_header_name("X-Foo"), "X-Foo");
}

TEST(MessageFramer, SplitsAStreamByContentLength) {
  MessageFramer framer;
  std::string one = crlf(kInvite);
  std::string two = crlf("OPTIONS sip:a@b.example SIP/2.0\nl: 0\n\n");
  std::string stream = "\r\n\r\n" + one + two;
  for (char c : stream) framer.feed(std::string_view(&c, 1));
  EXPECT_EQ(framer.next(), one);
  EXPECT_EQ(framer.next(), two);
  EXPECT_EQ(framer.next(), std::nullopt);
  EXPECT_FALSE(framer.error());
}

TEST(MessageFramer, WaitsForTheWholeBody) {
  MessageFramer framer;
  framer.feed(crlf("MESSAGE sip:a@b.example SIP/2.0\nContent-Length: 5\n\nhel"));
  EXPECT_EQ(framer.next(), std::nullopt);
  framer.feed("lo");
  auto message = framer.next();
  ASSERT_TRUE(message);
  EXPECT_TRUE(message->ends_with("hello"));
}

TEST(MessageFramer, MissingContentLengthIsAStickyError) {
  MessageFramer framer;
  framer.feed(crlf("OPTIONS sip:a@b.example SIP/2.0\nCall-ID: x\n\n"));
  EXPECT_EQ(framer.next(), std::nullopt);
  ASSERT_TRUE(framer.error());
  EXPECT_EQ(framer.error()->response_status, 400);
  framer.feed(crlf("OPTIONS sip:a@b.example SIP/2.0\nl: 0\n\n"));
  EXPECT_EQ(framer.next(), std::nullopt);
}

TEST(MessageFramer, EnforcesHeaderAndBodyLimits) {
  MessageFramer small_headers(64, 1024);
  small_headers.feed(std::string(100, 'a'));
  EXPECT_EQ(small_headers.next(), std::nullopt);
  ASSERT_TRUE(small_headers.error());
  EXPECT_EQ(small_headers.error()->response_status, 413);
  MessageFramer small_body(1024, 10);
  small_body.feed(crlf("MESSAGE sip:a@b.example SIP/2.0\nContent-Length: 11\n\n"));
  EXPECT_EQ(small_body.next(), std::nullopt);
  EXPECT_EQ(small_body.error()->response_status, 413);
}

}  // namespace
}  // namespace vontres::telephony::sip
