// KafkaEventBus: the EventBus contract on librdkafka's mock cluster and on a real Apache Kafka
// broker (KRaft, started once for this binary by tests/support/kafka_broker.h), plus fault tests:
// brokers down and up, injected produce errors and partition leader moves on the mock cluster, and
// the real broker killed and restarted while events flow. A broker that cannot be fetched or run
// is a failure, not a skip.
#include "bus/kafka_bus.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "bus/event_bus_contract.h"
#include "bus/in_process_bus.h"
#include "support/kafka_broker.h"
#include "support/peers.h"
#include "support/subprocess.h"

namespace vontres::bus {
namespace {

using namespace std::chrono_literals;
namespace support = vontres::testing;
using testing::EventBusBackend;
using testing::EventBusContract;

constexpr int16_t kProduceApiKey = 0;  // Kafka protocol ApiKey of Produce (librdkafka's private kProduceApiKey)

// An in-process librdkafka mock cluster: the Kafka protocol on loopback, in memory.
class MockCluster {
 public:
  explicit MockCluster(int brokers) {
    std::array<char, 256> error{};
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", error.data(), error.size());
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error.data(), error.size());
    if (handle_ != nullptr) cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
  }
  ~MockCluster() {
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (handle_ != nullptr) rd_kafka_destroy(handle_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  bool ok() const { return cluster_ != nullptr; }
  std::string bootstrap() const {
    return cluster_ == nullptr ? "127.0.0.1:1" : rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  rd_kafka_mock_cluster_t* get() const { return cluster_; }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// The servers this binary shares: started on first use, stopped (by PID) after the last test.
struct SharedServers {
  std::mutex mu;
  std::unique_ptr<MockCluster> mock;
  std::unique_ptr<support::KafkaBroker> broker;
  std::string broker_error;
  bool broker_tried = false;
};

SharedServers& shared() {
  static SharedServers servers;
  return servers;
}

std::string mock_bootstrap() {
  std::lock_guard lock(shared().mu);
  if (!shared().mock) shared().mock = std::make_unique<MockCluster>(3);
  EXPECT_TRUE(shared().mock->ok()) << "rd_kafka_mock_cluster_new failed";
  return shared().mock->bootstrap();
}

support::KafkaBroker* real_broker() {
  std::lock_guard lock(shared().mu);
  if (!shared().broker_tried) {
    shared().broker_tried = true;
    shared().broker = support::KafkaBroker::start({}, shared().broker_error);
  }
  if (!shared().broker) ADD_FAILURE() << "the real Kafka broker is not running: " << shared().broker_error;
  return shared().broker.get();
}

std::string broker_bootstrap() {
  support::KafkaBroker* broker = real_broker();
  return broker == nullptr ? "127.0.0.1:1" : broker->bootstrap();
}

class StopSharedServers : public ::testing::Environment {
 public:
  void TearDown() override {
    std::lock_guard lock(shared().mu);
    shared().broker.reset();
    shared().mock.reset();
  }
};
// GoogleTest takes ownership of environments.
::testing::Environment* const kStopServers =
    ::testing::AddGlobalTestEnvironment(new StopSharedServers);  // NOLINT(cppcoreguidelines-owning-memory)

// replication_factor 0: the mock cluster, whose topics the brokers auto-create (no CreateTopics).
BusConfig kafka_config(const BusConfig& base, const std::string& bootstrap, int replication_factor) {
  BusConfig config = base;
  config.backend = "kafka";
  config.kafka.bootstrap_servers = bootstrap;
  config.kafka.partitions = base.partitions;
  config.kafka.replication_factor = std::max(1, replication_factor);
  config.kafka.topic_creation = replication_factor == 0 ? "broker" : "admin";
  // Fast group membership for tests. The mock cluster waits session.timeout.ms - 1 s for members to
  // rejoin after a membership change and 3 s on a group's first join (the session must outlast
  // that); the test broker allows sessions down to 1 s.
  const bool mock = replication_factor == 0;
  config.kafka.client_properties = {{"session.timeout.ms", mock ? "4000" : "2000"},
                                    {"heartbeat.interval.ms", mock ? "300" : "200"}};
  config.kafka.min_publish_wait = 15s;
  config.kafka.join_timeout = 30s;
  config.kafka.commit_interval = 10ms;
  return config;
}

std::unique_ptr<EventBus> make_bus(const BusConfig& config, const Clock& clock,
                                   prometheus::Registry* metrics = nullptr) {
  auto bus = KafkaEventBus::create(config, clock, metrics);
  if (!bus) {
    ADD_FAILURE() << "KafkaEventBus::create: " << bus.status().to_string();
    return std::make_unique<InProcessEventBus>(config, clock);  // keeps the failing test from crashing
  }
  return std::move(bus).value();
}

EventBusBackend kafka_backend(std::string name, std::string (*bootstrap)(), int replication_factor) {
  EventBusBackend backend;
  backend.name = std::move(name);
  backend.make = [bootstrap, replication_factor](const BusConfig& config, const Clock& clock) {
    return make_bus(kafka_config(config, bootstrap(), replication_factor), clock);
  };
  backend.quiet_period = 500ms;
  backend.arrival_timeout = 20s;
  backend.random_steps = 300;
  backend.random_seeds = 1;
  backend.bounds_unacknowledged = false;
  backend.membership_settle = replication_factor == 0 ? 500ms : 0ms;
  return backend;
}

INSTANTIATE_TEST_SUITE_P(Kafka, EventBusContract,
                         ::testing::Values(kafka_backend("Mock", &mock_bootstrap, 0),
                                           kafka_backend("Broker", &broker_bootstrap, 1)),
                         [](const ::testing::TestParamInfo<EventBusBackend>& info) { return info.param.name; });

// --- Kafka-specific behaviour ---------------------------------------------------------------

Event event(const std::string& topic, const std::string& key, const std::string& payload) {
  Event e;
  e.topic = topic;
  e.key = key;
  e.type = "test.event";
  e.payload = payload;
  return e;
}

BusConfig base_config() {
  BusConfig config;
  config.partitions = 4;
  config.capacity_per_topic = 1'000;
  config.ack_timeout = 30s;
  return config;
}

std::vector<Delivery> poll_batch(Consumer& consumer, size_t max_events, std::chrono::milliseconds timeout) {
  auto batch = consumer.poll(max_events, timeout);
  EXPECT_TRUE(batch.is_ok()) << batch.status().to_string();
  return batch.is_ok() ? std::move(batch).value() : std::vector<Delivery>{};
}

// Polls `consumer` and acknowledges everything until `want` ids are seen or `timeout` passes.
void drain_into(Consumer& consumer, std::set<std::string>& seen, size_t want, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (seen.size() < want && std::chrono::steady_clock::now() < deadline) {
    auto batch = consumer.poll(100, 50ms);
    ASSERT_TRUE(batch.is_ok()) << batch.status().to_string();
    for (const auto& d : *batch) {
      seen.insert(d.event.id);
      EXPECT_TRUE(consumer.ack(d).is_ok());
    }
  }
}

TEST(KafkaEventBusConfig, ARejectedClientPropertyIsNamedInTheError) {
  ManualClock clock;
  BusConfig config = kafka_config(base_config(), "127.0.0.1:1", 1);
  config.kafka.client_properties["no.such.property"] = "1";
  auto bus = KafkaEventBus::create(config, clock);
  ASSERT_FALSE(bus.is_ok());
  EXPECT_EQ(bus.status().code(), "config_invalid");
  EXPECT_NE(bus.status().message().find("no.such.property"), std::string::npos) << bus.status().message();
}

TEST(KafkaEventBusConfig, AnUnreadableSecretFileIsNamedInTheError) {
  ManualClock clock;
  BusConfig config = kafka_config(base_config(), "127.0.0.1:1", 1);
  config.kafka.secret_files["sasl.password"] = "/nonexistent/vontres-kafka-password";
  auto bus = KafkaEventBus::create(config, clock);
  ASSERT_FALSE(bus.is_ok());
  EXPECT_EQ(bus.status().code(), "config_invalid");
  EXPECT_NE(bus.status().message().find("bus.kafka.secret_files.sasl.password"), std::string::npos);
}

TEST(KafkaEventBusConfig, SecurityPropertiesAndSecretFilesArePassedToLibrdkafka) {
  ManualClock clock;
  support::TempDir dir;
  const std::string password_file = dir.path() + "/password";
  std::ofstream(password_file) << "s3cret\n";
  BusConfig config = kafka_config(base_config(), "127.0.0.1:1", 1);
  config.kafka.client_properties["security.protocol"] = "SASL_PLAINTEXT";
  config.kafka.client_properties["sasl.mechanism"] = "SCRAM-SHA-256";
  config.kafka.client_properties["sasl.username"] = "vontres";
  config.kafka.secret_files["sasl.password"] = password_file;
  EXPECT_TRUE(KafkaEventBus::create(config, clock).is_ok());
  config.kafka.client_properties["security.protocol"] = "NOT_A_PROTOCOL";
  auto bad = KafkaEventBus::create(config, clock);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("security.protocol"), std::string::npos);
}

TEST(KafkaEventBusUnreachable, PingAndPublishReportBusUnavailableWhenNoBrokerAnswers) {
  ManualClock clock;
  BusConfig config = kafka_config(base_config(), "127.0.0.1:" + std::to_string(support::free_port()), 1);
  config.kafka.min_publish_wait = 500ms;
  auto bus = make_bus(config, clock);
  EXPECT_EQ(bus->ping().code(), "bus_unavailable");
  auto published = bus->publish(event("kafka.unreachable", "k", "{}"), 0ms);
  ASSERT_FALSE(published.is_ok());
  EXPECT_EQ(published.status().code(), "bus_unavailable");
  EXPECT_EQ(published.status().kind(), ErrorKind::kUnavailable);
}

TEST(KafkaEventBusMetrics, PublishedDeliveredAndRedeliveredAreCounted) {
  ManualClock clock;
  prometheus::Registry registry;
  auto bus = make_bus(kafka_config(base_config(), mock_bootstrap(), 0), clock, &registry);
  const std::string topic = "kafka.metrics";
  auto consumer = bus->subscribe({topic}, "metrics");
  ASSERT_TRUE(consumer.is_ok()) << consumer.status().to_string();
  ASSERT_TRUE(bus->publish(event(topic, "k", "0"), 0ms).is_ok());
  std::vector<Delivery> got;
  for (int i = 0; i < 200 && got.empty(); ++i) got = poll_batch(**consumer, 10, 100ms);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE((*consumer)->nack(got[0]).is_ok());
  auto again = poll_batch(**consumer, 10, 1s);
  ASSERT_EQ(again.size(), 1u);
  ASSERT_TRUE((*consumer)->ack(again[0]).is_ok());
  auto value = [&](const std::string& name) {
    for (const auto& family : registry.Collect()) {
      if (family.name != name) continue;
      for (const auto& metric : family.metric) {
        for (const auto& label : metric.label) {
          if (label.value == topic) return metric.counter.value;
        }
      }
    }
    return -1.0;
  };
  EXPECT_EQ(value("vontres_bus_published_total"), 1);
  EXPECT_EQ(value("vontres_bus_delivered_total"), 2);
  EXPECT_EQ(value("vontres_bus_redelivered_total"), 1);
}

// --- Faults on the mock cluster (each test has its own cluster of three brokers) ------------------

class KafkaMockFaults : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.ok()); }

  std::unique_ptr<EventBus> bus(std::chrono::milliseconds min_publish_wait = 15s, uint64_t capacity = 1'000) {
    BusConfig config = kafka_config(base_config(), cluster_.bootstrap(), 0);
    config.kafka.min_publish_wait = min_publish_wait;
    config.capacity_per_topic = capacity;
    return make_bus(config, clock_);
  }

  ManualClock clock_;
  MockCluster cluster_{3};
};

// Publishes `count` events in a thread while `fault` runs; returns the ids publish() confirmed.
std::set<std::string> publish_during(EventBus& bus, const std::string& topic, int count,
                                     const std::function<void()>& fault, int* unavailable = nullptr) {
  std::set<std::string> confirmed;
  std::atomic<int> published{0};
  std::thread publisher([&] {
    for (int i = 0; i < count; ++i) {
      auto id = bus.publish(event(topic, "call-" + std::to_string(i % 16), std::to_string(i)), 20s);
      if (id.is_ok()) {
        confirmed.insert(*id);
      } else if (unavailable != nullptr) {
        ++*unavailable;
      }
      published = i + 1;
    }
  });
  for (int i = 0; i < 500 && published.load() < count / 4; ++i) std::this_thread::sleep_for(10ms);
  fault();
  publisher.join();
  return confirmed;
}

TEST_F(KafkaMockFaults, ABrokerDownAndUpWhileEventsFlowLosesNoAcknowledgedEvent) {
  auto b = bus();
  const std::string topic = "faults.broker-down";
  auto consumer = b->subscribe({topic}, "g");
  ASSERT_TRUE(consumer.is_ok()) << consumer.status().to_string();
  std::set<std::string> seen;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) drain_into(**consumer, seen, SIZE_MAX, 100ms);
  });
  auto confirmed = publish_during(*b, topic, 400, [&] {
    ASSERT_EQ(rd_kafka_mock_broker_set_down(cluster_.get(), 2), RD_KAFKA_RESP_ERR_NO_ERROR);
    std::this_thread::sleep_for(1500ms);
    ASSERT_EQ(rd_kafka_mock_broker_set_up(cluster_.get(), 2), RD_KAFKA_RESP_ERR_NO_ERROR);
  });
  EXPECT_EQ(confirmed.size(), 400u) << "publish() waits out a short outage";
  for (int i = 0; i < 400 && !std::includes(seen.begin(), seen.end(), confirmed.begin(), confirmed.end()); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  done = true;
  reader.join();
  for (const auto& id : confirmed) EXPECT_EQ(seen.count(id), 1u) << "confirmed event " << id << " never arrived";
}

TEST_F(KafkaMockFaults, InjectedProduceErrorsAreRetriedWithoutLossOrDuplicates) {
  auto b = bus();
  const std::string topic = "faults.produce-errors";
  auto consumer = b->subscribe({topic}, "g");
  ASSERT_TRUE(consumer.is_ok()) << consumer.status().to_string();
  rd_kafka_mock_push_request_errors(cluster_.get(), kProduceApiKey, 4, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  std::set<std::string> confirmed;
  for (int i = 0; i < 20; ++i) {
    auto id = b->publish(event(topic, "call-1", std::to_string(i)), 20s);
    ASSERT_TRUE(id.is_ok()) << id.status().to_string();
    confirmed.insert(*id);
  }
  std::vector<std::string> order;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (order.size() < 20 && std::chrono::steady_clock::now() < deadline) {
    for (const auto& d : poll_batch(**consumer, 100, 50ms)) {
      order.push_back(d.event.payload);
      ASSERT_TRUE((*consumer)->ack(d).is_ok());
    }
  }
  for (const auto& d : poll_batch(**consumer, 100, 500ms)) order.push_back(d.event.payload);
  ASSERT_EQ(order.size(), 20u) << "lost or duplicated events";
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order[i], std::to_string(i)) << "per-key order broken by retries";
}

TEST_F(KafkaMockFaults, PersistentProduceErrorsGiveBusUnavailableAfterTheWait) {
  auto b = bus(/*min_publish_wait=*/800ms);
  const std::string topic = "faults.produce-down";
  ASSERT_TRUE(b->publish(event(topic, "k", "first"), 0ms).is_ok());  // creates the topic
  std::vector<rd_kafka_resp_err_t> errors(300, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  rd_kafka_mock_push_request_errors_array(cluster_.get(), kProduceApiKey, errors.size(), errors.data());
  const auto start = std::chrono::steady_clock::now();
  auto result = b->publish(event(topic, "k", "second"), 0ms);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), "bus_unavailable");
  EXPECT_GE(waited, 800ms) << "gave up before bus.kafka.min_publish_wait";
}

TEST_F(KafkaMockFaults, AFullLocalQueueGivesBusFull) {
  auto b = bus(/*min_publish_wait=*/300ms, /*capacity=*/2);
  const std::string topic = "faults.queue-full";
  ASSERT_TRUE(b->publish(event(topic, "k", "0"), 0ms).is_ok());
  for (int broker = 1; broker <= 3; ++broker) rd_kafka_mock_broker_set_down(cluster_.get(), broker);
  EXPECT_EQ(b->publish(event(topic, "k", "1"), 0ms).status().code(), "bus_unavailable");
  EXPECT_EQ(b->publish(event(topic, "k", "2"), 0ms).status().code(), "bus_unavailable");
  auto full = b->publish(event(topic, "k", "3"), 0ms);
  EXPECT_EQ(full.status().code(), "bus_full");
  EXPECT_EQ(full.status().kind(), ErrorKind::kResourceExhausted);
  for (int broker = 1; broker <= 3; ++broker) rd_kafka_mock_broker_set_up(cluster_.get(), broker);
}

TEST_F(KafkaMockFaults, PartitionLeadersMovingWhileEventsFlowLoseNothing) {
  auto b = bus();
  const std::string topic = "faults.leader-moves";
  auto consumer = b->subscribe({topic}, "g");
  ASSERT_TRUE(consumer.is_ok()) << consumer.status().to_string();
  std::set<std::string> seen;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) drain_into(**consumer, seen, SIZE_MAX, 100ms);
  });
  auto confirmed = publish_during(*b, topic, 400, [&] {
    for (int round = 0; round < 3; ++round) {
      for (int p = 0; p < 4; ++p) {
        rd_kafka_mock_partition_set_leader(cluster_.get(), topic.c_str(), p, 1 + (p + round + 1) % 3);
      }
      std::this_thread::sleep_for(200ms);
    }
  });
  EXPECT_EQ(confirmed.size(), 400u);
  for (int i = 0; i < 400 && !std::includes(seen.begin(), seen.end(), confirmed.begin(), confirmed.end()); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  done = true;
  reader.join();
  for (const auto& id : confirmed) EXPECT_EQ(seen.count(id), 1u) << "confirmed event " << id << " never arrived";
}

// --- Faults on the real broker -----------------------------------------------------------------

TEST(KafkaRealBroker, KilledAndRestartedWhileEventsFlowLosesNoAcknowledgedEventAndSettles) {
  support::KafkaBroker* broker = real_broker();
  ASSERT_NE(broker, nullptr);
  ManualClock clock;
  auto b = make_bus(kafka_config(base_config(), broker->bootstrap(), 1), clock);
  const std::string topic = "broker.restart";
  auto first = b->subscribe({topic}, "g");
  auto second = b->subscribe({topic}, "g");
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  std::mutex seen_mu;
  std::set<std::string> seen;
  std::atomic<bool> done{false};
  auto reader = [&](Consumer& consumer) {
    while (!done) {
      auto batch = consumer.poll(100, 50ms);
      ASSERT_TRUE(batch.is_ok());
      for (const auto& d : *batch) {
        const Status status = consumer.ack(d);
        EXPECT_TRUE(status.is_ok() || status.code() == "delivery_revoked") << status.to_string();
        std::lock_guard lock(seen_mu);
        seen.insert(d.event.id);
      }
    }
  };
  std::thread reader_a([&] { reader(**first); });
  std::thread reader_b([&] { reader(**second); });
  int unavailable = 0;
  auto confirmed = publish_during(
      *b, topic, 300,
      [&] {
        broker->kill();
        std::this_thread::sleep_for(1s);
        std::string error;
        ASSERT_TRUE(broker->restart(error)) << error;
      },
      &unavailable);
  EXPECT_GT(confirmed.size(), 200u) << unavailable << " publishes gave bus_unavailable";
  auto all_seen = [&] {
    std::lock_guard lock(seen_mu);
    return std::includes(seen.begin(), seen.end(), confirmed.begin(), confirmed.end());
  };
  for (int i = 0; i < 600 && !all_seen(); ++i) std::this_thread::sleep_for(50ms);
  done = true;
  reader_a.join();
  reader_b.join();
  {
    std::lock_guard lock(seen_mu);
    for (const auto& id : confirmed) EXPECT_EQ(seen.count(id), 1u) << "confirmed event " << id << " never arrived";
  }

  // Settled: new events go to exactly one of the two members, none to both.
  std::set<std::string> ids_a;
  std::set<std::string> ids_b;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(b->publish(event(topic, "call-" + std::to_string(i), "after"), 20s).is_ok());
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (ids_a.size() + ids_b.size() < 40 && std::chrono::steady_clock::now() < deadline) {
    for (const auto& d : poll_batch(**first, 100, 50ms)) ids_a.insert(d.event.id);
    for (const auto& d : poll_batch(**second, 100, 50ms)) ids_b.insert(d.event.id);
  }
  EXPECT_EQ(ids_a.size() + ids_b.size(), 40u);
  for (const auto& id : ids_a) EXPECT_EQ(ids_b.count(id), 0u) << "event " << id << " handed to both members";
  ASSERT_TRUE(b->ping().is_ok());
}

}  // namespace
}  // namespace vontres::bus

namespace vontres::bus {
namespace {

// TLS: a second broker with an SSL listener whose certificate a CA made by the test signed.
TEST(KafkaRealBrokerTls, PublishesAndConsumesOverTlsAndRefusesAnUntrustedBroker) {
  std::string error;
  auto broker = support::KafkaBroker::start({.ssl = true}, error);
  ASSERT_NE(broker, nullptr) << error;
  ManualClock clock;
  BusConfig config = kafka_config(base_config(), broker->ssl_bootstrap(), 1);
  config.kafka.client_properties["security.protocol"] = "SSL";
  config.kafka.client_properties["ssl.ca.location"] = broker->ca_file();
  auto bus = make_bus(config, clock);
  ASSERT_TRUE(bus->ping().is_ok());
  const std::string topic = "tls.events";
  auto consumer = bus->subscribe({topic}, "tls");
  ASSERT_TRUE(consumer.is_ok()) << consumer.status().to_string();
  ASSERT_TRUE(bus->publish(event(topic, "call-1", "secret"), 0ms).is_ok());
  std::vector<Delivery> got;
  for (int i = 0; i < 100 && got.empty(); ++i) got = poll_batch(**consumer, 10, 100ms);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event.payload, "secret");
  EXPECT_TRUE((*consumer)->ack(got[0]).is_ok());

  // Without the test CA the broker's certificate is not trusted: no connection, no silent fallback.
  BusConfig untrusted = kafka_config(base_config(), broker->ssl_bootstrap(), 1);
  untrusted.kafka.client_properties["security.protocol"] = "SSL";
  untrusted.kafka.client_properties["ssl.ca.location"] = "/etc/ssl/certs/ca-certificates.crt";
  auto refused = make_bus(untrusted, clock);
  EXPECT_EQ(refused->ping().code(), "bus_unavailable");
}

}  // namespace
}  // namespace vontres::bus
