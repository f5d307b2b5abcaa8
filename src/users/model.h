// The users service's data model. Plain values; every object carries the organisation it belongs
// to, and repositories take that organisation in every query.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vontres::users {

struct Organisation {
  std::string id;
  std::string name;
  int64_t created_at_ms = 0;
};

struct User {
  std::string id;
  std::string org_id;
  std::string email;  // unique across organisations: login is by email alone
  std::string display_name;
  std::string password_hash;  // PHC string; never serialised
  std::vector<std::string> roles;
  bool active = true;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct Role {
  std::string org_id;  // empty for built-in roles
  std::string name;
  std::string description;
  std::vector<std::string> permissions;
  bool builtin = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct Team {
  std::string id;
  std::string org_id;
  std::string name;
  std::string description;
  std::vector<std::string> member_ids;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct Skill {
  std::string name;
  int proficiency = 1;  // 1-10
};

struct AgentProfile {
  std::string user_id;
  std::string org_id;
  std::string extension;
  std::string sip_username;
  std::vector<Skill> skills;
  int max_concurrent_calls = 1;
  int64_t updated_at_ms = 0;
};

struct RefreshToken {
  std::string id;
  std::string family_id;  // one login session; all rotations of it share this id
  std::string user_id;
  std::string org_id;
  std::string token_hash;  // SHA-256 hex of the opaque token
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;
  std::optional<int64_t> used_at_ms;     // set when rotated
  std::optional<int64_t> revoked_at_ms;  // set on logout or reuse detection
};

struct ApiKey {
  std::string id;
  std::string org_id;
  std::string name;
  std::string prefix;       // public lookup part of the key
  std::string secret_hash;  // SHA-256 hex of the whole key
  std::vector<std::string> permissions;
  std::string created_by;
  int64_t created_at_ms = 0;
  std::optional<int64_t> last_used_at_ms;
  std::optional<int64_t> revoked_at_ms;
};

struct AuditEvent {
  std::string id;
  std::string org_id;  // empty when the organisation is unknown (login with an unknown email)
  int64_t at_ms = 0;
  std::string type;     // e.g. "login_succeeded", "api_key_revoked"
  std::string outcome;  // "success" or "failure"
  std::string actor_id;
  std::string subject_id;
  std::string remote_address;
  nlohmann::json details = nlohmann::json::object();  // never secrets
};

// A revoked access token id (kind "jti"), refresh family ("family") or user ("user": every token
// issued before revoked_at), remembered until no token it covers can still be valid.
struct Revocation {
  std::string token_id;
  std::string kind;
  std::string org_id;
  int64_t expires_at_ms = 0;
  int64_t revoked_at_ms = 0;
};

template <typename T>
struct Page {
  std::vector<T> items;
  int64_t total = 0;
};

}  // namespace vontres::users
