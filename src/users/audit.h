// Audit trail of security events (logins, lock-outs, role changes, keys, passwords, logouts,
// refresh-token reuse). Each event is written to the audit_events table and logged as one ECS
// JSON line (event.action, event.outcome, user.id, user.target.id, source.ip, organization.id).
// Callers must never put passwords, tokens or secrets into `details`.
//
// Thread-safety: record() may be called from any thread.
#pragma once

#include <string>

#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "store/store.h"
#include "users/model.h"

namespace vontres::users {

namespace audit_type {
inline constexpr const char* kLoginSucceeded = "login_succeeded";
inline constexpr const char* kLoginFailed = "login_failed";
inline constexpr const char* kAccountLocked = "account_locked";
inline constexpr const char* kLogout = "logout";
inline constexpr const char* kRefreshReuseDetected = "refresh_token_reuse_detected";
inline constexpr const char* kPasswordChanged = "password_changed";
inline constexpr const char* kPasswordReset = "password_reset";
inline constexpr const char* kRoleChanged = "role_changed";
inline constexpr const char* kUserCreated = "user_created";
inline constexpr const char* kUserDeleted = "user_deleted";
inline constexpr const char* kApiKeyCreated = "api_key_created";
inline constexpr const char* kApiKeyRevoked = "api_key_revoked";
}  // namespace audit_type

// Builds an event; designated initialisers would do, but gcc warns about the fields left out.
AuditEvent security_event(std::string type, std::string org_id, std::string actor_id, std::string subject_id,
                          std::string remote_address, std::string outcome = "success",
                          nlohmann::json details = nlohmann::json::object());

class AuditLog {
 public:
  AuditLog(store::Store& store, const Clock& clock, IdGenerator& ids);

  // Fills id and time, stores and logs the event. A Store failure is logged, not returned: losing
  // an audit row must not turn a completed logout into an error for the caller.
  void record(AuditEvent event);

 private:
  store::Store& store_;
  const Clock& clock_;
  IdGenerator& ids_;
  log::Logger log_{"audit"};
};

}  // namespace vontres::users
