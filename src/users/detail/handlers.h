// HTTP handlers of the users service, registered with their permissions and OpenAPI schemas.
// Handlers run on the server's worker threads; they read the organisation only from
// request.principal, never from the request body, path or query.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "users/detail/core.h"
#include "users/model.h"
#include "users/openapi.h"

namespace vontres::users::detail {

void register_auth_routes(api::Router& router, UsersCore& core);
void register_admin_routes(api::Router& router, UsersCore& core);

// ---- helpers shared by the handler files ----

// What a users route declares besides its RouteOptions basics: its body schema (enforced by the
// Dispatcher) and what the OpenAPI document says of it.
struct RouteSchema {
  nlohmann::json request_body;  // JSON Schema of the body (api/schema.h), or null: no body
  nlohmann::json response;      // JSON Schema of the success body, or null (no content)
  int success_status = 200;
  std::vector<std::string> error_codes;  // stable codes this route may return
  bool paginated = false;                // accepts limit/offset
  bool body_ignored = false;             // a POST that reads no body (logout)
};

// Registers a route with its schema copied into its RouteOptions, the one source of both the
// Dispatcher's checks and the OpenAPI document.
void add_route(api::Router& router, api::Method method, std::string pattern, api::RouteOptions options,
               RouteSchema schema, api::Handler handler);

// Body-schema pieces matching the typed reads below (which treat null as absent).
nlohmann::json string_schema(size_t max_length);  // a string of at most max_length bytes, or null
nlohmann::json string_list_schema();              // at most 100 strings of at most 200, or null
// An object of exactly these members (none other); the `required` ones may not be null.
nlohmann::json object_schema(nlohmann::json properties, const std::vector<std::string>& required = {});

struct Pagination {
  int64_t limit = 50;
  int64_t offset = 0;
};
inline constexpr int64_t kMaxPageSize = 500;
// Errors: invalid_argument "invalid_pagination".
Result<Pagination> pagination(const api::Request& request);

// Typed reads of optional body fields. Errors: invalid_argument "invalid_field".
Result<std::optional<std::string>> string_field(const nlohmann::json& body, const char* name, size_t max_length);
Result<std::optional<std::vector<std::string>>> string_list_field(const nlohmann::json& body, const char* name);
Result<std::optional<int64_t>> int_field(const nlohmann::json& body, const char* name, int64_t min, int64_t max);
Result<std::optional<bool>> bool_field(const nlohmann::json& body, const char* name);
// The body as a JSON object. Errors: "invalid_json", "invalid_content_type", "invalid_body".
Result<nlohmann::json> object_body(const api::Request& request);

// The principal set by the server; a handler of a non-public route without one is a server bug,
// answered as 401 rather than trusted.
const api::Principal* principal_of(const api::Request& request);
api::Response unauthenticated_response();

std::string timestamp(int64_t unix_ms);
nlohmann::json user_json(const User& user);
nlohmann::json page_json(nlohmann::json items, int64_t total, const Pagination& page);

}  // namespace vontres::users::detail
