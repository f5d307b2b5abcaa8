// The permission catalogue and the three built-in roles. Permissions are "<resource>.<action>";
// a custom role is a named set of catalogue permissions defined per organisation. Built-in role
// names are reserved and cannot be redefined.
//
// Thread-safety: pure functions over constant data.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vontres::users {

namespace permission {
inline constexpr std::string_view kUsersRead = "users.read";
inline constexpr std::string_view kUsersWrite = "users.write";
inline constexpr std::string_view kRolesRead = "roles.read";
inline constexpr std::string_view kRolesWrite = "roles.write";
inline constexpr std::string_view kTeamsRead = "teams.read";
inline constexpr std::string_view kTeamsWrite = "teams.write";
inline constexpr std::string_view kAgentsRead = "agents.read";
inline constexpr std::string_view kAgentsWrite = "agents.write";
inline constexpr std::string_view kApiKeysRead = "api_keys.read";
inline constexpr std::string_view kApiKeysWrite = "api_keys.write";
inline constexpr std::string_view kAuditRead = "audit.read";
}  // namespace permission

// Every permission a role or API key may hold, including those checked by other services
// (queues, calls, reports).
const std::vector<std::string>& all_permissions();
bool is_known_permission(std::string_view permission);
// False for permissions to do one's own work (calls.handle) that give no power over anyone else's
// account or data. The escalation guard (who may change whom) compares only those that do, so a
// supervisor may manage the agents it supervises without handling calls itself.
bool grants_authority(std::string_view permission);

struct BuiltinRole {
  std::string name;
  std::string description;
  std::set<std::string> permissions;
};
// admin (everything), supervisor (teams, agents, queues, monitoring, reports), agent (own work).
const std::vector<BuiltinRole>& builtin_roles();
const BuiltinRole* find_builtin_role(std::string_view name);

// Role names: 1-64 characters of [a-z0-9_-], starting with a letter.
bool is_valid_role_name(std::string_view name);

}  // namespace vontres::users
