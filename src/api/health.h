// Liveness, readiness and metrics endpoints, registered as public routes on a Router:
//   GET /healthz  always 200 {"status":"ok"} while the process serves HTTP.
//   GET /readyz   runs every readiness check; 200 {"status":"ready","checks":[...]} when all pass,
//                 else 503 with error code "not_ready" and each failing check's name, code, message.
//   GET /metrics  the registry in the Prometheus text format (0.0.4).
//
// Thread-safety: ReadinessChecks::add and run may be called from any thread; checks run on the
// HTTP worker pool, possibly concurrently with themselves, and must be quick and thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "api/http.h"
#include "core/status.h"

namespace prometheus {
class Registry;
}

namespace vontres::api {

class ReadinessChecks {
 public:
  using Check = std::function<Status()>;

  // A later check with the same name replaces the earlier one.
  void add(std::string name, Check check);

  struct Outcome {
    std::string name;
    Status status;
  };
  // Runs all checks in name order; a check that throws counts as failing ("check_threw").
  std::vector<Outcome> run() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, Check>> checks_;  // GUARDED_BY(mu_), sorted by name
};

// Registers /healthz, /readyz and /metrics. `checks` and `registry` must outlive the router's use.
// `metrics_token`: when not empty, /metrics answers 401 "metrics_token_required" unless the request
// carries "Authorization: Bearer <metrics_token>" (compared in constant time).
void register_health_routes(Router& router, const ReadinessChecks& checks, prometheus::Registry& registry,
                            std::string metrics_token = {});

// The token in `path` (its first line, surrounding white space removed). Errors: invalid_argument
// "metrics_token_unreadable" naming http.metrics_token_file (missing, unreadable or empty file).
Result<std::string> read_metrics_token(const std::string& path);

}  // namespace vontres::api
