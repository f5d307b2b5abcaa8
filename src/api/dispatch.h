// The socket-free core of the API server: given a parsed Request it matches the route,
// authenticates, checks the route's permission and its declared body (RouteOptions::body_schema)
// and runs the handler, turning every failure into a JSON error Response with a stable code. The
// server (api/server.h) and the fuzz target (api/raw_request.h) both go through it, so what is
// fuzzed is what is served.
//
// Thread-safety: const methods may be called concurrently from any thread (the Router must not be
// modified after construction; the Authenticator must be thread-safe).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"
#include "core/clock.h"
#include "core/ids.h"

namespace vontres::api {

class Dispatcher {
 public:
  // `authenticator` may be null: then every non-public route answers 401.
  Dispatcher(const Router& router, Authenticator* authenticator, const Clock& clock);

  // The route for the request, or the error to answer with (404, 405 + Allow, 401, 403, 426, and
  // 400 when the body does not match the route's declared body: RouteOptions::body_schema).
  // Fills request.route (the pattern, also on 405), request.path_params and request.principal.
  struct Admission {
    const Route* route = nullptr;
    std::optional<Response> rejection;
  };
  // `websocket_upgrade`: the request asks for a WebSocket; HTTP routes and WebSocket routes
  // reject each other's requests.
  Admission admit(Request& request, bool websocket_upgrade = false) const;

  // Runs route.handler. Never throws: an escaping exception is logged and becomes 500 "internal",
  // except nlohmann::json's type_error and out_of_range (a body read as the wrong type), which
  // become 400 "invalid_body".
  Response run(const Route& route, Request& request) const;

  // For a connection that outlives its admission (a WebSocket): authenticates `request` again and
  // checks `route`'s permission, so a logged-out, revoked, expired or deactivated principal is
  // noticed. OK for public routes. Errors: the Authenticator's, or permission_denied
  // "permission_denied". Any thread.
  Status reauthorize(const Route& route, const Request& request) const;

  // admit() then run(): the whole HTTP path.
  Response handle(Request& request) const;

  // Sets request.trace_id from a valid W3C `traceparent` header, else a fresh random id
  // (32 lower-case hex digits, the W3C trace-id format).
  void assign_trace_id(Request& request) const;
  std::string new_trace_id() const;

 private:
  const Router& router_;
  Authenticator* authenticator_;
  mutable IdGenerator ids_;
};

// The value for the response's X-Request-Id: the client's own X-Request-Id when it is a sane
// token (1..128 visible ASCII characters), else the trace id.
std::string request_id_for(const Request& request);

// The Sec-WebSocket-Protocol to echo: the first offered value that is a protocol name (1..32
// characters of [a-z0-9._-]) rather than a credential. Browsers cannot set Authorization on a
// WebSocket, so clients send `Sec-WebSocket-Protocol: bearer, <token>`; the server echoes `bearer`.
std::optional<std::string> select_websocket_protocol(std::string_view offered);

}  // namespace vontres::api
