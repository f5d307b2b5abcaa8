// EventBus: the one way services tell each other what happened (`call.started`, `route.offered`,
// `agent.state_changed`, ...). Topics are split into partitions by event key (a call id), so events
// with the same key are delivered in publish order. Consumers join a consumer group: every group
// receives every event once; the partitions of a topic are shared among the group's live members.
// Delivery is at-least-once: a delivery that is not acknowledged within the ack timeout is
// delivered again (to whichever member then owns its partition), so handlers must be idempotent
// (use Event::id to de-duplicate).
//
// Redelivery and attempts. nack(delivery, delay) hands a delivery back: it is redelivered no earlier
// than `delay` from now (measured on the bus's injected Clock), and a delayed redelivery does not
// hold back later events of its partition. Delivery::attempt counts the deliveries of that event to
// the group: 1 the first time, then +1 per redelivery, whichever member gets it, including after a
// member left or a rebalance moved its partition (the count is kept by the group, not the member).
// A backend may lose the count only when a member dies without leaving (a crashed process): then the
// next attempt may repeat a number already seen, never a lower one than the last committed (Kafka:
// see bus/kafka_bus.h).
//
// Rebalancing. When a partition moves to another member (a member joins or leaves), deliveries the
// previous member still holds from it are either left with it until their ack timeout (in-process)
// or revoked at once (Kafka): then that member's ack()/nack() of them returns failed_precondition
// "delivery_revoked" and has no effect, and the new owner gets them again (attempt + 1). Either way,
// once the rebalance has settled, no event is held by two live members at once.
//
// Back-pressure instead of loss: publish() never drops an event silently. What "full" means is the
// backend's: the in-process bus bounds the events some group has not acknowledged
// (`capacity_per_topic`); Kafka bounds its local queue of events the brokers have not yet confirmed
// (retention of unread events is then the brokers' configuration). A full bus makes publish() block
// up to its timeout and then fail with resource_exhausted "bus_full"; an unreachable backend makes it
// fail with unavailable "bus_unavailable" after the timeout.
//
// Implementations: InProcessEventBus (bus/in_process_bus.h), KafkaEventBus (bus/kafka_bus.h). All
// pass tests/bus/event_bus_contract.h. Thread-safety: every method may be called from any thread;
// a Consumer is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"

namespace vontres::bus {

struct Event {
  std::string topic;         // e.g. "call.events"
  std::string key;           // ordering key, usually the call id; empty: any partition, no ordering promise
  std::string type;          // e.g. "call.started"
  std::string payload;       // JSON document
  std::string id;            // unique; filled in by publish() when empty
  int64_t timestamp_ms = 0;  // filled in by publish() from the bus clock when 0
  // e.g. trace id, organisation id. Names starting "vontres-" are reserved for the bus.
  std::map<std::string, std::string> headers;
};

struct Delivery {
  Event event;
  int partition = 0;
  uint64_t offset = 0;  // position in the partition, increasing per partition
  int attempt = 1;      // deliveries of this event to the group so far, this one included
};

class Consumer {
 public:
  virtual ~Consumer() = default;  // leaving the group; unacknowledged deliveries go back to the group

  // Returns up to `max_events` deliveries, waiting up to `timeout` for the first one. Within one
  // partition, first deliveries come in offset order. An empty vector means nothing arrived in time.
  virtual Result<std::vector<Delivery>> poll(size_t max_events, std::chrono::milliseconds timeout) = 0;
  // Acknowledges one delivery: the group will not see it again. Acknowledging twice is OK.
  // Errors: not_found "delivery_unknown" (never delivered to this group, or not from a subscribed
  // topic/partition); failed_precondition "delivery_revoked" (its partition moved away, see above).
  virtual Status ack(const Delivery& delivery) = 0;
  // Gives a delivery back for redelivery no earlier than `delay` from now (0: at once). A no-op
  // for a delivery already acknowledged or already given back. Errors as for ack().
  virtual Status nack(const Delivery& delivery, std::chrono::milliseconds delay) = 0;
  Status nack(const Delivery& delivery) { return nack(delivery, std::chrono::milliseconds::zero()); }
};

struct ConsumerOptions {
  // Where a group that has never consumed a topic starts: false = only events published after
  // the group was created; true = the oldest event the topic still retains.
  bool from_beginning = false;
};

class EventBus {
 public:
  virtual ~EventBus() = default;

  // Publishes one event. Blocks up to `max_wait` while the bus is full, then returns
  // resource_exhausted "bus_full"; an unreachable backend gives unavailable "bus_unavailable" once
  // `max_wait` has passed (a remote backend always waits at least its own acknowledgement floor,
  // see its header). Returns the event id. Errors: invalid_argument "topic_invalid",
  // "header_reserved".
  virtual Result<std::string> publish(Event event, std::chrono::milliseconds max_wait) = 0;

  // Joins `group` as a new member consuming `topics`. Creates the group on first use. Returns once
  // the member takes part in the group (a remote backend: has its first partition assignment).
  virtual Result<std::unique_ptr<Consumer>> subscribe(const std::vector<std::string>& topics, const std::string& group,
                                                      const ConsumerOptions& options = {}) = 0;

  // Readiness: OK when the backend can accept events.
  virtual Status ping() = 0;
};

// What every publish() (and the Outbox's enqueue) does first: refuses an event without a topic
// (invalid_argument "topic_invalid") or with a header name reserved for the bus
// ("header_reserved"), then fills in a missing id (from `ids`) and timestamp (from `clock`).
Status prepare_for_publish(Event& event, IdGenerator& ids, const Clock& clock);

}  // namespace vontres::bus
