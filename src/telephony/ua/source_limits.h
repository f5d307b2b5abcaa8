// Per-source abuse limits of the SIP edge (issue 11): the set of trusted addresses (trunks, edge
// proxies) that every per-source limit exempts, and the admission of new calls per source address
// (concurrent calls and a token-bucket rate of new INVITEs). Pure logic: no sockets, time from the
// injected Clock. Source addresses are the numeric strings the transport reports (Peer::address).
//
// Thread-safety: AddressSet is immutable after parse (any thread). SourceCallLimiter is not
// synchronised: call it from one strand (the call service's).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace vontres::telephony::ua {

// IPv4/IPv6 addresses and CIDR blocks. An IPv4-mapped IPv6 source (::ffff:a.b.c.d) matches IPv4 entries.
class AddressSet {
 public:
  AddressSet() = default;
  // Entries like "203.0.113.7", "10.0.0.0/8", "::1", "2001:db8::/32". Error invalid_argument
  // "invalid_address_set" naming the entry.
  static Result<AddressSet> parse(const std::vector<std::string>& entries);

  bool contains(std::string_view address) const;
  bool empty() const { return blocks_.empty(); }

 private:
  struct Block {
    std::array<uint8_t, 16> bytes{};  // IPv4 as ::ffff:a.b.c.d
    int prefix_bits = 128;            // over the 128-bit form
  };
  std::vector<Block> blocks_;
};

struct SourceCallLimits {
  uint64_t max_concurrent = 100;         // calls held at once by one source; 0: no limit
  uint64_t invites_per_second = 20;      // sustained rate of new calls; 0: no limit
  uint64_t burst = 40;                   // bucket size (new calls at once after a quiet spell)
  size_t max_tracked_sources = 100'000;  // idle sources beyond this are forgotten first
};

class SourceCallLimiter {
 public:
  SourceCallLimiter(const Clock& clock, SourceCallLimits limits, AddressSet trusted = {});

  enum class Verdict { kAdmit, kTooManyCalls, kTooFast };
  // A new inbound call from `source`: kAdmit counts it as held (call released() when it ends);
  // otherwise nothing is counted and the caller answers 503 + Retry-After.
  Verdict admit(const std::string& source);
  void released(const std::string& source);

  bool trusted(std::string_view source) const { return trusted_.contains(source); }
  uint64_t held(const std::string& source) const;
  // Seconds a refused source should wait (for Retry-After).
  int retry_after_seconds(Verdict verdict) const;

 private:
  struct Source {
    uint64_t held = 0;
    double tokens = 0;
    TimePoint refilled{};
  };
  void forget_idle();

  const Clock& clock_;
  SourceCallLimits limits_;
  AddressSet trusted_;
  std::unordered_map<std::string, Source> sources_;
};

std::string_view verdict_name(SourceCallLimiter::Verdict verdict);  // "admit", "too_many_calls", "too_fast"

}  // namespace vontres::telephony::ua
