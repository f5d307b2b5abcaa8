// Users, roles, teams, agent profiles, API keys and the audit log. Every repository call passes
// principal->org_id, so an id from another organisation is simply "not found".
#include <algorithm>

#include "users/crypto.h"
#include "users/detail/handlers.h"
#include "users/events.h"
#include "users/permissions.h"
#include "users/repository.h"

namespace vontres::users::detail {

namespace {

using api::Method;
using api::Principal;
using api::Request;
using api::Response;
using nlohmann::json;

// Runs `body` with the principal, turning a missing principal into 401.
template <typename Body>
api::Handler with_principal(Body body) {
  return [body = std::move(body)](Request& request) -> Response {
    const Principal* principal = principal_of(request);
    if (!principal) return unauthenticated_response();
    return body(request, *principal);
  };
}

json string_array_schema() { return {{"type", "array"}, {"items", {{"type", "string"}}}}; }

json user_schema() {
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"org_id", {{"type", "string"}}},
            {"email", {{"type", "string"}}},
            {"display_name", {{"type", "string"}}},
            {"roles", string_array_schema()},
            {"active", {{"type", "boolean"}}},
            {"created_at", {{"type", "string"}, {"format", "date-time"}}},
            {"updated_at", {{"type", "string"}, {"format", "date-time"}}}}}};
}

json page_schema(json item) {
  return {{"type", "object"},
          {"properties",
           {{"items", {{"type", "array"}, {"items", std::move(item)}}},
            {"total", {{"type", "integer"}}},
            {"limit", {{"type", "integer"}}},
            {"offset", {{"type", "integer"}}}}}};
}

json role_json(const Role& role) {
  json out = {{"name", role.name},
              {"description", role.description},
              {"permissions", role.permissions},
              {"builtin", role.builtin}};
  if (!role.builtin) {
    out["created_at"] = timestamp(role.created_at_ms);
    out["updated_at"] = timestamp(role.updated_at_ms);
  }
  return out;
}

Role builtin_as_role(const BuiltinRole& builtin) {
  Role role;
  role.name = builtin.name;
  role.description = builtin.description;
  role.permissions.assign(builtin.permissions.begin(), builtin.permissions.end());
  role.builtin = true;
  return role;
}

json role_schema() {
  return {{"type", "object"},
          {"properties",
           {{"name", {{"type", "string"}}},
            {"description", {{"type", "string"}}},
            {"permissions", string_array_schema()},
            {"builtin", {{"type", "boolean"}}}}}};
}

json role_update_body_schema() {
  return object_schema({{"description", string_schema(500)}, {"permissions", string_list_schema()}});
}

json team_json(const Team& team) {
  return {{"id", team.id},
          {"name", team.name},
          {"description", team.description},
          {"member_ids", team.member_ids},
          {"created_at", timestamp(team.created_at_ms)},
          {"updated_at", timestamp(team.updated_at_ms)}};
}

json team_schema() {
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"name", {{"type", "string"}}},
            {"description", {{"type", "string"}}},
            {"member_ids", string_array_schema()}}}};
}

json profile_json(const AgentProfile& profile) {
  json skills = json::array();
  for (const auto& skill : profile.skills) skills.push_back({{"name", skill.name}, {"proficiency", skill.proficiency}});
  return {{"user_id", profile.user_id},
          {"extension", profile.extension},
          {"sip_username", profile.sip_username},
          {"skills", skills},
          {"max_concurrent_calls", profile.max_concurrent_calls},
          {"updated_at", timestamp(profile.updated_at_ms)}};
}

json profile_schema() {
  return {{"type", "object"},
          {"properties",
           {{"extension", {{"type", "string"}}},
            {"sip_username", {{"type", "string"}}},
            {"skills",
             {{"type", "array"},
              {"items",
               {{"type", "object"},
                {"properties",
                 {{"name", {{"type", "string"}}},
                  {"proficiency", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10}}}}}}}}},
            {"max_concurrent_calls", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}}}}};
}

// What PUT /api/v1/users/{id}/agent-profile accepts (the reads in its handler, bounded).
json profile_body_schema() {
  json skill = object_schema({{"name", {{"type", "string"}, {"minLength", 1}, {"maxLength", 100}}},
                              {"proficiency", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10}}}},
                             {"name", "proficiency"});
  return object_schema(
      {{"extension", string_schema(32)},
       {"sip_username", string_schema(128)},
       {"skills", {{"type", "array"}, {"maxItems", 200}, {"items", std::move(skill)}, {"nullable", true}}},
       {"max_concurrent_calls", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}, {"nullable", true}}}});
}

json api_key_json(const ApiKey& key) {
  json out = {{"id", key.id},
              {"name", key.name},
              {"prefix", key.prefix},
              {"permissions", key.permissions},
              {"created_by", key.created_by},
              {"created_at", timestamp(key.created_at_ms)},
              {"last_used_at", key.last_used_at_ms ? json(timestamp(*key.last_used_at_ms)) : json(nullptr)},
              {"revoked_at", key.revoked_at_ms ? json(timestamp(*key.revoked_at_ms)) : json(nullptr)}};
  return out;
}

json api_key_schema() {
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"name", {{"type", "string"}}},
            {"prefix", {{"type", "string"}}},
            {"permissions", string_array_schema()},
            {"last_used_at", {{"type", "string"}, {"nullable", true}}},
            {"revoked_at", {{"type", "string"}, {"nullable", true}}},
            {"key", {{"type", "string"}, {"description", "only in the creation response"}}}}}};
}

json audit_json(const AuditEvent& event) {
  return {{"id", event.id},
          {"at", timestamp(event.at_ms)},
          {"type", event.type},
          {"outcome", event.outcome},
          {"actor_id", event.actor_id},
          {"subject_id", event.subject_id},
          {"remote_address", event.remote_address},
          {"details", event.details}};
}

Status user_not_found() { return not_found("no such user", "user_not_found"); }

Status check_permissions_known_and_held(const Principal& principal, const std::vector<std::string>& permissions) {
  for (const auto& permission : permissions) {
    if (!is_known_permission(permission)) {
      return invalid_argument("unknown permission '" + permission + "'", "unknown_permission");
    }
    if (!principal.has_permission(permission)) {
      return permission_denied("you cannot grant " + permission + " which you lack", "permission_escalation");
    }
  }
  return Status::ok();
}

std::vector<std::string> unique_sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

// ---- users ----

void register_user_routes(api::Router& router, UsersCore& core) {
  const std::vector<std::string> user_errors = {"user_not_found",     "email_taken",        "invalid_email",
                                                "password_too_short", "role_not_found",     "permission_escalation",
                                                "cannot_delete_self", "cannot_modify_self", "last_admin"};
  add_route(router, Method::kGet, "/api/v1/users",
            {.public_route = false, .permission = "users.read", .summary = "List users", .tag = "users"},
            {.request_body = nullptr,
             .response = page_schema(user_schema()),
             .success_status = 200,
             .error_codes = {"invalid_pagination"},
             .paginated = true},
            with_principal([&core](Request& request, const Principal& principal) {
              auto page = pagination(request);
              if (!page) return Response::error(page.status());
              auto users = repo::list_users(core.store(), principal.org_id, page->limit, page->offset);
              if (!users) return Response::error(users.status());
              json items = json::array();
              for (const auto& user : users->items) items.push_back(user_json(user));
              return Response::json(200, page_json(items, users->total, *page));
            }));

  add_route(router, Method::kPost, "/api/v1/users",
            {.public_route = false, .permission = "users.write", .summary = "Create a user", .tag = "users"},
            {.request_body = object_schema({{"email", string_schema(254)},
                                            {"display_name", string_schema(200)},
                                            {"password", string_schema(PasswordHasher::kMaxPasswordBytes * 2)},
                                            {"roles", string_list_schema()}},
                                           {"email", "password"}),
             .response = user_schema(),
             .success_status = 201,
             .error_codes = user_errors,
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              auto body = object_body(request);
              if (!body) return Response::error(body.status());
              auto email = string_field(*body, "email", 254);
              auto name = string_field(*body, "display_name", 200);
              auto password = string_field(*body, "password", PasswordHasher::kMaxPasswordBytes * 2);
              auto roles = string_list_field(*body, "roles");
              for (const Status& s : {email.status(), name.status(), password.status(), roles.status()}) {
                if (!s.is_ok()) return Response::error(s);
              }
              std::string normalised = normalise_email(email->value_or(""));
              if (normalised.empty())
                return Response::error(invalid_argument("a valid email is required", "invalid_email"));
              if (!*password) return Response::error(invalid_argument("password is required", "password_too_short"));
              Status policy = core.hasher().check_policy(**password);
              if (!policy.is_ok()) return Response::error(policy);
              std::vector<std::string> role_list = unique_sorted(roles->value_or(std::vector<std::string>{"agent"}));
              Status grant = core.check_role_assignment(principal, role_list);
              if (!grant.is_ok()) return Response::error(grant);
              auto hash = core.hasher().hash(**password);
              if (!hash) return Response::error(hash.status());
              const int64_t now = core.clock().now_unix_ms();
              User user;
              user.id = core.ids().next();
              user.org_id = principal.org_id;
              user.email = normalised;
              user.display_name = name->value_or(normalised);
              user.password_hash = std::move(hash).value();
              user.roles = role_list;
              user.created_at_ms = now;
              user.updated_at_ms = now;
              Status inserted = repo::insert_user(core.store(), user);
              if (!inserted.is_ok()) return Response::error(inserted);
              core.audit().record(security_event(audit_type::kUserCreated, principal.org_id, principal.subject, user.id,
                                                 request.remote_address, "success", {{"roles", user.roles}}));
              return Response::json(201, user_json(user));
            }));

  add_route(router, Method::kGet, "/api/v1/users/{id}",
            {.public_route = false, .permission = "users.read", .summary = "Get a user", .tag = "users"},
            {.request_body = nullptr,
             .response = user_schema(),
             .success_status = 200,
             .error_codes = {"user_not_found"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              auto user = repo::find_user(core.store(), principal.org_id, request.path_params["id"]);
              if (!user) return Response::error(user.status());
              if (!*user) return Response::error(user_not_found());
              return Response::json(200, user_json(**user));
            }));

  add_route(router, Method::kPatch, "/api/v1/users/{id}",
            {.public_route = false,
             .permission = "users.write",
             .summary = "Update a user's email, display name, roles or active flag",
             .tag = "users"},
            {.request_body = object_schema({{"email", string_schema(254)},
                                            {"display_name", string_schema(200)},
                                            {"roles", string_list_schema()},
                                            {"active", {{"type", "boolean"}, {"nullable", true}}}}),
             .response = user_schema(),
             .success_status = 200,
             .error_codes = user_errors,
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              auto body = object_body(request);
              if (!body) return Response::error(body.status());
              auto found = repo::find_user(core.store(), principal.org_id, request.path_params["id"]);
              if (!found) return Response::error(found.status());
              if (!*found) return Response::error(user_not_found());
              User user = **found;
              const User before = user;
              // Any change to someone who holds rights the caller lacks is taking over their account.
              Status manage = core.check_can_manage(principal, before.roles);
              if (!manage.is_ok()) return Response::error(manage);
              auto email = string_field(*body, "email", 254);
              auto name = string_field(*body, "display_name", 200);
              auto roles = string_list_field(*body, "roles");
              auto active = bool_field(*body, "active");
              for (const Status& s : {email.status(), name.status(), roles.status(), active.status()}) {
                if (!s.is_ok()) return Response::error(s);
              }
              if (*email) {
                user.email = normalise_email(**email);
                if (user.email.empty())
                  return Response::error(invalid_argument("not an email address", "invalid_email"));
              }
              if (*name) user.display_name = **name;
              if (*roles) {
                user.roles = unique_sorted(**roles);
                // Both what is added and what is taken away must be within the caller's powers.
                Status grant = core.check_role_assignment(principal, user.roles);
                if (grant.is_ok()) grant = core.check_role_assignment(principal, before.roles);
                if (!grant.is_ok()) return Response::error(grant);
              }
              if (*active) user.active = **active;
              if (user.id == principal.subject && (!user.active || user.roles != before.roles)) {
                return Response::error(failed_precondition("you cannot deactivate yourself or change your own roles",
                                                           "cannot_modify_self"));
              }
              user.updated_at_ms = core.clock().now_unix_ms();
              Status stored = core.store().transaction([&](store::Session& session) -> Status {
                VONTRES_RETURN_IF_ERROR(UsersCore::check_keeps_an_admin(session, before, user));
                VONTRES_ASSIGN_OR_RETURN(bool updated, repo::update_user(session, user));
                return updated ? Status::ok() : user_not_found();
              });
              if (!stored.is_ok()) return Response::error(stored);
              if (user.roles != before.roles) {
                core.audit().record(security_event(audit_type::kRoleChanged, principal.org_id, principal.subject,
                                                   user.id, request.remote_address, "success",
                                                   {{"from", before.roles}, {"to", user.roles}}));
              }
              // A role change reaches tokens at the next refresh; deactivation must be immediate.
              if (before.active && !user.active) {
                Status revoked = core.revoke_user_sessions(user.org_id, user.id);
                if (!revoked.is_ok()) return Response::error(revoked);
              }
              if (before.active != user.active) {
                core.publish_user_change(user.active ? events::kUserReactivated : events::kUserDeactivated, user.org_id,
                                         user.id);
              }
              return Response::json(200, user_json(user));
            }));

  add_route(router, Method::kDelete, "/api/v1/users/{id}",
            {.public_route = false, .permission = "users.write", .summary = "Delete a user", .tag = "users"},
            {.request_body = nullptr,
             .response = nullptr,
             .success_status = 204,
             .error_codes = {"user_not_found", "cannot_delete_self", "permission_escalation", "last_admin"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              const std::string id = request.path_params["id"];
              if (id == principal.subject) {
                return Response::error(failed_precondition("you cannot delete yourself", "cannot_delete_self"));
              }
              auto found = repo::find_user(core.store(), principal.org_id, id);
              if (!found) return Response::error(found.status());
              if (!*found) return Response::error(user_not_found());
              Status grant = core.check_can_manage(principal, (*found)->roles);
              if (!grant.is_ok()) return Response::error(grant);
              Status removed = core.store().transaction([&](store::Session& session) -> Status {
                VONTRES_RETURN_IF_ERROR(UsersCore::check_keeps_an_admin(session, **found, std::nullopt));
                VONTRES_ASSIGN_OR_RETURN(bool deleted, repo::delete_user(session, principal.org_id, id));
                return deleted ? Status::ok() : user_not_found();
              });
              if (!removed.is_ok()) return Response::error(removed);
              core.publish_user_change(events::kUserDeleted, principal.org_id, id);
              Status revoked = core.revoke_user_sessions(principal.org_id, id);
              if (!revoked.is_ok()) return Response::error(revoked);
              core.audit().record(security_event(audit_type::kUserDeleted, principal.org_id, principal.subject, id,
                                                 request.remote_address));
              return Response::no_content();
            }));

  add_route(router, Method::kPost, "/api/v1/users/{id}/password",
            {.public_route = false,
             .permission = "users.write",
             .summary = "Reset a user's password (ends their sessions)",
             .tag = "users"},
            {.request_body = object_schema({{"new_password", string_schema(PasswordHasher::kMaxPasswordBytes * 2)}},
                                           {"new_password"}),
             .response = nullptr,
             .success_status = 204,
             .error_codes = {"user_not_found", "password_too_short", "password_too_long", "permission_escalation"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              auto body = object_body(request);
              if (!body) return Response::error(body.status());
              auto next = string_field(*body, "new_password", PasswordHasher::kMaxPasswordBytes * 2);
              if (!next) return Response::error(next.status());
              if (!*next) return Response::error(invalid_argument("new_password is required", "password_too_short"));
              auto found = repo::find_user(core.store(), principal.org_id, request.path_params["id"]);
              if (!found) return Response::error(found.status());
              if (!*found) return Response::error(user_not_found());
              // Resetting someone's password is taking over their account: only within your powers.
              Status grant = core.check_can_manage(principal, (*found)->roles);
              if (!grant.is_ok()) return Response::error(grant);
              Status status = core.reset_password(principal, request.path_params["id"], **next, request.remote_address);
              return status.is_ok() ? Response::no_content() : Response::error(status);
            }));

  add_route(
      router, Method::kGet, "/api/v1/users/{id}/agent-profile",
      {.public_route = false, .permission = "agents.read", .summary = "Get a user's agent profile", .tag = "users"},
      {.request_body = nullptr,
       .response = profile_schema(),
       .success_status = 200,
       .error_codes = {"user_not_found", "agent_profile_not_found"},
       .paginated = false},
      with_principal([&core](Request& request, const Principal& principal) {
        auto user = repo::find_user(core.store(), principal.org_id, request.path_params["id"]);
        if (!user) return Response::error(user.status());
        if (!*user) return Response::error(user_not_found());
        auto profile = repo::find_agent_profile(core.store(), principal.org_id, request.path_params["id"]);
        if (!profile) return Response::error(profile.status());
        if (!*profile) return Response::error(not_found("this user has no agent profile", "agent_profile_not_found"));
        return Response::json(200, profile_json(**profile));
      }));

  add_route(
      router, Method::kPut, "/api/v1/users/{id}/agent-profile",
      {.public_route = false, .permission = "agents.write", .summary = "Set a user's agent profile", .tag = "users"},
      {.request_body = profile_body_schema(),
       .response = profile_schema(),
       .success_status = 200,
       .error_codes = {"user_not_found", "invalid_field", "permission_escalation"},
       .paginated = false},
      with_principal([&core](Request& request, const Principal& principal) {
        auto body = object_body(request);
        if (!body) return Response::error(body.status());
        auto user = repo::find_user(core.store(), principal.org_id, request.path_params["id"]);
        if (!user) return Response::error(user.status());
        if (!*user) return Response::error(user_not_found());
        // The profile names the user's phone (sip_username): changing it is changing the user.
        Status manage = core.check_can_manage(principal, (*user)->roles);
        if (!manage.is_ok()) return Response::error(manage);
        auto extension = string_field(*body, "extension", 32);
        auto sip_username = string_field(*body, "sip_username", 128);
        auto max_calls = int_field(*body, "max_concurrent_calls", 1, 100);
        for (const Status& s : {extension.status(), sip_username.status(), max_calls.status()}) {
          if (!s.is_ok()) return Response::error(s);
        }
        AgentProfile profile;
        profile.user_id = (*user)->id;
        profile.org_id = principal.org_id;
        profile.extension = extension->value_or("");
        profile.sip_username = sip_username->value_or("");
        profile.max_concurrent_calls = static_cast<int>(max_calls->value_or(1));
        const Status bad_skills =
            invalid_argument("skills must be a list of {\"name\": string, \"proficiency\": 1-10}", "invalid_field");
        if (auto skills = body->find("skills"); skills != body->end() && !skills->is_null()) {
          if (!skills->is_array() || skills->size() > 200) return Response::error(bad_skills);
          for (const auto& skill : *skills) {
            auto name =
                skill.is_object() ? string_field(skill, "name", 100) : Result<std::optional<std::string>>(bad_skills);
            if (!name || !*name || (*name)->empty()) return Response::error(bad_skills);
            auto proficiency = int_field(skill, "proficiency", 1, 10);
            if (!proficiency || !*proficiency) return Response::error(bad_skills);
            profile.skills.push_back({**name, static_cast<int>(**proficiency)});
          }
        }
        profile.updated_at_ms = core.clock().now_unix_ms();
        Status stored = repo::upsert_agent_profile(core.store(), profile);
        if (!stored.is_ok()) return Response::error(stored);
        return Response::json(200, profile_json(profile));
      }));
}

// ---- roles ----

void register_role_routes(api::Router& router, UsersCore& core) {
  add_route(
      router, Method::kGet, "/api/v1/roles",
      {.public_route = false, .permission = "roles.read", .summary = "List built-in and custom roles", .tag = "roles"},
      {.request_body = nullptr,
       .response = page_schema(role_schema()),
       .success_status = 200,
       .error_codes = {"invalid_pagination"},
       .paginated = true},
      with_principal([&core](Request& request, const Principal& principal) {
        auto page = pagination(request);
        if (!page) return Response::error(page.status());
        auto custom = repo::list_roles(core.store(), principal.org_id);
        if (!custom) return Response::error(custom.status());
        std::vector<Role> all;
        for (const auto& builtin : builtin_roles()) all.push_back(builtin_as_role(builtin));
        all.insert(all.end(), custom->begin(), custom->end());
        json items = json::array();
        for (int64_t i = page->offset; i < static_cast<int64_t>(all.size()) && i < page->offset + page->limit; ++i) {
          items.push_back(role_json(all[static_cast<size_t>(i)]));
        }
        return Response::json(200, page_json(items, static_cast<int64_t>(all.size()), *page));
      }));

  add_route(router, Method::kGet, "/api/v1/roles/{name}",
            {.public_route = false, .permission = "roles.read", .summary = "Get a role", .tag = "roles"},
            {.request_body = nullptr,
             .response = role_schema(),
             .success_status = 200,
             .error_codes = {"role_not_found"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              const std::string name = request.path_params["name"];
              if (const BuiltinRole* builtin = find_builtin_role(name)) {
                return Response::json(200, role_json(builtin_as_role(*builtin)));
              }
              auto role = repo::find_role(core.store(), principal.org_id, name);
              if (!role) return Response::error(role.status());
              if (!*role) return Response::error(not_found("no such role", "role_not_found"));
              return Response::json(200, role_json(**role));
            }));

  add_route(router, Method::kPost, "/api/v1/roles",
            {.public_route = false, .permission = "roles.write", .summary = "Create a custom role", .tag = "roles"},
            {.request_body = object_schema(
                 {{"name", {{"type", "string"}, {"maxLength", 64}, {"pattern", "^[a-z][a-z0-9_-]{0,63}$"}}},
                  {"description", string_schema(500)},
                  {"permissions", string_list_schema()}},
                 {"name", "permissions"}),
             .response = role_schema(),
             .success_status = 201,
             .error_codes = {"invalid_role_name", "role_exists", "unknown_permission", "permission_escalation"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              auto body = object_body(request);
              if (!body) return Response::error(body.status());
              auto name = string_field(*body, "name", 64);
              auto description = string_field(*body, "description", 500);
              auto permissions = string_list_field(*body, "permissions");
              for (const Status& s : {name.status(), description.status(), permissions.status()}) {
                if (!s.is_ok()) return Response::error(s);
              }
              if (!*name || !is_valid_role_name(**name)) {
                return Response::error(
                    invalid_argument("role names are 1-64 of [a-z0-9_-], starting with a letter", "invalid_role_name"));
              }
              if (find_builtin_role(**name)) {
                return Response::error(already_exists("built-in role names are reserved", "role_exists"));
              }
              Role role;
              role.org_id = principal.org_id;
              role.name = **name;
              role.description = description->value_or("");
              role.permissions = unique_sorted(permissions->value_or(std::vector<std::string>{}));
              Status held = check_permissions_known_and_held(principal, role.permissions);
              if (!held.is_ok()) return Response::error(held);
              role.created_at_ms = role.updated_at_ms = core.clock().now_unix_ms();
              Status inserted = repo::insert_role(core.store(), role);
              if (!inserted.is_ok()) return Response::error(inserted);
              core.audit().record(security_event(audit_type::kRoleChanged, principal.org_id, principal.subject,
                                                 "role:" + role.name, request.remote_address, "success",
                                                 {{"action", "created"}, {"permissions", role.permissions}}));
              return Response::json(201, role_json(role));
            }));

  add_route(router, Method::kPatch, "/api/v1/roles/{name}",
            {.public_route = false,
             .permission = "roles.write",
             .summary = "Update a custom role (built-in roles are read-only)",
             .tag = "roles"},
            {.request_body = role_update_body_schema(),
             .response = role_schema(),
             .success_status = 200,
             .error_codes = {"role_not_found", "role_read_only", "unknown_permission", "permission_escalation"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              const std::string name = request.path_params["name"];
              if (find_builtin_role(name)) {
                return Response::error(permission_denied("built-in roles cannot be changed", "role_read_only"));
              }
              auto body = object_body(request);
              if (!body) return Response::error(body.status());
              auto found = repo::find_role(core.store(), principal.org_id, name);
              if (!found) return Response::error(found.status());
              if (!*found) return Response::error(not_found("no such role", "role_not_found"));
              Role role = **found;
              auto description = string_field(*body, "description", 500);
              auto permissions = string_list_field(*body, "permissions");
              for (const Status& s : {description.status(), permissions.status()}) {
                if (!s.is_ok()) return Response::error(s);
              }
              if (*description) role.description = **description;
              if (*permissions) {
                role.permissions = unique_sorted(**permissions);
                // Neither widen nor narrow a role beyond what the caller holds.
                Status held = check_permissions_known_and_held(principal, role.permissions);
                if (held.is_ok()) held = check_permissions_known_and_held(principal, (*found)->permissions);
                if (!held.is_ok()) return Response::error(held);
              }
              role.updated_at_ms = core.clock().now_unix_ms();
              auto updated = repo::update_role(core.store(), role);
              if (!updated) return Response::error(updated.status());
              if (role.permissions != (*found)->permissions) {
                core.audit().record(
                    security_event(audit_type::kRoleChanged, principal.org_id, principal.subject, "role:" + role.name,
                                   request.remote_address, "success",
                                   {{"action", "updated"}, {"from", (*found)->permissions}, {"to", role.permissions}}));
              }
              return Response::json(200, role_json(role));
            }));

  add_route(
      router, Method::kDelete, "/api/v1/roles/{name}",
      {.public_route = false, .permission = "roles.write", .summary = "Delete an unused custom role", .tag = "roles"},
      {.request_body = nullptr,
       .response = nullptr,
       .success_status = 204,
       .error_codes = {"role_not_found", "role_read_only", "role_in_use"},
       .paginated = false},
      with_principal([&core](Request& request, const Principal& principal) {
        const std::string name = request.path_params["name"];
        if (find_builtin_role(name)) {
          return Response::error(permission_denied("built-in roles cannot be deleted", "role_read_only"));
        }
        auto found = repo::find_role(core.store(), principal.org_id, name);
        if (!found) return Response::error(found.status());
        if (!*found) return Response::error(not_found("no such role", "role_not_found"));
        Status held = check_permissions_known_and_held(principal, (*found)->permissions);
        if (!held.is_ok()) return Response::error(held);
        auto users = repo::count_users_with_role(core.store(), principal.org_id, name);
        if (!users) return Response::error(users.status());
        if (*users > 0) return Response::error(failed_precondition("users still hold this role", "role_in_use"));
        auto deleted = repo::delete_role(core.store(), principal.org_id, name);
        if (!deleted) return Response::error(deleted.status());
        core.audit().record(security_event(audit_type::kRoleChanged, principal.org_id, principal.subject,
                                           "role:" + name, request.remote_address, "success", {{"action", "deleted"}}));
        return Response::no_content();
      }));
}

// ---- teams ----

// Every member must exist; whoever is added or removed must be within the caller's powers (a team
// decides which calls and supervisors reach a user). Both lists sorted.
Status check_members(UsersCore& core, const Principal& principal, const std::vector<std::string>& member_ids,
                     const std::vector<std::string>& previous_ids = {}) {
  for (const auto& id : member_ids) {
    VONTRES_ASSIGN_OR_RETURN(auto user, repo::find_user(core.store(), principal.org_id, id));
    if (!user) return invalid_argument("no user with id " + id, "user_not_found");
    if (!std::binary_search(previous_ids.begin(), previous_ids.end(), id)) {
      VONTRES_RETURN_IF_ERROR(core.check_can_manage(principal, user->roles));
    }
  }
  for (const auto& id : previous_ids) {
    if (std::binary_search(member_ids.begin(), member_ids.end(), id)) continue;
    VONTRES_ASSIGN_OR_RETURN(auto user, repo::find_user(core.store(), principal.org_id, id));
    if (user) VONTRES_RETURN_IF_ERROR(core.check_can_manage(principal, user->roles));
  }
  return Status::ok();
}

void register_team_routes(api::Router& router, UsersCore& core) {
  json team_body = object_schema(
      {{"name", string_schema(200)}, {"description", string_schema(1000)}, {"member_ids", string_list_schema()}});
  team_body["properties"]["name"]["minLength"] = 1;  // the handlers refuse an empty name
  json new_team_body = team_body;
  new_team_body["properties"]["name"].erase("nullable");
  new_team_body["required"] = {"name"};
  add_route(router, Method::kGet, "/api/v1/teams",
            {.public_route = false, .permission = "teams.read", .summary = "List teams", .tag = "teams"},
            {.request_body = nullptr,
             .response = page_schema(team_schema()),
             .success_status = 200,
             .error_codes = {"invalid_pagination"},
             .paginated = true},
            with_principal([&core](Request& request, const Principal& principal) {
              auto page = pagination(request);
              if (!page) return Response::error(page.status());
              auto teams = repo::list_teams(core.store(), principal.org_id, page->limit, page->offset);
              if (!teams) return Response::error(teams.status());
              json items = json::array();
              for (const auto& team : teams->items) items.push_back(team_json(team));
              return Response::json(200, page_json(items, teams->total, *page));
            }));

  add_route(router, Method::kPost, "/api/v1/teams",
            {.public_route = false, .permission = "teams.write", .summary = "Create a team", .tag = "teams"},
            {.request_body = new_team_body,
             .response = team_schema(),
             .success_status = 201,
             .error_codes = {"team_name_taken", "user_not_found", "invalid_field", "permission_escalation"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              auto body = object_body(request);
              if (!body) return Response::error(body.status());
              auto name = string_field(*body, "name", 200);
              auto description = string_field(*body, "description", 1000);
              auto members = string_list_field(*body, "member_ids");
              for (const Status& s : {name.status(), description.status(), members.status()}) {
                if (!s.is_ok()) return Response::error(s);
              }
              if (!*name || (*name)->empty())
                return Response::error(invalid_argument("name is required", "invalid_field"));
              Team team;
              team.id = core.ids().next();
              team.org_id = principal.org_id;
              team.name = **name;
              team.description = description->value_or("");
              team.member_ids = unique_sorted(members->value_or(std::vector<std::string>{}));
              Status checked = check_members(core, principal, team.member_ids);
              if (!checked.is_ok()) return Response::error(checked);
              team.created_at_ms = team.updated_at_ms = core.clock().now_unix_ms();
              Status stored =
                  core.store().transaction([&](store::Session& session) { return repo::insert_team(session, team); });
              if (!stored.is_ok()) return Response::error(stored);
              return Response::json(201, team_json(team));
            }));

  add_route(router, Method::kGet, "/api/v1/teams/{id}",
            {.public_route = false, .permission = "teams.read", .summary = "Get a team", .tag = "teams"},
            {.request_body = nullptr,
             .response = team_schema(),
             .success_status = 200,
             .error_codes = {"team_not_found"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              auto team = repo::find_team(core.store(), principal.org_id, request.path_params["id"]);
              if (!team) return Response::error(team.status());
              if (!*team) return Response::error(not_found("no such team", "team_not_found"));
              return Response::json(200, team_json(**team));
            }));

  add_route(router, Method::kPatch, "/api/v1/teams/{id}",
            {.public_route = false,
             .permission = "teams.write",
             .summary = "Update a team (member_ids replaces the list)",
             .tag = "teams"},
            {.request_body = team_body,
             .response = team_schema(),
             .success_status = 200,
             .error_codes = {"team_not_found", "team_name_taken", "user_not_found", "permission_escalation"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              auto body = object_body(request);
              if (!body) return Response::error(body.status());
              auto found = repo::find_team(core.store(), principal.org_id, request.path_params["id"]);
              if (!found) return Response::error(found.status());
              if (!*found) return Response::error(not_found("no such team", "team_not_found"));
              Team team = **found;
              auto name = string_field(*body, "name", 200);
              auto description = string_field(*body, "description", 1000);
              auto members = string_list_field(*body, "member_ids");
              for (const Status& s : {name.status(), description.status(), members.status()}) {
                if (!s.is_ok()) return Response::error(s);
              }
              if (*name) {
                if ((*name)->empty()) return Response::error(invalid_argument("name is required", "invalid_field"));
                team.name = **name;
              }
              if (*description) team.description = **description;
              if (*members) {
                team.member_ids = unique_sorted(**members);
                Status checked = check_members(core, principal, team.member_ids, unique_sorted((*found)->member_ids));
                if (!checked.is_ok()) return Response::error(checked);
              }
              team.updated_at_ms = core.clock().now_unix_ms();
              Status stored = core.store().transaction([&](store::Session& session) -> Status {
                VONTRES_ASSIGN_OR_RETURN(bool updated, repo::update_team(session, team));
                return updated ? Status::ok() : not_found("no such team", "team_not_found");
              });
              if (!stored.is_ok()) return Response::error(stored);
              return Response::json(200, team_json(team));
            }));

  add_route(router, Method::kDelete, "/api/v1/teams/{id}",
            {.public_route = false, .permission = "teams.write", .summary = "Delete a team", .tag = "teams"},
            {.request_body = nullptr,
             .response = nullptr,
             .success_status = 204,
             .error_codes = {"team_not_found"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              bool deleted = false;
              Status status = core.store().transaction([&](store::Session& session) -> Status {
                VONTRES_ASSIGN_OR_RETURN(deleted,
                                         repo::delete_team(session, principal.org_id, request.path_params["id"]));
                return Status::ok();
              });
              if (!status.is_ok()) return Response::error(status);
              if (!deleted) return Response::error(not_found("no such team", "team_not_found"));
              return Response::no_content();
            }));
}

// ---- API keys and audit ----

void register_key_routes(api::Router& router, UsersCore& core) {
  add_route(router, Method::kGet, "/api/v1/api-keys",
            {.public_route = false,
             .permission = "api_keys.read",
             .summary = "List API keys (never their secrets)",
             .tag = "api-keys"},
            {.request_body = nullptr,
             .response = page_schema(api_key_schema()),
             .success_status = 200,
             .error_codes = {"invalid_pagination"},
             .paginated = true},
            with_principal([&core](Request& request, const Principal& principal) {
              auto page = pagination(request);
              if (!page) return Response::error(page.status());
              auto keys = repo::list_api_keys(core.store(), principal.org_id, page->limit, page->offset);
              if (!keys) return Response::error(keys.status());
              json items = json::array();
              for (const auto& key : keys->items) items.push_back(api_key_json(key));
              return Response::json(200, page_json(items, keys->total, *page));
            }));

  add_route(router, Method::kPost, "/api/v1/api-keys",
            {.public_route = false,
             .permission = "api_keys.write",
             .summary = "Create an API key; the key is in this response only",
             .tag = "api-keys"},
            {.request_body = object_schema({{"name", {{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}},
                                            {"permissions", string_list_schema()}},
                                           {"name", "permissions"}),
             .response = api_key_schema(),
             .success_status = 201,
             .error_codes = {"unknown_permission", "permission_escalation", "invalid_field"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              auto body = object_body(request);
              if (!body) return Response::error(body.status());
              auto name = string_field(*body, "name", 200);
              auto permissions = string_list_field(*body, "permissions");
              for (const Status& s : {name.status(), permissions.status()}) {
                if (!s.is_ok()) return Response::error(s);
              }
              if (!*name || (*name)->empty())
                return Response::error(invalid_argument("name is required", "invalid_field"));
              ApiKey key;
              key.permissions = unique_sorted(permissions->value_or(std::vector<std::string>{}));
              Status held = check_permissions_known_and_held(principal, key.permissions);
              if (!held.is_ok()) return Response::error(held);
              auto prefix_bytes = random_bytes(6);
              auto secret = random_token(32);
              if (!prefix_bytes) return Response::error(prefix_bytes.status());
              if (!secret) return Response::error(secret.status());
              key.prefix = sha256_hex(*prefix_bytes).substr(0, 12);
              const std::string plaintext = std::string(kApiKeyMarker) + key.prefix + "_" + *secret;
              key.id = core.ids().next();
              key.org_id = principal.org_id;
              key.name = **name;
              key.secret_hash = sha256_hex(plaintext);
              key.created_by = principal.subject;
              key.created_at_ms = core.clock().now_unix_ms();
              Status stored = repo::insert_api_key(core.store(), key);
              if (!stored.is_ok()) return Response::error(stored);
              core.audit().record(security_event(
                  audit_type::kApiKeyCreated, principal.org_id, principal.subject, key.id, request.remote_address,
                  "success", {{"name", key.name}, {"prefix", key.prefix}, {"permissions", key.permissions}}));
              json out = api_key_json(key);
              out["key"] = plaintext;
              Response response = Response::json(201, out);
              response.headers.emplace_back("Cache-Control", "no-store");
              return response;
            }));

  add_route(router, Method::kDelete, "/api/v1/api-keys/{id}",
            {.public_route = false, .permission = "api_keys.write", .summary = "Revoke an API key", .tag = "api-keys"},
            {.request_body = nullptr,
             .response = nullptr,
             .success_status = 204,
             .error_codes = {"api_key_not_found"},
             .paginated = false},
            with_principal([&core](Request& request, const Principal& principal) {
              auto revoked = repo::revoke_api_key(core.store(), principal.org_id, request.path_params["id"],
                                                  core.clock().now_unix_ms());
              if (!revoked) return Response::error(revoked.status());
              if (!*revoked) return Response::error(not_found("no such active API key", "api_key_not_found"));
              core.audit().record(security_event(audit_type::kApiKeyRevoked, principal.org_id, principal.subject,
                                                 request.path_params["id"], request.remote_address));
              return Response::no_content();
            }));

  add_route(
      router, Method::kGet, "/api/v1/audit",
      {.public_route = false, .permission = "audit.read", .summary = "Security events, newest first", .tag = "audit"},
      {.request_body = nullptr,
       .response = page_schema({{"type", "object"},
                                {"properties",
                                 {{"id", {{"type", "string"}}},
                                  {"at", {{"type", "string"}}},
                                  {"type", {{"type", "string"}}},
                                  {"outcome", {{"type", "string"}}},
                                  {"actor_id", {{"type", "string"}}},
                                  {"subject_id", {{"type", "string"}}},
                                  {"remote_address", {{"type", "string"}}},
                                  {"details", {{"type", "object"}}}}}}),
       .success_status = 200,
       .error_codes = {"invalid_pagination"},
       .paginated = true},
      with_principal([&core](Request& request, const Principal& principal) {
        auto page = pagination(request);
        if (!page) return Response::error(page.status());
        auto events = repo::list_audit_events(core.store(), principal.org_id, page->limit, page->offset);
        if (!events) return Response::error(events.status());
        json items = json::array();
        for (const auto& event : events->items) items.push_back(audit_json(event));
        return Response::json(200, page_json(items, events->total, *page));
      }));
}

}  // namespace

void register_admin_routes(api::Router& router, UsersCore& core) {
  register_user_routes(router, core);
  register_role_routes(router, core);
  register_team_routes(router, core);
  register_key_routes(router, core);
}

}  // namespace vontres::users::detail
