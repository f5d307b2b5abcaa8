// Erlang B/C queueing formulas for an M/M/c queue (Poisson arrivals, exponential handle times,
// c agents, infinite patience). Used to forecast service level and ASA for a queue, to size
// staffing, and by the routing scenario test as the reference a FIFO longest-idle queue must match.
// `traffic` is the offered load in Erlangs: arrival rate x average handle time.
//
// Thread-safety: pure functions.
#pragma once

namespace vontres::routing::erlang {

// Blocking probability of an M/M/c/c system (computed by the stable recurrence).
double erlang_b(int agents, double traffic);
// Probability that a call waits at all. 1 when traffic >= agents (the queue grows without bound).
double erlang_c(int agents, double traffic);
// Fraction of calls answered within `threshold_seconds`.
double service_level(int agents, double traffic, double handle_seconds, double threshold_seconds);
// Mean wait over all calls (answered immediately ones count as 0). Infinite when traffic >= agents.
double average_speed_of_answer(int agents, double traffic, double handle_seconds);
// The fewest agents reaching `target` service level (e.g. 0.8 in 20 s).
int agents_for_service_level(double traffic, double handle_seconds, double threshold_seconds, double target);

}  // namespace vontres::routing::erlang
