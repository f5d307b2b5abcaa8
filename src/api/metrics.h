// Prometheus instruments of the HTTP server, registered into a shared registry:
//   vontres_http_requests_total{method,route,status}
//   vontres_http_request_duration_seconds{method,route} (histogram)
//   vontres_http_requests_in_flight, vontres_http_connections (gauges)
// `route` is the matched pattern or "unmatched", so label cardinality stays bounded.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <string_view>

namespace prometheus {
class Registry;
class Gauge;
template <typename T>
class Family;
class Counter;
class Histogram;
}  // namespace prometheus

namespace vontres::api {

class HttpMetrics {
 public:
  explicit HttpMetrics(prometheus::Registry& registry);

  void observe_request(std::string_view method, std::string_view route, int status, std::chrono::nanoseconds duration);
  void request_started();
  void request_finished();
  void connection_opened();
  void connection_closed();

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Gauge& in_flight_;
  prometheus::Gauge& connections_;
};

}  // namespace vontres::api
