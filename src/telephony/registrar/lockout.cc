#include "telephony/registrar/lockout.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace vontres::telephony::registrar {
namespace {

std::string account_key(std::string_view account) { return "a:" + std::string(account); }
std::string source_key(std::string_view source) { return "s:" + std::string(source); }

// A lock-out history is kept a day past the longest lock, like the HTTP login's.
constexpr Duration kHistoryGrace = std::chrono::hours(24);

}  // namespace

AuthLockout::AuthLockout(const Clock& clock, LockoutOptions options) : clock_(clock), options_(options) {}

std::optional<Duration> AuthLockout::locked(std::string_view account, std::string_view source) const {
  if (!options_.enabled) return std::nullopt;
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  std::optional<Duration> left;
  auto check = [&](const std::string& key) {
    auto it = subjects_.find(key);
    if (it == subjects_.end() || it->second.locked_until <= now) return;
    const Duration remaining = it->second.locked_until - now;
    if (!left || remaining > *left) left = remaining;
  };
  if (!account.empty()) check(account_key(account));
  if (!source.empty()) check(source_key(source));
  return left;
}

bool AuthLockout::count_failure(const std::string& key, int max_failures, TimePoint now) {
  if (max_failures <= 0) return false;  // this counter is off
  auto [it, inserted] = subjects_.try_emplace(key);
  Subject& s = it->second;
  if (!inserted && s.lockouts > 0 && now >= s.locked_until + options_.lockout_max + kHistoryGrace) s.lockouts = 0;
  if (inserted || now - s.window_start >= options_.failure_window) {
    s.window_start = now;
    s.failures = 0;
  }
  s.last_seen = now;
  if (++s.failures < max_failures) return false;
  ++s.lockouts;
  Duration duration = options_.lockout_base;
  for (int i = 1; i < s.lockouts && duration < options_.lockout_max; ++i) duration *= 2;
  s.locked_until = now + std::min(duration, options_.lockout_max);
  s.failures = 0;
  return true;
}

void AuthLockout::evict_if_full(TimePoint now) {
  if (subjects_.size() <= options_.max_tracked) return;
  // Evict down to 90 % in one sweep, so a flood of new names costs one sweep per tenth of the
  // table, not one per request: unlocked subjects idle longest go first, then locked ones.
  const size_t target = options_.max_tracked - options_.max_tracked / 10;
  std::vector<std::pair<std::pair<bool, TimePoint>, std::string>> order;
  order.reserve(subjects_.size());
  for (const auto& [key, s] : subjects_) order.push_back({{s.locked_until > now, s.last_seen}, key});
  const size_t drop = subjects_.size() - target;
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(drop - 1), order.end());
  for (size_t i = 0; i < drop; ++i) subjects_.erase(order[i].second);
}

AuthLockout::FailureOutcome AuthLockout::record_failure(std::string_view account, std::string_view source) {
  FailureOutcome outcome;
  if (!options_.enabled) return outcome;
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  if (!account.empty()) {
    outcome.account_locked_now = count_failure(account_key(account), options_.max_failures_per_account, now);
  }
  if (!source.empty()) {
    outcome.source_locked_now = count_failure(source_key(source), options_.max_failures_per_source, now);
  }
  evict_if_full(now);
  return outcome;
}

void AuthLockout::record_success(std::string_view account) {
  if (account.empty()) return;
  std::lock_guard lock(mu_);
  auto it = subjects_.find(account_key(account));
  if (it != subjects_.end() && it->second.locked_until <= clock_.now()) subjects_.erase(it);
}

size_t AuthLockout::tracked() const {
  std::lock_guard lock(mu_);
  return subjects_.size();
}

}  // namespace vontres::telephony::registrar
