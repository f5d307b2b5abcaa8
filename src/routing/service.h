// RoutingService: the thin shell around the pure routing Engine. It owns the engine behind one
// mutex, publishes every engine event as JSON on the EventBus (topic "routing.events", key = call id,
// or agent id for agent events, in engine order), persists queues, skills and agent routing profiles
// in the Store (migrations of component "routing") and reloads them at start(), and serves the REST
// API (/api/v1/queues, /api/v1/skills, /api/v1/agents/{id}/..., /api/v1/calls/{id}/routing-decisions)
// scoped to the caller's organisation with the permissions of the users service.
//
// Thread-safety: every public method may be called from any thread. Engine commands run under
// `mu_`; events are published after the engine step, under `publish_mu_` taken before `mu_` is
// released, so bus order equals engine order. Lock order: mu_ then publish_mu_.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/ids.h"
#include "routing/engine.h"
#include "store/store.h"

namespace vontres::routing {

struct RoutingServiceOptions {
  std::string topic = "routing.events";
  std::chrono::milliseconds publish_timeout{1'000};
  EngineOptions engine;
};

// JSON forms used by the API and the bus. Parsing errors are invalid_argument "invalid_queue" /
// "invalid_agent" naming the field.
nlohmann::json to_json(const RoutingEvent& event);
nlohmann::json to_json(const QueueConfig& queue);
nlohmann::json to_json(const QueueView& view);
nlohmann::json to_json(const AgentView& agent);
nlohmann::json to_json(const RoutingDecision& decision);
Result<QueueConfig> queue_from_json(const nlohmann::json& body);
Result<AgentConfig> agent_profile_from_json(const nlohmann::json& body);

class RoutingService {
 public:
  RoutingService(const Clock& clock, bus::EventBus& bus, store::Store& store, RoutingServiceOptions options = {});
  RoutingService(const RoutingService&) = delete;
  RoutingService& operator=(const RoutingService&) = delete;

  static std::vector<store::Migration> migrations();
  // Applies the migrations and loads queues and agent profiles into the engine.
  Status start();
  void register_routes(api::Router& router);

  // Runs `command` on the engine under the lock, then publishes the events it produced. For the
  // other services (telephony adapters turning SIP into enqueue_call/accept_offer/call_ended).
  template <typename F>
  auto run(F&& command) {
    std::unique_lock lock(mu_);
    auto result = command(engine_);
    flush(lock);
    return result;
  }
  // Runs due timers; the shell calls it at next_deadline() (or periodically).
  void tick();
  std::optional<TimePoint> next_deadline();

 private:
  class BufferSink final : public RoutingEventSink {
   public:
    void on_event(const RoutingEvent& event) override { events.push_back(event); }
    std::vector<RoutingEvent> events;
  };
  // REQUIRES: `lock` holds mu_. Publishes buffered events, keeping bus order = engine order.
  void flush(std::unique_lock<std::mutex>& lock);
  Status persist_queue(const QueueConfig& queue);
  Status persist_agent(const AgentConfig& agent);

  const Clock& clock_;
  bus::EventBus& bus_;
  store::Store& store_;
  RoutingServiceOptions options_;
  IdGenerator ids_;
  std::mutex mu_;
  BufferSink sink_;  // GUARDED_BY(mu_)
  Engine engine_;    // GUARDED_BY(mu_)
  std::mutex publish_mu_;
};

}  // namespace vontres::routing
