// Helpers for tests that run real peers (SIPp, Kamailio, curl, espeak-ng) next to `vontres serve`.
#pragma once

#include <cstdint>
#include <string>

namespace vontres::testing {

// True when `name` is on the PATH.
bool have_program(const std::string& name);

// A 127.0.0.1 port free for both UDP and TCP right now (the OS picks it), below `below` so it stays
// clear of the RTP port ranges a test configures above it; 0 when none was found in 50 tries.
uint16_t free_port(uint16_t below = 60000);

}  // namespace vontres::testing
