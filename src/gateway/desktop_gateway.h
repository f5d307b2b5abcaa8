// DesktopGateway: the agent desktop's one live feed, GET /api/v1/events (WebSocket), served by
// every `api` process from the bus alone (it needs no telephony, routing or AI service in the
// process).
//
// Contract:
//  - Input: the configured topics (default call.events, routing.events, ai.events) in the consumer
//    group "gateway.<node id>", one group per process, so every api process sees every event. A
//    delivery is acknowledged only after it is retained (or recognised as a duplicate or as
//    belonging to no organisation); nothing here ever blocks the consumer on a client.
//  - Who sees what (gateway/event_log.h): a principal with calls.monitor (supervisors, admins) sees
//    every event of their organisation; one with calls.handle (agents) only events about
//    themself: their own calls and their own state; nobody sees another organisation's events.
//    Anyone else is refused (403 "forbidden"); an unauthenticated upgrade gets 401.
//  - Frames to the client: each event as {"id","topic","type","ts" (bus time, ms since the epoch),
//    "data": <payload>}, at most once per event id (redeliveries are dropped), in the order this
//    process consumed them. Control frames have no "id": {"type":"gateway.live","data":
//    {"replayed":N}} once the client is live, preceded on resume (?since=<event id>) by the retained
//    events after that id the client may see, or by {"type":"gateway.resync_required"} when the id
//    is unknown, too old, or further back than one client queue (the app then reloads over REST).
//  - Slow clients: a client with more than `client_queue` frames not yet written is closed with
//    1013 (try again later, reason "slow_consumer") and counted; it can resume with ?since=.
//  - Metrics: gauge vontres_gateway_clients; counters vontres_gateway_events_total{outcome},
//    vontres_gateway_pushed_total (event frames), vontres_gateway_clients_dropped_total{reason}.
//
// Lifecycle: construct, register_routes(), start(); stop() (idempotent, also in the destructor)
// after the HTTP server has stopped. Thread-safety: every public method may be called from any
// thread; ingest() and the WebSocket callbacks serialise on one internal mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "api/http.h"
#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/status.h"
#include "gateway/event_log.h"

namespace vontres::gateway {

struct DesktopGatewayOptions {
  std::vector<std::string> topics = {"call.events", "routing.events", "ai.events"};
  EventLogOptions log;
  size_t client_queue = 512;
  size_t max_clients = 10'000;
  std::chrono::milliseconds poll_timeout{200};
  prometheus::Registry* metrics = nullptr;  // null: a private registry
};

class DesktopGateway {
 public:
  // `clock` and `bus` must outlive the gateway.
  DesktopGateway(const Clock& clock, bus::EventBus& bus, std::string node_id, DesktopGatewayOptions options);
  ~DesktopGateway();
  DesktopGateway(const DesktopGateway&) = delete;
  DesktopGateway& operator=(const DesktopGateway&) = delete;

  // "gateway." + node id.
  static std::string consumer_group(const std::string& node_id);
  const std::string& group() const { return group_; }

  // Registers GET /api/v1/events. The gateway must outlive the server serving the router.
  void register_routes(api::Router& router);

  // Joins the consumer group (see subscribe()) and starts the consumer thread. Errors: the bus's.
  Status start();
  void stop();

  // The steps of the consumer thread, for tests that drive the gateway without it:
  // joins the group without starting a thread (start() calls it);
  Status subscribe();
  // polls once (waiting up to `timeout`), ingests and acknowledges; returns how many deliveries.
  Result<size_t> pump(std::chrono::milliseconds timeout);
  // retains one event and pushes it to the clients that may see it.
  Accepted ingest(const bus::Event& event);

  // What the route does once the principal is known: registers the client, replays or asks for a
  // resync when `since` is set, sends gateway.live. Errors: unavailable "too_many_clients".
  Result<std::unique_ptr<api::WebSocketSession>> connect(const Audience& audience,
                                                         const std::optional<std::string>& since,
                                                         const std::shared_ptr<api::WebSocketConnection>& connection);
  // The audience of an authenticated principal. Errors: permission_denied "forbidden" without
  // calls.monitor or calls.handle.
  static Result<Audience> audience_of(const api::Principal& principal);

  size_t clients() const;

 private:
  struct Client {
    uint64_t id = 0;
    Audience audience;
    std::weak_ptr<api::WebSocketConnection> connection;
  };
  class Session;

  void disconnect(uint64_t id);
  // REQUIRES: mu_ held. False when the client is gone or was dropped for being slow. `is_event`:
  // counted in vontres_gateway_pushed_total (control frames are not).
  bool push_locked(Client& client, const std::string& frame, bool is_event);
  void consume_loop();
  void init_metrics();

  const Clock& clock_;
  bus::EventBus& bus_;
  const std::string node_id_;
  const std::string group_;
  DesktopGatewayOptions options_;
  log::Logger logger_{"gateway"};

  mutable std::mutex mu_;
  EventLog events_;            // GUARDED_BY(mu_)
  std::list<Client> clients_;  // GUARDED_BY(mu_)
  uint64_t next_client_ = 1;   // GUARDED_BY(mu_)

  std::unique_ptr<bus::Consumer> consumer_;  // the consumer thread's (or pump()'s caller's)
  std::atomic<bool> running_{false};
  std::thread consumer_thread_;

  std::unique_ptr<prometheus::Registry> own_metrics_;
  prometheus::Gauge* clients_gauge_ = nullptr;
  prometheus::Family<prometheus::Counter>* events_family_ = nullptr;
  prometheus::Counter* pushed_ = nullptr;
  prometheus::Counter* dropped_slow_ = nullptr;
};

}  // namespace vontres::gateway
