// JSON Schemas (api/schema.h) of the routing service's request bodies: what the Dispatcher checks
// before a handler runs and what the OpenAPI document publishes. Every bound here is also what the
// engine can hold: priorities fit an int, lengths a size_t, times a day.
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

namespace vontres::routing::detail {

nlohmann::json queue_body_schema();            // POST /api/v1/queues, PUT /api/v1/queues/{id}
nlohmann::json skill_body_schema();            // PUT /api/v1/skills/{name}
nlohmann::json routing_profile_body_schema();  // PUT /api/v1/agents/{id}/routing-profile
nlohmann::json agent_state_body_schema();      // PUT /api/v1/agents/{id}/state
nlohmann::json routing_rules_body_schema();    // PUT /api/v1/routing/rules

}  // namespace vontres::routing::detail
