// RoutingService: the thin shell around the pure routing Engine. It owns the engine behind one
// mutex, publishes every engine event as JSON on the EventBus (topic "routing.events", key = call id,
// or agent id for agent events, in engine order), persists queues, skills and agent routing profiles
// in the Store (migrations of component "routing") and reloads them at start(), and serves the REST
// API (/api/v1/queues, /api/v1/skills, /api/v1/agents/{id}/..., /api/v1/calls/{id}/routing-decisions,
// /api/v1/routing/rules) scoped to the caller's organisation with the permissions of the users
// service. An organisation's routing rules are its own once set through the API (persisted), else
// the configured defaults (RoutingServiceOptions::engine.default_rules). Optionally it runs its own
// timer thread (start_timer) that calls tick() at next_deadline(), and exports Prometheus metrics.
//
// Thread-safety: every public method may be called from any thread. Engine commands run under
// `mu_`; events are published after the engine step, under `publish_mu_` taken before `mu_` is
// released, so bus order equals engine order. Lock order: mu_, then publish_mu_, then timer_mu_.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <nlohmann/json.hpp>

#include "api/http.h"
#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "routing/engine.h"
#include "store/store.h"

namespace vontres::routing {

struct RoutingServiceOptions {
  std::string topic = "routing.events";
  std::chrono::milliseconds publish_timeout{1'000};
  EngineOptions engine;  // engine.default_rules: the rules of organisations without their own
  // Fields a queue created through the API takes when its body leaves them out (offer_timeout,
  // reoffer_delay, max_missed_offers, wrap_up, ...). id/org/name are ignored.
  QueueConfig queue_defaults;
  // The timer thread runs due timers at most this late (timers due within one step run together).
  std::chrono::milliseconds tick_resolution{10};
  // Where the routing metrics are registered; null: no metrics. Must outlive the service.
  prometheus::Registry* metrics = nullptr;
};

// The service options the `routing:` configuration section describes (rules, queue defaults,
// explain records, tick resolution). Metrics, topic and seed keep their defaults.
RoutingServiceOptions options_from_config(const RoutingConfig& config);

// JSON forms used by the API and the bus. Parsing errors are invalid_argument "invalid_queue" /
// "invalid_agent" naming the field.
nlohmann::json to_json(const RoutingEvent& event);
nlohmann::json to_json(const QueueConfig& queue);
nlohmann::json to_json(const QueueView& view);
nlohmann::json to_json(const AgentView& agent);
nlohmann::json to_json(const RoutingDecision& decision);
nlohmann::json to_json(const RoutingRules& rules);
// Fields missing from `body` keep the values of `defaults`.
Result<QueueConfig> queue_from_json(const nlohmann::json& body, const QueueConfig& defaults = {});
// Errors: invalid_argument "invalid_rules" naming the field ("intents[1].queue: must not be empty").
Result<RoutingRules> rules_from_json(const nlohmann::json& body);
Result<AgentConfig> agent_profile_from_json(const nlohmann::json& body);

class RoutingService {
 public:
  RoutingService(const Clock& clock, bus::EventBus& bus, store::Store& store, RoutingServiceOptions options = {});
  ~RoutingService();  // stops the timer thread if running
  RoutingService(const RoutingService&) = delete;
  RoutingService& operator=(const RoutingService&) = delete;

  static std::vector<store::Migration> migrations();
  // Applies the migrations and loads queues, agent profiles and organisations' rules into the engine.
  Status start();
  void register_routes(api::Router& router);

  // Runs `command` on the engine under the lock, then publishes the events it produced. For the
  // other services (telephony adapters turning SIP into enqueue_call/accept_offer/call_ended).
  template <typename F>
  auto run(F&& command) {
    std::unique_lock lock(mu_);
    const auto started = std::chrono::steady_clock::now();
    auto result = command(engine_);
    observe_command(started);
    flush(lock);
    return result;
  }
  // Runs due timers; the shell calls it at next_deadline() (or periodically).
  void tick();
  std::optional<TimePoint> next_deadline();

  // Starts a thread that calls tick() at next_deadline() (rounded up to tick_resolution, measured
  // on the service's Clock but waited in real time, so meant for the system clock). A command that
  // brings the deadline forward wakes it early. Idempotent.
  void start_timer();
  // Stops and joins the timer thread. Idempotent; also done by the destructor.
  void stop_timer();

  // Follows the users service's lifecycle events (users/events.h) on a thread of its own, as
  // member of consumer `group` (one per node). A deactivated user's agent goes offline and cannot
  // be made available again until the user is reactivated; a deleted user's agent also leaves the
  // ACD (at once, or stays offline while it still has calls) and its stored profile is deleted.
  // Idempotent. Errors: the bus's subscribe error.
  Status follow_user_events(const std::string& group);
  // Stops and joins that thread. Idempotent; also done by the destructor.
  void stop_following_user_events();
  // What the follower does with one event; events of other topics or types are ignored. For the
  // follower and tests. Errors: Store errors (the event should be redelivered).
  Status apply_user_event(const bus::Event& event);

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
  // REQUIRES: mu_ held. Records the command's duration if it produced events.
  void observe_command(std::chrono::steady_clock::time_point started);
  // REQUIRES: mu_ held. Brings the per-queue metrics up to date for the buffered events.
  void update_metrics();
  // Wakes the timer thread if `deadline` is earlier than what it sleeps for.
  void wake_timer(std::optional<TimePoint> deadline);
  void timer_loop();
  void user_events_loop();

  const Clock& clock_;
  bus::EventBus& bus_;
  store::Store& store_;
  RoutingServiceOptions options_;
  IdGenerator ids_;
  std::mutex mu_;
  BufferSink sink_;                                      // GUARDED_BY(mu_)
  Engine engine_;                                        // GUARDED_BY(mu_)
  std::set<std::pair<OrgId, QueueId>> touched_queues_;   // GUARDED_BY(mu_): queues whose metrics need refreshing
  std::set<std::pair<OrgId, AgentId>> inactive_agents_;  // GUARDED_BY(mu_): of deactivated or deleted users
  std::mutex publish_mu_;

  struct Metrics {
    prometheus::Family<prometheus::Gauge>* waiting = nullptr;  // labels: org, queue
    prometheus::Counter* offers = nullptr;
    prometheus::Counter* accepts = nullptr;
    prometheus::Counter* timeouts = nullptr;
    prometheus::Histogram* decision_seconds = nullptr;
    std::map<std::pair<OrgId, QueueId>, prometheus::Gauge*> waiting_by_queue;  // GUARDED_BY(mu_)
  };
  Metrics metrics_;

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool timer_stop_ = false;         // GUARDED_BY(timer_mu_)
  bool timer_kick_ = false;         // GUARDED_BY(timer_mu_)
  bool timer_sleeping_ = false;     // GUARDED_BY(timer_mu_)
  TimePoint timer_sleeping_until_;  // GUARDED_BY(timer_mu_)
  std::thread timer_;               // started/joined by start_timer/stop_timer

  std::mutex user_events_mu_;  // serialises follow/stop
  std::atomic<bool> user_events_stop_{false};
  std::unique_ptr<bus::Consumer> user_events_;  // used by user_events_thread_ only
  std::thread user_events_thread_;              // GUARDED_BY(user_events_mu_)
};

}  // namespace vontres::routing
