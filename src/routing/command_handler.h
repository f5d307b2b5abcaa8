// RoutingCommandHandler: the routing process's end of BusAcdClient (routing/acd_client.h). It
// consumes `routing.commands` in the work-sharing group "routing" and applies each command to the
// RoutingService, whose events then go out on `routing.events` as in one process.
//
// Idempotent: commands are de-duplicated by event id within a bounded window, and a repeated
// command the engine refuses as already done ("call_exists", "call_not_found", "offer_not_found")
// is acknowledged without effect. A command is acknowledged only after it was applied; a failure
// that may pass (publishing the answer, kind unavailable) is nacked for redelivery. An enqueue the engine
// refuses without an event of its own is answered with `route.rejected` {call_id, reason} so the
// call host hears about it.
//
// Thread-safety: start()/stop() from one thread; handle() from any (tests call it directly).
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

#include "bus/event_bus.h"
#include "core/log.h"
#include "core/status.h"

namespace vontres::routing {

class RoutingService;

// Command types on routing.commands (the event type; payload fields in parentheses).
inline constexpr const char* kEnqueue = "acd.enqueue";             // call_id, org_id, queue?, intent, language, ...
inline constexpr const char* kCancel = "acd.cancel";               // call_id, reason
inline constexpr const char* kAcceptOffer = "acd.accept_offer";    // call_id, agent_id
inline constexpr const char* kDeclineOffer = "acd.decline_offer";  // call_id, agent_id, reason
inline constexpr const char* kCallEnded = "acd.call_ended";        // call_id
inline constexpr const char* kRequestCallback = "acd.request_callback";  // call_id
inline constexpr const char* kAgentPhone = "acd.agent_phone";            // agent_id, registered

class RoutingCommandHandler {
 public:
  RoutingCommandHandler(bus::EventBus& bus, RoutingService& routing, std::string topic = "routing.commands",
                        std::string events_topic = "routing.events");
  ~RoutingCommandHandler();

  // Joins group "routing" and handles commands on a thread of its own. Idempotent.
  Status start();
  void stop();

  // Applies one command. OK: done (or a duplicate); unavailable: retry later; other errors: the
  // command is malformed and is dropped (logged).
  Status handle(const bus::Event& command);

 private:
  void loop();
  Status apply(const bus::Event& command);
  bool seen(const std::string& id);
  void remember(const std::string& id);  // a handled command's id, kept for kSeenWindow commands

  bus::EventBus& bus_;
  RoutingService& routing_;
  std::string topic_;
  std::string events_topic_;
  std::unique_ptr<bus::Consumer> consumer_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::mutex seen_mu_;
  std::unordered_set<std::string> seen_;  // GUARDED_BY(seen_mu_)
  std::deque<std::string> seen_order_;    // GUARDED_BY(seen_mu_), oldest first
  log::Logger log_{"routing"};
};

}  // namespace vontres::routing
