// Password hashing with argon2id (libargon2). Each hash is a PHC string
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>") holding its own random salt and cost, so the
// configured cost can change without invalidating stored hashes.
//
// Thread-safety: const methods may be called from any thread concurrently.
#pragma once

#include <string>
#include <string_view>

#include "core/config.h"
#include "core/status.h"

namespace vontres::users {

class PasswordHasher {
 public:
  // Passwords longer than this are refused before hashing so a huge body cannot buy CPU time.
  static constexpr size_t kMaxPasswordBytes = 1024;

  explicit PasswordHasher(const AuthConfig& config);

  // Errors: "password_too_short", "password_too_long" (invalid_argument).
  Status check_policy(std::string_view password) const;
  // A PHC string with a fresh 16-byte salt. Errors: "password_hash_failed" (internal).
  Result<std::string> hash(std::string_view password) const;
  // True only if `password` matches `phc`; argon2 compares the digests in constant time.
  // A malformed `phc` is simply false.
  bool verify(std::string_view password, const std::string& phc) const;
  // Burns the same time as a real verify; used when the account does not exist so the response
  // time does not reveal which emails are registered.
  void verify_dummy(std::string_view password) const;

  uint32_t memory_kib() const { return memory_kib_; }
  uint32_t iterations() const { return iterations_; }
  uint32_t parallelism() const { return parallelism_; }

 private:
  uint32_t memory_kib_;
  uint32_t iterations_;
  uint32_t parallelism_;
  size_t min_length_;
  std::string dummy_hash_;
};

}  // namespace vontres::users
