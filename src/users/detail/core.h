// The users service's operations (login, refresh, logout, passwords, revocation, principals),
// shared by the HTTP handlers, the Authenticator and the CLI. Internal to src/users.
//
// Revocation model: an access token is refused if its jti, its refresh family ("sid") or its user
// (tokens issued, to the millisecond, before a password reset, deactivation or deletion) is on the
// revocation list. Ending a user's sessions lists every live family of the user too, so a token
// issued in the same millisecond as the revocation is refused by its "sid".
// The list lives in the Cache with TTL = the longest time a covered token could still verify, and
// in the Store's revoked_tokens table, from which warm_revocations() refills the Cache at start.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http.h"
#include "bus/event_bus.h"
#include "cache/cache.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "store/store.h"
#include "users/audit.h"
#include "users/jwt.h"
#include "users/model.h"
#include "users/passwords.h"
#include "users/rate_limiter.h"

namespace vontres::users::detail {

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  int64_t expires_in_seconds = 0;
};

struct LoginFailure {
  Status status;
  std::chrono::milliseconds retry_after{0};  // set with "account_locked"
};

// The API key format: "vk_<prefix>_<secret>"; the prefix finds the row, the SHA-256 of the whole
// key is compared in constant time.
inline constexpr std::string_view kApiKeyMarker = "vk_";

class UsersCore {
 public:
  UsersCore(const AuthConfig& config, store::Store& store, cache::Cache& cache, const Clock& clock, IdGenerator& ids,
            std::unique_ptr<JwtCodec> jwt);

  // Copies unexpired revocations from the Store into the Cache and drops expired rows.
  Status warm_revocations();

  // Errors: "invalid_credentials" (401), "account_locked" (429, with retry_after), "invalid_argument".
  Result<TokenPair> login(const std::string& email, const std::string& password, const std::string& address,
                          LoginFailure& failure);
  // Rotates a refresh token. Errors (401): "invalid_refresh_token", "token_expired", "token_revoked",
  // "refresh_token_reused" (the whole family is revoked and the event audited).
  Result<TokenPair> refresh(const std::string& refresh_token, const std::string& address);
  // Revokes the access token's jti and its refresh family.
  Status logout(const api::Principal& principal, const AccessClaims& claims, const std::string& address);

  // Own password. Errors: "invalid_credentials", "password_too_short", "password_too_long".
  Status change_password(const api::Principal& principal, const std::string& current, const std::string& next,
                         const std::string& address);
  // Admin reset of a user in the principal's organisation. Errors: "user_not_found", policy errors.
  Status reset_password(const api::Principal& principal, const std::string& user_id, const std::string& next,
                        const std::string& address);
  // Ends every session of a user (password reset, deactivation, deletion).
  Status revoke_user_sessions(const std::string& org_id, const std::string& user_id);

  // Creates an organisation (if `org_name` is new) and an admin in it. Errors: "email_taken",
  // policy errors.
  Status create_admin(const std::string& org_name, const std::string& email, const std::string& password);

  // Verifies a bearer token including the revocation list.
  Result<AccessClaims> verify_access_token(std::string_view token);
  // Verifies an API key. Errors (401): "invalid_api_key", "api_key_revoked".
  Result<api::Principal> verify_api_key(std::string_view key);
  // Built-in role permissions plus the organisation's custom roles. Unknown roles grant nothing.
  Result<std::set<std::string>> resolve_permissions(const std::string& org_id, const std::vector<std::string>& roles);
  Result<api::Principal> principal_for(const AccessClaims& claims);

  // Checks a role list for assignment by `principal`: every role must exist, and the principal
  // must hold every permission it grants (nobody hands out more than they have).
  Status check_role_assignment(const api::Principal& principal, const std::vector<std::string>& roles);
  // Checks that `principal` may change anything about a user holding `target_roles` (profile,
  // active flag, e-mail, roles, teams, password): it must hold every permission those roles grant
  // that gives authority over others (users/permissions.h grants_authority). Roles that no longer
  // exist grant nothing. Errors: permission_denied "permission_escalation".
  Status check_can_manage(const api::Principal& principal, const std::vector<std::string>& target_roles);
  // Refuses a change that would leave the organisation without an active admin: `before` is the
  // user as stored, `after` what it becomes (nullopt: deleted). Run it inside the transaction that
  // writes the change. Errors: failed_precondition "last_admin" (409).
  static Status check_keeps_an_admin(store::Session& session, const User& before, const std::optional<User>& after);

  // Where user lifecycle events (users/events.h) go; null (the default): nowhere. Any thread;
  // `bus` must outlive the core.
  void set_event_bus(bus::EventBus* bus) { bus_.store(bus); }
  // Publishes a users/events.h event of `type` for a change already stored. A failure is logged,
  // not returned: the change stands, and the registrar checks the user's state itself.
  void publish_user_change(std::string_view type, const std::string& org_id, const std::string& user_id);

  const AuthConfig& config() const { return config_; }
  store::Store& store() { return store_; }
  const Clock& clock() const { return clock_; }
  IdGenerator& ids() { return ids_; }
  AuditLog& audit() { return audit_; }
  const PasswordHasher& hasher() const { return hasher_; }
  const JwtCodec& jwt() const { return *jwt_; }

 private:
  Result<TokenPair> issue_tokens(const User& user, const std::string& family_id);
  Status revoke(const std::string& kind, const std::string& token_id, const std::string& org_id,
                std::chrono::milliseconds lifetime, const std::string& value);
  std::chrono::milliseconds access_token_horizon() const;

  AuthConfig config_;
  store::Store& store_;
  cache::Cache& cache_;
  const Clock& clock_;
  IdGenerator& ids_;
  std::unique_ptr<JwtCodec> jwt_;
  PasswordHasher hasher_;
  LoginRateLimiter limiter_;
  AuditLog audit_;
  std::atomic<bus::EventBus*> bus_{nullptr};
};

// Lower-cases and trims an email; empty if it does not look like one.
std::string normalise_email(std::string_view email);

}  // namespace vontres::users::detail
