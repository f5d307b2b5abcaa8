// SIP accounts: which SIP username belongs to which agent of which organisation, and its digest
// HA1s (MD5 and SHA-256 for the registrar's realm). Passwords are turned into HA1s at once and
// never stored or logged. SIP usernames are global (a REGISTER carries no organisation), so one
// organisation cannot take a username another one owns. CredentialStore is the narrow read
// interface the registrar uses; StoreCredentialStore keeps accounts in the project's Store;
// SipAccountsApi serves PUT/GET/DELETE /api/v1/sip-accounts scoped to the principal's org_id.
//
// Thread-safety: all classes here may be used from any thread (the Store is thread-safe, the
// in-memory store is locked).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace vontres::telephony::registrar {

struct SipAccount {
  std::string username;  // SIP user part, [A-Za-z0-9._~+-]{1,64}
  std::string org_id;
  std::string agent_id;
  std::string realm;  // the realm the HA1s were computed for
  std::string ha1_md5;
  std::string ha1_sha256;
  bool enabled = true;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// Password policy for SIP accounts: at least this many characters (softphones store the password,
// so length is cheap for the agent and expensive for an online guesser).
inline constexpr size_t kMinSipPasswordLength = 12;
inline constexpr size_t kMaxSipPasswordLength = 256;

// Errors: invalid_argument "invalid_sip_username".
Status validate_sip_username(std::string_view username);
// Errors: invalid_argument "weak_sip_password" (too short) or "invalid_sip_password" (too long,
// control characters).
Status validate_sip_password(std::string_view password);
// Validates and fills the HA1s of `account` for `realm` from `password`.
Status set_sip_password(SipAccount& account, std::string_view realm, std::string_view password);

class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  // Errors: not_found "sip_account_not_found"; store errors unchanged.
  virtual Result<SipAccount> find(std::string_view username) = 0;
};

// For tests and single-node demos.
class InMemoryCredentialStore final : public CredentialStore {
 public:
  Result<SipAccount> find(std::string_view username) override;
  void put(SipAccount account);
  bool remove(std::string_view username);

 private:
  std::mutex mu_;
  std::map<std::string, SipAccount, std::less<>> accounts_;  // GUARDED_BY(mu_)
};

class StoreCredentialStore final : public CredentialStore {
 public:
  // `store` must be migrated with migrations() and outlive this object.
  StoreCredentialStore(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Schema of component "sip_registrar".
  static std::vector<store::Migration> migrations();

  Result<SipAccount> find(std::string_view username) override;
  // Creates or replaces the account (timestamps are set here). Returns true when created.
  // Errors: already_exists "sip_account_taken" when another organisation owns the username.
  Result<bool> upsert(const SipAccount& account);
  // The organisation's accounts ordered by username.
  Result<std::vector<SipAccount>> list(std::string_view org_id);
  // Errors: not_found "sip_account_not_found" (also when another organisation owns it).
  Status remove(std::string_view org_id, std::string_view username);

 private:
  store::Store& store_;
  const Clock& clock_;
};

// Whether the agent a SIP account belongs to may use it: the registrar asks on every REGISTER
// through AgentGatedCredentialStore, so a deactivated user's phone is refused even if the users
// service's event never arrived. Implemented in app/ over the users service (agent id = user id).
// Thread-safety: standing() may be called from any thread.
class AgentDirectory {
 public:
  enum class Standing {
    kActive,
    kInactive,  // a deactivated user
    kUnknown,   // no such user: an agent id the ACD knows but the users service does not
  };
  virtual ~AgentDirectory() = default;
  // Errors: whatever the directory's storage answers (unavailable: the registrar answers 503).
  virtual Result<Standing> standing(std::string_view org_id, std::string_view agent_id) = 0;
};

// A CredentialStore that reports the accounts of inactive agents as disabled, so the registrar
// refuses them (403 "digest_account_disabled"). Both arguments must outlive it.
class AgentGatedCredentialStore final : public CredentialStore {
 public:
  AgentGatedCredentialStore(CredentialStore& accounts, AgentDirectory& agents) : accounts_(accounts), agents_(agents) {}
  Result<SipAccount> find(std::string_view username) override;

 private:
  CredentialStore& accounts_;
  AgentDirectory& agents_;
};

// Admin routes. The handlers log changes (username, agent, org) but never the password or HA1s.
class SipAccountsApi {
 public:
  // Called after an account is deleted, disabled or moved to another agent, so the registrar can
  // drop its bindings (wire it to Registrar::remove_user). Runs on the HTTP worker thread.
  using RevokedHook = std::function<void(const std::string& username)>;

  // `realm` is the registrar's digest realm; passwords are hashed for it.
  SipAccountsApi(StoreCredentialStore& accounts, std::string realm, RevokedHook on_revoked = {})
      : accounts_(accounts), realm_(std::move(realm)), on_revoked_(std::move(on_revoked)) {}

  // PUT    /api/v1/sip-accounts/{username}  {agent_id, password, enabled}  "agents.write"
  //        (password may be omitted when updating an existing account) -> 201 created / 200
  // GET    /api/v1/sip-accounts                                           "agents.read"
  // DELETE /api/v1/sip-accounts/{username}                                "agents.write" -> 204
  void register_routes(api::Router& router);

  // The agent's user was deactivated or deleted (users/events.h): every SIP account of `agent_id`
  // in `org_id` loses its registrations (through the revoked hook); with `disable`, the accounts
  // are also disabled for good (a deleted user). Idempotent. Errors: Store errors.
  Status revoke_agent(std::string_view org_id, std::string_view agent_id, bool disable);

 private:
  StoreCredentialStore& accounts_;
  std::string realm_;
  RevokedHook on_revoked_;
};

}  // namespace vontres::telephony::registrar
