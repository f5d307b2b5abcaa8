// InProcessEventBus: the embedded EventBus for a single `vontres` process (and the fake every
// test uses). Events live in memory; nothing survives a restart.
//
// Semantics beyond the EventBus contract (bus/event_bus.h), decided here:
//  - Partitions: a non-empty key is hashed with FNV-1a (stable across runs and builds) onto
//    `partitions` partitions; an empty key goes round-robin. Offsets start at 0 per partition.
//  - Groups are per topic and durable for the bus's lifetime: a group whose members have all left
//    keeps its position, and events it has not acknowledged stay retained (and count against
//    capacity) until a member comes back. An abandoned group therefore back-pressures publishers
//    rather than losing events.
//  - Assignment: the live members of a group on a topic, in join order, own partition p by
//    p % members. Join and leave rebalance at once. Deliveries in flight on a partition that moved
//    stay with the old member (it may still ack them); if it does not, they are redelivered to the
//    new owner after the ack timeout. A member that leaves returns its in-flight deliveries
//    immediately to whoever now owns their partitions.
//  - Acknowledgement is per group: any member's ack of (topic, partition, offset) settles it for
//    the group, so acking a delivery that was meanwhile redelivered elsewhere is fine, and the
//    second ack is a no-op. Acking or nacking an offset the group was never given is an error
//    (not_found, code "delivery_unknown"); nacking an acked delivery is a no-op.
//  - Redelivery: a delivery not acked within `ack_timeout` (measured on the injected Clock) is
//    redelivered; expiry is checked when any member of the group polls the topic, so it happens on
//    the first poll after the deadline. A nack redelivers at once, or once its delay has passed on
//    the Clock (checked the same way, on a poll). Redeliveries carry attempt+1: attempts are kept
//    per group, so they survive members leaving and partitions moving. An old holder's ack of a
//    delivery on a moved partition still settles it: this bus never returns "delivery_revoked".
//  - Order: within a partition, first deliveries go out in strictly increasing offset order, and
//    a pending redelivery goes out before any later offset not yet delivered (a delayed one only
//    once its delay has passed; until then later offsets go ahead of it). A redelivery can
//    still follow later offsets that were delivered before it failed (that is at-least-once).
//  - Capacity: a topic retains an event until every group has acknowledged it; `capacity_per_topic`
//    bounds the retained count. When full, publish() waits up to max_wait (real time) for an ack
//    to free space, then fails with resource_exhausted "bus_full" (counted in
//    vontres_bus_backpressure_total).
//  - Topics with no group yet: events are retained (for groups created with from_beginning) up to
//    capacity; when full, the oldest event of the topic is evicted to make room, counted in
//    vontres_bus_evicted_total{topic} and logged at warn. This is the only way the bus discards an
//    unacknowledged event, and it only happens when nobody has ever subscribed to the topic.
//    A group created without from_beginning starts after the last event published so far; events
//    that no group needs any more are released at once, so a later from_beginning group sees
//    only what other groups still retain.
//  - poll(timeout > 0) blocks in real time on a condition variable and wakes when an event for one
//    of the member's partitions arrives (or on nack/rebalance); timeout 0 never blocks.
//
// Metrics (when a registry is given): vontres_bus_published_total{topic},
// vontres_bus_delivered_total{topic}, vontres_bus_redelivered_total{topic},
// vontres_bus_backpressure_total{topic}, vontres_bus_evicted_total{topic},
// gauge vontres_bus_retained_events{topic}.
//
// Thread-safety: every method of the bus and its consumers may be called from any thread; a
// Consumer is used by one thread at a time. REQUIRES: the bus, the clock and the registry outlive
// every Consumer the bus hands out.
#pragma once

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
}  // namespace prometheus

namespace vontres::bus {

namespace detail {
struct Topic;
}  // namespace detail

class InProcessEventBus final : public EventBus {
 public:
  // `config.partitions` and `config.capacity_per_topic` are taken as at least 1.
  InProcessEventBus(const BusConfig& config, const Clock& clock, prometheus::Registry* metrics = nullptr);
  ~InProcessEventBus() override;
  InProcessEventBus(const InProcessEventBus&) = delete;
  InProcessEventBus& operator=(const InProcessEventBus&) = delete;

  Result<std::string> publish(Event event, std::chrono::milliseconds max_wait) override;
  Result<std::unique_ptr<Consumer>> subscribe(const std::vector<std::string>& topics, const std::string& group,
                                              const ConsumerOptions& options = {}) override;
  Status ping() override;

  // The partition a key maps to (stable FNV-1a hash); exposed so tests can pick keys per partition.
  int partition_for_key(std::string_view key) const;
  // Events currently retained by `topic` (0 for an unknown topic). For tests and diagnostics.
  uint64_t retained(const std::string& topic) const;

 private:
  friend class InProcessConsumer;

  detail::Topic& topic_for(const std::string& name);
  detail::Topic* find_topic(const std::string& name) const;

  const Clock& clock_;
  const int partitions_;
  const uint64_t capacity_;
  const std::chrono::milliseconds ack_timeout_;
  IdGenerator ids_;
  std::atomic<uint64_t> round_robin_{0};
  std::atomic<uint64_t> next_member_id_{1};

  prometheus::Family<prometheus::Counter>* published_family_ = nullptr;
  prometheus::Family<prometheus::Counter>* delivered_family_ = nullptr;
  prometheus::Family<prometheus::Counter>* redelivered_family_ = nullptr;
  prometheus::Family<prometheus::Counter>* backpressure_family_ = nullptr;
  prometheus::Family<prometheus::Counter>* evicted_family_ = nullptr;
  prometheus::Family<prometheus::Gauge>* retained_family_ = nullptr;

  // Topics are created on first use and never removed, so a Topic& stays valid for the bus's life.
  mutable std::shared_mutex topics_mu_;
  std::unordered_map<std::string, std::unique_ptr<detail::Topic>> topics_;  // GUARDED_BY(topics_mu_)
};

}  // namespace vontres::bus
