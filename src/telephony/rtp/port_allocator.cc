#include "telephony/rtp/port_allocator.h"

#include <string>

namespace vontres::telephony::rtp {

PortAllocator::PortAllocator(uint16_t first, uint16_t last) : first_(static_cast<uint16_t>((first + 1) & ~1)) {
  for (uint32_t port = first_; port + 1 <= last && port + 1 <= 0xffff; port += 2) {
    free_.push_back(static_cast<uint16_t>(port));
  }
  capacity_ = free_.size();
  in_use_.assign(capacity_, false);
}

Result<uint16_t> PortAllocator::allocate() {
  std::lock_guard lock(mutex_);
  if (free_.empty()) {
    return resource_exhausted("all " + std::to_string(capacity_) + " RTP port pairs are in use",
                              std::string(kErrorPortsExhausted));
  }
  uint16_t port = free_.front();
  free_.pop_front();
  in_use_[(port - first_) / 2] = true;
  return port;
}

void PortAllocator::release(uint16_t rtp_port) {
  std::lock_guard lock(mutex_);
  if (rtp_port < first_ || (rtp_port - first_) % 2 != 0) return;
  size_t index = (rtp_port - first_) / 2;
  if (index >= capacity_ || !in_use_[index]) return;
  in_use_[index] = false;
  free_.push_back(rtp_port);
}

size_t PortAllocator::available() const {
  std::lock_guard lock(mutex_);
  return free_.size();
}

}  // namespace vontres::telephony::rtp
