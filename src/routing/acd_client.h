// AcdClient: the call host's whole view of the ACD (the routing service). Commands say what
// happened to a call or an agent's phone; their outcomes (an offer for an agent, the call queued,
// rejected or exited) come back as `routing.events` for the call, which the call host consumes
// whichever implementation it has. So the call host never learns where the ACD runs.
//
// Two implementations, chosen in src/app (`routing.acd_client`):
// - InProcessAcdClient: calls the RoutingService of this process directly (one process).
// - BusAcdClient: publishes each command on `routing.commands`, keyed by organisation (one
//   organisation's commands stay in order), for the RoutingCommandHandler of the routing process
//   (routing/command_handler.h). Look-ups read the routing records in the shared Store.
//
// Error contract: an error from a command means it was not delivered (bus unavailable) or, in
// process, that the ACD refused it up front; the in-process enqueue returns the engine's refusal
// ("queue_not_found", "queue_full", ...), the bus-based one reports it as a `route.rejected`
// event instead. Callers treat both the same way. Commands are idempotent at the ACD: a repeated
// enqueue of a routed call, or a repeated end, changes nothing.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bus/event_bus.h"
#include "core/ids.h"
#include "core/status.h"
#include "routing/engine.h"
#include "store/store.h"

namespace vontres::routing {

class RoutingService;

class AcdClient {
 public:
  virtual ~AcdClient() = default;

  // Queues a call (request.org and request.id set). Outcome: route.queued / route.offered /
  // route.rejected events for request.id.
  virtual Status enqueue(const CallRequest& request) = 0;
  // Removes a call that is not connected; route.exited follows with `reason`.
  virtual Status cancel(const OrgId& org, const CallId& call, const std::string& reason) = 0;
  virtual Status accept_offer(const OrgId& org, const CallId& call, const AgentId& agent) = 0;
  virtual Status decline_offer(const OrgId& org, const CallId& call, const AgentId& agent,
                               const std::string& reason) = 0;
  // The caller's leg is gone: waiting or ringing calls are abandoned, connected ones complete and
  // their agent goes to wrap-up / available.
  virtual Status call_ended(const OrgId& org, const CallId& call) = 0;
  virtual Status request_callback(const OrgId& org, const CallId& call) = 0;
  // The agent's phone registered (available) or lost its last registration (offline).
  virtual Status agent_phone(const OrgId& org, const AgentId& agent, bool registered) = 0;

  // Look-ups the IVR and the REST routes need.
  virtual Result<bool> queue_exists(const OrgId& org, const QueueId& queue) = 0;
  virtual Result<bool> agent_exists(const OrgId& org, const AgentId& agent) = 0;
};

class InProcessAcdClient final : public AcdClient {
 public:
  explicit InProcessAcdClient(RoutingService& routing) : routing_(routing) {}
  Status enqueue(const CallRequest& request) override;
  Status cancel(const OrgId& org, const CallId& call, const std::string& reason) override;
  Status accept_offer(const OrgId& org, const CallId& call, const AgentId& agent) override;
  Status decline_offer(const OrgId& org, const CallId& call, const AgentId& agent, const std::string& reason) override;
  Status call_ended(const OrgId& org, const CallId& call) override;
  Status request_callback(const OrgId& org, const CallId& call) override;
  Status agent_phone(const OrgId& org, const AgentId& agent, bool registered) override;
  Result<bool> queue_exists(const OrgId& org, const QueueId& queue) override;
  Result<bool> agent_exists(const OrgId& org, const AgentId& agent) override;

 private:
  RoutingService& routing_;
};

struct BusAcdClientOptions {
  std::string topic = "routing.commands";
  std::chrono::milliseconds publish_timeout{2'000};  // control traffic: waits, never dropped silently
  std::string source_node;                           // stamped on each command (header "node")
};

class BusAcdClient final : public AcdClient {
 public:
  BusAcdClient(bus::EventBus& bus, store::Store& store, BusAcdClientOptions options)
      : bus_(bus), store_(store), options_(std::move(options)) {}
  Status enqueue(const CallRequest& request) override;
  Status cancel(const OrgId& org, const CallId& call, const std::string& reason) override;
  Status accept_offer(const OrgId& org, const CallId& call, const AgentId& agent) override;
  Status decline_offer(const OrgId& org, const CallId& call, const AgentId& agent, const std::string& reason) override;
  Status call_ended(const OrgId& org, const CallId& call) override;
  Status request_callback(const OrgId& org, const CallId& call) override;
  Status agent_phone(const OrgId& org, const AgentId& agent, bool registered) override;
  Result<bool> queue_exists(const OrgId& org, const QueueId& queue) override;
  Result<bool> agent_exists(const OrgId& org, const AgentId& agent) override;

 private:
  Status send(const OrgId& org, const std::string& type, nlohmann::json body);

  bus::EventBus& bus_;
  store::Store& store_;
  BusAcdClientOptions options_;
};

}  // namespace vontres::routing
