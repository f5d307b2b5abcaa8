#include "users/passwords.h"

#include <argon2.h>

#include "users/crypto.h"

namespace vontres::users {

namespace {
constexpr uint32_t kSaltBytes = 16;
constexpr uint32_t kHashBytes = 32;
}  // namespace

PasswordHasher::PasswordHasher(const AuthConfig& config)
    : memory_kib_(config.argon2_memory_kib),
      iterations_(config.argon2_iterations),
      parallelism_(config.argon2_parallelism),
      min_length_(static_cast<size_t>(config.password_min_length > 0 ? config.password_min_length : 1)) {
  auto dummy = hash("dummy password used only to equalise timing");
  if (dummy.is_ok()) dummy_hash_ = std::move(dummy).value();
}

Status PasswordHasher::check_policy(std::string_view password) const {
  if (password.size() < min_length_) {
    return invalid_argument("the password must have at least " + std::to_string(min_length_) + " characters",
                            "password_too_short");
  }
  if (password.size() > kMaxPasswordBytes) {
    return invalid_argument("the password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes",
                            "password_too_long");
  }
  return Status::ok();
}

Result<std::string> PasswordHasher::hash(std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) {
    return invalid_argument("the password is too long", "password_too_long");
  }
  VONTRES_ASSIGN_OR_RETURN(std::string salt, random_bytes(kSaltBytes));
  size_t length = argon2_encodedlen(iterations_, memory_kib_, parallelism_, kSaltBytes, kHashBytes, Argon2_id);
  std::string encoded(length, '\0');
  int rc = argon2id_hash_encoded(iterations_, memory_kib_, parallelism_, password.data(), password.size(), salt.data(),
                                 salt.size(), kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    return internal_error(std::string("argon2id failed: ") + argon2_error_message(rc), "password_hash_failed");
  }
  encoded.resize(encoded.find('\0') == std::string::npos ? encoded.size() : encoded.find('\0'));
  return encoded;
}

bool PasswordHasher::verify(std::string_view password, const std::string& phc) const {
  if (password.size() > kMaxPasswordBytes) return false;
  if (phc.rfind("$argon2id$", 0) != 0) return false;
  return argon2id_verify(phc.c_str(), password.data(), password.size()) == ARGON2_OK;
}

void PasswordHasher::verify_dummy(std::string_view password) const {
  if (!dummy_hash_.empty()) (void)verify(password, dummy_hash_);
}

}  // namespace vontres::users
