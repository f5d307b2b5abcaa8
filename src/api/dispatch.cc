#include "api/dispatch.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include "api/schema.h"
#include "api/url.h"
#include "core/log.h"

namespace vontres::api {
namespace {

const log::Logger& logger() {
  static const log::Logger instance("http");
  return instance;
}

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// traceparent = version "-" trace-id "-" parent-id "-" flags, e.g.
// "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01". All-zero ids are invalid.
std::optional<std::string> trace_id_from_traceparent(std::string_view value) {
  if (value.size() < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  const std::string_view version = value.substr(0, 2);
  const std::string_view trace_id = value.substr(3, 32);
  if (!is_lower_hex(version) || version == "ff" || !is_lower_hex(trace_id)) return std::nullopt;
  if (trace_id.find_first_not_of('0') == std::string_view::npos) return std::nullopt;
  return std::string(trace_id);
}

std::string join_methods(const std::vector<Method>& methods) {
  std::string out;
  for (Method method : methods) {
    if (!out.empty()) out += ", ";
    out += method_name(method);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The media type of the Content-Type header without parameters, e.g. "text/markdown".
std::string_view media_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  return media;
}

// The route's declared body (RouteOptions::body_schema) against the request: nullopt when it
// matches, else the 400 to answer with.
std::optional<Response> check_body(const RouteOptions& options, const Request& request) {
  if (options.body_schema.is_null()) return std::nullopt;
  nlohmann::json body;
  if (!options.body_media_type.empty()) {
    if (auto content_type = request.header("content-type")) {
      const std::string_view media = media_type(*content_type);
      if (!iequals(media, options.body_media_type) && !iequals(media, "text/plain")) {
        return Response::error(
            invalid_argument("Content-Type must be " + options.body_media_type, "invalid_content_type"));
      }
    }
    body = request.body;
  } else {
    Result<nlohmann::json> parsed = request.json_body();
    if (!parsed.is_ok()) return Response::error(parsed.status());
    body = std::move(parsed).value();
  }
  if (auto violation = validate(options.body_schema, body)) return Response::error(violation->status, violation->field);
  return std::nullopt;
}

// The authenticator's answer; an exception escaping it is logged and becomes an internal error.
Result<Principal> authenticate_guarded(Authenticator& authenticator, const Request& request) {
  try {
    return authenticator.authenticate(request);
  } catch (const std::exception& e) {
    logger().error("authenticator threw", {{"error.message", e.what()}});
  } catch (...) {
    logger().error("authenticator threw a non-exception");
  }
  return internal_error("authentication failed unexpectedly");
}

}  // namespace

Dispatcher::Dispatcher(const Router& router, Authenticator* authenticator, const Clock& clock)
    : router_(router), authenticator_(authenticator), ids_(clock) {}

Dispatcher::Admission Dispatcher::admit(Request& request, bool websocket_upgrade) const {
  Admission admission;
  // The router wants the still-encoded path so that "%2F" stays inside one segment.
  const std::string_view raw_path =
      request.target.empty() ? std::string_view(request.path) : split_target(request.target).raw_path;
  Router::Match match = router_.match(request.method, raw_path);
  // HEAD is GET without the body (RFC 9110 9.3.2); the server drops the body and keeps its length.
  if (request.method == Method::kHead && match.outcome == Router::MatchOutcome::kMethodNotAllowed) {
    Router::Match get = router_.match(Method::kGet, raw_path);
    if (get.outcome == Router::MatchOutcome::kFound && !get.route->websocket_open) match = std::move(get);
  }
  if (match.outcome == Router::MatchOutcome::kNotFound) {
    admission.rejection = Response::error(404, "route_not_found", "no route for this path");
    return admission;
  }
  if (match.outcome == Router::MatchOutcome::kMethodNotAllowed) {
    Response response = Response::error(405, "method_not_allowed", "method not allowed for this path");
    response.headers.emplace_back("Allow", join_methods(match.allowed));
    admission.rejection = std::move(response);
    return admission;
  }
  const Route& route = *match.route;
  request.route = route.pattern;
  request.path_params = std::move(match.path_params);

  const bool is_websocket_route = static_cast<bool>(route.websocket_open);
  if (is_websocket_route && !websocket_upgrade) {
    Response response = Response::error(426, "upgrade_required", "this route only accepts WebSocket");
    response.headers.emplace_back("Upgrade", "websocket");
    admission.rejection = std::move(response);
    return admission;
  }
  if (!is_websocket_route && websocket_upgrade) {
    admission.rejection = Response::error(400, "not_a_websocket_route", "this route does not accept WebSocket");
    return admission;
  }

  if (!route.options.public_route) {
    if (authenticator_ == nullptr) {
      admission.rejection = Response::error(401, "unauthenticated", "authentication is required");
      return admission;
    }
    Result<Principal> principal = authenticate_guarded(*authenticator_, request);
    if (!principal.is_ok()) {
      const Status status = principal.status();
      // Whatever the kind, a failed authentication is a 401 (except our own internal failure),
      // and the Authenticator's code ("token_expired", ...) reaches the client unchanged.
      const int http_status = status.kind() == ErrorKind::kInternal ? 500 : 401;
      Response response = Response::error(http_status, status.code(), status.message());
      if (http_status == 401) response.headers.emplace_back("WWW-Authenticate", "Bearer");
      admission.rejection = std::move(response);
      return admission;
    }
    request.principal = std::move(principal).value();
    if (!route.options.permission.empty() && !request.principal->has_permission(route.options.permission)) {
      admission.rejection = Response::error(403, "permission_denied", "missing permission " + route.options.permission);
      return admission;
    }
  }
  if (auto rejection = check_body(route.options, request)) {
    admission.rejection = std::move(rejection);
    return admission;
  }
  admission.route = &route;
  return admission;
}

Status Dispatcher::reauthorize(const Route& route, const Request& request) const {
  if (route.options.public_route) return Status::ok();
  if (authenticator_ == nullptr) return unauthenticated("authentication is required");
  Result<Principal> principal = authenticate_guarded(*authenticator_, request);
  if (!principal.is_ok()) return principal.status();
  if (!route.options.permission.empty() && !principal->has_permission(route.options.permission)) {
    return permission_denied("missing permission " + route.options.permission, "permission_denied");
  }
  return Status::ok();
}

Response Dispatcher::run(const Route& route, Request& request) const {
  if (!route.handler) return Response::error(500, "internal", "route has no handler");
  try {
    return route.handler(request);
  } catch (const nlohmann::json::type_error& e) {
    // A backstop: the route's body_schema should have caught the body a handler mis-read.
    logger().error("handler read a JSON value of the wrong type",
                   {{"error.message", e.what()}, {"http.route", request.route}});
    return Response::error(400, "invalid_body", "a value in the body has the wrong type");
  } catch (const nlohmann::json::out_of_range& e) {
    logger().error("handler read a JSON value out of range",
                   {{"error.message", e.what()}, {"http.route", request.route}});
    return Response::error(400, "invalid_body", "a value in the body is missing or out of range");
  } catch (const std::exception& e) {
    logger().error("handler threw", {{"error.message", e.what()}, {"http.route", request.route}});
  } catch (...) {
    logger().error("handler threw a non-exception", {{"http.route", request.route}});
  }
  return Response::error(500, "internal", "internal error");
}

Response Dispatcher::handle(Request& request) const {
  Admission admission = admit(request);
  if (admission.rejection) return std::move(*admission.rejection);
  return run(*admission.route, request);
}

void Dispatcher::assign_trace_id(Request& request) const {
  if (auto header = request.header("traceparent")) {
    if (auto trace_id = trace_id_from_traceparent(*header)) {
      request.trace_id = std::move(*trace_id);
      return;
    }
  }
  request.trace_id = new_trace_id();
}

std::string Dispatcher::new_trace_id() const {
  std::string id = ids_.next();
  id.erase(std::remove(id.begin(), id.end(), '-'), id.end());
  return id;
}

std::string request_id_for(const Request& request) {
  if (auto header = request.header("x-request-id")) {
    const bool sane = !header->empty() && header->size() <= 128 &&
                      std::all_of(header->begin(), header->end(), [](char c) { return c > 0x20 && c < 0x7f; });
    if (sane) return std::string(*header);
  }
  return request.trace_id;
}

std::optional<std::string> select_websocket_protocol(std::string_view offered) {
  while (!offered.empty()) {
    const size_t comma = offered.find(',');
    std::string_view item = offered.substr(0, comma);
    offered = comma == std::string_view::npos ? std::string_view() : offered.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    const bool is_name = !item.empty() && item.size() <= 32 && std::all_of(item.begin(), item.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    });
    if (is_name) return std::string(item);
  }
  return std::nullopt;
}

}  // namespace vontres::api
