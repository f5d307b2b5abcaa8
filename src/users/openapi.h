// OpenAPI 3.0 document generated from a Router: every registered route becomes an operation,
// enriched by per-route schema information where a service supplied it. Routes without schema
// information still appear (with a generic JSON response), so the document never silently misses
// one. Security: bearerAuth (JWT) and apiKeyAuth ("Authorization: ApiKey <key>").
//
// Thread-safety: pure function of its arguments.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http.h"

namespace vontres::users {

struct RouteSchema {
  nlohmann::json request_body;  // JSON Schema of the body, or null
  nlohmann::json response;      // JSON Schema of the success body, or null (no content)
  int success_status = 200;
  std::vector<std::string> error_codes;  // stable codes this route may return
  bool paginated = false;                // accepts limit/offset
};

// Keyed by route_key(method, pattern).
using RouteSchemas = std::map<std::string, RouteSchema>;
std::string route_key(api::Method method, std::string_view pattern);

nlohmann::json openapi_document(const api::Router& router, const RouteSchemas& schemas);

}  // namespace vontres::users
