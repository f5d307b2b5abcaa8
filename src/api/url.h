// Percent-decoding and request-target splitting (RFC 3986), shared by the router and the server.
// Pure functions; safe from any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace vontres::api {

// Decodes "%XX" escapes; with `plus_as_space` (query strings) also '+' -> ' '. A malformed escape
// (e.g. "%4" or "%zz") is kept literally rather than rejected, so decoding never fails.
std::string percent_decode(std::string_view text, bool plus_as_space = false);

// Splits "a=1&b=x%20y" into decoded pairs; a repeated name keeps the last value; "flag" maps to "".
std::map<std::string, std::string> parse_query(std::string_view query);

// Splits an origin-form target "/path?query#frag" into the raw (still encoded) path and query.
struct TargetParts {
  std::string_view raw_path;
  std::string_view raw_query;
};
TargetParts split_target(std::string_view target);

}  // namespace vontres::api
