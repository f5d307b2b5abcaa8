// DesktopHub: the WebSocket clients of GET /api/v1/ai/stream (the agent desktop's AI feed inside
// the AI service; the process-independent feed is the gateway's /api/v1/events). A client follows
// one call (?call_id=), one agent's calls (?agent_id=, an agent only their own user id) or, with
// calls.monitor, every call of its organisation; it gets {"type":"ai.subscribed","data":
// {"subscription":N}} first, then {"type","data"} for each AI output of the calls it follows.
//
// Thread-safety: every method may be called from any thread (one mutex guards the client list;
// sending never blocks).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "api/http.h"

namespace vontres::ai::service {

// The call an AI output is about, as the hub needs it.
struct HubCall {
  std::string id;
  std::string org;
  std::string agent;  // the agent on the call now; empty before one answers
};

class DesktopHub {
 public:
  // Registers GET /api/v1/ai/stream. The hub must outlive the server serving the router.
  void register_routes(api::Router& router);

  // Sends {"type","data"} to the clients following `call`: clients of another organisation never;
  // a client following an agent gets it when data.for_agent (else the call's agent) is that
  // agent; `agents_only`: only clients following an agent (a replay supervisors have seen).
  void fan_out(const HubCall& call, const std::string& type, const nlohmann::json& data, bool agents_only = false);

  // Closes every client with `reason` (shutdown).
  void close_all(const std::string& reason);

 private:
  struct Subscriber {
    uint64_t id = 0;
    std::string org;
    std::string call_id;   // only this call
    std::string agent_id;  // calls of this agent (and hand-off summaries addressed to them)
    std::weak_ptr<api::WebSocketConnection> connection;
  };
  class StreamSession;

  Result<std::unique_ptr<api::WebSocketSession>> open(const api::Request& req,
                                                      const std::shared_ptr<api::WebSocketConnection>& conn);
  void unsubscribe(uint64_t id);

  std::mutex mutex_;
  std::list<Subscriber> subscribers_;  // GUARDED_BY(mutex_)
  uint64_t next_subscriber_ = 1;       // GUARDED_BY(mutex_)
};

}  // namespace vontres::ai::service
