// Feeds arbitrary bytes as bearer tokens to the JWT verifier (HS256). Every input must be
// rejected or accepted without crashing, leaking or reading out of bounds; a random input that
// verifies would mean a forged signature, so that aborts too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/clock.h"
#include "users/jwt.h"

namespace {

const vontres::users::JwtCodec& codec() {
  static vontres::ManualClock clock;
  static auto instance = [] {
    vontres::AuthConfig config;
    vontres::users::JwtKeys keys;
    keys.hmac_secret = std::string(32, 'k');
    auto created = vontres::users::JwtCodec::create_from_keys(config, keys, clock);
    if (!created.is_ok()) std::abort();
    return std::move(created).value();
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view token(reinterpret_cast<const char*>(data), size);
  auto result = codec().verify(token);
  if (result.is_ok()) std::abort();  // only a token signed with the secret may verify
  return 0;
}
