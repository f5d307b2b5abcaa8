#include "users/permissions.h"

#include <algorithm>

namespace vontres::users {

const std::vector<std::string>& all_permissions() {
  static const std::vector<std::string> kAll = {
      "users.read",   "users.write",  "roles.read",    "roles.write",    "teams.read",   "teams.write",
      "agents.read",  "agents.write", "api_keys.read", "api_keys.write", "audit.read",   "queues.read",
      "queues.write", "calls.read",   "calls.handle",  "calls.monitor",  "reports.read", "settings.write",
  };
  return kAll;
}

bool is_known_permission(std::string_view permission) {
  const auto& all = all_permissions();
  return std::find(all.begin(), all.end(), permission) != all.end();
}

bool grants_authority(std::string_view permission) { return permission != "calls.handle"; }

const std::vector<BuiltinRole>& builtin_roles() {
  static const std::vector<BuiltinRole> kRoles = [] {
    std::vector<BuiltinRole> roles;
    roles.push_back({"admin", "Full control of the organisation",
                     std::set<std::string>(all_permissions().begin(), all_permissions().end())});
    roles.push_back({"supervisor",
                     "Runs teams and queues, monitors calls, reads reports",
                     {"users.read", "roles.read", "teams.read", "teams.write", "agents.read", "agents.write",
                      "queues.read", "queues.write", "calls.read", "calls.monitor", "reports.read"}});
    roles.push_back({"agent", "Handles calls", {"teams.read", "queues.read", "calls.handle"}});
    return roles;
  }();
  return kRoles;
}

const BuiltinRole* find_builtin_role(std::string_view name) {
  for (const auto& role : builtin_roles()) {
    if (role.name == name) return &role;
  }
  return nullptr;
}

bool is_valid_role_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; });
}

}  // namespace vontres::users
