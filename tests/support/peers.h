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

// A copy of the SIPp scenario `scenario_file` in `dir`, its "pcap/..." audio pointing at links in
// <dir>/pcap to Debian's sip-tester captures (dtmf.pcap: digit 1 as RFC 4733 events; g711a.pcap:
// G.711 A-law speech). Returns the copy's path.
std::string local_sipp_scenario(const std::string& scenario_file, const std::string& dir);

// Registers SIP user `username` with `password` (digest, MD5) at `target` ("127.0.0.1:PORT") from
// 127.0.0.1:`local_port`, running SIPp's `register_scenario` once (15 s timeout); `dir` holds its
// injection file. True when the registrar answered 200.
bool sipp_register(const std::string& register_scenario, const std::string& dir, const std::string& target,
                   const std::string& username, const std::string& password, uint16_t local_port);

}  // namespace vontres::testing
