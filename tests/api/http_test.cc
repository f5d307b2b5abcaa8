#include <gtest/gtest.h>

#include "api/dispatch.h"
#include "api/http.h"
#include "api/url.h"

namespace vontres::api {
namespace {

TEST(HttpStatusTest, MapsEveryErrorKindToItsHttpStatus) {
  EXPECT_EQ(http_status_for(Status::ok()), 200);
  EXPECT_EQ(http_status_for(invalid_argument("x")), 400);
  EXPECT_EQ(http_status_for(unauthenticated("x")), 401);
  EXPECT_EQ(http_status_for(permission_denied("x")), 403);
  EXPECT_EQ(http_status_for(not_found("x")), 404);
  EXPECT_EQ(http_status_for(already_exists("x")), 409);
  EXPECT_EQ(http_status_for(failed_precondition("x")), 409);
  EXPECT_EQ(http_status_for(aborted("x")), 409);
  EXPECT_EQ(http_status_for(resource_exhausted("x")), 429);
  EXPECT_EQ(http_status_for(unimplemented("x")), 501);
  EXPECT_EQ(http_status_for(unavailable("x")), 503);
  EXPECT_EQ(http_status_for(deadline_exceeded("x")), 504);
  EXPECT_EQ(http_status_for(internal_error("x")), 500);
}

TEST(ResponseTest, ErrorFromStatusCarriesItsStableCodeAndMessage) {
  const Response response = Response::error(not_found("no such queue", "queue_not_found"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  const auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], "queue_not_found");
  EXPECT_EQ(body["error"]["message"], "no such queue");
}

TEST(ResponseTest, JsonWithInvalidUtf8IsReplacedNotThrown) {
  const Response response = Response::json(200, {{"name", std::string("bad\xff")}});
  EXPECT_NE(response.body.find("bad"), std::string::npos);
}

TEST(ResponseTest, NoContentHasNoBodyOrContentType) {
  const Response response = Response::no_content();
  EXPECT_EQ(response.status, 204);
  EXPECT_TRUE(response.body.empty());
  EXPECT_TRUE(response.content_type.empty());
}

TEST(RequestTest, HeaderLookupIgnoresCase) {
  Request request;
  request.headers = {{"x-thing", "1"}, {"x-thing", "2"}};
  EXPECT_EQ(request.header("X-Thing"), "1");
  EXPECT_FALSE(request.header("missing").has_value());
}

TEST(RequestTest, JsonBodyRejectsSyntaxErrorsWithInvalidJson) {
  Request request;
  request.body = "{nope";
  const auto parsed = request.json_body();
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_EQ(parsed.status().code(), "invalid_json");
  EXPECT_EQ(http_status_for(parsed.status()), 400);
}

TEST(RequestTest, JsonBodyRejectsANonJsonContentType) {
  Request request;
  request.headers = {{"content-type", "text/plain"}};
  request.body = "{}";
  EXPECT_EQ(request.json_body().status().code(), "invalid_content_type");
}

TEST(RequestTest, JsonBodyAcceptsJsonContentTypesWithParameters) {
  Request request;
  request.headers = {{"content-type", "application/json; charset=utf-8"}};
  request.body = R"({"a":1})";
  ASSERT_TRUE(request.json_body().is_ok());
  EXPECT_EQ(request.json_body().value()["a"], 1);
  request.headers = {{"content-type", "application/merge-patch+json"}};
  EXPECT_TRUE(request.json_body().is_ok());
}

TEST(MethodTest, NamesRoundTripAndUnknownMethodsAreRejected) {
  for (Method method :
       {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch, Method::kDelete, Method::kOptions}) {
    EXPECT_EQ(parse_method(method_name(method)), method);
  }
  EXPECT_FALSE(parse_method("get").has_value());
  EXPECT_FALSE(parse_method("TRACE").has_value());
}

TEST(UrlTest, PercentDecodingKeepsMalformedEscapesLiterally) {
  EXPECT_EQ(percent_decode("a%20b"), "a b");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
}

TEST(UrlTest, QueryParsingDecodesAndLastValueWins) {
  const auto query = parse_query("limit=10&name=J%C3%B6rg+M&flag&limit=20&&=x");
  EXPECT_EQ(query.at("limit"), "20");
  EXPECT_EQ(query.at("name"), "J\xC3\xB6rg M");
  EXPECT_EQ(query.at("flag"), "");
  EXPECT_EQ(query.at(""), "x");
}

TEST(UrlTest, TargetSplitsIntoPathAndQueryDroppingTheFragment) {
  const auto parts = split_target("/a/b?x=1#frag");
  EXPECT_EQ(parts.raw_path, "/a/b");
  EXPECT_EQ(parts.raw_query, "x=1");
  EXPECT_EQ(split_target("/p").raw_query, "");
}

TEST(WebSocketProtocolTest, EchoesTheProtocolNameAndNeverTheToken) {
  EXPECT_EQ(select_websocket_protocol("bearer, eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"), "bearer");
  EXPECT_EQ(select_websocket_protocol("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig, bearer"), "bearer");
  EXPECT_EQ(select_websocket_protocol("vontres.v1"), "vontres.v1");
  EXPECT_FALSE(select_websocket_protocol("ABCDEF-secret").has_value());
  EXPECT_FALSE(select_websocket_protocol("").has_value());
}

}  // namespace
}  // namespace vontres::api
