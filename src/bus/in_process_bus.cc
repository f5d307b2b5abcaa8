#include "bus/in_process_bus.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "core/log.h"

namespace vontres::bus {

namespace detail {

// Wakes a member blocked in poll(). Shared between the consumer and the topics' member lists, since
// either may go first (a consumer leaving, a topic signalling a member that is leaving).
// Lock order: Topic::mu, then MemberSignal::mu; nobody takes a topic lock while holding `mu`.
struct MemberSignal {
  std::mutex mu;
  std::condition_variable cv;
  bool pending = false;  // GUARDED_BY(mu)

  void notify() {
    {
      std::lock_guard lock(mu);
      pending = true;
    }
    cv.notify_one();
  }
};

struct StoredEvent {
  Event event;
  uint64_t sequence = 0;  // topic-wide publish order, to find the oldest event across partitions
};

struct Partition {
  uint64_t base_offset = 0;  // offset of log.front()
  std::deque<StoredEvent> log;
  uint64_t end_offset() const { return base_offset + log.size(); }
};

using Deadlines = std::multimap<TimePoint, std::pair<int, uint64_t>>;  // -> (partition, offset)

// A delivered offset the group has not acknowledged yet.
struct Unacked {
  int attempts = 0;
  uint64_t member = 0;           // holder while in flight; 0 while waiting for redelivery
  Deadlines::iterator deadline;  // valid only while member != 0
  bool delayed = false;          // member == 0 and waiting in Group::delayed for a nack's delay
  Deadlines::iterator delay;     // valid only while delayed
};

// One group's position in one partition. Offsets below `cursor` are either acked or in `unacked`;
// that invariant is what lets ack() tell "already acked" from "never delivered".
struct GroupPartition {
  uint64_t cursor = 0;  // next offset never delivered to this group
  std::map<uint64_t, Unacked> unacked;
  std::set<uint64_t> redeliver;  // subset of unacked with member == 0 and not delayed, lowest first

  // Every offset below this is acked by the group.
  uint64_t floor() const { return unacked.empty() ? cursor : std::min(cursor, unacked.begin()->first); }
};

struct Member {
  uint64_t id = 0;
  std::shared_ptr<MemberSignal> signal;
};

struct Group {
  std::vector<GroupPartition> partitions;
  std::vector<Member> members;  // live members in join order; partition p belongs to members[p % size]
  Deadlines deadlines;          // ack deadlines of deliveries in flight
  Deadlines delayed;            // when nacked deliveries become due for redelivery

  const Member* owner(int partition) const {
    if (members.empty()) return nullptr;
    return &members[static_cast<size_t>(partition) % members.size()];
  }
};

struct Topic {
  std::string name;
  std::mutex mu;
  std::condition_variable space_cv;     // notified when retained events are released
  std::vector<Partition> partitions;    // GUARDED_BY(mu)
  std::map<std::string, Group> groups;  // GUARDED_BY(mu)
  uint64_t retained = 0;                // GUARDED_BY(mu)
  uint64_t next_sequence = 0;           // GUARDED_BY(mu)
  uint64_t evicted = 0;                 // GUARDED_BY(mu)

  // Null without a registry. Prometheus metrics are internally atomic.
  prometheus::Counter* published = nullptr;
  prometheus::Counter* delivered = nullptr;
  prometheus::Counter* redelivered = nullptr;
  prometheus::Counter* backpressure = nullptr;
  prometheus::Counter* evicted_counter = nullptr;
  prometheus::Gauge* retained_gauge = nullptr;

  // REQUIRES: mu held.
  void update_gauge() {
    if (retained_gauge != nullptr) retained_gauge->Set(static_cast<double>(retained));
  }

  // Releases the events of `partition` that every group has acknowledged. Returns true if any.
  // REQUIRES: mu held and at least one group (with no group nothing is ever released by acks).
  bool release_acknowledged(int partition) {
    uint64_t floor = std::numeric_limits<uint64_t>::max();
    for (const auto& [name, group] : groups) floor = std::min(floor, group.partitions[partition].floor());
    Partition& part = partitions[partition];
    bool released = false;
    while (!part.log.empty() && part.base_offset < floor) {
      part.log.pop_front();
      ++part.base_offset;
      --retained;
      released = true;
    }
    if (released) update_gauge();
    return released;
  }

  // Drops the oldest event of the topic. REQUIRES: mu held, no group, retained > 0.
  void evict_oldest() {
    Partition* oldest = nullptr;
    for (Partition& part : partitions) {
      if (part.log.empty()) continue;
      if (oldest == nullptr || part.log.front().sequence < oldest->log.front().sequence) oldest = &part;
    }
    if (oldest == nullptr) return;
    oldest->log.pop_front();
    ++oldest->base_offset;
    --retained;
    ++evicted;
    if (evicted_counter != nullptr) evicted_counter->Increment();
    update_gauge();
  }
};

}  // namespace detail

namespace {

const log::Logger& bus_log() {
  static const log::Logger logger("bus");
  return logger;
}

uint64_t fnv1a(std::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

Status delivery_unknown(const Delivery& delivery, std::string_view why) {
  return not_found(fmt::format("delivery {}/{}@{} {}", delivery.event.topic, delivery.partition, delivery.offset, why),
                   "delivery_unknown");
}

}  // namespace

class InProcessConsumer final : public Consumer {
 public:
  InProcessConsumer(InProcessEventBus& bus, std::vector<detail::Topic*> topics, std::string group, uint64_t member_id,
                    std::shared_ptr<detail::MemberSignal> signal)
      : bus_(bus),
        topics_(std::move(topics)),
        group_(std::move(group)),
        member_id_(member_id),
        signal_(std::move(signal)) {}

  ~InProcessConsumer() override { leave(); }

  InProcessConsumer(const InProcessConsumer&) = delete;
  InProcessConsumer& operator=(const InProcessConsumer&) = delete;

  Result<std::vector<Delivery>> poll(size_t max_events, std::chrono::milliseconds timeout) override {
    std::vector<Delivery> out;
    if (max_events == 0) return out;
    out.reserve(std::min<size_t>(max_events, 64));  // Deliveries are large; avoid regrowing in the common case
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      // Clear before scanning: a publish that lands after the scan sets it again, so no wake-up is lost.
      {
        std::lock_guard lock(signal_->mu);
        signal_->pending = false;
      }
      // Rotate the starting topic and partition so a busy one cannot starve the others.
      const size_t first_topic = next_topic_++;
      const int first_partition = next_partition_++;
      for (size_t i = 0; i < topics_.size() && out.size() < max_events; ++i) {
        collect(*topics_[(first_topic + i) % topics_.size()], max_events, first_partition, out);
      }
      if (!out.empty() || timeout <= std::chrono::milliseconds::zero()) return out;
      std::unique_lock lock(signal_->mu);
      if (!signal_->cv.wait_until(lock, deadline, [&] { return signal_->pending; })) return out;
    }
  }

  Status ack(const Delivery& delivery) override {
    detail::Topic* topic = subscribed_topic(delivery);
    if (topic == nullptr) return delivery_unknown(delivery, "is not from a subscribed topic");
    bool released = false;
    {
      std::lock_guard lock(topic->mu);
      detail::Group& group = topic->groups.at(group_);
      detail::GroupPartition& gp = group.partitions[delivery.partition];
      if (delivery.offset >= gp.cursor) return delivery_unknown(delivery, "was never delivered to this group");
      auto it = gp.unacked.find(delivery.offset);
      if (it == gp.unacked.end()) return Status::ok();  // acknowledged before: acking twice is fine
      if (it->second.member != 0) {
        group.deadlines.erase(it->second.deadline);
      } else if (it->second.delayed) {
        group.delayed.erase(it->second.delay);
      } else {
        gp.redeliver.erase(delivery.offset);
      }
      const uint64_t old_floor = gp.floor();
      gp.unacked.erase(it);
      if (gp.floor() != old_floor) released = topic->release_acknowledged(delivery.partition);
    }
    if (released) topic->space_cv.notify_all();
    return Status::ok();
  }

  using Consumer::nack;
  Status nack(const Delivery& delivery, std::chrono::milliseconds delay) override {
    detail::Topic* topic = subscribed_topic(delivery);
    if (topic == nullptr) return delivery_unknown(delivery, "is not from a subscribed topic");
    std::shared_ptr<detail::MemberSignal> wake;
    {
      std::lock_guard lock(topic->mu);
      detail::Group& group = topic->groups.at(group_);
      detail::GroupPartition& gp = group.partitions[delivery.partition];
      if (delivery.offset >= gp.cursor) return delivery_unknown(delivery, "was never delivered to this group");
      auto it = gp.unacked.find(delivery.offset);
      if (it == gp.unacked.end() || it->second.member == 0) return Status::ok();  // acked, or already queued
      group.deadlines.erase(it->second.deadline);
      it->second.member = 0;
      if (delay > std::chrono::milliseconds::zero()) {
        it->second.delayed = true;
        it->second.delay =
            group.delayed.emplace(bus_.clock_.now() + delay, std::make_pair(delivery.partition, delivery.offset));
        return Status::ok();  // nobody to wake: the owner picks it up on a poll after the delay
      }
      gp.redeliver.insert(delivery.offset);
      const detail::Member* owner = group.owner(delivery.partition);
      if (owner != nullptr && owner->id != member_id_) wake = owner->signal;
    }
    if (wake) wake->notify();
    return Status::ok();
  }

 private:
  detail::Topic* subscribed_topic(const Delivery& delivery) const {
    if (delivery.partition < 0 || delivery.partition >= bus_.partitions_) return nullptr;
    for (detail::Topic* topic : topics_) {
      if (topic->name == delivery.event.topic) return topic;
    }
    return nullptr;
  }

  // Moves deliveries whose ack deadline has passed back to the redelivery queue, then hands out
  // deliveries from the partitions this member owns, appending to `out`. Owners of other
  // partitions whose deliveries expired are woken so they pick the redeliveries up.
  void collect(detail::Topic& topic, size_t max_events, int first_partition, std::vector<Delivery>& out) {
    std::vector<std::shared_ptr<detail::MemberSignal>> wake;
    {
      std::lock_guard lock(topic.mu);
      detail::Group& group = topic.groups.at(group_);
      const TimePoint now = bus_.clock_.now();
      while (!group.deadlines.empty() && group.deadlines.begin()->first <= now) {
        auto [partition, offset] = group.deadlines.begin()->second;
        group.deadlines.erase(group.deadlines.begin());
        detail::GroupPartition& gp = group.partitions[partition];
        gp.unacked.at(offset).member = 0;
        gp.redeliver.insert(offset);
        const detail::Member* owner = group.owner(partition);
        if (owner != nullptr && owner->id != member_id_) wake.push_back(owner->signal);
      }
      while (!group.delayed.empty() && group.delayed.begin()->first <= now) {
        auto [partition, offset] = group.delayed.begin()->second;
        group.delayed.erase(group.delayed.begin());
        detail::GroupPartition& gp = group.partitions[partition];
        gp.unacked.at(offset).delayed = false;
        gp.redeliver.insert(offset);
        const detail::Member* owner = group.owner(partition);
        if (owner != nullptr && owner->id != member_id_) wake.push_back(owner->signal);
      }

      const size_t member_count = group.members.size();
      size_t index = 0;
      while (index < member_count && group.members[index].id != member_id_) ++index;
      if (index == member_count) return;  // cannot happen: a consumer is a member until destroyed

      const int partition_count = bus_.partitions_;
      for (int k = 0; k < partition_count && out.size() < max_events; ++k) {
        const int p = static_cast<int>((static_cast<unsigned>(first_partition) + static_cast<unsigned>(k)) %
                                       static_cast<unsigned>(partition_count));
        if (static_cast<size_t>(p) % member_count != index) continue;
        detail::GroupPartition& gp = group.partitions[p];
        const detail::Partition& part = topic.partitions[p];
        while (out.size() < max_events) {
          uint64_t offset = 0;
          detail::Unacked* entry = nullptr;
          if (!gp.redeliver.empty()) {
            // Redeliveries are always below the cursor, so taking them first keeps offset order.
            offset = *gp.redeliver.begin();
            gp.redeliver.erase(gp.redeliver.begin());
            entry = &gp.unacked.at(offset);
            if (topic.redelivered != nullptr) topic.redelivered->Increment();
          } else if (gp.cursor < part.end_offset()) {
            offset = gp.cursor++;
            entry = &gp.unacked[offset];
          } else {
            break;
          }
          ++entry->attempts;
          entry->member = member_id_;
          entry->deadline = group.deadlines.emplace(now + bus_.ack_timeout_, std::make_pair(p, offset));
          if (topic.delivered != nullptr) topic.delivered->Increment();
          out.push_back(Delivery{part.log[offset - part.base_offset].event, p, offset, entry->attempts});
        }
      }
    }
    for (auto& signal : wake) signal->notify();
  }

  // Leaves the group on every topic: the member's in-flight deliveries go back to the group at
  // once (not after the ack timeout), and the remaining members are woken to pick them up.
  void leave() {
    for (detail::Topic* topic : topics_) {
      std::vector<std::shared_ptr<detail::MemberSignal>> wake;
      {
        std::lock_guard lock(topic->mu);
        detail::Group& group = topic->groups.at(group_);
        std::erase_if(group.members, [&](const detail::Member& m) { return m.id == member_id_; });
        for (detail::GroupPartition& gp : group.partitions) {
          for (auto& [offset, entry] : gp.unacked) {
            if (entry.member != member_id_) continue;
            group.deadlines.erase(entry.deadline);
            entry.member = 0;
            gp.redeliver.insert(offset);
          }
        }
        for (const detail::Member& m : group.members) wake.push_back(m.signal);
      }
      for (auto& signal : wake) signal->notify();
    }
  }

  InProcessEventBus& bus_;
  const std::vector<detail::Topic*> topics_;
  const std::string group_;
  const uint64_t member_id_;
  const std::shared_ptr<detail::MemberSignal> signal_;
  size_t next_topic_ = 0;
  int next_partition_ = 0;
};

InProcessEventBus::InProcessEventBus(const BusConfig& config, const Clock& clock, prometheus::Registry* metrics)
    : clock_(clock),
      partitions_(std::max(1, config.partitions)),
      capacity_(std::max<uint64_t>(1, config.capacity_per_topic)),
      ack_timeout_(config.ack_timeout),
      ids_(clock) {
  if (metrics == nullptr) return;
  published_family_ = &prometheus::BuildCounter()
                           .Name("vontres_bus_published_total")
                           .Help("Events accepted by publish()")
                           .Register(*metrics);
  delivered_family_ = &prometheus::BuildCounter()
                           .Name("vontres_bus_delivered_total")
                           .Help("Deliveries handed to consumers, first deliveries and redeliveries")
                           .Register(*metrics);
  redelivered_family_ = &prometheus::BuildCounter()
                             .Name("vontres_bus_redelivered_total")
                             .Help("Deliveries repeated after an ack timeout, a nack or a member leaving")
                             .Register(*metrics);
  backpressure_family_ = &prometheus::BuildCounter()
                              .Name("vontres_bus_backpressure_total")
                              .Help("publish() calls that found their topic full")
                              .Register(*metrics);
  evicted_family_ = &prometheus::BuildCounter()
                         .Name("vontres_bus_evicted_total")
                         .Help("Events evicted from a full topic that had no consumer group yet")
                         .Register(*metrics);
  retained_family_ = &prometheus::BuildGauge()
                          .Name("vontres_bus_retained_events")
                          .Help("Events a topic retains until every group has acknowledged them")
                          .Register(*metrics);
}

InProcessEventBus::~InProcessEventBus() = default;

int InProcessEventBus::partition_for_key(std::string_view key) const {
  return static_cast<int>(fnv1a(key) % static_cast<uint64_t>(partitions_));
}

detail::Topic* InProcessEventBus::find_topic(const std::string& name) const {
  std::shared_lock lock(topics_mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}

detail::Topic& InProcessEventBus::topic_for(const std::string& name) {
  if (detail::Topic* topic = find_topic(name)) return *topic;
  std::unique_lock lock(topics_mu_);
  auto [it, inserted] = topics_.try_emplace(name);
  if (inserted) {
    auto topic = std::make_unique<detail::Topic>();
    topic->name = name;
    topic->partitions.resize(static_cast<size_t>(partitions_));
    const prometheus::Labels labels{{"topic", name}};
    if (published_family_ != nullptr) {
      topic->published = &published_family_->Add(labels);
      topic->delivered = &delivered_family_->Add(labels);
      topic->redelivered = &redelivered_family_->Add(labels);
      topic->backpressure = &backpressure_family_->Add(labels);
      topic->evicted_counter = &evicted_family_->Add(labels);
      topic->retained_gauge = &retained_family_->Add(labels);
    }
    it->second = std::move(topic);
  }
  return *it->second;
}

Result<std::string> InProcessEventBus::publish(Event event, std::chrono::milliseconds max_wait) {
  VONTRES_RETURN_IF_ERROR(prepare_for_publish(event, ids_, clock_));
  std::string id = event.id;
  const int partition = event.key.empty()
                            ? static_cast<int>(round_robin_.fetch_add(1) % static_cast<uint64_t>(partitions_))
                            : partition_for_key(event.key);

  detail::Topic& topic = topic_for(event.topic);
  uint64_t evicted_so_far = 0;
  bool evicted = false;
  {
    std::unique_lock lock(topic.mu);
    if (topic.retained >= capacity_) {
      if (topic.groups.empty()) {
        topic.evict_oldest();
        evicted = true;
        evicted_so_far = topic.evicted;
      } else {
        if (topic.backpressure != nullptr) topic.backpressure->Increment();
        // Groups are never removed, so only acks can make room; wait for them in real time.
        const auto deadline = std::chrono::steady_clock::now() + max_wait;
        topic.space_cv.wait_until(lock, deadline, [&] { return topic.retained < capacity_; });
        if (topic.retained >= capacity_) {
          return resource_exhausted(
              fmt::format("topic {} holds {} events not yet acknowledged by every group", event.topic, topic.retained),
              "bus_full");
        }
      }
    }
    detail::Partition& part = topic.partitions[partition];
    part.log.push_back(detail::StoredEvent{std::move(event), topic.next_sequence++});
    ++topic.retained;
    topic.update_gauge();
    // Signalled under the topic lock (lock order: Topic::mu, then MemberSignal::mu; a consumer never
    // holds its signal's mutex while taking a topic's) so the hot path copies no shared_ptr.
    for (const auto& [name, group] : topic.groups) {
      if (const detail::Member* owner = group.owner(partition)) owner->signal->notify();
    }
  }
  if (topic.published != nullptr) topic.published->Increment();
  // Log the first eviction and then every 10000th, so a topic nobody reads cannot flood the log.
  if (evicted && (evicted_so_far == 1 || evicted_so_far % 10'000 == 0)) {
    bus_log().warn("bus topic has no consumer group and is full; evicted its oldest event",
                   {{"bus.topic", topic.name}, {"bus.evicted_total", evicted_so_far}, {"bus.capacity", capacity_}});
  }
  return id;
}

Result<std::unique_ptr<Consumer>> InProcessEventBus::subscribe(const std::vector<std::string>& topics,
                                                               const std::string& group,
                                                               const ConsumerOptions& options) {
  if (topics.empty()) return invalid_argument("subscribe needs at least one topic", "topics_empty");
  if (group.empty()) return invalid_argument("subscribe needs a consumer group", "group_invalid");
  std::vector<std::string> names = topics;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const std::string& name : names) {
    if (name.empty()) return invalid_argument("topic name is empty", "topic_invalid");
  }

  const uint64_t member_id = next_member_id_.fetch_add(1);
  auto signal = std::make_shared<detail::MemberSignal>();
  std::vector<detail::Topic*> joined;
  for (const std::string& name : names) {
    detail::Topic& topic = topic_for(name);
    bool released = false;
    {
      std::lock_guard lock(topic.mu);
      auto [it, created] = topic.groups.try_emplace(group);
      if (created) {
        it->second.partitions.resize(static_cast<size_t>(partitions_));
        for (int p = 0; p < partitions_; ++p) {
          const detail::Partition& part = topic.partitions[p];
          it->second.partitions[p].cursor = options.from_beginning ? part.base_offset : part.end_offset();
        }
        // A group that starts at the end may have been the only reason to keep the backlog.
        for (int p = 0; p < partitions_; ++p) released |= topic.release_acknowledged(p);
      }
      it->second.members.push_back(detail::Member{member_id, signal});
    }
    if (released) topic.space_cv.notify_all();
    joined.push_back(&topic);
  }
  return std::unique_ptr<Consumer>(
      std::make_unique<InProcessConsumer>(*this, std::move(joined), group, member_id, std::move(signal)));
}

Status InProcessEventBus::ping() { return Status::ok(); }

uint64_t InProcessEventBus::retained(const std::string& topic) const {
  detail::Topic* found = find_topic(topic);
  if (found == nullptr) return 0;
  std::lock_guard lock(found->mu);
  return found->retained;
}

}  // namespace vontres::bus
