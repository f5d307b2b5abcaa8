#include "api/health.h"

#include <algorithm>
#include <exception>

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

void register_health_routes(Router& router, const ReadinessChecks& checks, prometheus::Registry& registry) {
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
  router.add(Method::kGet, "/metrics", options, [&registry](Request&) {
    const prometheus::TextSerializer serializer;
    return Response::text(200, serializer.Serialize(registry.Collect()), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace vontres::api
