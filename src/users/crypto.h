// Small cryptographic helpers shared by the users service: secure random bytes, SHA-256,
// base64url (RFC 4648 §5, no padding) and constant-time comparison. All are thin wrappers over
// OpenSSL so the rest of the service never touches its C API.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vontres::users {

// `count` bytes from OpenSSL's CSPRNG. Error "random_failed" if the generator is not seeded.
Result<std::string> random_bytes(size_t count);
// A random token of `byte_count` bytes, base64url-encoded (URL and header safe).
Result<std::string> random_token(size_t byte_count);

// Lower-case hex SHA-256 of `data`. Used to store refresh tokens and API key secrets: they carry
// 256 bits of entropy, so a fast hash is enough (unlike passwords).
std::string sha256_hex(std::string_view data);
// Raw HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

std::string base64url_encode(std::string_view data);
// Strict decoding: only the URL-safe alphabet, no padding, no whitespace. nullopt if invalid.
std::optional<std::string> base64url_decode(std::string_view text);

// Compares without an early exit so the time taken does not reveal where the inputs differ.
// (The length is not secret here: both sides are fixed-size digests or the lengths differ anyway.)
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace vontres::users
