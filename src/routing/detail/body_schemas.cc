#include "routing/detail/body_schemas.h"

#include <string>
#include <vector>

#include "routing/engine.h"

namespace vontres::routing::detail {
namespace {

using nlohmann::json;

constexpr int kMaxIdLength = 128;
constexpr int kMaxNameLength = 200;
constexpr int kMaxSkillLength = 64;
constexpr int64_t kDayMs = 86'400'000;

json text(int max_length, int min_length = 0) {
  json schema = {{"type", "string"}, {"maxLength", max_length}};
  if (min_length > 0) schema["minLength"] = min_length;
  return schema;
}

json integer(int64_t minimum, int64_t maximum) {
  return {{"type", "integer"}, {"minimum", minimum}, {"maximum", maximum}};
}

json millis() { return integer(0, kDayMs); }

json boolean() { return {{"type", "boolean"}}; }

json list(json items, int max_items) {
  return {{"type", "array"}, {"maxItems", max_items}, {"items", std::move(items)}};
}

json object(json properties, const std::vector<std::string>& required = {}) {
  json schema = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = required;
  return schema;
}

json skill_requirement() {
  return object({{"skill", text(kMaxSkillLength, 1)}, {"min_proficiency", integer(1, 10)}}, {"skill"});
}

json names_enum(auto names) {
  json out = json::array();
  for (auto name : names) out.push_back(std::string(name));
  return out;
}

}  // namespace

json queue_body_schema() {
  json strategies = names_enum(
      std::vector<std::string_view>{strategy_name(Strategy::kLongestIdle), strategy_name(Strategy::kRoundRobin),
                                    strategy_name(Strategy::kFewestCalls), strategy_name(Strategy::kSkillsWeighted),
                                    strategy_name(Strategy::kRingAll), strategy_name(Strategy::kRandom)});
  json actions = names_enum(std::vector<std::string_view>{
      max_wait_action_name(MaxWaitAction::kNone), max_wait_action_name(MaxWaitAction::kOverflow),
      max_wait_action_name(MaxWaitAction::kCallback), max_wait_action_name(MaxWaitAction::kVoicemail),
      max_wait_action_name(MaxWaitAction::kExit)});
  json step = object({{"after_ms", millis()},
                      {"repeat_every_ms", millis()},
                      {"priority_boost", integer(-1000, 1000)},
                      {"lower_proficiency_by", integer(0, 10)},
                      {"drop_skills", list(text(kMaxSkillLength), 50)},
                      {"drop_all_skills", boolean()},
                      {"max_penalty", integer(0, kNoPenaltyLimit)},
                      {"move_to_queue", text(kMaxIdLength, 1)}});
  // Every member to_json(QueueConfig) writes, so what GET answers can be PUT back.
  return object({{"id", text(kMaxIdLength)},
                 {"name", text(kMaxNameLength)},
                 {"priority", integer(0, 1000)},
                 {"strategy", {{"type", "string"}, {"enum", strategies}}},
                 {"service_level_threshold_ms", millis()},
                 {"service_level_target", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}},
                 {"max_wait_ms", millis()},
                 {"max_wait_action", {{"type", "string"}, {"enum", actions}}},
                 {"overflow_queue", text(kMaxIdLength, 1)},
                 {"max_length", integer(0, 100'000)},
                 {"wrap_up_ms", millis()},
                 {"offer_timeout_ms", millis()},
                 {"reoffer_delay_ms", millis()},
                 {"max_missed_offers", integer(0, 1000)},
                 {"join_empty", boolean()},
                 {"leave_when_empty", boolean()},
                 {"required_skills", list(skill_requirement(), 50)},
                 {"initial_max_penalty", integer(0, kNoPenaltyLimit)},
                 {"escalation", list(step, 20)},
                 {"default_handle_time_ms", millis()}});
}

json skill_body_schema() { return object({{"description", text(500)}}, {"description"}); }

json routing_profile_body_schema() {
  return object(
      {{"name", text(kMaxNameLength)},
       {"team", text(kMaxNameLength)},
       {"capacity", integer(1, 100)},
       {"skills",
        {{"type", "object"},
         {"additionalProperties", integer(1, 10)},
         {"propertyNames", text(kMaxSkillLength, 1)},
         {"maxProperties", 100}}},
       {"queues", list(object({{"queue", text(kMaxIdLength, 1)}, {"penalty", integer(0, 1000)}}, {"queue"}), 100)}});
}

json agent_state_body_schema() {
  return object({{"state", {{"type", "string"}, {"enum", {"available", "break", "offline"}}}}, {"reason", text(200)}},
                {"state"});
}

json routing_rules_body_schema() {
  json intent = object({{"intent", text(kMaxSkillLength, 1)},
                        {"queue", text(kMaxIdLength, 1)},
                        {"skills", list(skill_requirement(), 20)},
                        {"priority_boost", integer(-100, 100)}},
                       {"intent"});
  json default_queue = text(kMaxIdLength);
  default_queue["nullable"] = true;
  return object({{"intents", list(intent, 100)},
                 {"default_queue", default_queue},
                 {"negative_sentiment_threshold", {{"type", "number"}, {"minimum", -1}, {"maximum", 1}}},
                 {"negative_sentiment_boost", integer(-100, 100)},
                 {"tier_boost",
                  {{"type", "object"},
                   {"additionalProperties", integer(-100, 100)},
                   {"propertyNames", text(kMaxSkillLength, 1)},
                   {"maxProperties", 50}}},
                 {"language_skill_prefix", text(kMaxSkillLength)}});
}

}  // namespace vontres::routing::detail
