#include "routing/erlang.h"

#include <cmath>
#include <limits>

namespace vontres::routing::erlang {

double erlang_b(int agents, double traffic) {
  if (agents <= 0) return 1.0;
  // B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)): no factorials, no overflow.
  double b = 1.0;
  for (int k = 1; k <= agents; ++k) b = traffic * b / (k + traffic * b);
  return b;
}

double erlang_c(int agents, double traffic) {
  if (agents <= 0 || traffic >= agents) return 1.0;
  if (traffic <= 0) return 0.0;
  const double b = erlang_b(agents, traffic);
  return agents * b / (agents - traffic * (1.0 - b));
}

double service_level(int agents, double traffic, double handle_seconds, double threshold_seconds) {
  if (agents <= 0 || traffic >= agents) return 0.0;
  const double c = erlang_c(agents, traffic);
  return 1.0 - c * std::exp(-(agents - traffic) * threshold_seconds / handle_seconds);
}

double average_speed_of_answer(int agents, double traffic, double handle_seconds) {
  if (agents <= 0 || traffic >= agents) return std::numeric_limits<double>::infinity();
  return erlang_c(agents, traffic) * handle_seconds / (agents - traffic);
}

int agents_for_service_level(double traffic, double handle_seconds, double threshold_seconds, double target) {
  int agents = static_cast<int>(std::floor(traffic)) + 1;
  while (service_level(agents, traffic, handle_seconds, threshold_seconds) < target) ++agents;
  return agents;
}

}  // namespace vontres::routing::erlang
