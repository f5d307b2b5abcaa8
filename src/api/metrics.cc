#include "api/metrics.h"

#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace vontres::api {
namespace {

const prometheus::Histogram::BucketBoundaries& latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                               0.25,  0.5,    1,     2.5,  5,     10};
  return buckets;
}

}  // namespace

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("vontres_http_requests_total")
                    .Help("HTTP requests answered, by method, matched route pattern and status code")
                    .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("vontres_http_request_duration_seconds")
                     .Help("Time from a complete request to its response, by method and route pattern")
                     .Register(registry)),
      in_flight_(prometheus::BuildGauge()
                     .Name("vontres_http_requests_in_flight")
                     .Help("HTTP requests being handled")
                     .Register(registry)
                     .Add({})),
      connections_(prometheus::BuildGauge()
                       .Name("vontres_http_connections")
                       .Help("Open HTTP and WebSocket connections")
                       .Register(registry)
                       .Add({})) {}

void HttpMetrics::observe_request(std::string_view method, std::string_view route, int status,
                                  std::chrono::nanoseconds duration) {
  const std::string method_label(method);
  const std::string route_label(route.empty() ? std::string_view("unmatched") : route);
  requests_.Add({{"method", method_label}, {"route", route_label}, {"status", std::to_string(status)}}).Increment();
  durations_.Add({{"method", method_label}, {"route", route_label}}, latency_buckets())
      .Observe(std::chrono::duration<double>(duration).count());
}

void HttpMetrics::request_started() { in_flight_.Increment(); }
void HttpMetrics::request_finished() { in_flight_.Decrement(); }
void HttpMetrics::connection_opened() { connections_.Increment(); }
void HttpMetrics::connection_closed() { connections_.Decrement(); }

}  // namespace vontres::api
