// User lifecycle events: the users service publishes one on topic "users.events" (key = user id,
// header org_id) after a deactivation, reactivation or deletion is stored, so the services that
// keep per-user state (SIP accounts and registrations, the ACD) follow it. Payload:
//   {"type": "user.deactivated" | "user.reactivated" | "user.deleted", "org_id", "user_id", "at_ms"}
// Consumers must be idempotent (delivery is at-least-once) and must not rely on the event alone
// where access matters: the registrar also asks the users service directly (app/services.cc).
//
// Header-only so that consumers need not link the users service.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bus/event_bus.h"

namespace vontres::users::events {

inline constexpr std::string_view kTopic = "users.events";
inline constexpr std::string_view kUserDeactivated = "user.deactivated";
inline constexpr std::string_view kUserReactivated = "user.reactivated";
inline constexpr std::string_view kUserDeleted = "user.deleted";

struct UserLifecycle {
  std::string type;  // one of the kUser* names
  std::string org_id;
  std::string user_id;
  int64_t at_ms = 0;
};

inline bus::Event to_event(const UserLifecycle& change) {
  bus::Event event;
  event.topic = std::string(kTopic);
  event.key = change.user_id;
  event.type = change.type;
  event.payload = nlohmann::json{
      {"type", change.type},
      {"org_id", change.org_id},
      {"user_id", change.user_id},
      {"at_ms",
       change.at_ms}}.dump();
  event.headers["org_id"] = change.org_id;
  return event;
}

// The change an event of kTopic describes; nullopt for other topics, unknown types or a payload
// without org_id and user_id.
inline std::optional<UserLifecycle> parse_user_lifecycle(const bus::Event& event) {
  if (event.topic != kTopic) return std::nullopt;
  const nlohmann::json payload = nlohmann::json::parse(event.payload, nullptr, false);
  if (!payload.is_object()) return std::nullopt;
  UserLifecycle change;
  const auto text = [&](const char* name) {
    auto it = payload.find(name);
    return it != payload.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  change.type = text("type");
  change.org_id = text("org_id");
  change.user_id = text("user_id");
  if (auto at = payload.find("at_ms"); at != payload.end() && at->is_number_integer())
    change.at_ms = at->get<int64_t>();
  if (change.type != kUserDeactivated && change.type != kUserReactivated && change.type != kUserDeleted) {
    return std::nullopt;
  }
  if (change.org_id.empty() || change.user_id.empty()) return std::nullopt;
  return change;
}

}  // namespace vontres::users::events
