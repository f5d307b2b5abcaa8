#include <gtest/gtest.h>

#include "api/http.h"

namespace vontres::api {
namespace {

Handler named(std::string name) {
  return [name](Request&) { return Response::text(200, name); };
}

TEST(RouterTest, MatchesLiteralPath) {
  Router router;
  router.add(Method::kGet, "/healthz", {}, named("health"));
  const auto match = router.match(Method::kGet, "/healthz");
  ASSERT_EQ(match.outcome, Router::MatchOutcome::kFound);
  EXPECT_EQ(match.route->pattern, "/healthz");
}

TEST(RouterTest, CapturesParameterSegments) {
  Router router;
  router.add(Method::kGet, "/api/v1/orgs/{org}/users/{id}", {}, named("user"));
  const auto match = router.match(Method::kGet, "/api/v1/orgs/acme/users/42");
  ASSERT_EQ(match.outcome, Router::MatchOutcome::kFound);
  EXPECT_EQ(match.path_params.at("org"), "acme");
  EXPECT_EQ(match.path_params.at("id"), "42");
}

TEST(RouterTest, LiteralSegmentWinsOverParameterWhateverTheRegistrationOrder) {
  Router router;
  router.add(Method::kGet, "/users/{id}", {}, named("by-id"));
  router.add(Method::kGet, "/users/me", {}, named("me"));
  router.add(Method::kGet, "/users/{id}/calls", {}, named("calls"));
  EXPECT_EQ(router.match(Method::kGet, "/users/me").route->pattern, "/users/me");
  EXPECT_EQ(router.match(Method::kGet, "/users/7").route->pattern, "/users/{id}");
  EXPECT_EQ(router.match(Method::kGet, "/users/me/calls").route->pattern, "/users/{id}/calls");
}

TEST(RouterTest, EarlierLiteralSegmentDecidesBetweenTwoPartialLiterals) {
  Router router;
  router.add(Method::kGet, "/{a}/x", {}, named("param-first"));
  router.add(Method::kGet, "/y/{b}", {}, named("literal-first"));
  EXPECT_EQ(router.match(Method::kGet, "/y/x").route->pattern, "/y/{b}");
}

TEST(RouterTest, ParameterDoesNotMatchAnEmptySegment) {
  Router router;
  router.add(Method::kGet, "/users/{id}", {}, named("by-id"));
  EXPECT_EQ(router.match(Method::kGet, "/users/").outcome, Router::MatchOutcome::kNotFound);
  EXPECT_EQ(router.match(Method::kGet, "/users").outcome, Router::MatchOutcome::kNotFound);
}

TEST(RouterTest, UnknownPathIsNotFound) {
  Router router;
  router.add(Method::kGet, "/a", {}, named("a"));
  EXPECT_EQ(router.match(Method::kGet, "/b").outcome, Router::MatchOutcome::kNotFound);
  EXPECT_EQ(router.match(Method::kGet, "/a/b").outcome, Router::MatchOutcome::kNotFound);
  EXPECT_EQ(router.match(Method::kGet, "/").outcome, Router::MatchOutcome::kNotFound);
}

TEST(RouterTest, KnownPathWithOtherMethodIsMethodNotAllowedListingAllowedMethods) {
  Router router;
  router.add(Method::kPost, "/queues", {}, named("create"));
  router.add(Method::kGet, "/queues", {}, named("list"));
  router.add(Method::kGet, "/queues/{id}", {}, named("get"));
  const auto match = router.match(Method::kDelete, "/queues");
  ASSERT_EQ(match.outcome, Router::MatchOutcome::kMethodNotAllowed);
  EXPECT_EQ(match.allowed, (std::vector<Method>{Method::kGet, Method::kPost}));
}

TEST(RouterTest, MethodSpecificParameterRouteIsUsedWhenTheLiteralLacksTheMethod) {
  Router router;
  router.add(Method::kGet, "/users/me", {}, named("me"));
  router.add(Method::kDelete, "/users/{id}", {}, named("delete"));
  const auto match = router.match(Method::kDelete, "/users/me");
  ASSERT_EQ(match.outcome, Router::MatchOutcome::kFound);
  EXPECT_EQ(match.route->pattern, "/users/{id}");
  EXPECT_EQ(match.path_params.at("id"), "me");
}

TEST(RouterTest, DecodesEachSegmentSoAnEncodedSlashStaysInsideItsParameter) {
  Router router;
  router.add(Method::kGet, "/files/{name}", {}, named("file"));
  const auto match = router.match(Method::kGet, "/files/a%2Fb%20c");
  ASSERT_EQ(match.outcome, Router::MatchOutcome::kFound);
  EXPECT_EQ(match.path_params.at("name"), "a/b c");
}

TEST(RouterTest, WebSocketRoutesAreGetRoutesWithAnOpener) {
  Router router;
  router.websocket("/ws", {},
                   [](Request&, std::shared_ptr<WebSocketConnection>) -> Result<std::unique_ptr<WebSocketSession>> {
                     return unimplemented("no");
                   });
  const auto match = router.match(Method::kGet, "/ws");
  ASSERT_EQ(match.outcome, Router::MatchOutcome::kFound);
  EXPECT_TRUE(static_cast<bool>(match.route->websocket_open));
  EXPECT_FALSE(static_cast<bool>(match.route->handler));
}

}  // namespace
}  // namespace vontres::api
