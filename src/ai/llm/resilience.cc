#include "ai/llm/resilience.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string>

namespace vontres::ai::llm {

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31U);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

int month_index(std::string_view name) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (kMonths[i] == name) return i;
  }
  return -1;
}

bool parse_int(std::string_view text, int& out) {
  if (text.empty()) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// "Wed, 21 Oct 2015 07:28:00 GMT" -> seconds since the epoch.
std::optional<int64_t> parse_imf_fixdate(std::string_view text) {
  if (text.size() != 29 || text[3] != ',' || text.substr(25) != " GMT") return std::nullopt;
  int day = 0;
  int year = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  const int month = month_index(text.substr(8, 3));
  if (month < 0 || !parse_int(text.substr(5, 2), day) || !parse_int(text.substr(12, 4), year) ||
      !parse_int(text.substr(17, 2), hour) || !parse_int(text.substr(20, 2), minute) ||
      !parse_int(text.substr(23, 2), second)) {
    return std::nullopt;
  }
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 || year < 1970) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds max,
                                        uint64_t& rng_state) {
  int64_t delay = std::max<int64_t>(base.count(), 1);
  for (int i = 0; i < attempt && delay < max.count(); ++i) delay *= 2;
  delay = std::min<int64_t>(delay, std::max<int64_t>(max.count(), 1));
  const int64_t low = delay / 2;
  const int64_t span = delay - low + 1;
  return std::chrono::milliseconds(low + static_cast<int64_t>(splitmix64(rng_state) % static_cast<uint64_t>(span)));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    int64_t seconds = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || ptr != value.data() + value.size() || seconds > 86'400 * 365) return std::nullopt;
    return std::chrono::milliseconds(seconds * 1000);
  }
  const auto at = parse_imf_fixdate(value);
  if (!at) return std::nullopt;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  return std::chrono::milliseconds(std::max<int64_t>(0, *at * 1000 - now_ms));
}

bool CircuitBreaker::allow() {
  const std::lock_guard lock(mutex_);
  switch (state_) {
    case BreakerState::kClosed: return true;
    case BreakerState::kOpen:
      if (clock_.now() - opened_at_ < cooldown_) return false;
      state_ = BreakerState::kHalfOpen;
      probe_in_flight_ = true;
      return true;
    case BreakerState::kHalfOpen:
      if (probe_in_flight_) return false;
      probe_in_flight_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::record_success() {
  const std::lock_guard lock(mutex_);
  state_ = BreakerState::kClosed;
  failures_ = 0;
  probe_in_flight_ = false;
}

void CircuitBreaker::record_failure() {
  const std::lock_guard lock(mutex_);
  probe_in_flight_ = false;
  if (state_ == BreakerState::kHalfOpen) {
    state_ = BreakerState::kOpen;
    opened_at_ = clock_.now();
    return;
  }
  if (state_ == BreakerState::kOpen) return;  // a call admitted before the circuit opened
  if (++failures_ >= threshold_) {
    state_ = BreakerState::kOpen;
    opened_at_ = clock_.now();
  }
}

BreakerState CircuitBreaker::state() const {
  const std::lock_guard lock(mutex_);
  if (state_ == BreakerState::kOpen && clock_.now() - opened_at_ >= cooldown_) return BreakerState::kHalfOpen;
  return state_;
}

}  // namespace vontres::ai::llm
