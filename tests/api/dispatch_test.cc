#include <gtest/gtest.h>

#include <prometheus/registry.h>

#include "api/dispatch.h"
#include "api/health.h"
#include "api/raw_request.h"

namespace vontres::api {
namespace {

class TokenAuthenticator final : public Authenticator {
 public:
  Result<Principal> authenticate(const Request& request) override {
    auto header = request.header("authorization");
    if (header == "Bearer reader") return Principal{"u1", "org1", {}, {"things.read"}, "jwt", "t1"};
    if (header == "Bearer thrower") throw std::runtime_error("boom");
    return unauthenticated("token expired", "token_expired");
  }
};

nlohmann::json body_of(const Response& response) { return nlohmann::json::parse(response.body); }

class DispatchTest : public ::testing::Test {
 protected:
  DispatchTest() {
    RouteOptions open;
    open.public_route = true;
    router_.add(Method::kGet, "/public", open, [](Request&) { return Response::json(200, {{"ok", true}}); });
    RouteOptions read;
    read.permission = "things.read";
    router_.add(Method::kGet, "/things/{id}", read, [](Request& request) {
      return Response::json(200, {{"id", request.path_params.at("id")}, {"subject", request.principal->subject}});
    });
    RouteOptions write;
    write.permission = "things.write";
    router_.add(Method::kPost, "/things", write, [](Request&) { return Response::no_content(); });
    router_.add(Method::kGet, "/throws", open, [](Request&) -> Response { throw std::runtime_error("bug"); });
    router_.add(Method::kPost, "/echo", open, [](Request& request) {
      auto body = request.json_body();
      if (!body.is_ok()) return Response::error(body.status());
      return Response::json(200, *body);
    });
  }

  Response raw(std::string_view bytes) { return handle_raw_request(dispatcher_, bytes, {1024, 64}); }

  Router router_;
  TokenAuthenticator authenticator_;
  ManualClock clock_;
  Dispatcher dispatcher_{router_, &authenticator_, clock_};
};

TEST_F(DispatchTest, PublicRouteNeedsNoAuthentication) {
  const Response response = raw("GET /public HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(response.status, 200);
}

TEST_F(DispatchTest, AuthenticatedRouteGetsPrincipalAndDecodedParams) {
  const Response response = raw("GET /things/a%20b HTTP/1.1\r\nAuthorization: Bearer reader\r\n\r\n");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(body_of(response)["id"], "a b");
  EXPECT_EQ(body_of(response)["subject"], "u1");
}

TEST_F(DispatchTest, FailedAuthenticationIs401WithTheAuthenticatorsCode) {
  const Response response = raw("GET /things/1 HTTP/1.1\r\nAuthorization: Bearer stale\r\n\r\n");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(body_of(response)["error"]["code"], "token_expired");
}

TEST_F(DispatchTest, ThrowingAuthenticatorIs500NotACrash) {
  EXPECT_EQ(raw("GET /things/1 HTTP/1.1\r\nAuthorization: Bearer thrower\r\n\r\n").status, 500);
}

TEST_F(DispatchTest, WithoutAnAuthenticatorNonPublicRoutesAre401) {
  Dispatcher no_auth(router_, nullptr, clock_);
  const Response response = handle_raw_request(no_auth, "GET /things/1 HTTP/1.1\r\n\r\n", {});
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(body_of(response)["error"]["code"], "unauthenticated");
}

TEST_F(DispatchTest, MissingPermissionIs403) {
  const Response response = raw("POST /things HTTP/1.1\r\nAuthorization: Bearer reader\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(body_of(response)["error"]["code"], "permission_denied");
}

TEST_F(DispatchTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  EXPECT_EQ(body_of(raw("GET /nope HTTP/1.1\r\n\r\n"))["error"]["code"], "route_not_found");
  const Response response = raw("DELETE /public HTTP/1.1\r\n\r\n");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(body_of(response)["error"]["code"], "method_not_allowed");
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0], (std::pair<std::string, std::string>{"Allow", "GET"}));
}

TEST_F(DispatchTest, ThrowingHandlerIs500Internal) {
  const Response response = raw("GET /throws HTTP/1.1\r\n\r\n");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(body_of(response)["error"]["code"], "internal");
}

TEST_F(DispatchTest, BadJsonBodyIs400InvalidJson) {
  const Response response = raw("POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\n{nope");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(body_of(response)["error"]["code"], "invalid_json");
}

TEST_F(DispatchTest, MalformedHttpIs400BadRequest) {
  for (std::string_view garbage :
       {"GARBAGE\r\n\r\n", "GET /public HTTP/1.1\r\nContent-Length: abc\r\n\r\n", "", "GET /public HTTP/1.1\r\n"}) {
    const Response response = raw(garbage);
    EXPECT_EQ(response.status, 400) << ::testing::PrintToString(std::string(garbage));
    EXPECT_EQ(body_of(response)["error"]["code"], "bad_request");
  }
}

TEST_F(DispatchTest, OversizedHeadersAre431AndOversizedBodiesAre413) {
  const std::string big_header = "GET /public HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  EXPECT_EQ(raw(big_header).status, 431);
  EXPECT_EQ(body_of(raw(big_header))["error"]["code"], "headers_too_large");
  const std::string big_body = "POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x');
  EXPECT_EQ(raw(big_body).status, 413);
  EXPECT_EQ(body_of(raw(big_body))["error"]["code"], "payload_too_large");
}

TEST_F(DispatchTest, UnknownMethodIs501) { EXPECT_EQ(raw("BREW /public HTTP/1.1\r\n\r\n").status, 501); }

TEST_F(DispatchTest, WebSocketRouteRejectsPlainHttpAndHttpRouteRejectsUpgrade) {
  RouteOptions open;
  open.public_route = true;
  router_.websocket("/ws", open,
                    [](Request&, std::shared_ptr<WebSocketConnection>) -> Result<std::unique_ptr<WebSocketSession>> {
                      return unimplemented("x");
                    });
  Request plain;
  plain.path = plain.target = "/ws";
  EXPECT_EQ(dispatcher_.admit(plain).rejection->status, 426);
  Request upgrade;
  upgrade.path = upgrade.target = "/public";
  EXPECT_EQ(dispatcher_.admit(upgrade, true).rejection->status, 400);
}

TEST_F(DispatchTest, TraceIdComesFromAValidTraceparentElseIsGenerated) {
  Request request;
  request.headers = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  dispatcher_.assign_trace_id(request);
  EXPECT_EQ(request.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(request_id_for(request), request.trace_id);

  Request invalid;
  invalid.headers = {{"traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}};
  dispatcher_.assign_trace_id(invalid);
  EXPECT_EQ(invalid.trace_id.size(), 32u);
  EXPECT_NE(invalid.trace_id, "00000000000000000000000000000000");

  invalid.headers.emplace_back("x-request-id", "client-42");
  EXPECT_EQ(request_id_for(invalid), "client-42");
}

// A route with a body schema: the Dispatcher answers 400 before the handler runs.
class BodySchemaDispatchTest : public DispatchTest {
 protected:
  BodySchemaDispatchTest() {
    RouteOptions typed;
    typed.public_route = true;
    typed.body_schema = {{"type", "object"},
                         {"properties",
                          {{"description", {{"type", "string"}, {"maxLength", 10}}},
                           {"priority", {{"type", "integer"}, {"minimum", 0}, {"maximum", 1000}}}}},
                         {"required", {"description"}},
                         {"additionalProperties", false}};
    router_.add(Method::kPut, "/typed", typed, [this](Request& request) {
      ++handled_;
      return Response::json(200, *request.json_body());
    });
    RouteOptions text;
    text.public_route = true;
    text.body_media_type = "text/markdown";
    text.body_schema = {{"type", "string"}, {"maxLength", 10}};
    router_.add(Method::kPut, "/text", text, [this](Request&) {
      ++handled_;
      return Response::no_content();
    });
    RouteOptions ignored;
    ignored.public_route = true;
    ignored.body_ignored = true;
    router_.add(Method::kPost, "/action", ignored, [this](Request&) {
      ++handled_;
      return Response::no_content();
    });
  }
  Response put(const std::string& path, const std::string& body, const std::string& content_type = "application/json") {
    Request request;
    request.method = path == "/action" ? Method::kPost : Method::kPut;
    request.path = request.target = path;
    if (!content_type.empty()) request.headers.emplace_back("content-type", content_type);
    request.body = body;
    return dispatcher_.handle(request);
  }
  int handled_ = 0;
};

TEST_F(BodySchemaDispatchTest, AMatchingBodyReachesTheHandler) {
  EXPECT_EQ(put("/typed", R"({"description":"ok","priority":3})").status, 200);
  EXPECT_EQ(put("/typed", R"({"description":"ok"})", "application/merge-patch+json").status, 200);
  EXPECT_EQ(put("/typed", R"({"description":"ok"})", "").status, 200);  // no Content-Type: JSON assumed
  EXPECT_EQ(handled_, 3);
}

TEST_F(BodySchemaDispatchTest, ViolationsAre400NamingTheFieldAndTheHandlerNeverRuns) {
  struct Case {
    std::string body;
    std::string content_type;
    std::string code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"description":7})", "application/json", "invalid_field", "description"},
      {R"({"description":"01234567890"})", "application/json", "invalid_field", "description"},
      {R"({"description":"x","priority":2147483648})", "application/json", "invalid_field", "priority"},
      {R"({"description":"x","priority":-1})", "application/json", "invalid_field", "priority"},
      {R"({"description":"x","colour":"red"})", "application/json", "invalid_field", "colour"},
      {R"({})", "application/json", "invalid_field", "description"},
      {R"([1,2])", "application/json", "invalid_body", ""},
      {R"("text")", "application/json", "invalid_body", ""},
      {R"({nope)", "application/json", "invalid_json", ""},
      {"", "application/json", "invalid_json", ""},
      {R"({"description":"x"})", "text/plain", "invalid_content_type", ""},
      {"description=x", "application/x-www-form-urlencoded", "invalid_content_type", ""},
  };
  for (const auto& c : cases) {
    const Response response = put("/typed", c.body, c.content_type);
    EXPECT_EQ(response.status, 400) << c.body;
    const auto error = body_of(response)["error"];
    EXPECT_EQ(error["code"], c.code) << c.body << " -> " << response.body;
    if (c.field.empty()) {
      EXPECT_FALSE(error.contains("field")) << response.body;
    } else {
      EXPECT_EQ(error["field"], c.field) << response.body;
      EXPECT_EQ(error["message"].get<std::string>().rfind(c.field + ": ", 0), 0u) << response.body;
    }
  }
  EXPECT_EQ(handled_, 0);
}

TEST_F(BodySchemaDispatchTest, TextBodiesAreCheckedAsOneStringOfTheirMediaType) {
  EXPECT_EQ(put("/text", "# Title", "text/markdown; charset=utf-8").status, 204);
  EXPECT_EQ(put("/text", "# Title", "text/plain").status, 204);
  EXPECT_EQ(put("/text", "# Title", "").status, 204);
  EXPECT_EQ(body_of(put("/text", "# A long title", "text/markdown"))["error"]["code"], "invalid_body");
  EXPECT_EQ(body_of(put("/text", "\"# Title\"", "application/json"))["error"]["code"], "invalid_content_type");
  EXPECT_EQ(handled_, 3);
}

TEST_F(BodySchemaDispatchTest, AnIgnoredBodyIsIgnored) {
  EXPECT_EQ(put("/action", "garbage", "text/plain").status, 204);
  EXPECT_EQ(handled_, 1);
}

TEST_F(BodySchemaDispatchTest, AuthenticationAndPermissionComeBeforeTheBody) {
  RouteOptions guarded;
  guarded.permission = "things.write";
  guarded.body_schema = {{"type", "object"}, {"properties", nlohmann::json::object()}, {"additionalProperties", false}};
  router_.add(Method::kPut, "/guarded", guarded, [](Request&) { return Response::no_content(); });
  EXPECT_EQ(put("/guarded", "{nope").status, 401);
}

TEST(RouterSchemaTest, AnUnboundedSchemaIsAProgrammerErrorAtRegistration) {
  Router router;
  RouteOptions options;
  options.body_schema = {
      {"type", "object"}, {"properties", {{"name", {{"type", "string"}}}}}, {"additionalProperties", false}};
  EXPECT_THROW(router.add(Method::kPut, "/x", options, [](Request&) { return Response::no_content(); }),
               std::invalid_argument);
}

TEST_F(DispatchTest, AHandlerMisreadingJsonTypesIs400NotA500) {
  RouteOptions open;
  open.public_route = true;
  router_.add(Method::kPut, "/misreads", open, [](Request& request) {
    const auto body = nlohmann::json::parse(request.body);
    return Response::json(200, {{"state", body.value("state", std::string())}});  // throws type_error on 7
  });
  router_.add(Method::kPut, "/misreads-range", open, [](Request& request) {
    const auto body = nlohmann::json::parse(request.body);
    return Response::json(200, {{"state", body.at("state")}});  // throws out_of_range when missing
  });
  Request request;
  request.method = Method::kPut;
  request.path = request.target = "/misreads";
  request.body = R"({"state":7})";
  Response response = dispatcher_.handle(request);
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(body_of(response)["error"]["code"], "invalid_body");
  request.path = request.target = "/misreads-range";
  request.body = R"({})";
  response = dispatcher_.handle(request);
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(body_of(response)["error"]["code"], "invalid_body");
}

TEST(HealthRoutesTest, ReadyzListsEachFailingCheckWithItsMessage) {
  Router router;
  ReadinessChecks checks;
  prometheus::Registry registry;
  register_health_routes(router, checks, registry);
  checks.add("store", [] { return Status::ok(); });
  ManualClock clock;
  Dispatcher dispatcher(router, nullptr, clock);
  EXPECT_EQ(handle_raw_request(dispatcher, "GET /readyz HTTP/1.1\r\n\r\n", {}).status, 200);

  checks.add("bus", [] { return unavailable("broker unreachable", "bus_down"); });
  checks.add("cache", []() -> Status { throw std::runtime_error("oops"); });
  const Response response = handle_raw_request(dispatcher, "GET /readyz HTTP/1.1\r\n\r\n", {});
  EXPECT_EQ(response.status, 503);
  const auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], "not_ready");
  ASSERT_EQ(body["checks"].size(), 3u);
  EXPECT_EQ(body["checks"][0]["name"], "bus");
  EXPECT_EQ(body["checks"][0]["message"], "broker unreachable");
  EXPECT_EQ(body["checks"][1]["code"], "check_threw");
  EXPECT_EQ(body["checks"][2]["status"], "ok");
}

}  // namespace
}  // namespace vontres::api
