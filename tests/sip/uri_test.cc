// parse_uri / parse_name_addr / parse_via / parse_cseq (RFC 3261 19.1, 20, 25.1) and their wire forms.
#include <gtest/gtest.h>

#include "telephony/sip/message.h"

namespace vontres::telephony::sip {
namespace {

TEST(ParseUri, SplitsEveryComponent) {
  auto uri = parse_uri("sips:Alice:secret@Example.COM:5061;transport=TCP;lr?subject=project%20x&priority=urgent");
  ASSERT_TRUE(uri) << uri.status().message();
  EXPECT_EQ(uri->scheme, "sips");
  EXPECT_EQ(uri->user, "Alice");
  EXPECT_EQ(uri->password, "secret");
  EXPECT_EQ(uri->host, "example.com");
  EXPECT_EQ(uri->port, 5061);
  EXPECT_EQ(uri->param("transport"), "TCP");
  EXPECT_EQ(uri->param("lr"), "");
  EXPECT_FALSE(uri->param("maddr"));
  ASSERT_EQ(uri->headers.size(), 2U);
  EXPECT_EQ(uri->headers[0].second, "project x");
}

TEST(ParseUri, KeepsIpv6BracketsAndPort) {
  auto uri = parse_uri("sip:[2001:DB8::10]:5070");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->host, "[2001:db8::10]");
  EXPECT_EQ(uri->port, 5070);
  EXPECT_FALSE(parse_uri("sip:2001:db8::10"));        // RFC 5118 4.2: needs brackets
  EXPECT_FALSE(parse_uri("sip:[2001:db8::10"));       // unterminated
  EXPECT_TRUE(parse_uri("sip:[2001:db8::10:5070]"));  // RFC 5118 4.3: parses, port is not what was meant
}

TEST(ParseUri, DecodesEscapesAndRejectsBadOnes) {
  EXPECT_EQ(parse_uri("sip:%75se%72@example.com")->user, "user");
  EXPECT_EQ(parse_uri("sip:null-%00-null@example.com")->user, std::string("null-\0-null", 11));
  EXPECT_FALSE(parse_uri("sip:%zz@example.com"));
  EXPECT_FALSE(parse_uri("sip:a%2@example.com"));
}

TEST(ParseUri, RejectsMalformed) {
  EXPECT_FALSE(parse_uri(""));
  EXPECT_FALSE(parse_uri("sip:"));
  EXPECT_FALSE(parse_uri("sip:user@"));
  EXPECT_FALSE(parse_uri("sip:a@b.example:99999"));
  EXPECT_FALSE(parse_uri("sip:a@b.example; lr"));
  EXPECT_FALSE(parse_uri("sip:a@b.example;;lr"));
  EXPECT_FALSE(parse_uri("sip:a b@example.com"));
  EXPECT_FALSE(parse_uri("1sip:a@b"));
  EXPECT_FALSE(parse_uri("noscheme"));
}

TEST(ParseUri, AcceptsTelAndOtherSchemesOpaquely) {
  auto tel = parse_uri("tel:+1-201-555-0123;phone-context=example.com");
  ASSERT_TRUE(tel);
  EXPECT_EQ(tel->user, "+1-201-555-0123");
  auto other = parse_uri("soap.beep://192.0.2.103:3002");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->scheme, "soap.beep");
  EXPECT_EQ(other->opaque, "//192.0.2.103:3002");
  EXPECT_EQ(other->to_string(), "soap.beep://192.0.2.103:3002");
}

TEST(ParseUri, ToStringRoundTrips) {
  for (const char* text : {"sip:alice@example.com", "sips:a:b@[2001:db8::1]:5061;transport=tls;lr",
                           "sip:example.com;maddr=239.255.255.1?Route=%3Csip:x%3E", "tel:+15551234",
                           "sip:I%20have%20spaces@example.net"}) {
    auto uri = parse_uri(text);
    ASSERT_TRUE(uri) << text;
    auto again = parse_uri(uri->to_string());
    ASSERT_TRUE(again) << uri->to_string();
    EXPECT_EQ(again->to_string(), uri->to_string());
    EXPECT_EQ(again->user, uri->user);
    EXPECT_EQ(again->host, uri->host);
  }
}

TEST(ParseNameAddr, HandlesDisplayNameForms) {
  auto quoted = parse_name_addr("\"Doe, \\\"J\\\"\" <sip:j@example.com>;tag=abc;expires=60");
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->display_name, "Doe, \"J\"");
  EXPECT_EQ(quoted->param("tag"), "abc");
  EXPECT_EQ(quoted->param("EXPIRES"), "60");
  auto tokens = parse_name_addr("John   Q  Public<sip:j@example.com>");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->display_name, "John Q Public");
  auto bare = parse_name_addr("sip:j@example.com;tag=1");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->param("tag"), "1");
  EXPECT_TRUE(bare->uri.params.empty());
  EXPECT_TRUE(parse_name_addr(" * ")->wildcard);
}

TEST(ParseNameAddr, RejectsMalformed) {
  EXPECT_FALSE(parse_name_addr("\"unterminated <sip:a@b.example>"));
  EXPECT_FALSE(parse_name_addr("Bell, Alexander <sip:a@b.example>"));
  EXPECT_FALSE(parse_name_addr("< sip:a@b.example >"));
  EXPECT_FALSE(parse_name_addr("<sip:a@b.example"));
  EXPECT_FALSE(parse_name_addr("sip:a@b.example?Route=x"));
  EXPECT_FALSE(parse_name_addr("<sip:a@b.example>;;"));
  EXPECT_FALSE(parse_name_addr("<sip:a@b.example>;tag="));
}

TEST(ParseNameAddr, ToStringRoundTrips) {
  auto a = parse_name_addr("\"A \\\\ B\" <sip:a@b.example;lr>;tag=x;q=0.5;flag;note=\"two words\"");
  ASSERT_TRUE(a);
  auto b = parse_name_addr(a->to_string());
  ASSERT_TRUE(b) << a->to_string();
  EXPECT_EQ(b->to_string(), a->to_string());
  EXPECT_EQ(b->display_name, "A \\ B");
  EXPECT_EQ(b->param("note"), "two words");
  EXPECT_EQ(b->param("flag"), "");
}

TEST(ParseVia, ParsesSentProtocolSentByAndParams) {
  auto via = parse_via("SIP / 2.0 / udp  host.example.com : 5060 ;branch=z9hG4bK74bf9 ;received=192.0.2.1;rport");
  ASSERT_TRUE(via) << via.status().message();
  EXPECT_EQ(via->protocol, "SIP/2.0");
  EXPECT_EQ(via->transport, "UDP");
  EXPECT_EQ(via->host, "host.example.com");
  EXPECT_EQ(via->port, 5060);
  EXPECT_EQ(via->branch(), "z9hG4bK74bf9");
  EXPECT_EQ(via->param("rport"), "");
  EXPECT_EQ(via->to_string(), "SIP/2.0/UDP host.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.1;rport");
}

TEST(ParseVia, AcceptsIpv6SentByAndReceived) {
  auto bracketed = parse_via("SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111");
  ASSERT_TRUE(bracketed);
  EXPECT_EQ(bracketed->host, "[2001:db8::9:1]");
  EXPECT_EQ(bracketed->param("received"), "[2001:db8::9:255]");
  auto bare = parse_via("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->param("received"), "2001:db8::9:255");
}

TEST(ParseVia, RejectsMalformed) {
  EXPECT_FALSE(parse_via("SIP/2.0 host.example.com"));
  EXPECT_FALSE(parse_via("HTTP/1.1/TCP host.example.com"));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP"));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP 192.0.2.15;;"));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP host:70000"));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP [2001:db8::1;branch=z9hG4bK1"));
}

TEST(ParseCSeq, ParsesNumberAndMethod) {
  auto cseq = parse_cseq("0009 \t INVITE");
  ASSERT_TRUE(cseq);
  EXPECT_EQ(cseq->sequence, 9U);
  EXPECT_EQ(cseq->method, "INVITE");
  EXPECT_EQ(parse_cseq("4294967295 ACK")->sequence, 4294967295U);
  EXPECT_FALSE(parse_cseq("4294967296 ACK"));
  EXPECT_FALSE(parse_cseq("-1 ACK"));
  EXPECT_FALSE(parse_cseq("1"));
  EXPECT_FALSE(parse_cseq("1INVITE"));
  EXPECT_FALSE(parse_cseq("1 IN VITE"));
}

}  // namespace
}  // namespace vontres::telephony::sip
