#include "users/repository.h"

namespace vontres::users::repo {

namespace {

using store::Row;
using store::Value;

std::string to_json_text(const std::vector<std::string>& values) { return nlohmann::json(values).dump(); }

std::vector<std::string> from_json_text(const std::string& text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!parsed.is_array()) return out;
  for (const auto& item : parsed) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

Value optional_int(const std::optional<int64_t>& value) { return value ? Value(*value) : Value(std::monostate{}); }

std::optional<int64_t> get_optional_int(const Row& row, size_t i) {
  if (row.is_null(i)) return std::nullopt;
  return row.get_int(i);
}

// Turns the Store's generic unique-violation code into the caller's domain code.
Status map_constraint(const Status& status, const char* code, const char* message) {
  if (status.code() == "store_constraint") return already_exists(message, code);
  return status;
}

Result<int64_t> count(store::Session& session, std::string_view sql, const std::vector<Value>& params) {
  VONTRES_ASSIGN_OR_RETURN(auto rows, session.query(sql, params));
  return rows.empty() ? 0 : rows[0].get_int(0);
}

constexpr const char* kUserColumns =
    "id, org_id, email, display_name, password_hash, roles, active, created_at_ms, updated_at_ms";

User user_from_row(const Row& row) {
  User user;
  user.id = row.get_string(0);
  user.org_id = row.get_string(1);
  user.email = row.get_string(2);
  user.display_name = row.get_string(3);
  user.password_hash = row.get_string(4);
  user.roles = from_json_text(row.get_string(5));
  user.active = row.get_int(6) != 0;
  user.created_at_ms = row.get_int(7);
  user.updated_at_ms = row.get_int(8);
  return user;
}

Role role_from_row(const Row& row) {
  Role role;
  role.org_id = row.get_string(0);
  role.name = row.get_string(1);
  role.description = row.get_string(2);
  role.permissions = from_json_text(row.get_string(3));
  role.created_at_ms = row.get_int(4);
  role.updated_at_ms = row.get_int(5);
  return role;
}

Result<Team> team_from_row(store::Session& session, const Row& row) {
  Team team;
  team.id = row.get_string(0);
  team.org_id = row.get_string(1);
  team.name = row.get_string(2);
  team.description = row.get_string(3);
  team.created_at_ms = row.get_int(4);
  team.updated_at_ms = row.get_int(5);
  VONTRES_ASSIGN_OR_RETURN(
      auto members, session.query("SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id", {team.id}));
  for (const auto& member : members.rows) team.member_ids.push_back(member.get_string(0));
  return team;
}

Status replace_team_members(store::Session& session, const Team& team) {
  VONTRES_ASSIGN_OR_RETURN(auto removed, session.execute("DELETE FROM team_members WHERE team_id = $1", {team.id}));
  (void)removed;
  for (const auto& user_id : team.member_ids) {
    VONTRES_ASSIGN_OR_RETURN(
        auto inserted,
        session.execute("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)", {team.id, user_id}));
    (void)inserted;
  }
  return Status::ok();
}

RefreshToken refresh_from_row(const Row& row) {
  RefreshToken token;
  token.id = row.get_string(0);
  token.family_id = row.get_string(1);
  token.user_id = row.get_string(2);
  token.org_id = row.get_string(3);
  token.token_hash = row.get_string(4);
  token.created_at_ms = row.get_int(5);
  token.expires_at_ms = row.get_int(6);
  token.used_at_ms = get_optional_int(row, 7);
  token.revoked_at_ms = get_optional_int(row, 8);
  return token;
}

constexpr const char* kApiKeyColumns =
    "id, org_id, name, prefix, secret_hash, permissions, created_by, created_at_ms, last_used_at_ms, revoked_at_ms";

ApiKey api_key_from_row(const Row& row) {
  ApiKey key;
  key.id = row.get_string(0);
  key.org_id = row.get_string(1);
  key.name = row.get_string(2);
  key.prefix = row.get_string(3);
  key.secret_hash = row.get_string(4);
  key.permissions = from_json_text(row.get_string(5));
  key.created_by = row.get_string(6);
  key.created_at_ms = row.get_int(7);
  key.last_used_at_ms = get_optional_int(row, 8);
  key.revoked_at_ms = get_optional_int(row, 9);
  return key;
}

}  // namespace

std::vector<store::Migration> migrations() {
  return {
      {"users", 1, "organisations, users, roles, teams, agent profiles, tokens, API keys, audit",
       R"sql(
CREATE TABLE organisations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at_ms BIGINT NOT NULL
);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organisations(id),
  email TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  roles TEXT NOT NULL,
  active INTEGER NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE INDEX users_by_org ON users (org_id, id);
CREATE TABLE roles (
  org_id TEXT NOT NULL REFERENCES organisations(id),
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  permissions TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (org_id, name)
);
CREATE TABLE teams (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organisations(id),
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  UNIQUE (org_id, name)
);
CREATE TABLE team_members (
  team_id TEXT NOT NULL REFERENCES teams(id),
  user_id TEXT NOT NULL REFERENCES users(id),
  PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_by_user ON team_members (user_id);
CREATE TABLE agent_profiles (
  user_id TEXT PRIMARY KEY REFERENCES users(id),
  org_id TEXT NOT NULL,
  extension TEXT NOT NULL,
  sip_username TEXT NOT NULL,
  skills TEXT NOT NULL,
  max_concurrent_calls INTEGER NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE TABLE refresh_tokens (
  id TEXT PRIMARY KEY,
  family_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at_ms BIGINT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  used_at_ms BIGINT,
  revoked_at_ms BIGINT
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);
CREATE TABLE revoked_tokens (
  token_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  org_id TEXT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  revoked_at_ms BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at_ms);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organisations(id),
  name TEXT NOT NULL,
  prefix TEXT NOT NULL UNIQUE,
  secret_hash TEXT NOT NULL,
  permissions TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  last_used_at_ms BIGINT,
  revoked_at_ms BIGINT
);
CREATE INDEX api_keys_by_org ON api_keys (org_id, id);
CREATE TABLE audit_events (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  event_type TEXT NOT NULL,
  outcome TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  remote_address TEXT NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX audit_events_by_org ON audit_events (org_id, id)
)sql"},
  };
}

// ---- organisations ----

Status insert_org(store::Session& session, const Organisation& org) {
  auto result = session.execute("INSERT INTO organisations (id, name, created_at_ms) VALUES ($1, $2, $3)",
                                {org.id, org.name, org.created_at_ms});
  return result.is_ok() ? Status::ok()
                        : map_constraint(result.status(), "org_name_taken", "an organisation with this name exists");
}

Result<std::optional<Organisation>> find_org_by_name(store::Session& session, const std::string& name) {
  VONTRES_ASSIGN_OR_RETURN(auto rows,
                           session.query("SELECT id, name, created_at_ms FROM organisations WHERE name = $1", {name}));
  if (rows.empty()) return std::optional<Organisation>();
  return std::optional<Organisation>(Organisation{rows[0].get_string(0), rows[0].get_string(1), rows[0].get_int(2)});
}

Result<std::vector<Organisation>> list_orgs(store::Session& session) {
  VONTRES_ASSIGN_OR_RETURN(auto rows, session.query("SELECT id, name, created_at_ms FROM organisations ORDER BY name"));
  std::vector<Organisation> out;
  out.reserve(rows.size());
  for (const auto& row : rows.rows) out.push_back(Organisation{row.get_string(0), row.get_string(1), row.get_int(2)});
  return out;
}

// ---- users ----

Status insert_user(store::Session& session, const User& user) {
  auto result = session.execute(
      std::string("INSERT INTO users (") + kUserColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      {user.id, user.org_id, user.email, user.display_name, user.password_hash, to_json_text(user.roles),
       int64_t{user.active ? 1 : 0}, user.created_at_ms, user.updated_at_ms});
  return result.is_ok() ? Status::ok() : map_constraint(result.status(), "email_taken", "this email is taken");
}

Result<std::optional<User>> find_user_by_email(store::Session& session, const std::string& email) {
  VONTRES_ASSIGN_OR_RETURN(
      auto rows, session.query(std::string("SELECT ") + kUserColumns + " FROM users WHERE email = $1", {email}));
  if (rows.empty()) return std::optional<User>();
  return std::optional<User>(user_from_row(rows[0]));
}

Result<std::optional<User>> find_user(store::Session& session, const std::string& org_id, const std::string& id) {
  VONTRES_ASSIGN_OR_RETURN(
      auto rows,
      session.query(std::string("SELECT ") + kUserColumns + " FROM users WHERE org_id = $1 AND id = $2", {org_id, id}));
  if (rows.empty()) return std::optional<User>();
  return std::optional<User>(user_from_row(rows[0]));
}

Result<Page<User>> list_users(store::Session& session, const std::string& org_id, int64_t limit, int64_t offset) {
  Page<User> page;
  VONTRES_ASSIGN_OR_RETURN(page.total, count(session, "SELECT COUNT(*) FROM users WHERE org_id = $1", {org_id}));
  VONTRES_ASSIGN_OR_RETURN(auto rows, session.query(std::string("SELECT ") + kUserColumns +
                                                        " FROM users WHERE org_id = $1 ORDER BY id LIMIT $2 OFFSET $3",
                                                    {org_id, limit, offset}));
  for (const auto& row : rows.rows) page.items.push_back(user_from_row(row));
  return page;
}

Result<bool> update_user(store::Session& session, const User& user) {
  auto result = session.execute(
      "UPDATE users SET email = $1, display_name = $2, roles = $3, active = $4, updated_at_ms = $5 "
      "WHERE org_id = $6 AND id = $7",
      {user.email, user.display_name, to_json_text(user.roles), int64_t{user.active ? 1 : 0}, user.updated_at_ms,
       user.org_id, user.id});
  if (!result.is_ok()) return map_constraint(result.status(), "email_taken", "this email is taken");
  return *result > 0;
}

Result<bool> update_password(store::Session& session, const std::string& org_id, const std::string& id,
                             const std::string& password_hash, int64_t at_ms) {
  VONTRES_ASSIGN_OR_RETURN(
      auto changed,
      session.execute("UPDATE users SET password_hash = $1, updated_at_ms = $2 WHERE org_id = $3 AND id = $4",
                      {password_hash, at_ms, org_id, id}));
  return changed > 0;
}

Result<bool> delete_user(store::Session& session, const std::string& org_id, const std::string& id) {
  VONTRES_ASSIGN_OR_RETURN(auto found, find_user(session, org_id, id));
  if (!found) return false;
  VONTRES_ASSIGN_OR_RETURN(auto a, session.execute("DELETE FROM team_members WHERE user_id = $1", {id}));
  VONTRES_ASSIGN_OR_RETURN(auto b, session.execute("DELETE FROM agent_profiles WHERE user_id = $1", {id}));
  VONTRES_ASSIGN_OR_RETURN(auto c, session.execute("DELETE FROM users WHERE org_id = $1 AND id = $2", {org_id, id}));
  (void)a;
  (void)b;
  return c > 0;
}

Result<int64_t> count_users_with_role(store::Session& session, const std::string& org_id, const std::string& role) {
  // roles is a JSON array of names, so a quoted name matches exactly one element.
  return count(session, "SELECT COUNT(*) FROM users WHERE org_id = $1 AND roles LIKE $2",
               {org_id, "%\"" + role + "\"%"});
}

Result<int64_t> count_active_users_with_role(store::Session& session, const std::string& org_id,
                                             const std::string& role, const std::string& except_user_id) {
  return count(session, "SELECT COUNT(*) FROM users WHERE org_id = $1 AND active <> 0 AND roles LIKE $2 AND id <> $3",
               {org_id, "%\"" + role + "\"%", except_user_id});
}

// ---- roles ----

Status insert_role(store::Session& session, const Role& role) {
  auto result = session.execute(
      "INSERT INTO roles (org_id, name, description, permissions, created_at_ms, updated_at_ms) "
      "VALUES ($1, $2, $3, $4, $5, $6)",
      {role.org_id, role.name, role.description, to_json_text(role.permissions), role.created_at_ms,
       role.updated_at_ms});
  return result.is_ok() ? Status::ok() : map_constraint(result.status(), "role_exists", "a role with this name exists");
}

Result<std::optional<Role>> find_role(store::Session& session, const std::string& org_id, const std::string& name) {
  VONTRES_ASSIGN_OR_RETURN(auto rows,
                           session.query("SELECT org_id, name, description, permissions, created_at_ms, updated_at_ms "
                                         "FROM roles WHERE org_id = $1 AND name = $2",
                                         {org_id, name}));
  if (rows.empty()) return std::optional<Role>();
  return std::optional<Role>(role_from_row(rows[0]));
}

Result<std::vector<Role>> list_roles(store::Session& session, const std::string& org_id) {
  VONTRES_ASSIGN_OR_RETURN(auto rows,
                           session.query("SELECT org_id, name, description, permissions, created_at_ms, updated_at_ms "
                                         "FROM roles WHERE org_id = $1 ORDER BY name",
                                         {org_id}));
  std::vector<Role> roles;
  for (const auto& row : rows.rows) roles.push_back(role_from_row(row));
  return roles;
}

Result<bool> update_role(store::Session& session, const Role& role) {
  VONTRES_ASSIGN_OR_RETURN(
      auto changed,
      session.execute("UPDATE roles SET description = $1, permissions = $2, updated_at_ms = $3 "
                      "WHERE org_id = $4 AND name = $5",
                      {role.description, to_json_text(role.permissions), role.updated_at_ms, role.org_id, role.name}));
  return changed > 0;
}

Result<bool> delete_role(store::Session& session, const std::string& org_id, const std::string& name) {
  VONTRES_ASSIGN_OR_RETURN(auto changed,
                           session.execute("DELETE FROM roles WHERE org_id = $1 AND name = $2", {org_id, name}));
  return changed > 0;
}

// ---- teams ----

Status insert_team(store::Session& session, const Team& team) {
  auto result = session.execute(
      "INSERT INTO teams (id, org_id, name, description, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
      {team.id, team.org_id, team.name, team.description, team.created_at_ms, team.updated_at_ms});
  if (!result.is_ok()) return map_constraint(result.status(), "team_name_taken", "a team with this name exists");
  return replace_team_members(session, team);
}

Result<std::optional<Team>> find_team(store::Session& session, const std::string& org_id, const std::string& id) {
  VONTRES_ASSIGN_OR_RETURN(auto rows,
                           session.query("SELECT id, org_id, name, description, created_at_ms, updated_at_ms "
                                         "FROM teams WHERE org_id = $1 AND id = $2",
                                         {org_id, id}));
  if (rows.empty()) return std::optional<Team>();
  VONTRES_ASSIGN_OR_RETURN(auto team, team_from_row(session, rows[0]));
  return std::optional<Team>(std::move(team));
}

Result<Page<Team>> list_teams(store::Session& session, const std::string& org_id, int64_t limit, int64_t offset) {
  Page<Team> page;
  VONTRES_ASSIGN_OR_RETURN(page.total, count(session, "SELECT COUNT(*) FROM teams WHERE org_id = $1", {org_id}));
  VONTRES_ASSIGN_OR_RETURN(auto rows,
                           session.query("SELECT id, org_id, name, description, created_at_ms, updated_at_ms "
                                         "FROM teams WHERE org_id = $1 ORDER BY id LIMIT $2 OFFSET $3",
                                         {org_id, limit, offset}));
  for (const auto& row : rows.rows) {
    VONTRES_ASSIGN_OR_RETURN(auto team, team_from_row(session, row));
    page.items.push_back(std::move(team));
  }
  return page;
}

Result<bool> update_team(store::Session& session, const Team& team) {
  auto result =
      session.execute("UPDATE teams SET name = $1, description = $2, updated_at_ms = $3 WHERE org_id = $4 AND id = $5",
                      {team.name, team.description, team.updated_at_ms, team.org_id, team.id});
  if (!result.is_ok()) return map_constraint(result.status(), "team_name_taken", "a team with this name exists");
  if (*result == 0) return false;
  VONTRES_RETURN_IF_ERROR(replace_team_members(session, team));
  return true;
}

Result<bool> delete_team(store::Session& session, const std::string& org_id, const std::string& id) {
  VONTRES_ASSIGN_OR_RETURN(auto found, find_team(session, org_id, id));
  if (!found) return false;
  VONTRES_ASSIGN_OR_RETURN(auto members, session.execute("DELETE FROM team_members WHERE team_id = $1", {id}));
  (void)members;
  VONTRES_ASSIGN_OR_RETURN(auto changed,
                           session.execute("DELETE FROM teams WHERE org_id = $1 AND id = $2", {org_id, id}));
  return changed > 0;
}

// ---- agent profiles ----

Result<std::optional<AgentProfile>> find_agent_profile(store::Session& session, const std::string& org_id,
                                                       const std::string& user_id) {
  VONTRES_ASSIGN_OR_RETURN(
      auto rows, session.query("SELECT user_id, org_id, extension, sip_username, skills, max_concurrent_calls, "
                               "updated_at_ms FROM agent_profiles WHERE org_id = $1 AND user_id = $2",
                               {org_id, user_id}));
  if (rows.empty()) return std::optional<AgentProfile>();
  const auto& row = rows[0];
  AgentProfile profile;
  profile.user_id = row.get_string(0);
  profile.org_id = row.get_string(1);
  profile.extension = row.get_string(2);
  profile.sip_username = row.get_string(3);
  auto skills = nlohmann::json::parse(row.get_string(4), nullptr, false);
  if (skills.is_array()) {
    for (const auto& skill : skills) {
      if (skill.is_object()) {
        profile.skills.push_back({skill.value("name", ""), skill.value("proficiency", 1)});
      }
    }
  }
  profile.max_concurrent_calls = static_cast<int>(row.get_int(5));
  profile.updated_at_ms = row.get_int(6);
  return std::optional<AgentProfile>(std::move(profile));
}

Status upsert_agent_profile(store::Session& session, const AgentProfile& profile) {
  nlohmann::json skills = nlohmann::json::array();
  for (const auto& skill : profile.skills) skills.push_back({{"name", skill.name}, {"proficiency", skill.proficiency}});
  auto result = session.execute(
      "INSERT INTO agent_profiles (user_id, org_id, extension, sip_username, skills, max_concurrent_calls, "
      "updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) "
      "ON CONFLICT (user_id) DO UPDATE SET extension = excluded.extension, sip_username = excluded.sip_username, "
      "skills = excluded.skills, max_concurrent_calls = excluded.max_concurrent_calls, "
      "updated_at_ms = excluded.updated_at_ms",
      {profile.user_id, profile.org_id, profile.extension, profile.sip_username, skills.dump(),
       int64_t{profile.max_concurrent_calls}, profile.updated_at_ms});
  return result.status();
}

// ---- refresh tokens ----

Status insert_refresh_token(store::Session& session, const RefreshToken& token) {
  return session
      .execute(
          "INSERT INTO refresh_tokens (id, family_id, user_id, org_id, token_hash, created_at_ms, expires_at_ms, "
          "used_at_ms, revoked_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
          {token.id, token.family_id, token.user_id, token.org_id, token.token_hash, token.created_at_ms,
           token.expires_at_ms, optional_int(token.used_at_ms), optional_int(token.revoked_at_ms)})
      .status();
}

Result<std::optional<RefreshToken>> find_refresh_token_by_hash(store::Session& session, const std::string& hash) {
  VONTRES_ASSIGN_OR_RETURN(
      auto rows, session.query("SELECT id, family_id, user_id, org_id, token_hash, created_at_ms, expires_at_ms, "
                               "used_at_ms, revoked_at_ms FROM refresh_tokens WHERE token_hash = $1",
                               {hash}));
  if (rows.empty()) return std::optional<RefreshToken>();
  return std::optional<RefreshToken>(refresh_from_row(rows[0]));
}

Result<bool> mark_refresh_token_used(store::Session& session, const std::string& id, int64_t at_ms) {
  VONTRES_ASSIGN_OR_RETURN(auto changed,
                           session.execute("UPDATE refresh_tokens SET used_at_ms = $1 "
                                           "WHERE id = $2 AND used_at_ms IS NULL AND revoked_at_ms IS NULL",
                                           {at_ms, id}));
  return changed > 0;
}

Status revoke_refresh_family(store::Session& session, const std::string& family_id, int64_t at_ms) {
  return session
      .execute("UPDATE refresh_tokens SET revoked_at_ms = $1 WHERE family_id = $2 AND revoked_at_ms IS NULL",
               {at_ms, family_id})
      .status();
}

Result<std::vector<std::string>> revoke_user_refresh_families(store::Session& session, const std::string& user_id,
                                                              int64_t at_ms) {
  VONTRES_ASSIGN_OR_RETURN(auto rows, session.query("SELECT DISTINCT family_id FROM refresh_tokens "
                                                    "WHERE user_id = $1 AND revoked_at_ms IS NULL",
                                                    {user_id}));
  std::vector<std::string> families;
  for (const auto& row : rows.rows) families.push_back(row.get_string(0));
  VONTRES_ASSIGN_OR_RETURN(auto changed, session.execute("UPDATE refresh_tokens SET revoked_at_ms = $1 "
                                                         "WHERE user_id = $2 AND revoked_at_ms IS NULL",
                                                         {at_ms, user_id}));
  (void)changed;
  return families;
}

// ---- revocations ----

Status insert_revocation(store::Session& session, const Revocation& revocation) {
  return session
      .execute(
          "INSERT INTO revoked_tokens (token_id, kind, org_id, expires_at_ms, revoked_at_ms) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_id) DO UPDATE SET "
          "expires_at_ms = excluded.expires_at_ms, revoked_at_ms = excluded.revoked_at_ms",
          {revocation.token_id, revocation.kind, revocation.org_id, revocation.expires_at_ms, revocation.revoked_at_ms})
      .status();
}

Result<std::vector<Revocation>> list_active_revocations(store::Session& session, int64_t now_ms) {
  VONTRES_ASSIGN_OR_RETURN(auto rows, session.query("SELECT token_id, kind, org_id, expires_at_ms, revoked_at_ms "
                                                    "FROM revoked_tokens WHERE expires_at_ms > $1",
                                                    {now_ms}));
  std::vector<Revocation> out;
  for (const auto& row : rows.rows) {
    out.push_back({row.get_string(0), row.get_string(1), row.get_string(2), row.get_int(3), row.get_int(4)});
  }
  return out;
}

Status delete_expired_revocations(store::Session& session, int64_t now_ms) {
  return session.execute("DELETE FROM revoked_tokens WHERE expires_at_ms <= $1", {now_ms}).status();
}

// ---- API keys ----

Status insert_api_key(store::Session& session, const ApiKey& key) {
  return session
      .execute(
          std::string("INSERT INTO api_keys (") + kApiKeyColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
          {key.id, key.org_id, key.name, key.prefix, key.secret_hash, to_json_text(key.permissions), key.created_by,
           key.created_at_ms, optional_int(key.last_used_at_ms), optional_int(key.revoked_at_ms)})
      .status();
}

Result<std::optional<ApiKey>> find_api_key_by_prefix(store::Session& session, const std::string& prefix) {
  VONTRES_ASSIGN_OR_RETURN(
      auto rows, session.query(std::string("SELECT ") + kApiKeyColumns + " FROM api_keys WHERE prefix = $1", {prefix}));
  if (rows.empty()) return std::optional<ApiKey>();
  return std::optional<ApiKey>(api_key_from_row(rows[0]));
}

Result<Page<ApiKey>> list_api_keys(store::Session& session, const std::string& org_id, int64_t limit, int64_t offset) {
  Page<ApiKey> page;
  VONTRES_ASSIGN_OR_RETURN(page.total, count(session, "SELECT COUNT(*) FROM api_keys WHERE org_id = $1", {org_id}));
  VONTRES_ASSIGN_OR_RETURN(auto rows,
                           session.query(std::string("SELECT ") + kApiKeyColumns +
                                             " FROM api_keys WHERE org_id = $1 ORDER BY id LIMIT $2 OFFSET $3",
                                         {org_id, limit, offset}));
  for (const auto& row : rows.rows) page.items.push_back(api_key_from_row(row));
  return page;
}

Result<bool> revoke_api_key(store::Session& session, const std::string& org_id, const std::string& id, int64_t at_ms) {
  VONTRES_ASSIGN_OR_RETURN(auto changed, session.execute("UPDATE api_keys SET revoked_at_ms = $1 "
                                                         "WHERE org_id = $2 AND id = $3 AND revoked_at_ms IS NULL",
                                                         {at_ms, org_id, id}));
  return changed > 0;
}

Status touch_api_key(store::Session& session, const std::string& id, int64_t at_ms) {
  return session.execute("UPDATE api_keys SET last_used_at_ms = $1 WHERE id = $2", {at_ms, id}).status();
}

// ---- audit ----

Status insert_audit_event(store::Session& session, const AuditEvent& event) {
  return session
      .execute(
          "INSERT INTO audit_events (id, org_id, at_ms, event_type, outcome, actor_id, subject_id, "
          "remote_address, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
          {event.id, event.org_id, event.at_ms, event.type, event.outcome, event.actor_id, event.subject_id,
           event.remote_address, event.details.dump()})
      .status();
}

Result<Page<AuditEvent>> list_audit_events(store::Session& session, const std::string& org_id, int64_t limit,
                                           int64_t offset) {
  Page<AuditEvent> page;
  VONTRES_ASSIGN_OR_RETURN(page.total, count(session, "SELECT COUNT(*) FROM audit_events WHERE org_id = $1", {org_id}));
  VONTRES_ASSIGN_OR_RETURN(auto rows,
                           session.query("SELECT id, org_id, at_ms, event_type, outcome, actor_id, subject_id, "
                                         "remote_address, details FROM audit_events WHERE org_id = $1 "
                                         "ORDER BY id DESC LIMIT $2 OFFSET $3",
                                         {org_id, limit, offset}));
  for (const auto& row : rows.rows) {
    AuditEvent event;
    event.id = row.get_string(0);
    event.org_id = row.get_string(1);
    event.at_ms = row.get_int(2);
    event.type = row.get_string(3);
    event.outcome = row.get_string(4);
    event.actor_id = row.get_string(5);
    event.subject_id = row.get_string(6);
    event.remote_address = row.get_string(7);
    event.details = nlohmann::json::parse(row.get_string(8), nullptr, false);
    if (event.details.is_discarded()) event.details = nlohmann::json::object();
    page.items.push_back(std::move(event));
  }
  return page;
}

}  // namespace vontres::users::repo
