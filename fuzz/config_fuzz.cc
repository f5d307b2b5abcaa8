// Feeds arbitrary bytes to the configuration parser (YAML + env-style overrides + validation).
// It must return a Status for anything, never crash or throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = vontres::parse_config(text, {});
  if (config.is_ok()) {
    (void)vontres::validate_config(*config);
  }
  (void)vontres::parse_duration(text);
  (void)vontres::parse_byte_size(text);
  (void)vontres::parse_listen_address(text);
  return 0;
}
