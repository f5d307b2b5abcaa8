// Digest-guessing protection for the registrar (issue 11, finding 10): counts wrong credentials per
// SIP account and per source address in fixed windows; reaching the limit locks that account or
// address for `lockout_base`, doubling with each further lock-out of the same subject up to
// `lockout_max` (the idea of users/rate_limiter, without depending on users/ or a Cache: the state
// is this process's, which is where the REGISTERs of a phone arrive). While locked, every request
// of the subject is refused before its credentials are looked at, so the right password does not
// work until the lock-out ends. Time comes from the injected Clock.
//
// Memory is bounded: at most `max_tracked` subjects are kept; beyond it the one idle longest (and
// not locked, if any is not) is forgotten.
//
// Thread-safety: internally locked; every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace vontres::telephony::registrar {

struct LockoutOptions {
  bool enabled = true;
  int max_failures_per_account = 5;  // wrong passwords for one SIP user within the window; 0: off
  int max_failures_per_source = 20;  // wrong credentials (any user) from one source address; 0: off
  Duration failure_window = std::chrono::minutes(15);
  Duration lockout_base = std::chrono::minutes(1);  // doubles with each further lock-out
  Duration lockout_max = std::chrono::hours(1);
  size_t max_tracked = 100'000;  // subjects (accounts + addresses) remembered at most
};

class AuthLockout {
 public:
  AuthLockout(const Clock& clock, LockoutOptions options);

  // The time left on the longest lock of `account` or `source` (either may be empty: not
  // checked), or nullopt when neither is locked.
  std::optional<Duration> locked(std::string_view account, std::string_view source) const;

  struct FailureOutcome {
    bool account_locked_now = false;
    bool source_locked_now = false;
  };
  // Counts one failed authentication; may start a lock-out. Empty arguments are not counted
  // (a trusted source, or a user name that could not be read).
  FailureOutcome record_failure(std::string_view account, std::string_view source);
  // The account authenticated: its failure count and lock-out history are cleared.
  void record_success(std::string_view account);

  size_t tracked() const;

 private:
  struct Subject {
    TimePoint window_start{};
    int failures = 0;
    int lockouts = 0;  // lock-outs so far, for doubling
    TimePoint locked_until{};
    TimePoint last_seen{};
  };
  // REQUIRES: mu_ held.
  bool count_failure(const std::string& key, int max_failures, TimePoint now);
  void evict_if_full(TimePoint now);

  const Clock& clock_;
  LockoutOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Subject, std::less<>> subjects_;  // GUARDED_BY(mu_), "a:" user or "s:" address
};

}  // namespace vontres::telephony::registrar
