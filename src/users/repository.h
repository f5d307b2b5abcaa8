// SQL over store::Session for the users service. Statements use the SQLite/PostgreSQL common
// subset with $n placeholders; every query on tenant data is filtered by org_id, so a caller that
// passes the principal's organisation cannot touch another tenant's rows.
// Lists of strings are stored as JSON text columns.
//
// Errors: the Store's ("store_busy", "store_error"); unique violations are mapped to the domain
// codes named per function. Thread-safety: stateless; the Session's rules apply.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/store.h"
#include "users/model.h"

namespace vontres::users::repo {

// Schema, component "users".
std::vector<store::Migration> migrations();

// Organisations. insert: "org_name_taken" if the name exists.
Status insert_org(store::Session& session, const Organisation& org);
Result<std::optional<Organisation>> find_org_by_name(store::Session& session, const std::string& name);
// Every organisation of the deployment, by name (for deployment-wide settings such as the default
// organisation of inbound calls; never for a tenant's request).
Result<std::vector<Organisation>> list_orgs(store::Session& session);

// Users. insert/update: "email_taken" if the email exists.
Status insert_user(store::Session& session, const User& user);
Result<std::optional<User>> find_user_by_email(store::Session& session, const std::string& email);
Result<std::optional<User>> find_user(store::Session& session, const std::string& org_id, const std::string& id);
Result<Page<User>> list_users(store::Session& session, const std::string& org_id, int64_t limit, int64_t offset);
// Writes email, display name, roles, active and updated_at. Returns false if no such user.
Result<bool> update_user(store::Session& session, const User& user);
Result<bool> update_password(store::Session& session, const std::string& org_id, const std::string& id,
                             const std::string& password_hash, int64_t at_ms);
// Also removes the user's team memberships and agent profile.
Result<bool> delete_user(store::Session& session, const std::string& org_id, const std::string& id);
Result<int64_t> count_users_with_role(store::Session& session, const std::string& org_id, const std::string& role);
// Active users holding `role`, other than `except_user_id` (may be empty).
Result<int64_t> count_active_users_with_role(store::Session& session, const std::string& org_id,
                                             const std::string& role, const std::string& except_user_id);

// Custom roles. insert: "role_exists".
Status insert_role(store::Session& session, const Role& role);
Result<std::optional<Role>> find_role(store::Session& session, const std::string& org_id, const std::string& name);
Result<std::vector<Role>> list_roles(store::Session& session, const std::string& org_id);
Result<bool> update_role(store::Session& session, const Role& role);
Result<bool> delete_role(store::Session& session, const std::string& org_id, const std::string& name);

// Teams. insert/update: "team_name_taken".
Status insert_team(store::Session& session, const Team& team);
Result<std::optional<Team>> find_team(store::Session& session, const std::string& org_id, const std::string& id);
Result<Page<Team>> list_teams(store::Session& session, const std::string& org_id, int64_t limit, int64_t offset);
Result<bool> update_team(store::Session& session, const Team& team);
Result<bool> delete_team(store::Session& session, const std::string& org_id, const std::string& id);

// Agent profiles (one per user).
Result<std::optional<AgentProfile>> find_agent_profile(store::Session& session, const std::string& org_id,
                                                       const std::string& user_id);
Status upsert_agent_profile(store::Session& session, const AgentProfile& profile);

// Refresh tokens.
Status insert_refresh_token(store::Session& session, const RefreshToken& token);
Result<std::optional<RefreshToken>> find_refresh_token_by_hash(store::Session& session, const std::string& hash);
// Marks a token rotated. Returns false if it was already used or revoked: the caller lost a race
// or is replaying it.
Result<bool> mark_refresh_token_used(store::Session& session, const std::string& id, int64_t at_ms);
Status revoke_refresh_family(store::Session& session, const std::string& family_id, int64_t at_ms);
// Revokes every live family of a user and returns their ids.
Result<std::vector<std::string>> revoke_user_refresh_families(store::Session& session, const std::string& user_id,
                                                              int64_t at_ms);

// Revocation list (durable copy of what the Cache holds).
Status insert_revocation(store::Session& session, const Revocation& revocation);
Result<std::vector<Revocation>> list_active_revocations(store::Session& session, int64_t now_ms);
Status delete_expired_revocations(store::Session& session, int64_t now_ms);

// API keys.
Status insert_api_key(store::Session& session, const ApiKey& key);
Result<std::optional<ApiKey>> find_api_key_by_prefix(store::Session& session, const std::string& prefix);
Result<Page<ApiKey>> list_api_keys(store::Session& session, const std::string& org_id, int64_t limit, int64_t offset);
Result<bool> revoke_api_key(store::Session& session, const std::string& org_id, const std::string& id, int64_t at_ms);
Status touch_api_key(store::Session& session, const std::string& id, int64_t at_ms);

// Audit events, newest first.
Status insert_audit_event(store::Session& session, const AuditEvent& event);
Result<Page<AuditEvent>> list_audit_events(store::Session& session, const std::string& org_id, int64_t limit,
                                           int64_t offset);

}  // namespace vontres::users::repo
