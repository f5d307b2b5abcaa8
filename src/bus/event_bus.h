// EventBus: the one way services tell each other what happened (`call.started`, `route.offered`,
// `agent.state_changed`, ...). Topics are split into partitions by event key (a call id), so events
// with the same key are delivered in publish order. Consumers join a consumer group: every group
// receives every event once; the partitions of a topic are shared among the group's live members.
// Delivery is at-least-once: a delivery that is not acknowledged within the ack timeout is
// delivered again (to whichever member then owns its partition), so handlers must be idempotent
// (use Event::id to de-duplicate).
//
// Back-pressure instead of loss: a topic holds at most `capacity_per_topic` events that some group
// has not yet acknowledged; publish() on a full topic blocks up to its timeout and then fails with
// "bus_full". No event is ever dropped silently.
//
// Implementations: InProcessEventBus (bus/in_process_bus.h); later KafkaEventBus. All pass
// tests/bus/event_bus_contract.h. Thread-safety: every method may be called from any thread;
// a Consumer is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace vontres::bus {

struct Event {
  std::string topic;         // e.g. "call.events"
  std::string key;           // ordering key, usually the call id; empty: any partition, no ordering promise
  std::string type;          // e.g. "call.started"
  std::string payload;       // JSON document
  std::string id;            // unique; filled in by publish() when empty
  int64_t timestamp_ms = 0;  // filled in by publish() from the bus clock when 0
  std::map<std::string, std::string> headers;  // e.g. trace id, organisation id
};

struct Delivery {
  Event event;
  int partition = 0;
  uint64_t offset = 0;  // position in the partition, increasing per partition
  int attempt = 1;      // 1 on first delivery, 2+ on redelivery
};

class Consumer {
 public:
  virtual ~Consumer() = default;  // leaving the group; unacknowledged deliveries go back to the group

  // Returns up to `max_events` deliveries, waiting up to `timeout` for the first one. Within one
  // partition, deliveries come in offset order. An empty vector means nothing arrived in time.
  virtual Result<std::vector<Delivery>> poll(size_t max_events, std::chrono::milliseconds timeout) = 0;
  // Acknowledges one delivery: the group will not see it again. Acknowledging twice is OK.
  virtual Status ack(const Delivery& delivery) = 0;
  // Gives a delivery back for immediate redelivery (e.g. a handler failed transiently).
  virtual Status nack(const Delivery& delivery) = 0;
};

struct ConsumerOptions {
  // Where a group that has never consumed a topic starts: false = only events published after
  // the group was created; true = the oldest event the topic still retains.
  bool from_beginning = false;
};

class EventBus {
 public:
  virtual ~EventBus() = default;

  // Publishes one event. Blocks up to `max_wait` while the topic is full, then returns
  // resource_exhausted with code "bus_full". Returns the event id.
  virtual Result<std::string> publish(Event event, std::chrono::milliseconds max_wait) = 0;

  // Joins `group` as a new member consuming `topics`. Creates the group on first use.
  virtual Result<std::unique_ptr<Consumer>> subscribe(const std::vector<std::string>& topics, const std::string& group,
                                                      const ConsumerOptions& options = {}) = 0;

  // Readiness: OK when the backend can accept events.
  virtual Status ping() = 0;
};

}  // namespace vontres::bus
