#include "bus/kafka_bus.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "core/ids.h"
#include "core/log.h"

namespace vontres::bus {

using namespace std::chrono_literals;

namespace {

const log::Logger& bus_log() {
  static const log::Logger logger("bus.kafka");
  return logger;
}

constexpr std::string_view kTypeHeader = "vontres-type";
constexpr std::string_view kIdHeader = "vontres-id";
constexpr std::string_view kTimestampHeader = "vontres-timestamp-ms";
constexpr size_t kMaxMetadataBytes = 3'500;         // below the brokers' default offset.metadata.max.bytes (4096)
constexpr size_t kMaxBufferedPerPartition = 1'000;  // fetched, not yet acknowledged; the partition pauses above
constexpr auto kAdminTimeout = 10s;

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
  void operator()(rd_kafka_topic_partition_list_t* list) const { rd_kafka_topic_partition_list_destroy(list); }
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
  void operator()(rd_kafka_headers_t* headers) const { rd_kafka_headers_destroy(headers); }
  void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
  void operator()(rd_kafka_NewTopic_t* topic) const { rd_kafka_NewTopic_destroy(topic); }
  void operator()(rd_kafka_AdminOptions_t* options) const { rd_kafka_AdminOptions_destroy(options); }
  void operator()(const rd_kafka_metadata_t* metadata) const { rd_kafka_metadata_destroy(metadata); }
};
template <typename T>
using KafkaPtr = std::unique_ptr<T, KafkaDeleter>;
using PartitionList = KafkaPtr<rd_kafka_topic_partition_list_t>;

int64_t millis(std::chrono::milliseconds d) { return d.count(); }

Status config_invalid(const std::string& what) { return invalid_argument(what, "config_invalid"); }

Status set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value, bool secret = false) {
  std::array<char, 512> error{};
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error.data(), error.size()) != RD_KAFKA_CONF_OK) {
    return config_invalid(
        fmt::format("librdkafka property {}{}: {}", name, secret ? " (from its secret file)" : "", error.data()));
  }
  return Status::ok();
}

Result<std::string> read_secret(const std::string& property, const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return config_invalid(fmt::format("bus.kafka.secret_files.{}: cannot read '{}'", property, path));
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// The configuration every handle of the bus shares: brokers, security and the operator's
// client_properties (validated by core/config.cc not to touch what the bus manages).
// librdkafka's own log lines, into ours: errors and warnings as warn, the rest as debug.
void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  log::Fields fields{{"kafka.client", rd_kafka_name(rk)}, {"kafka.facility", facility}};
  // CONFWARN: a shared client property that one kind of handle ignores (a consumer setting on the producer).
  if (level <= 4 && std::string_view(facility) != "CONFWARN") {
    bus_log().warn(message, fields);
  } else {
    bus_log().debug(message, fields);
  }
}

Result<KafkaPtr<rd_kafka_conf_t>> base_conf(const KafkaBusConfig& config,
                                            const std::map<std::string, std::string>& secrets,
                                            const std::map<std::string, std::string>& defaults) {
  KafkaPtr<rd_kafka_conf_t> conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &on_log);
  VONTRES_RETURN_IF_ERROR(set_property(conf.get(), "bootstrap.servers", config.bootstrap_servers));
  for (const auto& [name, value] : defaults) {
    if (!config.client_properties.contains(name)) VONTRES_RETURN_IF_ERROR(set_property(conf.get(), name, value));
  }
  for (const auto& [name, value] : config.client_properties) {
    VONTRES_RETURN_IF_ERROR(set_property(conf.get(), name, value));
  }
  for (const auto& [name, value] : secrets) VONTRES_RETURN_IF_ERROR(set_property(conf.get(), name, value, true));
  return conf;
}

Status unavailable_error(const std::string& what) { return unavailable(what, "bus_unavailable"); }

Status delivery_unknown(const Delivery& delivery, std::string_view why) {
  return not_found(fmt::format("delivery {}/{}@{} {}", delivery.event.topic, delivery.partition, delivery.offset, why),
                   "delivery_unknown");
}

Status delivery_revoked(const Delivery& delivery) {
  return failed_precondition(fmt::format("delivery {}/{}@{} was revoked: its partition moved to another member",
                                         delivery.event.topic, delivery.partition, delivery.offset),
                             "delivery_revoked");
}

bool retriable_publish_error(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
         err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
         err == RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS || err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
         err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION || err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
}

// --- Commit metadata -------------------------------------------------------------------------
// What a partition's group position says beyond its committed offset C: offsets above C that are
// acknowledged ("a<d>+<n>": n offsets from C+d) and attempts of delivered, unacknowledged ones
// ("t<d>*<n>"). Text, so it reads in kafka-consumer-groups --describe.
struct PartitionHistory {
  std::map<uint64_t, uint64_t> acked_runs;  // start -> end (exclusive), disjoint
  std::map<uint64_t, int> attempts;         // offset -> deliveries so far (> 0)

  void add_acked(uint64_t offset) {
    auto next = acked_runs.upper_bound(offset);
    if (next != acked_runs.begin()) {
      auto prev = std::prev(next);
      if (prev->second > offset) return;  // already inside a run
      if (prev->second == offset) {
        prev->second = offset + 1;
        if (next != acked_runs.end() && next->first == offset + 1) {
          prev->second = next->second;
          acked_runs.erase(next);
        }
        return;
      }
    }
    if (next != acked_runs.end() && next->first == offset + 1) {
      const uint64_t end = next->second;
      acked_runs.erase(next);
      acked_runs.emplace(offset, end);
      return;
    }
    acked_runs.emplace(offset, offset + 1);
  }

  bool is_acked(uint64_t offset) const {
    auto next = acked_runs.upper_bound(offset);
    if (next == acked_runs.begin()) return false;
    return std::prev(next)->second > offset;
  }

  // Forgets everything below `offset` (it has been fetched or passed).
  void drop_below(uint64_t offset) {
    attempts.erase(attempts.begin(), attempts.lower_bound(offset));
    while (!acked_runs.empty() && acked_runs.begin()->first < offset) {
      auto first = acked_runs.begin();
      const uint64_t end = first->second;
      acked_runs.erase(first);
      if (end > offset) {
        acked_runs.emplace(offset, end);
        break;
      }
    }
  }
};

PartitionHistory decode_history(std::string_view metadata, uint64_t committed) {
  PartitionHistory history;
  if (!metadata.starts_with("v1:")) return history;  // empty, or written by someone else
  metadata.remove_prefix(3);
  while (!metadata.empty()) {
    const size_t comma = metadata.find(',');
    const std::string_view token = metadata.substr(0, comma);
    metadata = comma == std::string_view::npos ? std::string_view() : metadata.substr(comma + 1);
    if (token.size() < 4) continue;
    const char kind = token[0];
    const size_t sep = token.find(kind == 'a' ? '+' : '*');
    if (sep == std::string_view::npos) continue;
    uint64_t delta = 0;
    uint64_t count = 0;
    const std::string_view first = token.substr(1, sep - 1);
    const std::string_view second = token.substr(sep + 1);
    if (std::from_chars(first.data(), first.data() + first.size(), delta).ec != std::errc() ||
        std::from_chars(second.data(), second.data() + second.size(), count).ec != std::errc() || count == 0) {
      continue;
    }
    if (kind == 'a') {
      history.acked_runs[committed + delta] = committed + delta + count;
    } else if (kind == 't') {
      history.attempts[committed + delta] = static_cast<int>(std::min<uint64_t>(count, 1'000'000));
    }
  }
  return history;
}

// --- Producer side -------------------------------------------------------------------------------

struct PublishWaiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;                                       // GUARDED_BY(mu)
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;  // GUARDED_BY(mu)
};

struct TopicMetrics {
  prometheus::Counter* published = nullptr;
  prometheus::Counter* delivered = nullptr;
  prometheus::Counter* redelivered = nullptr;
  prometheus::Counter* backpressure = nullptr;
  prometheus::Counter* publish_failed = nullptr;
};

void increment(prometheus::Counter* counter) {
  if (counter != nullptr) counter->Increment();
}

}  // namespace

struct KafkaEventBus::Impl {
  Impl(const BusConfig& bus_config, const Clock& bus_clock) : config(bus_config), clock(bus_clock), ids(bus_clock) {}

  const BusConfig config;
  const Clock& clock;
  IdGenerator ids;
  std::map<std::string, std::string> secrets;
  KafkaPtr<rd_kafka_t> producer;
  std::thread poller;
  std::atomic<bool> stopping{false};

  std::mutex waiters_mu;
  std::map<uint64_t, std::shared_ptr<PublishWaiter>> waiters;  // GUARDED_BY(waiters_mu)
  std::map<uint64_t, std::string> waiter_topics;               // GUARDED_BY(waiters_mu)
  std::atomic<uint64_t> next_waiter{1};

  std::mutex topics_mu;
  std::map<std::string, int> partition_counts;  // GUARDED_BY(topics_mu)
  std::map<std::string, TopicMetrics> metrics;  // GUARDED_BY(topics_mu)

  prometheus::Family<prometheus::Counter>* published_family = nullptr;
  prometheus::Family<prometheus::Counter>* delivered_family = nullptr;
  prometheus::Family<prometheus::Counter>* redelivered_family = nullptr;
  prometheus::Family<prometheus::Counter>* backpressure_family = nullptr;
  prometheus::Family<prometheus::Counter>* publish_failed_family = nullptr;
  prometheus::Counter* revoked = nullptr;
  prometheus::Counter* rebalances = nullptr;

  TopicMetrics topic_metrics(const std::string& topic) {
    std::lock_guard lock(topics_mu);
    auto [it, inserted] = metrics.try_emplace(topic);
    if (inserted && published_family != nullptr) {
      const prometheus::Labels labels{{"topic", topic}};
      it->second.published = &published_family->Add(labels);
      it->second.delivered = &delivered_family->Add(labels);
      it->second.redelivered = &redelivered_family->Add(labels);
      it->second.backpressure = &backpressure_family->Add(labels);
      it->second.publish_failed = &publish_failed_family->Add(labels);
    }
    return it->second;
  }

  Result<KafkaPtr<rd_kafka_conf_t>> conf(const std::map<std::string, std::string>& defaults) const {
    return base_conf(config.kafka, secrets, defaults);
  }

  // Delivery report: wakes the publish() waiting for it, or, when that one gave up already,
  // counts and logs a failure the caller was told might still succeed.
  static void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    const auto id = reinterpret_cast<uintptr_t>(message->_private);  // NOLINT(performance-no-int-to-ptr)
    std::shared_ptr<PublishWaiter> waiter;
    std::string topic;
    {
      std::lock_guard lock(self->waiters_mu);
      auto it = self->waiters.find(id);
      if (it != self->waiters.end()) {
        waiter = std::move(it->second);
        self->waiters.erase(it);
      }
      auto topic_it = self->waiter_topics.find(id);
      if (topic_it != self->waiter_topics.end()) {
        topic = std::move(topic_it->second);
        self->waiter_topics.erase(topic_it);
      }
    }
    if (waiter) {
      {
        std::lock_guard lock(waiter->mu);
        waiter->done = true;
        waiter->error = message->err;
      }
      waiter->cv.notify_all();
      return;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      increment(self->topic_metrics(topic).publish_failed);
      bus_log().error("kafka event failed after publish() had returned bus_unavailable",
                      {{"bus.topic", topic}, {"error.message", rd_kafka_err2str(message->err)}});
    }
  }
};

// --- Consumer ------------------------------------------------------------------------------------

namespace {

struct Pending {
  enum class State { kReady, kInFlight, kDelayed };
  Event event;
  int attempts = 0;  // deliveries to the group so far
  State state = State::kReady;
  TimePoint due{};  // kInFlight: ack deadline; kDelayed: when it becomes ready
};

struct PartitionState {
  uint64_t fetched_end = 0;  // every offset below is fetched (pending or acknowledged) or skipped
  std::map<uint64_t, Pending> pending;
  PartitionHistory history;  // about offsets >= fetched_end, from the committed metadata
  bool dirty = false;
  bool paused = false;
};

using TopicPartition = std::pair<std::string, int>;

Event event_from_message(const rd_kafka_message_t* message) {
  Event event;
  event.topic = rd_kafka_topic_name(message->rkt);
  if (message->key != nullptr) event.key.assign(static_cast<const char*>(message->key), message->key_len);
  if (message->payload != nullptr) event.payload.assign(static_cast<const char*>(message->payload), message->len);
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers != nullptr) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      std::string text = value == nullptr ? std::string() : std::string(static_cast<const char*>(value), size);
      const std::string_view header(name);
      if (header == kTypeHeader) {
        event.type = std::move(text);
      } else if (header == kIdHeader) {
        event.id = std::move(text);
      } else if (header == kTimestampHeader) {
        std::from_chars(text.data(), text.data() + text.size(), event.timestamp_ms);
      } else {
        event.headers[std::string(header)] = std::move(text);
      }
    }
  }
  if (event.timestamp_ms == 0) event.timestamp_ms = rd_kafka_message_timestamp(message, nullptr);
  return event;
}

}  // namespace

class KafkaConsumer final : public Consumer {
 public:
  KafkaConsumer(KafkaEventBus::Impl& bus, std::map<std::string, int> partition_counts, std::string group,
                ConsumerOptions options)
      : bus_(bus), partition_counts_(std::move(partition_counts)), group_(std::move(group)), options_(options) {}

  ~KafkaConsumer() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  // Creates the librdkafka consumer, subscribes and waits for the first assignment.
  Status start() {
    auto conf = bus_.conf({{"session.timeout.ms", "10000"},
                           {"heartbeat.interval.ms", "1000"},
                           {"fetch.wait.max.ms", "100"},
                           {"topic.metadata.refresh.interval.ms", "10000"}});
    if (!conf) return conf.status();
    rd_kafka_conf_t* c = conf->get();
    VONTRES_RETURN_IF_ERROR(set_property(c, "group.id", group_));
    VONTRES_RETURN_IF_ERROR(set_property(c, "enable.auto.commit", "false"));
    VONTRES_RETURN_IF_ERROR(set_property(c, "enable.auto.offset.store", "false"));
    // Start positions are fixed by assign() below; a reset happens only when a fetch position is out
    // of range (retention removed it, or a just-created partition answered too early). The oldest
    // retained event then, never the newest: redelivery, not silent loss.
    VONTRES_RETURN_IF_ERROR(set_property(c, "auto.offset.reset", "earliest"));
    VONTRES_RETURN_IF_ERROR(set_property(c, "partition.assignment.strategy", "roundrobin"));
    rd_kafka_conf_set_opaque(c, this);
    rd_kafka_conf_set_rebalance_cb(c, &KafkaConsumer::on_rebalance);
    std::array<char, 512> error{};
    rk_.reset(rd_kafka_new(RD_KAFKA_CONSUMER, conf.value().release(), error.data(), error.size()));
    if (!rk_) return config_invalid(fmt::format("cannot create the Kafka consumer: {}", error.data()));
    rd_kafka_poll_set_consumer(rk_.get());
    PartitionList topics(rd_kafka_topic_partition_list_new(static_cast<int>(partition_counts_.size())));
    for (const auto& [topic, count] : partition_counts_) {
      rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
    }
    if (rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_.get(), topics.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return unavailable_error(fmt::format("cannot subscribe group {}: {}", group_, rd_kafka_err2str(err)));
    }
    thread_ = std::thread([this] { run(); });
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, bus_.config.kafka.join_timeout, [&] { return joined_; })) {
      return unavailable_error(fmt::format("group {} gave this member no assignment within {} ms", group_,
                                           millis(bus_.config.kafka.join_timeout)));
    }
    return Status::ok();
  }

  Result<std::vector<Delivery>> poll(size_t max_events, std::chrono::milliseconds timeout) override {
    std::vector<Delivery> out;
    if (max_events == 0) return out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mu_);
    for (;;) {
      collect(max_events, out);
      if (!out.empty()) break;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      // Wakes on fetched events; the short cap also notices due redeliveries on a real clock.
      fresh_ = false;
      cv_.wait_until(lock, std::min(deadline, now + 50ms), [&] { return fresh_; });
    }
    lock.unlock();
    for (const Delivery& d : out) {
      const TopicMetrics metrics = bus_.topic_metrics(d.event.topic);
      increment(metrics.delivered);
      if (d.attempt > 1) increment(metrics.redelivered);
    }
    return out;
  }

  Status ack(const Delivery& delivery) override {
    std::lock_guard lock(mu_);
    VONTRES_ASSIGN_OR_RETURN(PartitionState * state, owned(delivery));
    auto it = state->pending.find(delivery.offset);
    if (it != state->pending.end()) {
      state->pending.erase(it);
      state->dirty = true;
    } else if (delivery.offset >= state->fetched_end) {
      // Delivered in an earlier assignment of this partition and not fetched again yet.
      state->history.add_acked(delivery.offset);
      state->history.attempts.erase(delivery.offset);
      state->dirty = true;
    }
    return Status::ok();
  }

  using Consumer::nack;
  Status nack(const Delivery& delivery, std::chrono::milliseconds delay) override {
    std::lock_guard lock(mu_);
    VONTRES_ASSIGN_OR_RETURN(PartitionState * state, owned(delivery));
    auto it = state->pending.find(delivery.offset);
    if (it == state->pending.end() || it->second.state != Pending::State::kInFlight) return Status::ok();
    if (delay > std::chrono::milliseconds::zero()) {
      it->second.state = Pending::State::kDelayed;
      it->second.due = bus_.clock.now() + delay;
    } else {
      it->second.state = Pending::State::kReady;
    }
    return Status::ok();
  }

 private:
  // The partition state a delivery belongs to, if this member owns its partition now.
  // REQUIRES: mu_ held.
  Result<PartitionState*> owned(const Delivery& delivery) {
    auto count = partition_counts_.find(delivery.event.topic);
    if (count == partition_counts_.end()) return delivery_unknown(delivery, "is not from a subscribed topic");
    if (delivery.partition < 0 || delivery.partition >= count->second) {
      return delivery_unknown(delivery, "names no partition of its topic");
    }
    const TopicPartition key{delivery.event.topic, delivery.partition};
    auto delivered = delivered_end_.find(key);
    if (delivered == delivered_end_.end() || delivery.offset >= delivered->second) {
      return delivery_unknown(delivery, "was never delivered to this member");
    }
    auto it = assigned_.find(key);
    if (it == assigned_.end()) return delivery_revoked(delivery);
    return &it->second;
  }

  // Hands out ready and due deliveries in offset order per partition. REQUIRES: mu_ held.
  void collect(size_t max_events, std::vector<Delivery>& out) {
    if (assigned_.empty()) return;
    const TimePoint now = bus_.clock.now();
    // Rotate the starting partition so a busy one cannot starve the others.
    auto start = assigned_.upper_bound(last_served_);
    for (size_t n = 0; n < assigned_.size() && out.size() < max_events; ++n, ++start) {
      if (start == assigned_.end()) start = assigned_.begin();
      auto& [key, state] = *start;
      for (auto& [offset, pending] : state.pending) {
        if (out.size() >= max_events) break;
        if (pending.state != Pending::State::kReady && pending.due > now) continue;
        ++pending.attempts;
        pending.state = Pending::State::kInFlight;
        pending.due = now + bus_.config.ack_timeout;
        state.dirty = true;
        out.push_back(Delivery{pending.event, key.second, offset, pending.attempts});
        uint64_t& delivered = delivered_end_[key];
        delivered = std::max(delivered, offset + 1);
      }
      last_served_ = key;
    }
  }

  // The consumer's own thread: fetches into the buffers, serves rebalances and commits.
  void run() {
    auto next_commit = std::chrono::steady_clock::now() + bus_.config.kafka.commit_interval;
    const int poll_ms = static_cast<int>(std::clamp<int64_t>(millis(bus_.config.kafka.commit_interval), 1, 20));
    while (!stop_) {
      KafkaPtr<rd_kafka_message_t> message(rd_kafka_consumer_poll(rk_.get(), poll_ms));
      if (message) on_message(message.get());
      if (std::chrono::steady_clock::now() >= next_commit) {
        commit(/*synchronous=*/false, {});
        next_commit = std::chrono::steady_clock::now() + bus_.config.kafka.commit_interval;
      }
      flow_control();
    }
    // Revokes (our callback commits synchronously) and leaves the group.
    rd_kafka_consumer_close(rk_.get());
    rk_.reset();
  }

  void on_message(const rd_kafka_message_t* message) {
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        bus_log().warn("kafka consumer error",
                       {{"bus.group", group_}, {"error.message", rd_kafka_message_errstr(message)}});
      }
      return;
    }
    const TopicPartition key{rd_kafka_topic_name(message->rkt), message->partition};
    const auto offset = static_cast<uint64_t>(message->offset);
    {
      std::lock_guard lock(mu_);
      auto it = assigned_.find(key);
      if (it == assigned_.end()) return;  // revoked meanwhile
      PartitionState& state = it->second;
      if (offset < state.fetched_end) return;  // fetched again after a pause: already have it
      state.fetched_end = offset + 1;
      const bool acked = state.history.is_acked(offset);
      auto attempts = state.history.attempts.find(offset);
      const int prior = attempts == state.history.attempts.end() ? 0 : attempts->second;
      state.history.drop_below(offset + 1);
      if (acked) return;
      state.pending.emplace(offset, Pending{event_from_message(message), prior, Pending::State::kReady, {}});
      fresh_ = true;
    }
    cv_.notify_all();
  }

  // Pauses partitions whose buffer is full and resumes them once it has drained to half.
  void flow_control() {
    PartitionList pause(rd_kafka_topic_partition_list_new(0));
    PartitionList resume(rd_kafka_topic_partition_list_new(0));
    {
      std::lock_guard lock(mu_);
      for (auto& [key, state] : assigned_) {
        if (!state.paused && state.pending.size() >= kMaxBufferedPerPartition) {
          state.paused = true;
          rd_kafka_topic_partition_list_add(pause.get(), key.first.c_str(), key.second);
        } else if (state.paused && state.pending.size() < kMaxBufferedPerPartition / 2) {
          state.paused = false;
          rd_kafka_topic_partition_list_add(resume.get(), key.first.c_str(), key.second);
        }
      }
    }
    if (pause->cnt > 0) rd_kafka_pause_partitions(rk_.get(), pause.get());
    if (resume->cnt > 0) rd_kafka_resume_partitions(rk_.get(), resume.get());
  }

  // The committed offset and metadata for one partition. REQUIRES: mu_ held.
  static std::pair<uint64_t, std::string> position(const PartitionState& state) {
    const uint64_t committed = state.pending.empty() ? state.fetched_end : state.pending.begin()->first;
    std::string metadata = "v1:";
    bool full = false;
    auto token = [&](char kind, uint64_t offset, uint64_t count) {
      if (full) return;
      std::string text = fmt::format("{}{}{}{}", kind, offset - committed, kind == 'a' ? '+' : '*', count);
      if (metadata.size() + text.size() + 1 > kMaxMetadataBytes) {
        full = true;  // later offsets fall back to plain at-least-once
        return;
      }
      if (metadata.size() > 3) metadata += ',';
      metadata += text;
    };
    uint64_t next = committed;  // offsets in [next, p) between pending entries are acknowledged
    for (const auto& [offset, pending] : state.pending) {
      if (offset > next) token('a', next, offset - next);
      if (pending.attempts > 0) token('t', offset, static_cast<uint64_t>(pending.attempts));
      next = offset + 1;
    }
    if (state.fetched_end > next) token('a', next, state.fetched_end - next);
    for (const auto& [start, end] : state.history.acked_runs) token('a', start, end - start);
    for (const auto& [offset, attempts] : state.history.attempts) {
      token('t', offset, static_cast<uint64_t>(attempts));
    }
    return {committed, metadata};
  }

  // Commits dirty partitions (all of `only` when given, dirty or not). False when the commit failed
  // (for an asynchronous one: could not be sent).
  bool commit(bool synchronous, const std::vector<TopicPartition>& only) {
    std::vector<std::pair<TopicPartition, std::pair<uint64_t, std::string>>> positions;
    {
      std::lock_guard lock(mu_);
      for (auto& [key, state] : assigned_) {
        const bool wanted = only.empty() ? state.dirty : std::find(only.begin(), only.end(), key) != only.end();
        if (!wanted) continue;
        state.dirty = false;
        positions.emplace_back(key, position(state));
      }
    }
    if (positions.empty()) return true;
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
    for (auto& [key, pos] : positions) {
      rd_kafka_topic_partition_t* entry = rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second);
      entry->offset = static_cast<int64_t>(pos.first);
      // Borrowed for the call: rd_kafka_commit copies the list before it returns.
      entry->metadata = pos.second.data();
      entry->metadata_size = pos.second.size();
    }
    const rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), list.get(), synchronous ? 0 : 1);
    for (int i = 0; i < list->cnt; ++i) {
      list->elems[i].metadata = nullptr;
      list->elems[i].metadata_size = 0;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      bus_log().warn("kafka offset commit failed; acknowledged events may be redelivered",
                     {{"bus.group", group_}, {"error.message", rd_kafka_err2str(err)}});
      std::lock_guard lock(mu_);
      for (auto& [key, pos] : positions) {
        auto it = assigned_.find(key);
        if (it != assigned_.end()) it->second.dirty = true;
      }
      return false;
    }
    return true;
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                           void* opaque) {
    auto* self = static_cast<KafkaConsumer*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      self->assign(partitions);
    } else {
      self->revoke(partitions);
      rd_kafka_assign(rk, nullptr);
    }
  }

  // Resolves where each newly assigned partition starts (committed position, or the group's
  // starting point, committed at once) and loads its history from the commit metadata.
  void assign(rd_kafka_topic_partition_list_t* partitions) {
    increment(bus_.rebalances);
    std::map<TopicPartition, PartitionState> returned;  // partitions this member had just before
    {
      std::lock_guard lock(mu_);
      for (int i = 0; i < partitions->cnt; ++i) {
        const TopicPartition key{partitions->elems[i].topic, partitions->elems[i].partition};
        auto it = stash_.find(key);
        if (it != stash_.end()) returned.emplace(key, std::move(it->second));
      }
      stash_.clear();  // a partition that went elsewhere has a new history now
    }
    PartitionList positions(rd_kafka_topic_partition_list_copy(partitions));
    rd_kafka_resp_err_t err = rd_kafka_committed(rk_.get(), positions.get(), millis(kAdminTimeout));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      bus_log().warn("kafka: reading committed offsets failed",
                     {{"bus.group", group_}, {"error.message", rd_kafka_err2str(err)}});
    }
    PartitionList starts(rd_kafka_topic_partition_list_new(positions->cnt));
    std::map<TopicPartition, PartitionState> states;
    for (int i = 0; i < positions->cnt; ++i) {
      rd_kafka_topic_partition_t& p = positions->elems[i];
      const TopicPartition key{p.topic, p.partition};
      if (auto kept = returned.find(key); kept != returned.end()) {
        p.offset = static_cast<int64_t>(kept->second.fetched_end);
        states.emplace(key, std::move(kept->second));
        continue;
      }
      int64_t offset = p.offset;
      if (offset < 0) {
        int64_t low = 0;
        int64_t high = 0;
        // A topic created a moment ago may not have its leaders everywhere yet: retry briefly.
        for (int attempt = 0; attempt < 50; ++attempt) {
          err = rd_kafka_query_watermark_offsets(rk_.get(), p.topic, p.partition, &low, &high, millis(kAdminTimeout));
          if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__TIMED_OUT) break;
          std::this_thread::sleep_for(100ms);
        }
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          bus_log().warn("kafka: reading watermarks failed",
                         {{"bus.topic", p.topic}, {"error.message", rd_kafka_err2str(err)}});
          offset = options_.from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
        } else {
          offset = options_.from_beginning ? low : high;
          rd_kafka_topic_partition_list_add(starts.get(), p.topic, p.partition)->offset = offset;
        }
      }
      PartitionState state;
      if (offset >= 0) {
        state.fetched_end = static_cast<uint64_t>(offset);
        if (p.metadata != nullptr && p.metadata_size > 0) {
          state.history = decode_history(std::string_view(static_cast<const char*>(p.metadata), p.metadata_size),
                                         state.fetched_end);
        }
      }
      p.offset = offset;
      states.emplace(TopicPartition{p.topic, p.partition}, std::move(state));
    }
    // Fix the new group's starting point for every later member.
    if (starts->cnt > 0) {
      err = rd_kafka_commit(rk_.get(), starts.get(), 0);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bus_log().warn("kafka: committing the group's start failed",
                       {{"bus.group", group_}, {"error.message", rd_kafka_err2str(err)}});
      }
    }
    {
      std::lock_guard lock(mu_);
      for (auto& [key, state] : states) assigned_[key] = std::move(state);
    }
    err = rd_kafka_assign(rk_.get(), positions.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      bus_log().error("kafka assign failed", {{"bus.group", group_}, {"error.message", rd_kafka_err2str(err)}});
    }
    {
      std::lock_guard lock(mu_);
      joined_ = true;
      fresh_ = true;
    }
    cv_.notify_all();
  }

  void revoke(rd_kafka_topic_partition_list_t* partitions) {
    std::vector<TopicPartition> keys;
    keys.reserve(static_cast<size_t>(partitions->cnt));
    for (int i = 0; i < partitions->cnt; ++i)
      keys.emplace_back(partitions->elems[i].topic, partitions->elems[i].partition);
    const bool committed = commit(/*synchronous=*/true, keys);
    uint64_t dropped = 0;
    {
      std::lock_guard lock(mu_);
      for (const auto& key : keys) {
        auto it = assigned_.find(key);
        if (it == assigned_.end()) continue;
        // Kept in case the next assignment gives the partition back to this member: then nobody
        // else owned it meanwhile and this state is the truth, even if the commit was refused (the
        // mock cluster refuses commits once a rebalance began; a real broker accepts them).
        PartitionState& state = stash_[key];
        state = std::move(it->second);
        assigned_.erase(it);
        state.dirty = !committed;
        state.paused = false;
        for (auto& [offset, pending] : state.pending) {
          if (pending.state == Pending::State::kInFlight) {
            ++dropped;
            pending.state = Pending::State::kReady;  // revoked: handed out again, attempt + 1
          }
        }
      }
    }
    if (bus_.revoked != nullptr && dropped > 0) bus_.revoked->Increment(static_cast<double>(dropped));
  }

  KafkaEventBus::Impl& bus_;
  const std::map<std::string, int> partition_counts_;
  const std::string group_;
  const ConsumerOptions options_;
  KafkaPtr<rd_kafka_t> rk_;  // used by thread_ only, after start()
  std::thread thread_;
  std::atomic<bool> stop_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  bool joined_ = false;                                // GUARDED_BY(mu_)
  bool fresh_ = false;                                 // GUARDED_BY(mu_)
  std::map<TopicPartition, PartitionState> assigned_;  // GUARDED_BY(mu_)
  std::map<TopicPartition, PartitionState> stash_;     // GUARDED_BY(mu_); revoked at the last rebalance
  std::map<TopicPartition, uint64_t> delivered_end_;   // GUARDED_BY(mu_); over the member's life
  TopicPartition last_served_;                         // GUARDED_BY(mu_)
};

// --- The bus -------------------------------------------------------------------------------------

KafkaEventBus::KafkaEventBus(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaEventBus::~KafkaEventBus() {
  rd_kafka_flush(impl_->producer.get(), 5'000);
  impl_->stopping = true;
  if (impl_->poller.joinable()) impl_->poller.join();
}

Result<std::unique_ptr<KafkaEventBus>> KafkaEventBus::create(const BusConfig& config, const Clock& clock,
                                                             prometheus::Registry* metrics) {
  auto impl = std::make_unique<Impl>(config, clock);
  for (const auto& [property, path] : config.kafka.secret_files) {
    VONTRES_ASSIGN_OR_RETURN(impl->secrets[property], read_secret(property, path));
  }
  auto conf = impl->conf({{"linger.ms", "1"}, {"message.timeout.ms", "60000"}, {"partitioner", "murmur2_random"}});
  if (!conf) return conf.status();
  rd_kafka_conf_t* c = conf->get();
  VONTRES_RETURN_IF_ERROR(set_property(c, "enable.idempotence", "true"));
  VONTRES_RETURN_IF_ERROR(set_property(c, "acks", "all"));
  // topic_creation "broker": metadata requests ask the brokers to auto-create (mock cluster).
  VONTRES_RETURN_IF_ERROR(
      set_property(c, "allow.auto.create.topics", config.kafka.topic_creation == "broker" ? "true" : "false"));
  VONTRES_RETURN_IF_ERROR(set_property(c, "queue.buffering.max.messages",
                                       std::to_string(std::clamp<uint64_t>(config.capacity_per_topic, 1, 10'000'000))));
  rd_kafka_conf_set_opaque(c, impl.get());
  rd_kafka_conf_set_dr_msg_cb(c, &Impl::on_delivery);
  std::array<char, 512> error{};
  impl->producer.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.value().release(), error.data(), error.size()));
  if (!impl->producer) return config_invalid(fmt::format("cannot create the Kafka producer: {}", error.data()));

  if (metrics != nullptr) {
    impl->published_family = &prometheus::BuildCounter()
                                  .Name("vontres_bus_published_total")
                                  .Help("Events accepted by publish()")
                                  .Register(*metrics);
    impl->delivered_family = &prometheus::BuildCounter()
                                  .Name("vontres_bus_delivered_total")
                                  .Help("Deliveries handed to consumers, first deliveries and redeliveries")
                                  .Register(*metrics);
    impl->redelivered_family = &prometheus::BuildCounter()
                                    .Name("vontres_bus_redelivered_total")
                                    .Help("Deliveries repeated after an ack timeout, a nack or a member leaving")
                                    .Register(*metrics);
    impl->backpressure_family = &prometheus::BuildCounter()
                                     .Name("vontres_bus_backpressure_total")
                                     .Help("publish() calls that found the bus full")
                                     .Register(*metrics);
    impl->publish_failed_family = &prometheus::BuildCounter()
                                       .Name("vontres_bus_publish_failed_total")
                                       .Help("Events the brokers did not confirm (publish() returned bus_unavailable)")
                                       .Register(*metrics);
    impl->revoked = &prometheus::BuildCounter()
                         .Name("vontres_bus_revoked_total")
                         .Help("In-flight deliveries withdrawn from a member by a rebalance")
                         .Register(*metrics)
                         .Add({});
    impl->rebalances = &prometheus::BuildCounter()
                            .Name("vontres_bus_rebalances_total")
                            .Help("Partition assignments received by this process's group members")
                            .Register(*metrics)
                            .Add({});
  }
  Impl* raw = impl.get();
  impl->poller = std::thread([raw] {
    while (!raw->stopping) rd_kafka_poll(raw->producer.get(), 50);
  });
  return std::make_unique<KafkaEventBus>(std::move(impl));
}

Status KafkaEventBus::create_topic(const std::string& topic, const std::function<int()>& remaining_ms) {
  rd_kafka_t* rk = impl_->producer.get();
  std::array<char, 512> error{};
  KafkaPtr<rd_kafka_NewTopic_t> new_topic(rd_kafka_NewTopic_new(topic.c_str(), impl_->config.kafka.partitions,
                                                                impl_->config.kafka.replication_factor, error.data(),
                                                                error.size()));
  if (!new_topic) return invalid_argument(fmt::format("topic {}: {}", topic, error.data()), "topic_invalid");
  KafkaPtr<rd_kafka_AdminOptions_t> options(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), remaining_ms(), error.data(), error.size());
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), remaining_ms(), error.data(), error.size());
  KafkaPtr<rd_kafka_queue_t> queue(rd_kafka_queue_new(rk));
  rd_kafka_NewTopic_t* topics[] = {new_topic.get()};
  rd_kafka_CreateTopics(rk, topics, 1, options.get(), queue.get());
  KafkaPtr<rd_kafka_event_t> event(rd_kafka_queue_poll(queue.get(), remaining_ms() + 500));
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  std::string why = "no answer";
  if (event) {
    err = rd_kafka_event_error(event.get());
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
      size_t count = 0;
      const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
      if (count > 0) {
        err = rd_kafka_topic_result_error(results[0]);
        if (const char* message = rd_kafka_topic_result_error_string(results[0])) why = message;
      }
    } else {
      why = rd_kafka_event_error_string(event.get());
    }
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    if (err == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR || err == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS ||
        err == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION) {
      return invalid_argument(fmt::format("cannot create topic {}: {}", topic, why), "topic_invalid");
    }
    return unavailable_error(fmt::format("cannot create topic {}: {} ({})", topic, rd_kafka_err2str(err), why));
  }
  return Status::ok();
}

Result<int> KafkaEventBus::ensure_topic(const std::string& topic) {
  return ensure_topic(topic, std::chrono::steady_clock::now() + impl_->config.kafka.join_timeout);
}

Result<int> KafkaEventBus::ensure_topic(const std::string& topic, std::chrono::steady_clock::time_point deadline) {
  auto remaining_ms = [&] {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::clamp<int64_t>(left.count(), 1, millis(kAdminTimeout)));
  };
  {
    std::lock_guard lock(impl_->topics_mu);
    auto it = impl_->partition_counts.find(topic);
    if (it != impl_->partition_counts.end()) return it->second;
  }
  rd_kafka_t* rk = impl_->producer.get();
  if (impl_->config.kafka.topic_creation == "admin") VONTRES_RETURN_IF_ERROR(create_topic(topic, remaining_ms));
  // Partition count from metadata; a freshly created topic may take a moment to show up.
  KafkaPtr<rd_kafka_topic_t> handle(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const rd_kafka_metadata_t* raw = nullptr;
    err = rd_kafka_metadata(rk, 0, handle.get(), &raw, remaining_ms());
    KafkaPtr<const rd_kafka_metadata_t> metadata(raw);
    const auto has_leaders = [](const rd_kafka_metadata_topic_t& t) {
      for (int i = 0; i < t.partition_cnt; ++i) {
        if (t.partitions[i].leader < 0 || t.partitions[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
      }
      return t.partition_cnt > 0;
    };
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && metadata->topic_cnt == 1 && metadata->topics[0].err == 0 &&
        has_leaders(metadata->topics[0])) {
      const int count = metadata->topics[0].partition_cnt;
      // Every partition answers offset requests before the topic is used: a partition created a
      // moment ago can otherwise refuse the first fetch as out of range.
      bool ready = true;
      for (int p = 0; p < count && ready; ++p) {
        int64_t low = 0;
        int64_t high = 0;
        ready = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, remaining_ms()) ==
                RD_KAFKA_RESP_ERR_NO_ERROR;
      }
      if (!ready) {
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(100ms);
        continue;
      }
      std::lock_guard lock(impl_->topics_mu);
      impl_->partition_counts[topic] = count;
      return count;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(100ms);
  }
  return unavailable_error(fmt::format("topic {} has no metadata: {}", topic, rd_kafka_err2str(err)));
}

Result<std::string> KafkaEventBus::publish(Event event, std::chrono::milliseconds max_wait) {
  VONTRES_RETURN_IF_ERROR(prepare_for_publish(event, impl_->ids, impl_->clock));
  const auto start = std::chrono::steady_clock::now();
  const auto queue_deadline = start + max_wait;
  const auto ack_deadline = start + std::max(max_wait, impl_->config.kafka.min_publish_wait);
  VONTRES_ASSIGN_OR_RETURN(int partitions, ensure_topic(event.topic, ack_deadline));
  (void)partitions;
  const TopicMetrics metrics = impl_->topic_metrics(event.topic);

  const uint64_t waiter_id = impl_->next_waiter.fetch_add(1);
  auto waiter = std::make_shared<PublishWaiter>();
  {
    std::lock_guard lock(impl_->waiters_mu);
    impl_->waiters.emplace(waiter_id, waiter);
    impl_->waiter_topics.emplace(waiter_id, event.topic);
  }
  auto forget = [&] {
    std::lock_guard lock(impl_->waiters_mu);
    impl_->waiters.erase(waiter_id);
    impl_->waiter_topics.erase(waiter_id);
  };
  const std::string timestamp = std::to_string(event.timestamp_ms);
  bool counted_backpressure = false;
  for (;;) {
    KafkaPtr<rd_kafka_headers_t> headers(rd_kafka_headers_new(event.headers.size() + 3));
    rd_kafka_header_add(headers.get(), kTypeHeader.data(), static_cast<ssize_t>(kTypeHeader.size()), event.type.data(),
                        static_cast<ssize_t>(event.type.size()));
    rd_kafka_header_add(headers.get(), kIdHeader.data(), static_cast<ssize_t>(kIdHeader.size()), event.id.data(),
                        static_cast<ssize_t>(event.id.size()));
    rd_kafka_header_add(headers.get(), kTimestampHeader.data(), static_cast<ssize_t>(kTimestampHeader.size()),
                        timestamp.data(), static_cast<ssize_t>(timestamp.size()));
    for (const auto& [name, value] : event.headers) {
      rd_kafka_header_add(headers.get(), name.data(), static_cast<ssize_t>(name.size()), value.data(),
                          static_cast<ssize_t>(value.size()));
    }
    // rd_kafka_produceva: the array form of rd_kafka_producev (whose macros are GNU extensions).
    std::array<rd_kafka_vu_t, 7> fields{};
    fields[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    fields[0].u.cstr = event.topic.c_str();
    fields[1].vtype = RD_KAFKA_VTYPE_KEY;
    fields[1].u.mem.ptr = event.key.empty() ? nullptr : event.key.data();
    fields[1].u.mem.size = event.key.size();
    fields[2].vtype = RD_KAFKA_VTYPE_VALUE;
    fields[2].u.mem.ptr = event.payload.data();
    fields[2].u.mem.size = event.payload.size();
    fields[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    fields[3].u.i = RD_KAFKA_MSG_F_COPY;
    fields[4].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    fields[4].u.i64 = event.timestamp_ms;
    fields[5].vtype = RD_KAFKA_VTYPE_HEADERS;
    fields[5].u.headers = headers.get();
    fields[6].vtype = RD_KAFKA_VTYPE_OPAQUE;
    fields[6].u.ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(waiter_id));  // NOLINT(performance-no-int-to-ptr)
    rd_kafka_error_t* produce_error = rd_kafka_produceva(impl_->producer.get(), fields.data(), fields.size());
    const rd_kafka_resp_err_t err =
        produce_error == nullptr ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_error_code(produce_error);
    if (produce_error != nullptr) rd_kafka_error_destroy(produce_error);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)headers.release();  // owned by the message now
      break;
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      forget();
      return unavailable_error(fmt::format("cannot queue an event for {}: {}", event.topic, rd_kafka_err2str(err)));
    }
    if (!counted_backpressure) {
      increment(metrics.backpressure);
      counted_backpressure = true;
    }
    if (std::chrono::steady_clock::now() >= queue_deadline) {
      forget();
      return resource_exhausted(fmt::format("the Kafka client holds {} events the brokers have not confirmed",
                                            impl_->config.capacity_per_topic),
                                "bus_full");
    }
    std::this_thread::sleep_for(2ms);
  }

  std::unique_lock lock(waiter->mu);
  if (!waiter->cv.wait_until(lock, ack_deadline, [&] { return waiter->done; })) {
    lock.unlock();
    forget();
    return unavailable_error(
        fmt::format("the Kafka brokers did not confirm an event for {} within {} ms; it may still be delivered",
                    event.topic, std::chrono::duration_cast<std::chrono::milliseconds>(ack_deadline - start).count()));
  }
  const rd_kafka_resp_err_t err = waiter->error;
  lock.unlock();
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    increment(metrics.publish_failed);
    if (retriable_publish_error(err)) {
      return unavailable_error(fmt::format("publishing to {} failed: {}", event.topic, rd_kafka_err2str(err)));
    }
    return internal_error(fmt::format("publishing to {} failed: {}", event.topic, rd_kafka_err2str(err)),
                          "bus_publish_failed");
  }
  increment(metrics.published);
  return std::move(event.id);
}

Result<std::unique_ptr<Consumer>> KafkaEventBus::subscribe(const std::vector<std::string>& topics,
                                                           const std::string& group, const ConsumerOptions& options) {
  if (topics.empty()) return invalid_argument("subscribe needs at least one topic", "topics_empty");
  if (group.empty()) return invalid_argument("subscribe needs a consumer group", "group_invalid");
  std::map<std::string, int> counts;
  const auto join_deadline = std::chrono::steady_clock::now() + impl_->config.kafka.join_timeout;
  for (const std::string& name : topics) {
    if (name.empty()) return invalid_argument("topic name is empty", "topic_invalid");
    VONTRES_ASSIGN_OR_RETURN(counts[name], ensure_topic(name, join_deadline));
  }
  auto consumer = std::make_unique<KafkaConsumer>(*impl_, std::move(counts), group, options);
  VONTRES_RETURN_IF_ERROR(consumer->start());
  return std::unique_ptr<Consumer>(std::move(consumer));
}

Status KafkaEventBus::ping() {
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(impl_->producer.get(), 0, nullptr, &raw, 2'000);
  KafkaPtr<const rd_kafka_metadata_t> metadata(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return unavailable_error(fmt::format("Kafka metadata request failed: {}", rd_kafka_err2str(err)));
  }
  if (metadata->broker_cnt == 0) return unavailable_error("the Kafka cluster reports no brokers");
  return Status::ok();
}

}  // namespace vontres::bus
