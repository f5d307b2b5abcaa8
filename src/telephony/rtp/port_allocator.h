// Hands out RTP/RTCP port pairs from a configured range: an even RTP port and RTCP on port + 1
// (RFC 3550 section 11). Ports are reused after release (least recently released last, so a late
// packet of an old call rarely reaches a new one). Running out is kErrorPortsExhausted, which the
// call service answers with 503. The allocator only tracks numbers; MediaSession binds the sockets
// and asks for another pair when one is taken by another process.
//
// Thread-safety: all methods may be called from any thread. It must outlive the sessions using it.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vontres::telephony::rtp {

inline constexpr std::string_view kErrorPortsExhausted = "rtp_ports_exhausted";

class PortAllocator {
 public:
  // [first, last] inclusive; first is rounded up to even; a pair needs both ports in range.
  PortAllocator(uint16_t first, uint16_t last);

  // An even RTP port (its RTCP port is +1), or resource_exhausted / kErrorPortsExhausted.
  Result<uint16_t> allocate();
  // Returns a pair; releasing a port not allocated is ignored.
  void release(uint16_t rtp_port);
  size_t available() const;
  size_t capacity() const { return capacity_; }

 private:
  mutable std::mutex mutex_;
  std::deque<uint16_t> free_;  // GUARDED_BY(mutex_)
  std::vector<bool> in_use_;   // GUARDED_BY(mutex_), indexed by (port - first_) / 2
  uint16_t first_;
  size_t capacity_;
};

}  // namespace vontres::telephony::rtp
