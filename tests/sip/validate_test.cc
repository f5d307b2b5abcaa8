// check_request (RFC 3261 8.2, 16.3) and make_response (8.2.6).
#include "telephony/sip/validate.h"

#include <gtest/gtest.h>

#include <string>

#include "telephony/sip/response.h"

namespace vontres::telephony::sip {
namespace {

Message request(std::string method = "INVITE", std::string cseq_method = "") {
  Message m = Message::request(method, "sip:bob@example.com");
  m.add_header("Via", "SIP/2.0/UDP pc33.example.org;branch=z9hG4bK776asdhds");
  m.add_header("Via", "SIP/2.0/UDP proxy.example.org;branch=z9hG4bK1");
  m.add_header("Max-Forwards", "70");
  m.add_header("To", "Bob <sip:bob@example.com>");
  m.add_header("From", "Alice <sip:alice@example.org>;tag=1928301774");
  m.add_header("Call-ID", "a84b4c76e66710@pc33.example.org");
  m.add_header("CSeq", "314159 " + (cseq_method.empty() ? method : cseq_method));
  return m;
}

int status(const Message& m, const RequestChecks& checks = {}) {
  auto error = check_request(m, checks);
  return error ? error->response_status : 0;
}

TEST(CheckRequest, AcceptsAWellFormedRequest) { EXPECT_EQ(status(request()), 0); }

TEST(CheckRequest, RequiresMandatoryHeadersExactlyOnce) {
  for (const char* name : {"To", "From", "CSeq", "Call-ID", "Via"}) {
    Message m = request();
    m.remove_header(name);
    EXPECT_EQ(status(m), 400) << name;
  }
  for (const char* name : {"To", "From", "Call-ID", "Max-Forwards"}) {
    Message m = request();
    m.add_header(name, std::string(*request().header(name)));
    EXPECT_EQ(status(m), 400) << name;
  }
}

TEST(CheckRequest, ToleratesMissingMaxForwardsUnlessRequired) {
  Message m = request();
  m.remove_header("Max-Forwards");
  EXPECT_EQ(status(m), 0);
  RequestChecks strict;
  strict.require_max_forwards = true;
  EXPECT_EQ(status(m, strict), 400);
}

TEST(CheckRequest, CSeqMethodMustMatch) { EXPECT_EQ(status(request("BYE", "INVITE")), 400); }

TEST(CheckRequest, UnknownMethodIs501WithAllowAndDisallowedIs405) {
  auto error = check_request(request("PUBLISH"), {});
  ASSERT_TRUE(error);
  EXPECT_EQ(error->response_status, 501);
  EXPECT_EQ(error->response_headers.at(0).name, "Allow");
  EXPECT_EQ(status(request("invite")), 501);  // methods are case-sensitive
  RequestChecks register_only;
  register_only.allowed_methods = {"REGISTER", "OPTIONS"};
  error = check_request(request("INVITE"), register_only);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->response_status, 405);
  EXPECT_EQ(error->response_headers.at(0).value, "REGISTER, OPTIONS");
  RequestChecks proxy;
  proxy.role = Role::kProxy;
  EXPECT_EQ(status(request("PUBLISH"), proxy), 0);  // a proxy forwards unknown methods
}

TEST(CheckRequest, UnsupportedUriSchemeIs416) {
  Message m = request();
  m.set_request_uri("mailto:bob@example.com");
  EXPECT_EQ(status(m), 416);
  m.set_request_uri("tel:+15551234");
  EXPECT_EQ(status(m), 0);
}

TEST(CheckRequest, MaxForwardsZeroIs483ExceptForOptions) {
  Message invite = request();
  invite.set_header("Max-Forwards", "0");
  EXPECT_EQ(status(invite), 483);
  Message options = request("OPTIONS");
  options.set_header("Max-Forwards", "0");
  EXPECT_EQ(status(options), 0);
  RequestChecks lenient;
  lenient.reject_zero_max_forwards = false;
  EXPECT_EQ(status(invite, lenient), 0);
}

TEST(CheckRequest, UnsupportedRequireIs420ListingTheTags) {
  Message m = request();
  m.add_header("Require", "100rel");
  m.add_header("Require", "foo");
  RequestChecks checks;
  checks.supported_extensions = {"100rel"};
  auto error = check_request(m, checks);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->response_status, 420);
  EXPECT_EQ(error->response_headers.at(0).name, "Unsupported");
  EXPECT_EQ(error->response_headers.at(0).value, "foo");
  Message cancel = request("CANCEL");
  cancel.add_header("Require", "foo");
  EXPECT_EQ(status(cancel), 0);  // RFC 3261 8.2.2.3: not for CANCEL
}

TEST(CheckRequest, UnknownBodyTypeOrEncodingIs415WithAccept) {
  Message m = request();
  m.set_body("<x/>", "application/xml");
  auto error = check_request(m, {});
  ASSERT_TRUE(error);
  EXPECT_EQ(error->response_status, 415);
  EXPECT_EQ(error->response_headers.at(0).name, "Accept");
  EXPECT_EQ(error->response_headers.at(0).value, "application/sdp");
  m.set_body("v=0\r\n", "Application/SDP ; charset=utf-8");
  EXPECT_EQ(status(m), 0);
  m.add_header("Content-Encoding", "gzip");
  EXPECT_EQ(status(m), 415);
  Message untyped = request();
  untyped.set_body("v=0\r\n");
  EXPECT_EQ(status(untyped), 400);
}

TEST(CheckRequest, ResponsesAndAcksAlwaysPass) {
  EXPECT_EQ(status(Message::response(200)), 0);
  Message ack = request("ACK", "INVITE");
  EXPECT_EQ(status(ack), 0);
}

TEST(MakeResponse, CopiesTheRfc3261HeadersAndAddsAStableToTag) {
  Message req = request();
  Message res = make_response(req, 486);
  EXPECT_EQ(res.status(), 486);
  EXPECT_EQ(res.reason(), "Busy Here");
  EXPECT_EQ(res.headers_named("Via"), req.headers_named("Via"));
  EXPECT_EQ(res.header("From"), req.header("From"));
  EXPECT_EQ(res.header("Call-ID"), req.header("Call-ID"));
  EXPECT_EQ(res.header("CSeq"), req.header("CSeq"));
  auto to = parse_name_addr(*res.header("To"));
  ASSERT_TRUE(to);
  ASSERT_TRUE(to->param("tag"));
  EXPECT_FALSE(to->param("tag")->empty());
  EXPECT_EQ(make_response(req, 486).header("To"), res.header("To"));  // retransmission, same tag
  EXPECT_FALSE(res.has_header("Max-Forwards"));
  auto reparsed = parse_message(res.serialize());
  ASSERT_TRUE(reparsed) << reparsed.error->detail;
}

TEST(MakeResponse, KeepsAnExistingToTagAndAddsNoneTo100) {
  Message req = request();
  req.set_header("To", "<sip:bob@example.com>;tag=xyz");
  EXPECT_EQ(make_response(req, 200, "OK", "other").header("To"), "<sip:bob@example.com>;tag=xyz");
  Message trying = make_response(request(), 100);
  EXPECT_EQ(trying.header("To"), "Bob <sip:bob@example.com>");
}

TEST(MakeErrorResponse, CarriesTheRejectionHeaders) {
  Message m = request();
  m.add_header("Require", "foo");
  auto error = check_request(m, {});
  ASSERT_TRUE(error);
  Message res = make_error_response(m, *error);
  EXPECT_EQ(res.status(), 420);
  EXPECT_EQ(res.header("Unsupported"), "foo");
}

}  // namespace
}  // namespace vontres::telephony::sip
