#include "users/openapi.h"

#include <cctype>

namespace vontres::users {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

nlohmann::json error_response(const std::string& description, const std::vector<std::string>& codes) {
  nlohmann::json schema = {{"$ref", "#/components/schemas/Error"}};
  nlohmann::json response = {{"description", description}, {"content", {{"application/json", {{"schema", schema}}}}}};
  if (!codes.empty())
    response["description"] = description + ". Codes: " + [&] {
      std::string joined;
      for (const auto& code : codes) joined += (joined.empty() ? "" : ", ") + code;
      return joined;
    }();
  return response;
}

}  // namespace

nlohmann::json openapi_document(const api::Router& router) {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& route : router.routes()) {
    nlohmann::json operation;
    operation["operationId"] = lower(api::method_name(route->method)) + route->pattern;
    if (!route->options.summary.empty()) operation["summary"] = route->options.summary;
    if (!route->options.tag.empty()) operation["tags"] = {route->options.tag};
    nlohmann::json parameters = nlohmann::json::array();
    // Path parameters come straight from the pattern's "{name}" segments.
    for (size_t open = route->pattern.find('{'); open != std::string::npos; open = route->pattern.find('{', open + 1)) {
      size_t close = route->pattern.find('}', open);
      if (close == std::string::npos) break;
      parameters.push_back({{"name", route->pattern.substr(open + 1, close - open - 1)},
                            {"in", "path"},
                            {"required", true},
                            {"schema", {{"type", "string"}}}});
    }
    const api::RouteOptions& options = route->options;
    if (options.paginated) {
      parameters.push_back({{"name", "limit"},
                            {"in", "query"},
                            {"required", false},
                            {"schema", {{"type", "integer"}, {"minimum", 1}, {"maximum", 500}, {"default", 50}}}});
      parameters.push_back({{"name", "offset"},
                            {"in", "query"},
                            {"required", false},
                            {"schema", {{"type", "integer"}, {"minimum", 0}, {"default", 0}}}});
    }
    if (!parameters.empty()) operation["parameters"] = parameters;
    if (!options.body_schema.is_null()) {
      const std::string media = options.body_media_type.empty() ? "application/json" : options.body_media_type;
      operation["requestBody"] = {{"required", true}, {"content", {{media, {{"schema", options.body_schema}}}}}};
    }
    // Lets a test tell "reads no body" from "forgot its schema".
    if (options.body_ignored) operation["x-vontres-body-ignored"] = true;
    nlohmann::json responses = nlohmann::json::object();
    if (route->websocket_open) {
      responses["101"] = {{"description", "Switching Protocols (WebSocket)"}};
    } else if (options.success_status == 204) {
      responses["204"] = {{"description", "Success, no content"}};
    } else {
      nlohmann::json body =
          options.response_schema.is_null() ? nlohmann::json{{"type", "object"}} : options.response_schema;
      responses[std::to_string(options.success_status)] = {{"description", "Success"},
                                                           {"content", {{"application/json", {{"schema", body}}}}}};
    }
    std::vector<std::string> codes = options.error_codes;
    if (!options.body_schema.is_null()) {
      for (const char* code : {"invalid_json", "invalid_content_type", "invalid_body", "invalid_field"})
        codes.emplace_back(code);
    }
    responses["400"] = error_response("Invalid request", codes);
    if (route->options.public_route) {
      operation["security"] = nlohmann::json::array();
    } else {
      operation["security"] = {{{"bearerAuth", nlohmann::json::array()}}, {{"apiKeyAuth", nlohmann::json::array()}}};
      responses["401"] = error_response("Missing, invalid, expired or revoked credentials", {});
      responses["403"] =
          error_response(route->options.permission.empty() ? std::string("Forbidden")
                                                           : "Requires permission " + route->options.permission,
                         {});
    }
    if (!route->options.permission.empty()) operation["x-required-permission"] = route->options.permission;
    operation["responses"] = responses;
    paths[route->pattern][lower(api::method_name(route->method))] = operation;
  }

  return {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "Vontres API"},
        {"version", "1"},
        {"description",
         "Authenticate with 'Authorization: Bearer <access token>' (from POST /api/v1/auth/login) "
         "or 'Authorization: ApiKey <key>'. WebSocket upgrades may instead send "
         "'Sec-WebSocket-Protocol: bearer, <token>' or '?access_token=<token>'. Errors are "
         "{\"error\":{\"code\",\"message\",\"field\"}} with stable codes; a request body that does not "
         "match its schema is a 400 whose field names the member at fault. String lengths "
         "(minLength, maxLength) count UTF-8 bytes, not characters."}}},
      {"paths", paths},
      {"security", {{{"bearerAuth", nlohmann::json::array()}}, {{"apiKeyAuth", nlohmann::json::array()}}}},
      {"components",
       {{"securitySchemes",
         {{"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}},
          {"apiKeyAuth",
           {{"type", "apiKey"},
            {"in", "header"},
            {"name", "Authorization"},
            {"description", "The value is 'ApiKey <key>'; keys are created with POST /api/v1/api-keys"}}}}},
        {"schemas",
         {{"Error",
           {{"type", "object"},
            {"required", {"error"}},
            {"properties",
             {{"error",
               {{"type", "object"},
                {"required", {"code", "message"}},
                {"properties",
                 {{"code", {{"type", "string"}}},
                  {"message", {{"type", "string"}}},
                  {"field",
                   {{"type", "string"},
                    {"description",
                     "the body member at fault, e.g. 'queues[0].penalty', for invalid_field"}}}}}}}}}}}}}}},
  };
}

}  // namespace vontres::users
