// OpenAPI 3.0 document generated from a Router: every registered route becomes an operation, described
// by its RouteOptions alone, so the document and what the server enforces have one source. Routes
// without a response schema still appear (with a generic JSON response), so the document never
// silently misses one. Security: bearerAuth (JWT) and apiKeyAuth ("Authorization: ApiKey <key>").
//
// Thread-safety: pure function of its arguments.
#pragma once

#include <nlohmann/json.hpp>

#include "api/http.h"

namespace vontres::users {

// The document of every route on `router`, each operation built from its RouteOptions: summary,
// tag, permission, request body (body_schema, the very schema the Dispatcher enforces), response
// schema, success status, error codes and pagination.
nlohmann::json openapi_document(const api::Router& router);

}  // namespace vontres::users
