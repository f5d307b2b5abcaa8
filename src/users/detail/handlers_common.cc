#include <charconv>

#include "core/clock.h"
#include "users/detail/handlers.h"

namespace vontres::users::detail {

void add_route(api::Router& router, api::Method method, std::string pattern, api::RouteOptions options,
               RouteSchema schema, api::Handler handler) {
  if (options.tag.empty()) options.tag = "users";
  options.body_schema = std::move(schema.request_body);
  options.body_ignored = schema.body_ignored;
  options.response_schema = std::move(schema.response);
  options.success_status = schema.success_status;
  options.error_codes = std::move(schema.error_codes);
  options.paginated = schema.paginated;
  router.add(method, std::move(pattern), std::move(options), std::move(handler));
}

nlohmann::json string_schema(size_t max_length) {
  return {{"type", "string"}, {"maxLength", max_length}, {"nullable", true}};
}

nlohmann::json string_list_schema() {
  return {
      {"type", "array"}, {"maxItems", 100}, {"items", {{"type", "string"}, {"maxLength", 200}}}, {"nullable", true}};
}

nlohmann::json object_schema(nlohmann::json properties, const std::vector<std::string>& required) {
  // A required member must be there with a value: the typed reads would take null for absent.
  for (const auto& name : required) {
    if (properties.contains(name)) properties[name].erase("nullable");
  }
  nlohmann::json schema = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = required;
  return schema;
}

namespace {
Result<int64_t> parse_int(const std::string& text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return invalid_argument("limit and offset must be integers", "invalid_pagination");
  }
  return value;
}
}  // namespace

Result<Pagination> pagination(const api::Request& request) {
  Pagination page;
  if (auto it = request.query.find("limit"); it != request.query.end()) {
    VONTRES_ASSIGN_OR_RETURN(page.limit, parse_int(it->second));
  }
  if (auto it = request.query.find("offset"); it != request.query.end()) {
    VONTRES_ASSIGN_OR_RETURN(page.offset, parse_int(it->second));
  }
  if (page.limit < 1 || page.limit > kMaxPageSize || page.offset < 0) {
    return invalid_argument("limit must be 1-500 and offset >= 0", "invalid_pagination");
  }
  return page;
}

Result<std::optional<std::string>> string_field(const nlohmann::json& body, const char* name, size_t max_length) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string() || it->get_ref<const std::string&>().size() > max_length) {
    return invalid_argument(
        std::string("'") + name + "' must be a string of at most " + std::to_string(max_length) + " bytes",
        "invalid_field");
  }
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<std::vector<std::string>>> string_list_field(const nlohmann::json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<std::vector<std::string>>();
  const Status bad = invalid_argument(std::string("'") + name + "' must be a list of strings", "invalid_field");
  if (!it->is_array() || it->size() > 100) return bad;
  std::vector<std::string> out;
  for (const auto& item : *it) {
    if (!item.is_string() || item.get_ref<const std::string&>().size() > 200) return bad;
    out.push_back(item.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<int64_t>> int_field(const nlohmann::json& body, const char* name, int64_t min, int64_t max) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer() || it->get<int64_t>() < min || it->get<int64_t>() > max) {
    return invalid_argument(
        std::string("'") + name + "' must be an integer from " + std::to_string(min) + " to " + std::to_string(max),
        "invalid_field");
  }
  return std::optional<int64_t>(it->get<int64_t>());
}

Result<std::optional<bool>> bool_field(const nlohmann::json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return invalid_argument(std::string("'") + name + "' must be true or false", "invalid_field");
  return std::optional<bool>(it->get<bool>());
}

Result<nlohmann::json> object_body(const api::Request& request) {
  VONTRES_ASSIGN_OR_RETURN(auto body, request.json_body());
  if (!body.is_object()) return invalid_argument("the body must be a JSON object", "invalid_body");
  return body;
}

const api::Principal* principal_of(const api::Request& request) {
  return request.principal ? &*request.principal : nullptr;
}

api::Response unauthenticated_response() {
  return api::Response::error(unauthenticated("credentials are required", "missing_credentials"));
}

std::string timestamp(int64_t unix_ms) {
  return format_rfc3339(TimePoint(std::chrono::duration_cast<Duration>(std::chrono::milliseconds(unix_ms))));
}

nlohmann::json user_json(const User& user) {
  return {{"id", user.id},
          {"org_id", user.org_id},
          {"email", user.email},
          {"display_name", user.display_name},
          {"roles", user.roles},
          {"active", user.active},
          {"created_at", timestamp(user.created_at_ms)},
          {"updated_at", timestamp(user.updated_at_ms)}};
}

nlohmann::json page_json(nlohmann::json items, int64_t total, const Pagination& page) {
  return {{"items", std::move(items)}, {"total", total}, {"limit", page.limit}, {"offset", page.offset}};
}

}  // namespace vontres::users::detail
