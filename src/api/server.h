// The HTTP/1.1 + WebSocket server of the API (Boost.Beast, optional TLS). Parses requests on an
// io_context run by `io_threads` threads, runs handlers on a separate pool of `worker_threads`
// (slow handlers never block I/O), applies the limits and timeouts of HttpConfig, authenticates
// non-public routes through the Authenticator, records Prometheus metrics and writes one ECS access
// log line per request. Every error is JSON {"error":{"code":"...","message":"..."}}.
//
// Lifecycle: construct, register nothing more on the Router, start(), later shutdown(grace) from
// any thread and wait(). The destructor does shutdown(0) + wait() if still running.
// The Router, Authenticator, registry and clock must outlive the server; WebSocketConnections
// handed to the application become inert (send_text/close do nothing) once closed, and must not be
// used after the server is destroyed.
//
// Thread-safety: start() once from one thread; port(), shutdown() and wait() from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "api/http.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"

namespace prometheus {
class Registry;
}

namespace vontres::api {

class HttpServer {
 public:
  // `authenticator` may be null: then every non-public route answers 401.
  HttpServer(const HttpConfig& config, const Router& router, Authenticator* authenticator,
             prometheus::Registry& registry, const Clock& clock);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads TLS material (if configured), binds and starts serving. Errors: unavailable
  // "address_in_use" (port taken), invalid_argument "invalid_listen_address", invalid_argument
  // "tls_config" (unreadable or mismatched certificate/key), unavailable "listen_failed".
  Status start();

  // How often an open WebSocket of a non-public route is authenticated again with the credentials
  // of its upgrade request (default 5 s; zero or less: never). One that no longer passes (logged
  // out, session or user revoked, token expired, permission gone) is closed with 1008 (policy
  // violation) and the error code as reason. Call before start().
  void set_websocket_recheck_interval(std::chrono::milliseconds interval);

  // The bound port (the OS's choice when configured with port 0); 0 before start().
  uint16_t port() const;

  // Stops accepting, closes idle keep-alive connections and WebSocket sessions (1001), lets
  // in-flight requests finish (answered with Connection: close). Returns at once; wait() enforces
  // `grace` by force-closing whatever is still open. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

  // Blocks until shutdown() was called and every connection is closed (or grace ran out), then
  // stops the I/O threads and waits for running handlers to return. Idempotent.
  void wait();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vontres::api
