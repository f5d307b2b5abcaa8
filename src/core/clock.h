// Injected time. Every time-dependent component takes a `Clock&` so tests drive time by hand
// (ManualClock) instead of sleeping. Wall-clock time is used for timestamps, TTLs and timeouts alike;
// SystemClock is the production implementation.
//
// Thread-safety: both implementations may be read from any thread; ManualClock may be advanced
// from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace vontres {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;

  int64_t now_unix_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
  }
  int64_t now_unix_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
  // A process-wide instance for code at the edge (main) to hand out.
  static SystemClock& instance();
};

// A clock that only moves when told to. Starts at 2026-01-01T00:00:00Z unless given a start.
class ManualClock final : public Clock {
 public:
  ManualClock();
  explicit ManualClock(TimePoint start) : now_ns_(to_ns(start)) {}

  TimePoint now() const override {
    return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(now_ns_.load())));
  }
  void advance(std::chrono::nanoseconds by) { now_ns_.fetch_add(by.count()); }
  void set(TimePoint to) { now_ns_.store(to_ns(to)); }

 private:
  static int64_t to_ns(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }
  std::atomic<int64_t> now_ns_;
};

// RFC 3339 UTC with milliseconds, e.g. "2026-11-25T12:30:00.123Z".
std::string format_rfc3339(TimePoint t);

}  // namespace vontres
