// KafkaEventBus: the EventBus on Apache Kafka (librdkafka C API), for several `vontres` processes
// sharing one bus. Chosen in app/platform.cc by `bus.backend: kafka` (core/config.h KafkaBusConfig).
//
// Semantics beyond the EventBus contract (bus/event_bus.h), decided here:
//  - Topics are created on first use (publish or subscribe) with bus.kafka.partitions and
//    bus.kafka.replication_factor through the Admin API (bus.kafka.topic_creation "admin"), or, with
//    "broker", by the brokers' auto-creation on a metadata request (their num.partitions; for
//    clusters without CreateTopics, such as librdkafka's mock cluster). Existing topics are used
//    as they are.
//  - Producer: idempotent (enable.idempotence=true, acks=all), so retries keep per-key order and
//    never duplicate. Messages are keyed by Event::key (murmur2, as Java clients); an empty key goes
//    to a random partition. Kafka headers carry vontres-type, vontres-id, vontres-timestamp-ms and
//    every Event::headers entry; the Kafka timestamp is Event::timestamp_ms.
//  - publish() returns once the brokers confirmed the event (its delivery report), waiting up to
//    max(max_wait, bus.kafka.min_publish_wait). While the brokers are unreachable librdkafka keeps
//    retrying within that time; after it publish() returns unavailable "bus_unavailable". Such an
//    event may still be delivered later (it stays queued until message.timeout.ms): publish it
//    again with the same Event::id if it matters, consumers de-duplicate by id. A late failure is
//    counted in vontres_bus_publish_failed_total and logged. "bus_full": the local queue holds
//    `bus.capacity_per_topic` unconfirmed events (whole bus, not per topic) for all of max_wait.
//  - Consumers: one librdkafka consumer (one group member) per subscribe(), each with a thread that
//    fetches into a bounded per-partition buffer (paused when full) and serves rebalances. Offsets
//    are committed manually: the committed offset of a partition is its lowest unacknowledged
//    offset, and the commit metadata (at most ~3.5 KB, format "v1:" + tokens) records, above it,
//    the acknowledged offsets and the attempt count of every offset delivered but not acknowledged.
//    A new owner resumes from there: acknowledged events are skipped and attempts continue. State is
//    committed every bus.kafka.commit_interval and synchronously when partitions are revoked or
//    the member leaves, so attempts and acks are exact across leaves and rebalances; a member that
//    dies loses what it had not committed yet (redelivery, attempt numbers repeated). Offsets past
//    the metadata limit fall back to plain at-least-once (acked ones may be redelivered).
//  - Rebalancing is eager: every rebalance revokes all of a group's partitions and reassigns them.
//    On revoke the member commits, drops the partitions' buffered and in-flight deliveries, and its
//    ack()/nack() of those return failed_precondition "delivery_revoked" (the new owner, possibly
//    the same member, gets them again). An ack of a delivery whose partition came back to the same
//    member still settles it.
//  - A new group's starting position is fixed when a member first gets a partition with no
//    committed offset: the end (or, with from_beginning, the start) of the partition, committed at
//    once so later members agree. subscribe() returns once the member has its first assignment
//    (bus.kafka.join_timeout, else "bus_unavailable").
//  - Ack timeouts and nack delays are measured on the injected Clock, checked when the owning
//    member polls (as in the in-process bus); only the partition's owner redelivers.
//  - ping(): a metadata request to the cluster (2 s timeout).
//
// Metrics (when a registry is given), same names as the in-process bus where they mean the same:
// vontres_bus_published_total{topic}, vontres_bus_delivered_total{topic},
// vontres_bus_redelivered_total{topic}, vontres_bus_backpressure_total{topic},
// vontres_bus_publish_failed_total{topic}, vontres_bus_revoked_total (deliveries dropped by a
// rebalance), vontres_bus_rebalances_total.
//
// Thread-safety: as the contract. REQUIRES: the bus, the clock and the registry outlive every
// Consumer the bus hands out.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/config.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace vontres::bus {

class KafkaEventBus final : public EventBus {
 public:
  // Starts the producer. Errors: invalid_argument "config_invalid" naming a property librdkafka
  // rejected or a secret file it could not read. Does not wait for the brokers (see ping()).
  static Result<std::unique_ptr<KafkaEventBus>> create(const BusConfig& config, const Clock& clock,
                                                       prometheus::Registry* metrics = nullptr);
  ~KafkaEventBus() override;  // flushes queued events for up to 5 s
  KafkaEventBus(const KafkaEventBus&) = delete;
  KafkaEventBus& operator=(const KafkaEventBus&) = delete;

  Result<std::string> publish(Event event, std::chrono::milliseconds max_wait) override;
  Result<std::unique_ptr<Consumer>> subscribe(const std::vector<std::string>& topics, const std::string& group,
                                              const ConsumerOptions& options = {}) override;
  Status ping() override;

  // Creates `topic` if it does not exist yet and returns its partition count. Idempotent; cached.
  // Gives up with "bus_unavailable" at `deadline` (default: bus.kafka.join_timeout from now).
  Result<int> ensure_topic(const std::string& topic);
  Result<int> ensure_topic(const std::string& topic, std::chrono::steady_clock::time_point deadline);

  struct Impl;

 private:
  Status create_topic(const std::string& topic, const std::function<int()>& remaining_ms);

 public:
  explicit KafkaEventBus(std::unique_ptr<Impl> impl);  // use create()

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vontres::bus
