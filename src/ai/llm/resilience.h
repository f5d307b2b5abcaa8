// Pure retry and circuit-breaker logic for the LLM client: exponential back-off with jitter,
// `Retry-After` parsing (delta-seconds or HTTP-date), and a consecutive-failure circuit breaker
// with one half-open probe after a cooldown. Decisions use the injected Clock; nothing sleeps here.
//
// Thread-safety: CircuitBreaker is internally locked and may be shared by threads; the free
// functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

#include "core/clock.h"

namespace vontres::ai::llm {

enum class BreakerState { kClosed, kOpen, kHalfOpen };

// Delay before retry number `attempt` (0 = first retry): base * 2^attempt capped at `max`, then
// jittered uniformly into [delay/2, delay] from `rng_state` (a splitmix64 state, advanced).
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds max,
                                        uint64_t& rng_state);

// Parses a Retry-After value: "120" (seconds) or an IMF-fixdate such as
// "Wed, 21 Oct 2015 07:28:00 GMT" (relative to `now`; a past date gives 0). nullopt if malformed.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now);

class CircuitBreaker {
 public:
  CircuitBreaker(const Clock& clock, int failure_threshold, std::chrono::milliseconds cooldown)
      : clock_(clock), threshold_(failure_threshold < 1 ? 1 : failure_threshold), cooldown_(cooldown) {}

  // True if a call may go out now. In the open state after the cooldown, exactly one caller gets
  // true (the half-open probe) until it reports its outcome.
  bool allow();
  void record_success();
  void record_failure();
  // kHalfOpen also when open and the cooldown has passed but no probe has started yet.
  BreakerState state() const;

 private:
  const Clock& clock_;
  const int threshold_;
  const std::chrono::milliseconds cooldown_;
  mutable std::mutex mutex_;
  BreakerState state_ = BreakerState::kClosed;  // GUARDED_BY(mutex_)
  int failures_ = 0;                            // GUARDED_BY(mutex_)
  TimePoint opened_at_{};                       // GUARDED_BY(mutex_)
  bool probe_in_flight_ = false;                // GUARDED_BY(mutex_)
};

}  // namespace vontres::ai::llm
