#include "api/health.h"

#include <algorithm>
#include <exception>
#include <fstream>
#include <string_view>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace vontres::api {

void ReadinessChecks::add(std::string name, Check check) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(checks_.begin(), checks_.end(), [&](const auto& entry) { return entry.first == name; });
  if (it != checks_.end()) {
    it->second = std::move(check);
    return;
  }
  checks_.emplace_back(std::move(name), std::move(check));
  std::sort(checks_.begin(), checks_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

std::vector<ReadinessChecks::Outcome> ReadinessChecks::run() const {
  std::vector<std::pair<std::string, Check>> checks;
  {
    // Copied so a slow check does not hold the lock against add().
    std::lock_guard lock(mu_);
    checks = checks_;
  }
  std::vector<Outcome> outcomes;
  outcomes.reserve(checks.size());
  for (auto& [name, check] : checks) {
    Status status;
    try {
      status = check();
    } catch (const std::exception& e) {
      status = internal_error(std::string("check threw: ") + e.what(), "check_threw");
    } catch (...) {
      status = internal_error("check threw", "check_threw");
    }
    outcomes.push_back({name, std::move(status)});
  }
  return outcomes;
}

namespace {

bool same_secret(std::string_view a, std::string_view b) {
  // Constant time in the length of the expected token: no early exit on the first difference.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) diff |= static_cast<unsigned char>(b[i] ^ (i < a.size() ? a[i] : 0));
  return diff == 0;
}

}  // namespace

Result<std::string> read_metrics_token(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (in) std::getline(in, token);
  const auto first = token.find_first_not_of(" \t\r");
  const auto last = token.find_last_not_of(" \t\r");
  token = first == std::string::npos ? std::string() : token.substr(first, last - first + 1);
  if (token.empty()) {
    return invalid_argument("http.metrics_token_file: cannot read a token from " + path, "metrics_token_unreadable");
  }
  return token;
}

void register_health_routes(Router& router, const ReadinessChecks& checks, prometheus::Registry& registry,
                            std::string metrics_token) {
  RouteOptions options;
  options.public_route = true;
  options.tag = "health";

  options.summary = "Liveness: 200 while the process serves HTTP";
  router.add(Method::kGet, "/healthz", options, [](Request&) { return Response::json(200, {{"status", "ok"}}); });

  options.summary = "Readiness: 200 when every dependency check passes, else 503";
  router.add(Method::kGet, "/readyz", options, [&checks](Request&) {
    nlohmann::json results = nlohmann::json::array();
    std::string failures;
    for (const auto& outcome : checks.run()) {
      nlohmann::json entry{{"name", outcome.name}, {"status", outcome.status.is_ok() ? "ok" : "failing"}};
      if (!outcome.status.is_ok()) {
        entry["code"] = outcome.status.code();
        entry["message"] = outcome.status.message();
        if (!failures.empty()) failures += "; ";
        failures += outcome.name + ": " + outcome.status.message();
      }
      results.push_back(std::move(entry));
    }
    if (failures.empty()) return Response::json(200, {{"status", "ready"}, {"checks", results}});
    return Response::json(
        503, {{"status", "not_ready"}, {"error", {{"code", "not_ready"}, {"message", failures}}}, {"checks", results}});
  });

  options.summary = "Prometheus metrics in the text exposition format";
  router.add(Method::kGet, "/metrics", options, [&registry, token = std::move(metrics_token)](Request& request) {
    if (!token.empty()) {
      const std::string_view presented = request.header("authorization").value_or("");
      constexpr std::string_view kBearer = "Bearer ";
      if (!presented.starts_with(kBearer) || !same_secret(presented.substr(kBearer.size()), token)) {
        Response denied = Response::error(401, "metrics_token_required", "GET /metrics needs the metrics bearer token");
        denied.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"metrics\"");
        return denied;
      }
    }
    const prometheus::TextSerializer serializer;
    return Response::text(200, serializer.Serialize(registry.Collect()), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace vontres::api
