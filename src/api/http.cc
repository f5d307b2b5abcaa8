#include "api/http.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <utility>

#include "api/schema.h"
#include "api/url.h"

namespace vontres::api {
namespace {

constexpr std::array<std::pair<Method, std::string_view>, 7> kMethodNames{{
    {Method::kGet, "GET"},
    {Method::kHead, "HEAD"},
    {Method::kPost, "POST"},
    {Method::kPut, "PUT"},
    {Method::kPatch, "PATCH"},
    {Method::kDelete, "DELETE"},
    {Method::kOptions, "OPTIONS"},
}};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Splits "/a/b/" into {"a", "b", ""}; "/" into {}. Segments are views into `path`.
std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path == "/") return segments;
  if (path.front() == '/') path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

bool is_param_segment(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Whether `pattern` matches the decoded `segments`; fills `params` and `literal_mask` (one bit per
// segment, most significant first, set for literal segments) so the most specific route can win.
bool match_pattern(const std::vector<std::string_view>& pattern, const std::vector<std::string>& segments,
                   std::map<std::string, std::string>& params, std::vector<bool>& literal_mask) {
  if (pattern.size() != segments.size()) return false;
  params.clear();
  literal_mask.assign(pattern.size(), false);
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (is_param_segment(pattern[i])) {
      if (segments[i].empty()) return false;
      params.emplace(std::string(pattern[i].substr(1, pattern[i].size() - 2)), segments[i]);
    } else {
      if (pattern[i] != segments[i]) return false;
      literal_mask[i] = true;
    }
  }
  return true;
}

nlohmann::json error_body(std::string_view code, std::string_view message, std::string_view field = {}) {
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (!field.empty()) error["field"] = field;
  return {{"error", std::move(error)}};
}

}  // namespace

std::string_view method_name(Method method) {
  for (const auto& [value, name] : kMethodNames) {
    if (value == method) return name;
  }
  return "GET";
}

std::optional<Method> parse_method(std::string_view name) {
  // Methods are case-sensitive (RFC 9110 9.1).
  for (const auto& [value, text] : kMethodNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

bool Principal::has_permission(std::string_view permission) const {
  return permissions.find(std::string(permission)) != permissions.end();
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

Result<nlohmann::json> Request::json_body() const {
  if (auto content_type = header("content-type")) {
    std::string_view media = content_type->substr(0, content_type->find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    const bool is_json =
        iequals(media, "application/json") || (media.size() > 5 && iequals(media.substr(media.size() - 5), "+json"));
    if (!is_json) {
      return invalid_argument("Content-Type must be application/json", "invalid_content_type");
    }
  }
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return invalid_argument("request body is not valid JSON", "invalid_json");
  return parsed;
}

Response Response::json(int status, const nlohmann::json& body) {
  Response response;
  response.status = status;
  // `replace`: a handler echoing invalid UTF-8 from the request must not turn into an exception.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

Response Response::no_content() {
  Response response;
  response.status = 204;
  response.content_type.clear();
  return response;
}

Response Response::error(const Status& status, std::string_view field) {
  return json(http_status_for(status), error_body(status.code(), status.message(), field));
}

Response Response::error(int http_status, std::string_view code, std::string_view message) {
  return json(http_status, error_body(code, message));
}

int http_status_for(const Status& status) {
  switch (status.kind()) {
    case ErrorKind::kOk: return 200;
    case ErrorKind::kInvalidArgument: return 400;
    case ErrorKind::kUnauthenticated: return 401;
    case ErrorKind::kPermissionDenied: return 403;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kAlreadyExists:
    case ErrorKind::kFailedPrecondition:
    case ErrorKind::kAborted: return 409;
    case ErrorKind::kResourceExhausted: return 429;
    case ErrorKind::kDeadlineExceeded: return 504;
    case ErrorKind::kUnavailable: return 503;
    case ErrorKind::kUnimplemented: return 501;
    case ErrorKind::kInternal: return 500;
  }
  return 500;
}

void Router::add(Method method, std::string pattern, RouteOptions options, Handler handler) {
  if (!options.body_schema.is_null()) {
    if (Status valid = check_schema(options.body_schema); !valid.is_ok()) {
      throw std::invalid_argument(std::string(method_name(method)) + " " + pattern + ": " + valid.message());
    }
  }
  auto route = std::make_unique<Route>();
  route->method = method;
  route->pattern = std::move(pattern);
  route->options = std::move(options);
  route->handler = std::move(handler);
  routes_.push_back(std::move(route));
}

void Router::set_body_schema(Method method, std::string_view pattern, nlohmann::json schema, std::string media_type) {
  const std::string name = std::string(method_name(method)) + " " + std::string(pattern);
  if (Status valid = check_schema(schema); !valid.is_ok()) throw std::invalid_argument(name + ": " + valid.message());
  for (const auto& route : routes_) {
    if (route->method == method && route->pattern == pattern && route->handler) {
      route->options.body_schema = std::move(schema);
      route->options.body_media_type = std::move(media_type);
      return;
    }
  }
  throw std::invalid_argument(name + ": no such route");
}

void Router::websocket(std::string pattern, RouteOptions options, WebSocketOpen open) {
  auto route = std::make_unique<Route>();
  route->method = Method::kGet;
  route->pattern = std::move(pattern);
  route->options = std::move(options);
  route->websocket_open = std::move(open);
  routes_.push_back(std::move(route));
}

Router::Match Router::match(Method method, std::string_view path) const {
  // Segments are decoded one by one so that an encoded '/' ("%2F") stays inside its segment.
  std::vector<std::string> segments;
  for (std::string_view raw : split_segments(path)) segments.push_back(percent_decode(raw));

  Match result;
  std::vector<bool> best_mask;
  std::map<std::string, std::string> params;
  std::vector<bool> mask;
  std::vector<Method> path_methods;
  for (const auto& route : routes_) {
    // Patterns are split per call: route tables are small and this keeps Route a plain struct.
    if (!match_pattern(split_segments(route->pattern), segments, params, mask)) continue;
    path_methods.push_back(route->method);
    if (route->method != method) continue;
    // Lexicographic on the literal mask: the first segment where they differ decides, literal wins.
    if (result.route == nullptr || best_mask < mask) {
      result.route = route.get();
      result.path_params = params;
      best_mask = mask;
    }
  }
  if (result.route != nullptr) {
    result.outcome = MatchOutcome::kFound;
    return result;
  }
  if (path_methods.empty()) {
    result.outcome = MatchOutcome::kNotFound;
    return result;
  }
  std::sort(path_methods.begin(), path_methods.end());
  path_methods.erase(std::unique(path_methods.begin(), path_methods.end()), path_methods.end());
  result.outcome = MatchOutcome::kMethodNotAllowed;
  result.allowed = std::move(path_methods);
  return result;
}

RouteOptions route_options(std::string tag, std::string permission, std::string summary, nlohmann::json body_schema) {
  RouteOptions options;
  options.tag = std::move(tag);
  options.permission = std::move(permission);
  options.summary = std::move(summary);
  options.body_schema = std::move(body_schema);
  return options;
}

}  // namespace vontres::api
