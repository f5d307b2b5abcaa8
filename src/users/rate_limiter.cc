#include "users/rate_limiter.h"

#include <algorithm>
#include <cctype>

#include "users/crypto.h"

namespace vontres::users {

namespace {

std::string account_key(std::string_view email) {
  std::string normalised(email);
  std::transform(normalised.begin(), normalised.end(), normalised.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return "account:" + sha256_hex(normalised);
}

std::string address_key(std::string_view address) { return "address:" + std::string(address); }

std::string failures_key(const std::string& subject) { return "users:login:failures:" + subject; }
std::string lock_key(const std::string& subject) { return "users:login:lock:" + subject; }
std::string lockouts_key(const std::string& subject) { return "users:login:lockouts:" + subject; }

}  // namespace

LoginRateLimiter::LoginRateLimiter(const AuthConfig& config, cache::Cache& cache)
    : max_per_account_(config.login_max_failures_per_account),
      max_per_address_(config.login_max_failures_per_address),
      window_(config.login_failure_window),
      lockout_base_(config.login_lockout_base),
      lockout_max_(config.login_lockout_max),
      cache_(cache) {}

Status LoginRateLimiter::check(std::string_view email, std::string_view address,
                               std::chrono::milliseconds& retry_after) {
  retry_after = std::chrono::milliseconds(0);
  for (const std::string& subject : {account_key(email), address_key(address)}) {
    VONTRES_ASSIGN_OR_RETURN(auto locked, cache_.get(lock_key(subject)));
    if (!locked) continue;
    auto remaining = cache_.ttl(lock_key(subject));
    if (remaining.is_ok() && remaining->has_value()) retry_after = std::max(retry_after, **remaining);
  }
  if (retry_after.count() > 0) {
    return resource_exhausted("too many failed logins; try again later", "account_locked");
  }
  return Status::ok();
}

Result<bool> LoginRateLimiter::count_failure(const std::string& subject, int max_failures) {
  VONTRES_ASSIGN_OR_RETURN(int64_t failures, cache_.increment(failures_key(subject), 1, window_));
  if (failures < max_failures) return false;
  // Each lock-out doubles the next one; the history is kept for a day past the longest lock.
  VONTRES_ASSIGN_OR_RETURN(int64_t lockouts,
                           cache_.increment(lockouts_key(subject), 1, lockout_max_ + std::chrono::hours(24)));
  auto duration = lockout_base_;
  for (int64_t i = 1; i < lockouts && duration < lockout_max_; ++i) duration *= 2;
  duration = std::min(duration, lockout_max_);
  VONTRES_RETURN_IF_ERROR(cache_.set(lock_key(subject), "1", duration));
  VONTRES_ASSIGN_OR_RETURN(bool erased, cache_.erase(failures_key(subject)));
  (void)erased;
  return true;
}

Result<LoginRateLimiter::FailureOutcome> LoginRateLimiter::record_failure(std::string_view email,
                                                                          std::string_view address) {
  FailureOutcome outcome;
  VONTRES_ASSIGN_OR_RETURN(outcome.account_locked_now, count_failure(account_key(email), max_per_account_));
  if (!address.empty()) {
    VONTRES_ASSIGN_OR_RETURN(outcome.address_locked_now, count_failure(address_key(address), max_per_address_));
  }
  return outcome;
}

Status LoginRateLimiter::record_success(std::string_view email) {
  const std::string subject = account_key(email);
  VONTRES_ASSIGN_OR_RETURN(bool a, cache_.erase(failures_key(subject)));
  VONTRES_ASSIGN_OR_RETURN(bool b, cache_.erase(lockouts_key(subject)));
  (void)a;
  (void)b;
  return Status::ok();
}

}  // namespace vontres::users
