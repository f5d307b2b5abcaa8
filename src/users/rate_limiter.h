// Login protection: counts failed logins per account and per source address in fixed windows held
// in the Cache (so several processes sharing a cache backend share the counts). Reaching the limit
// locks the account or address for login_lockout_base, doubling with each further lock-out up to
// login_lockout_max. The account key is a hash of the normalised email, so counting works (and
// leaks nothing) for emails that do not exist.
//
// Thread-safety: safe from any thread (the Cache is).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cache/cache.h"
#include "core/config.h"
#include "core/status.h"

namespace vontres::users {

class LoginRateLimiter {
 public:
  LoginRateLimiter(const AuthConfig& config, cache::Cache& cache);

  // OK if a login attempt may proceed; otherwise resource_exhausted "account_locked" (the message
  // holds no detail about which limit fired). `retry_after` receives the remaining lock time.
  Status check(std::string_view email, std::string_view address, std::chrono::milliseconds& retry_after);

  struct FailureOutcome {
    bool account_locked_now = false;
    bool address_locked_now = false;
  };
  // Counts a failed attempt; may start a lock-out.
  Result<FailureOutcome> record_failure(std::string_view email, std::string_view address);
  // Clears the account's failure count and lock-out history.
  Status record_success(std::string_view email);

 private:
  Result<bool> count_failure(const std::string& subject_key, int max_failures);

  int max_per_account_;
  int max_per_address_;
  std::chrono::milliseconds window_;
  std::chrono::milliseconds lockout_base_;
  std::chrono::milliseconds lockout_max_;
  cache::Cache& cache_;
};

}  // namespace vontres::users
