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
