// NodeSweeper: no call outlives the node that held it. Every call host keeps a heartbeat in the
// shared StateStore (key "<prefix><node id>", TTL `heartbeat_ttl`, refreshed more often than
// that). When a node's heartbeat lapses, any surviving node's sweeper ends that node's open calls
// (CallRecords: rows not yet ended) with reason `node_lost`: it closes the record, publishes the
// call's `call.ended` on call.events (with org_id, queue, agent, owner_node) and tells the ACD the
// call ended, so waiting calls leave their queue and agents on the lost calls become available.
//
// Exactly once: CallRecords::close_lost() ends a row only if it is still open, and only the sweeper
// whose update won publishes and tells the ACD; several sweepers may race for one dead node.
// A node also closes its own open rows when it starts (close_own(): it holds no call yet), which is
// how a single `vontres serve` restarted after a crash accounts for the calls it lost.
//
// Sweeping other nodes needs a StateStore every node shares; with an embedded (per-process) one
// no other node's heartbeat is visible, so `sweep_others` must be false there.
//
// Thread-safety: methods may be called from any thread, not concurrently with each other.
#pragma once

#include <chrono>
#include <string>

#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/status.h"
#include "routing/acd_client.h"
#include "state/state_store.h"
#include "telephony/call_records.h"

namespace vontres::telephony {

struct NodeSweeperOptions {
  std::string node_id;
  std::chrono::milliseconds heartbeat_ttl{10'000};  // a node silent this long is lost
  bool sweep_others = false;                        // the StateStore is shared by every node
  std::string topic = "call.events";
  std::string key_prefix = "vontres:node:";
  std::chrono::milliseconds publish_timeout{2'000};
};

class NodeSweeper {
 public:
  // `acd` may be null (no ACD to tell, e.g. tests of records alone).
  NodeSweeper(state::StateStore& state, CallRecords& records, bus::EventBus& bus, routing::AcdClient* acd,
              NodeSweeperOptions options)
      : state_(state), records_(records), bus_(bus), acd_(acd), options_(std::move(options)) {}

  // Writes this node's heartbeat, valid for heartbeat_ttl.
  Status heartbeat();
  // Removes it (clean shutdown, after the node's calls ended).
  Status withdraw();
  // Whether `node`'s heartbeat is live.
  Result<bool> alive(const std::string& node);
  // Ends the open calls of every other node whose heartbeat lapsed (no-op unless sweep_others).
  // Returns how many calls this sweeper ended.
  Result<int> sweep();
  // Ends this node's own open calls (call at start, before the node takes calls).
  Result<int> close_own() { return close_calls_of(options_.node_id); }
  // Ends `node`'s open calls now, whatever its heartbeat says.
  Result<int> close_calls_of(const std::string& node);

 private:
  state::StateStore& state_;
  CallRecords& records_;
  bus::EventBus& bus_;
  routing::AcdClient* acd_;
  NodeSweeperOptions options_;
  log::Logger log_{"telephony"};
};

}  // namespace vontres::telephony
