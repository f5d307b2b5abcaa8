// Outbox: publishing for code that must not block (an Asio strand, a SIP transaction). enqueue()
// puts the event in a bounded in-memory queue and returns at once; one publisher thread hands the
// queue to the EventBus in enqueue order (so per-key order holds), retrying transient failures
// (bus_unavailable, bus_full) with exponential backoff until they succeed or the outbox closes.
// Each event gets its id and timestamp at enqueue, so a retried publish repeats the same Event::id
// and consumers de-duplicate it.
//
// Never silent: a full outbox refuses the event (resource_exhausted "bus_outbox_full", counted in
// vontres_bus_outbox_full_total); an event the bus rejects permanently, or one still queued when
// the destructor's flush time ran out, is counted in vontres_bus_outbox_dropped_total and logged.
// Nothing survives a process crash: the outbox is memory, not a transactional outbox table.
//
// Thread-safety: enqueue(), flush() and pending() may be called from any thread. REQUIRES: the bus,
// the clock and the registry outlive the Outbox.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>

#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/ids.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
}  // namespace prometheus

namespace vontres::bus {

struct OutboxOptions {
  size_t capacity = 10'000;                       // queued events; enqueue() refuses beyond
  std::chrono::milliseconds publish_wait{1'000};  // max_wait of each publish() attempt
  std::chrono::milliseconds retry_backoff{50};    // first retry delay, doubled per failure
  std::chrono::milliseconds max_backoff{5'000};
  std::chrono::milliseconds shutdown_flush{5'000};  // how long the destructor keeps publishing
};

class Outbox {
 public:
  Outbox(EventBus& bus, const Clock& clock, OutboxOptions options = {}, prometheus::Registry* metrics = nullptr);
  ~Outbox();  // publishes what is queued for up to shutdown_flush, then drops (and counts) the rest
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Queues one event; never blocks on the bus. Errors: resource_exhausted "bus_outbox_full";
  // invalid_argument "topic_invalid", "header_reserved" (checked here, so the bus will not refuse
  // them later); failed_precondition "bus_outbox_closed" once the destructor runs.
  Status enqueue(Event event);
  // Waits until everything enqueued so far was published (or dropped). Errors: deadline_exceeded
  // "bus_outbox_flush_timeout".
  Status flush(std::chrono::milliseconds timeout);
  size_t pending() const;

 private:
  void run();

  EventBus& bus_;
  const Clock& clock_;
  const OutboxOptions options_;
  IdGenerator ids_;
  prometheus::Counter* full_ = nullptr;
  prometheus::Counter* retries_ = nullptr;
  prometheus::Counter* dropped_ = nullptr;
  prometheus::Gauge* pending_gauge_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable wake_;                          // the publisher: work arrived, or closing
  std::condition_variable drained_;                       // flush(): the queue emptied
  std::deque<Event> queue_;                               // GUARDED_BY(mu_)
  bool publishing_ = false;                               // GUARDED_BY(mu_); the front event is being published
  bool closing_ = false;                                  // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point close_deadline_;  // GUARDED_BY(mu_)
  std::thread publisher_;
};

}  // namespace vontres::bus
