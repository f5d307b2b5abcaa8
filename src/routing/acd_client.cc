#include "routing/acd_client.h"

#include <nlohmann/json.hpp>

#include "routing/command_handler.h"
#include "routing/service.h"

namespace vontres::routing {

using nlohmann::json;

// ---- InProcessAcdClient ------------------------------------------------------------------------

Status InProcessAcdClient::enqueue(const CallRequest& request) {
  auto placed = routing_.run([&](Engine& engine) { return engine.enqueue_call(request); });
  return placed.is_ok() ? Status::ok() : placed.status();
}

Status InProcessAcdClient::cancel(const OrgId& /*org*/, const CallId& call, const std::string& reason) {
  return routing_.run([&](Engine& engine) { return engine.cancel_call(call, reason); });
}

Status InProcessAcdClient::accept_offer(const OrgId& /*org*/, const CallId& call, const AgentId& agent) {
  return routing_.run([&](Engine& engine) { return engine.accept_offer(call, agent); });
}

Status InProcessAcdClient::decline_offer(const OrgId& /*org*/, const CallId& call, const AgentId& agent,
                                         const std::string& reason) {
  return routing_.run([&](Engine& engine) { return engine.decline_offer(call, agent, reason); });
}

Status InProcessAcdClient::call_ended(const OrgId& /*org*/, const CallId& call) {
  return routing_.run([&](Engine& engine) { return engine.call_ended(call); });
}

Status InProcessAcdClient::request_callback(const OrgId& /*org*/, const CallId& call) {
  return routing_.run([&](Engine& engine) { return engine.request_callback(call); });
}

Status InProcessAcdClient::agent_phone(const OrgId& org, const AgentId& agent, bool registered) {
  return routing_.run([&](Engine& engine) {
    return engine.set_presence(org, agent, registered ? Presence::kAvailable : Presence::kOffline,
                               registered ? "" : "phone_unregistered");
  });
}

Result<bool> InProcessAcdClient::queue_exists(const OrgId& org, const QueueId& queue) {
  return routing_.run([&](Engine& engine) { return engine.queue_view(org, queue, 0).is_ok(); });
}

Result<bool> InProcessAcdClient::agent_exists(const OrgId& org, const AgentId& agent) {
  return routing_.run([&](Engine& engine) { return engine.agent(org, agent).is_ok(); });
}

// ---- BusAcdClient ------------------------------------------------------------------------------

Status BusAcdClient::send(const OrgId& org, const std::string& type, json body) {
  body["org_id"] = org.str();
  bus::Event event;
  event.topic = options_.topic;
  event.key = org.str();  // one organisation's commands in order
  event.type = type;
  event.headers["org_id"] = org.str();
  if (!options_.source_node.empty()) event.headers["node"] = options_.source_node;
  event.payload = body.dump();
  auto published = bus_.publish(std::move(event), options_.publish_timeout);
  return published.is_ok() ? Status::ok() : published.status();
}

Status BusAcdClient::enqueue(const CallRequest& request) {
  json skills = json::array();
  for (const auto& s : request.required_skills) {
    skills.push_back({{"skill", s.skill}, {"min_proficiency", s.min_proficiency}});
  }
  json body = {{"call_id", request.id.str()},    {"intent", request.intent},
               {"language", request.language},   {"customer_tier", request.customer_tier},
               {"sentiment", request.sentiment}, {"priority", request.priority},
               {"required_skills", skills},      {"attributes", request.attributes}};
  if (request.queue) body["queue"] = request.queue->str();
  return send(request.org, kEnqueue, std::move(body));
}

Status BusAcdClient::cancel(const OrgId& org, const CallId& call, const std::string& reason) {
  return send(org, kCancel, {{"call_id", call.str()}, {"reason", reason}});
}

Status BusAcdClient::accept_offer(const OrgId& org, const CallId& call, const AgentId& agent) {
  return send(org, kAcceptOffer, {{"call_id", call.str()}, {"agent_id", agent.str()}});
}

Status BusAcdClient::decline_offer(const OrgId& org, const CallId& call, const AgentId& agent,
                                   const std::string& reason) {
  return send(org, kDeclineOffer, {{"call_id", call.str()}, {"agent_id", agent.str()}, {"reason", reason}});
}

Status BusAcdClient::call_ended(const OrgId& org, const CallId& call) {
  return send(org, kCallEnded, {{"call_id", call.str()}});
}

Status BusAcdClient::request_callback(const OrgId& org, const CallId& call) {
  return send(org, kRequestCallback, {{"call_id", call.str()}});
}

Status BusAcdClient::agent_phone(const OrgId& org, const AgentId& agent, bool registered) {
  return send(org, kAgentPhone, {{"agent_id", agent.str()}, {"registered", registered}});
}

// The routing service persists every queue and agent profile it holds (routing_queues,
// routing_agents), so the shared Store answers these without a round trip to the ACD.
Result<bool> BusAcdClient::queue_exists(const OrgId& org, const QueueId& queue) {
  VONTRES_ASSIGN_OR_RETURN(
      auto rows, store_.query("SELECT 1 FROM routing_queues WHERE org_id = $1 AND id = $2", {org.str(), queue.str()}));
  return !rows.empty();
}

Result<bool> BusAcdClient::agent_exists(const OrgId& org, const AgentId& agent) {
  VONTRES_ASSIGN_OR_RETURN(
      auto rows, store_.query("SELECT 1 FROM routing_agents WHERE org_id = $1 AND id = $2", {org.str(), agent.str()}));
  return !rows.empty();
}

}  // namespace vontres::routing
