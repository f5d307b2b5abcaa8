// /api/v1/auth/*: login, refresh, logout, me, own password.
#include "users/detail/authenticator.h"
#include "users/detail/handlers.h"
#include "users/repository.h"

namespace vontres::users::detail {

namespace {

using api::Method;
using api::Request;
using api::Response;
using nlohmann::json;

json token_pair_schema() {
  return {{"type", "object"},
          {"required", {"access_token", "refresh_token", "token_type", "expires_in"}},
          {"properties",
           {{"access_token", {{"type", "string"}}},
            {"refresh_token", {{"type", "string"}}},
            {"token_type", {{"type", "string"}, {"enum", {"Bearer"}}}},
            {"expires_in", {{"type", "integer"}, {"description", "seconds"}}}}}};
}

Response token_response(const TokenPair& tokens) {
  Response response = Response::json(200, {{"access_token", tokens.access_token},
                                           {"refresh_token", tokens.refresh_token},
                                           {"token_type", "Bearer"},
                                           {"expires_in", tokens.expires_in_seconds}});
  response.headers.emplace_back("Cache-Control", "no-store");  // RFC 6749 §5.1
  return response;
}

}  // namespace

void register_auth_routes(api::Router& router, UsersCore& core) {
  add_route(router, Method::kPost, "/api/v1/auth/login",
            {.public_route = true, .permission = "", .summary = "Log in with email and password", .tag = "auth"},
            {.request_body = object_schema(
                 {{"email", string_schema(254)}, {"password", string_schema(PasswordHasher::kMaxPasswordBytes)}},
                 {"email", "password"}),
             .response = token_pair_schema(),
             .success_status = 200,
             .error_codes = {"invalid_credentials", "account_locked", "invalid_json"},
             .paginated = false},
            [&core](Request& request) {
              auto body = object_body(request);
              if (!body) return Response::error(body.status());
              auto email = string_field(*body, "email", 254);
              auto password = string_field(*body, "password", PasswordHasher::kMaxPasswordBytes);
              if (!email || !password || !*email || !*password) {
                return Response::error(invalid_argument("email and password are required", "invalid_body"));
              }
              LoginFailure failure;
              auto tokens = core.login(**email, **password, request.remote_address, failure);
              if (!tokens) {
                Response response = Response::error(tokens.status());
                if (failure.retry_after.count() > 0) {
                  response.headers.emplace_back("Retry-After",
                                                std::to_string((failure.retry_after.count() + 999) / 1000));
                }
                return response;
              }
              return token_response(*tokens);
            });

  add_route(
      router, Method::kPost, "/api/v1/auth/refresh",
      {.public_route = true, .permission = "", .summary = "Exchange a refresh token for new tokens", .tag = "auth"},
      {.request_body = object_schema({{"refresh_token", string_schema(512)}}, {"refresh_token"}),
       .response = token_pair_schema(),
       .success_status = 200,
       .error_codes = {"invalid_refresh_token", "token_expired", "token_revoked", "refresh_token_reused"},
       .paginated = false},
      [&core](Request& request) {
        auto body = object_body(request);
        if (!body) return Response::error(body.status());
        auto token = string_field(*body, "refresh_token", 512);
        if (!token || !*token) {
          return Response::error(invalid_argument("refresh_token is required", "invalid_body"));
        }
        auto tokens = core.refresh(**token, request.remote_address);
        if (!tokens) return Response::error(tokens.status());
        return token_response(*tokens);
      });

  add_route(router, Method::kPost, "/api/v1/auth/logout",
            {.public_route = false,
             .permission = "",
             .summary = "End this session (access and refresh tokens)",
             .tag = "auth"},
            {.request_body = nullptr,
             .response = nullptr,
             .success_status = 204,
             .error_codes = {"not_a_session"},
             .paginated = false,
             .body_ignored = true},
            [&core](Request& request) {
              const api::Principal* principal = principal_of(request);
              if (!principal) return unauthenticated_response();
              Credential credential = extract_credential(request);
              if (credential.kind != Credential::Kind::kBearer) {
                return Response::error(failed_precondition("API keys are revoked, not logged out", "not_a_session"));
              }
              auto claims = core.verify_access_token(credential.value);
              if (!claims) return Response::error(claims.status());
              Status status = core.logout(*principal, *claims, request.remote_address);
              return status.is_ok() ? Response::no_content() : Response::error(status);
            });

  add_route(router, Method::kGet, "/api/v1/auth/me",
            {.public_route = false,
             .permission = "",
             .summary = "The caller: user or API key, roles, permissions",
             .tag = "auth"},
            {.request_body = nullptr,
             .response = {{"type", "object"},
                          {"properties",
                           {{"subject", {{"type", "string"}}},
                            {"org_id", {{"type", "string"}}},
                            {"auth_type", {{"type", "string"}, {"enum", {"jwt", "api_key"}}}},
                            {"roles", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                            {"permissions", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                            {"user", {{"type", "object"}}}}}},
             .success_status = 200,
             .error_codes = {},
             .paginated = false},
            [&core](Request& request) {
              const api::Principal* principal = principal_of(request);
              if (!principal) return unauthenticated_response();
              json body = {{"subject", principal->subject},
                           {"org_id", principal->org_id},
                           {"auth_type", principal->auth_type},
                           {"roles", principal->roles},
                           {"permissions", principal->permissions}};
              if (principal->auth_type == "jwt") {
                auto user = repo::find_user(core.store(), principal->org_id, principal->subject);
                if (!user) return Response::error(user.status());
                if (*user) body["user"] = user_json(**user);
              }
              return Response::json(200, body);
            });

  add_route(
      router, Method::kPost, "/api/v1/auth/password",
      {.public_route = false,
       .permission = "",
       .summary = "Change your own password (ends all sessions)",
       .tag = "auth"},
      {.request_body = object_schema({{"current_password", string_schema(PasswordHasher::kMaxPasswordBytes * 2)},
                                      {"new_password", string_schema(PasswordHasher::kMaxPasswordBytes * 2)}},
                                     {"current_password", "new_password"}),
       .response = nullptr,
       .success_status = 204,
       .error_codes = {"invalid_credentials", "password_too_short", "password_too_long", "account_locked"},
       .paginated = false},
      [&core](Request& request) {
        const api::Principal* principal = principal_of(request);
        if (!principal) return unauthenticated_response();
        auto body = object_body(request);
        if (!body) return Response::error(body.status());
        auto current = string_field(*body, "current_password", PasswordHasher::kMaxPasswordBytes * 2);
        auto next = string_field(*body, "new_password", PasswordHasher::kMaxPasswordBytes * 2);
        if (!current || !next || !*current || !*next) {
          return Response::error(invalid_argument("current_password and new_password are required", "invalid_body"));
        }
        Status status = core.change_password(*principal, **current, **next, request.remote_address);
        return status.is_ok() ? Response::no_content() : Response::error(status);
      });
}

}  // namespace vontres::users::detail
