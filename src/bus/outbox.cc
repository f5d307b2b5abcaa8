#include "bus/outbox.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "core/log.h"

namespace vontres::bus {

namespace {

const log::Logger& outbox_log() {
  static const log::Logger logger("bus.outbox");
  return logger;
}

bool transient(const Status& status) {
  return status.code() == "bus_unavailable" || status.code() == "bus_full" ||
         status.kind() == ErrorKind::kUnavailable || status.kind() == ErrorKind::kResourceExhausted ||
         status.kind() == ErrorKind::kDeadlineExceeded;
}

void increment(prometheus::Counter* counter, double by = 1) {
  if (counter != nullptr) counter->Increment(by);
}

}  // namespace

Outbox::Outbox(EventBus& bus, const Clock& clock, OutboxOptions options, prometheus::Registry* metrics)
    : bus_(bus), clock_(clock), options_(options), ids_(clock) {
  if (metrics != nullptr) {
    full_ = &prometheus::BuildCounter()
                 .Name("vontres_bus_outbox_full_total")
                 .Help("Events refused by a full outbox")
                 .Register(*metrics)
                 .Add({});
    retries_ = &prometheus::BuildCounter()
                    .Name("vontres_bus_outbox_retries_total")
                    .Help("publish() attempts the outbox repeated after a transient failure")
                    .Register(*metrics)
                    .Add({});
    dropped_ = &prometheus::BuildCounter()
                    .Name("vontres_bus_outbox_dropped_total")
                    .Help("Events the outbox gave up on (rejected by the bus, or still queued at shutdown)")
                    .Register(*metrics)
                    .Add({});
    pending_gauge_ = &prometheus::BuildGauge()
                          .Name("vontres_bus_outbox_pending")
                          .Help("Events queued in the outbox")
                          .Register(*metrics)
                          .Add({});
  }
  publisher_ = std::thread([this] { run(); });
}

Outbox::~Outbox() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    close_deadline_ = std::chrono::steady_clock::now() + options_.shutdown_flush;
  }
  wake_.notify_all();
  publisher_.join();
}

Status Outbox::enqueue(Event event) {
  VONTRES_RETURN_IF_ERROR(prepare_for_publish(event, ids_, clock_));
  {
    std::lock_guard lock(mu_);
    if (closing_) return failed_precondition("the outbox is shutting down", "bus_outbox_closed");
    if (queue_.size() >= options_.capacity) {
      increment(full_);
      return resource_exhausted(fmt::format("the outbox holds {} events not yet published", queue_.size()),
                                "bus_outbox_full");
    }
    queue_.push_back(std::move(event));
    if (pending_gauge_ != nullptr) pending_gauge_->Set(static_cast<double>(queue_.size()));
  }
  wake_.notify_one();
  return Status::ok();
}

Status Outbox::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!drained_.wait_for(lock, timeout, [&] { return queue_.empty() && !publishing_; })) {
    return deadline_exceeded(fmt::format("{} events still queued in the outbox", queue_.size()),
                             "bus_outbox_flush_timeout");
  }
  return Status::ok();
}

size_t Outbox::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void Outbox::run() {
  std::unique_lock lock(mu_);
  auto backoff = options_.retry_backoff;
  for (;;) {
    wake_.wait(lock, [&] { return closing_ || !queue_.empty(); });
    if (queue_.empty()) return;  // closing, nothing left
    if (closing_ && std::chrono::steady_clock::now() >= close_deadline_) {
      const size_t left = queue_.size();
      increment(dropped_, static_cast<double>(left));
      outbox_log().error("outbox closed with events not yet published; they are dropped",
                         {{"bus.outbox.dropped", left}});
      queue_.clear();
      if (pending_gauge_ != nullptr) pending_gauge_->Set(0);
      drained_.notify_all();
      return;
    }
    Event event = queue_.front();  // stays queued (and counted) until published
    publishing_ = true;
    lock.unlock();
    auto result = bus_.publish(event, options_.publish_wait);
    lock.lock();
    publishing_ = false;
    if (result.is_ok() || !transient(result.status())) {
      if (!result.is_ok()) {
        increment(dropped_);
        outbox_log().error("the bus rejected an outbox event; it is dropped",
                           {{"bus.topic", event.topic},
                            {"event.id", event.id},
                            {"error.code", result.status().code()},
                            {"error.message", result.status().message()}});
      }
      queue_.pop_front();
      if (pending_gauge_ != nullptr) pending_gauge_->Set(static_cast<double>(queue_.size()));
      backoff = options_.retry_backoff;
      if (queue_.empty()) drained_.notify_all();
      continue;
    }
    increment(retries_);
    // Back off in real time, but wake early when closing so the flush deadline is honoured.
    const auto until = std::chrono::steady_clock::now() + backoff;
    if (closing_) {
      wake_.wait_until(lock, std::min(until, close_deadline_));
    } else {
      wake_.wait_until(lock, until, [&] { return closing_; });
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace vontres::bus
