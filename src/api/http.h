// The transport-neutral vocabulary of the API server: Request, Response, Principal, Router and the
// Authenticator hook. Services register routes on a Router; the server (api/server.h) parses HTTP,
// matches the route, authenticates non-public routes, checks the route's permission and runs the
// handler on a worker thread. Handlers never see Beast types.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace vontres::api {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions };
std::string_view method_name(Method method);
std::optional<Method> parse_method(std::string_view name);

// Who is calling, as established by the Authenticator. Permissions are named
// "<resource>.<action>" (e.g. "queues.write").
struct Principal {
  std::string subject;  // user id or API key id
  std::string org_id;   // every query is scoped to this organisation
  std::vector<std::string> roles;
  std::set<std::string> permissions;
  std::string auth_type;  // "jwt" or "api_key"
  std::string token_id;   // jti or key id, for revocation and audit
  bool has_permission(std::string_view permission) const;
};

struct Request {
  Method method = Method::kGet;
  std::string target;                                        // raw request target, e.g. "/api/v1/users/42?limit=10"
  std::string path;                                          // decoded path without the query
  std::map<std::string, std::string> query;                  // decoded query parameters (last one wins)
  std::map<std::string, std::string> path_params;            // from "{name}" segments of the route
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_address;  // peer IP, without port
  std::string trace_id;
  std::string route;                   // the matched route pattern, e.g. "/api/v1/users/{id}"
  std::optional<Principal> principal;  // set for non-public routes before the handler runs

  // First header with this name (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
  // The body as JSON. Errors: invalid_argument "invalid_json" (syntax) or "invalid_content_type".
  Result<nlohmann::json> json_body() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  static Response json(int status, const nlohmann::json& body);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response no_content();
  // {"error":{"code":"<status.code()>","message":"<status.message()>"}} with the mapped status;
  // with a non-empty `field` (the path of the offending body member, e.g. "queues[0].penalty")
  // the error also carries "field".
  static Response error(const Status& status, std::string_view field = {});
  static Response error(int http_status, std::string_view code, std::string_view message);
};

// HTTP status for a Status kind (400, 401, 403, 404, 409, 429, 500, 501, 503, 504).
int http_status_for(const Status& status);

using Handler = std::function<Response(Request&)>;

// A server-side WebSocket connection. Every method may be called from any thread.
class WebSocketConnection {
 public:
  // WebSocket close codes (RFC 6455 section 7.4) the application may close with.
  static constexpr uint16_t kCloseNormal = 1000;
  static constexpr uint16_t kClosePolicyViolation = 1008;
  static constexpr uint16_t kCloseTryAgainLater = 1013;  // e.g. a consumer too slow to keep up

  virtual ~WebSocketConnection() = default;
  // Queues one text frame; never blocks (the queue is unbounded: see queued_messages()).
  virtual void send_text(std::string message) = 0;
  virtual void close(std::string reason = {}) = 0;
  // Closes with `code` (one of the kClose* values) once the frame being written is out; queued
  // frames are dropped.
  virtual void close_with(uint16_t code, std::string reason) {
    (void)code;
    close(std::move(reason));
  }
  // Frames accepted by send_text() and not yet written to the socket, so that a producer can bound
  // what it queues for a slow client (the gateway drops such a client). Approximate while frames
  // are in flight; 0 once closed.
  virtual size_t queued_messages() const { return 0; }
};

// What an application does with one WebSocket. Callbacks run one at a time, never concurrently.
class WebSocketSession {
 public:
  virtual ~WebSocketSession() = default;
  virtual void on_message(std::string_view text) = 0;
  virtual void on_close() {}
};

using WebSocketOpen =
    std::function<Result<std::unique_ptr<WebSocketSession>>(Request&, std::shared_ptr<WebSocketConnection>)>;

struct RouteOptions {
  bool public_route = false;  // true: no authentication (health, metrics, login)
  std::string permission;     // required permission; empty: any authenticated principal
  std::string summary;        // one line for the OpenAPI document
  std::string tag;            // OpenAPI tag (the owning service)

  // The request body. The Dispatcher checks it after authentication and before the handler runs,
  // answering 400 with a stable code and the offending field; the OpenAPI document publishes the
  // same schema. Every POST, PUT and PATCH route declares exactly one of:
  //  - body_schema alone: a JSON body (Content-Type application/json, *+json or none) matching
  //    this JSON Schema (the subset of api/schema.h; Router::add rejects anything else);
  //  - body_schema with body_media_type (e.g. "text/markdown"): a text body of that media type (or
  //    text/plain, or none), checked as one JSON string against a {"type": "string"} schema;
  //  - body_ignored: the route reads no body (POST /api/v1/calls/{id}/hangup); any body is ignored.
  nlohmann::json body_schema{};
  std::string body_media_type{};
  bool body_ignored = false;

  // Only for the OpenAPI document.
  nlohmann::json response_schema{};        // the success body; null: a JSON object
  int success_status = 200;                // 204: no content
  std::vector<std::string> error_codes{};  // stable codes the route may answer with
  bool paginated = false;                  // accepts ?limit=&offset=
};

// The options most service routes need: the service's OpenAPI tag, the permission, a summary and,
// for routes with a JSON body, its schema.
RouteOptions route_options(std::string tag, std::string permission, std::string summary,
                           nlohmann::json body_schema = nullptr);

struct Route {
  Method method = Method::kGet;
  std::string pattern;  // "/api/v1/users/{id}"
  RouteOptions options;
  Handler handler;               // set for HTTP routes
  WebSocketOpen websocket_open;  // set for WebSocket routes (method GET)
};

// Route table. Patterns are literal segments and "{name}" segments matching one non-empty segment.
// Literal segments win over parameters. Register everything before the server starts; match() is
// then safe from any thread.
class Router {
 public:
  // Throws std::invalid_argument (a programmer error, at start-up) when options.body_schema is not
  // a schema api/schema.h accepts (check_schema).
  void add(Method method, std::string pattern, RouteOptions options, Handler handler);
  // Declares the body of the route added earlier for exactly `method` and `pattern`
  // (RouteOptions::body_schema and body_media_type), for a service that states its bodies beside
  // its handlers rather than inside add()'s options. Throws std::invalid_argument when there is no
  // such route or the schema is not one check_schema() accepts.
  void set_body_schema(Method method, std::string_view pattern, nlohmann::json schema, std::string media_type = {});
  void websocket(std::string pattern, RouteOptions options, WebSocketOpen open);

  enum class MatchOutcome { kFound, kNotFound, kMethodNotAllowed };
  struct Match {
    MatchOutcome outcome = MatchOutcome::kNotFound;
    const Route* route = nullptr;
    std::map<std::string, std::string> path_params;
    std::vector<Method> allowed;  // for 405's Allow header
  };
  Match match(Method method, std::string_view path) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  std::vector<std::unique_ptr<Route>> routes_;
};

// Establishes the Principal of a request to a non-public route. Implemented by the users
// service; the server turns an error into 401 (unauthenticated) with its code.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual Result<Principal> authenticate(const Request& request) = 0;
};

}  // namespace vontres::api
