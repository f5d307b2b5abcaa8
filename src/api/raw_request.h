// One HTTP/1.1 request from raw bytes to a Response, without sockets: Beast's parser with the
// server's limits, then the server's error mapping and Dispatcher. Used by the fuzz target and
// tests; the server runs the same pieces incrementally on a socket.
//
// Thread-safety: as Dispatcher.
#pragma once

#include <cstdint>
#include <string_view>

#include "api/dispatch.h"
#include "api/http.h"

namespace vontres::api {

struct ParseLimits {
  uint64_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 1024 * 1024;
};

// Incomplete or malformed input answers 400 "bad_request"; over-limit headers 431, body 413.
// Bytes after the first complete request are ignored.
Response handle_raw_request(const Dispatcher& dispatcher, std::string_view bytes, const ParseLimits& limits);

}  // namespace vontres::api
