#include "core/config.h"

#include <gtest/gtest.h>

namespace vontres {
namespace {

using namespace std::chrono_literals;

TEST(ConfigTest, EmptyDocumentGivesTheEmbeddedDefaults) {
  auto config = parse_config("", {});
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->http.listen.to_string(), "127.0.0.1:8080");
  EXPECT_EQ(config->bus.backend, "in_process");
  EXPECT_EQ(config->cache.backend, "in_process");
  EXPECT_EQ(config->store.backend, "sqlite");
  EXPECT_EQ(config->sqlite_path(), "./data/vontres.db");
  EXPECT_EQ(config->auth.access_token_ttl, 15min);
}

TEST(ConfigTest, ReadsNestedKeysDurationsAndSizes) {
  auto config = parse_config(R"(
data_dir: /var/lib/vontres
http:
  listen: "[::1]:9090"
  max_body_bytes: 2MiB
  request_timeout: 5s
bus:
  ack_timeout: 250ms
store:
  sqlite_path: /tmp/x.db
)",
                             {});
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->http.listen.host, "::1");
  EXPECT_EQ(config->http.listen.port, 9090);
  EXPECT_EQ(config->http.listen.to_string(), "[::1]:9090");
  EXPECT_EQ(config->http.max_body_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(config->http.request_timeout, 5s);
  EXPECT_EQ(config->bus.ack_timeout, 250ms);
  EXPECT_EQ(config->sqlite_path(), "/tmp/x.db");
}

TEST(ConfigTest, ReadsRedisClusterBackendsAndSharesCacheSettingsWithState) {
  auto config = parse_config(R"(
cache:
  backend: redis_cluster
  redis:
    seeds: ["rediss://127.0.0.1:7000", "rediss://127.0.0.1:7001"]
    tls_ca_file: /etc/vontres/redis-ca.pem
    password_file: /etc/vontres/redis-password
    request_timeout: 250ms
    wait_replicas: 1
state:
  backend: redis_cluster
)",
                             {});
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->cache.backend, "redis_cluster");
  EXPECT_EQ(config->cache.redis.seeds.size(), 2u);
  EXPECT_EQ(config->cache.redis.request_timeout, 250ms);
  EXPECT_EQ(config->cache.redis.key_prefix, "vontres:cache:");
  const RedisConfig state = config->state.effective_redis(config->cache);
  EXPECT_EQ(state.seeds, config->cache.redis.seeds);
  EXPECT_EQ(state.tls_ca_file, "/etc/vontres/redis-ca.pem");
  EXPECT_EQ(state.wait_replicas, 1);
  EXPECT_EQ(state.key_prefix, "vontres:state:") << "the state keeps its own prefix";

  auto comma = parse_config("state:\n  backend: redis_cluster\n  redis:\n    seeds: a:1, b:2\n", {});
  ASSERT_TRUE(comma.is_ok()) << comma.status().to_string();
  EXPECT_EQ(comma->state.redis.seeds, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(comma->cache.backend, "in_process");
}

TEST(ConfigTest, ReadsThePostgresStoreSettings) {
  auto config = parse_config(R"(
store:
  backend: postgres
  postgres:
    url: "postgresql://vontres@db.example:5432/vontres?sslmode=verify-full&sslrootcert=/etc/vontres/ca.pem"
    password_file: /run/secrets/pg
    pool_size: 16
    connect_timeout_ms: 1500
)",
                             {{"VONTRES_STORE_POSTGRES_POOL_SIZE", "12"}});
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->store.backend, "postgres");
  EXPECT_EQ(config->store.postgres.url,
            "postgresql://vontres@db.example:5432/vontres?sslmode=verify-full&sslrootcert=/etc/vontres/ca.pem");
  EXPECT_EQ(config->store.postgres.password_file, "/run/secrets/pg");
  EXPECT_EQ(config->store.postgres.pool_size, 12) << "the environment wins";
  EXPECT_EQ(config->store.postgres.connect_timeout, 1500ms);
}

TEST(ConfigTest, ReadsTheKafkaBusSection) {
  auto config = parse_config(R"(
bus:
  backend: kafka
  kafka:
    bootstrap_servers: 127.0.0.1:9092,127.0.0.1:9093
    partitions: 8
    replication_factor: 3
    min_publish_wait: 2s
    client_properties:
      security.protocol: SASL_SSL
      sasl.mechanism: SCRAM-SHA-512
      sasl.username: vontres
      ssl.ca.location: /etc/ssl/kafka-ca.pem
    secret_files:
      sasl.password: /run/secrets/kafka-password
)",
                             {});
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->bus.backend, "kafka");
  EXPECT_EQ(config->bus.kafka.bootstrap_servers, "127.0.0.1:9092,127.0.0.1:9093");
  EXPECT_EQ(config->bus.kafka.partitions, 8);
  EXPECT_EQ(config->bus.kafka.replication_factor, 3);
  EXPECT_EQ(config->bus.kafka.min_publish_wait, 2s);
  EXPECT_EQ(config->bus.kafka.client_properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(config->bus.kafka.client_properties.at("ssl.ca.location"), "/etc/ssl/kafka-ca.pem");
  EXPECT_EQ(config->bus.kafka.secret_files.at("sasl.password"), "/run/secrets/kafka-password");
}

TEST(ConfigTest, EnvironmentOverridesTheFile) {
  Environment env = {{"VONTRES_HTTP_LISTEN", "0.0.0.0:7000"}, {"VONTRES_DATA_DIR", "/srv/v"}};
  auto config = parse_config("http:\n  listen: 127.0.0.1:1\n", env);
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->http.listen.to_string(), "0.0.0.0:7000");
  EXPECT_EQ(config->data_dir, "/srv/v");
}

TEST(ConfigTest, EnvironmentNamesFollowTheKeyPath) {
  EXPECT_EQ(config_env_name("http.listen"), "VONTRES_HTTP_LISTEN");
  EXPECT_EQ(config_env_name("data_dir"), "VONTRES_DATA_DIR");
  EXPECT_EQ(config_env_name("bus.capacity_per_topic"), "VONTRES_BUS_CAPACITY_PER_TOPIC");
}

struct BadConfigCase {
  std::string yaml;
  Environment env;
  std::string expected_in_message;
};

class BadConfigTest : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(BadConfigTest, IsRefusedWithAMessageNamingTheKey) {
  const auto& c = GetParam();
  auto config = parse_config(c.yaml, c.env);
  ASSERT_FALSE(config.is_ok());
  EXPECT_EQ(config.status().code(), "config_invalid");
  EXPECT_NE(config.status().message().find(c.expected_in_message), std::string::npos) << config.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadConfigTest,
    ::testing::Values(
        BadConfigCase{"http:\n  listn: 1.2.3.4:5\n", {}, "http.listn: unknown key"},
        BadConfigCase{"http:\n  listen: 127.0.0.1:70000\n", {}, "http.listen: port out of range"},
        BadConfigCase{"http:\n  listen: nocolon\n", {}, "http.listen: expected HOST:PORT"},
        BadConfigCase{"http:\n  max_body_bytes: lots\n", {}, "http.max_body_bytes"},
        BadConfigCase{"http:\n  request_timeout: 5 parsecs\n", {}, "http.request_timeout"},
        BadConfigCase{"http:\n  io_threads: -3\n", {}, "http.io_threads: must be 0..256"},
        BadConfigCase{"http:\n  tls_cert_file: /x.pem\n", {}, "http.tls_key_file"},
        BadConfigCase{"bus:\n  backend: carrier-pigeon\n", {}, "bus.backend: unknown backend"},
        BadConfigCase{"cache:\n  backend: redis_cluster\n", {}, "cache.redis.seeds: needs at least one"},
        BadConfigCase{"cache:\n  backend: redis_cluster\n  redis:\n    seeds: [\"127.0.0.1\"]\n",
                      {},
                      "cache.redis.seeds[0]: expected host:port"},
        BadConfigCase{"cache:\n  backend: redis_cluster\n  redis:\n    seeds: [\"rediss://a:1\", \"b:2\"]\n",
                      {},
                      "cache.redis.seeds[1]: mixes"},
        BadConfigCase{"cache:\n  backend: redis_cluster\n  redis:\n    seeds: rediss://a:1\n",
                      {},
                      "cache.redis.tls_ca_file: rediss:// seeds need a CA file"},
        BadConfigCase{"cache:\n  backend: redis_cluster\n  redis:\n    seeds: a:1\n    request_timeout: 0s\n",
                      {},
                      "cache.redis.request_timeout: must be positive"},
        BadConfigCase{"cache:\n  backend: redis_cluster\n  redis:\n    seeds: a:1\n    key_prefix: \"{x}\"\n",
                      {},
                      "cache.redis.key_prefix"},
        BadConfigCase{"cache:\n  redis:\n    seedz: a:1\n", {}, "cache.redis.seedz: unknown key"},
        BadConfigCase{"state:\n  backend: etcd\n", {}, "state.backend: unknown backend"},
        BadConfigCase{"state:\n  backend: redis_cluster\n", {}, "state.redis.seeds"},
        BadConfigCase{"state:\n  backend: redis_cluster\n  redis:\n    seeds: a:1\n    wait_replicas: 99\n",
                      {},
                      "state.redis.wait_replicas: must be 0..16"},
        BadConfigCase{"store:\n  backend: postgres\n", {}, "store.postgres.url: is required"},
        BadConfigCase{"store:\n  backend: postgres\n  postgres:\n    url: just-a-host\n", {}, "store.postgres.url"},
        BadConfigCase{"store:\n  backend: postgres\n  postgres:\n    url: postgresql://u:pw@db/v\n",
                      {},
                      "store.postgres.url: must not contain a password"},
        BadConfigCase{"store:\n  backend: postgres\n  postgres:\n    url: host=db password=pw\n",
                      {},
                      "store.postgres.url: must not contain a password"},
        BadConfigCase{"store:\n  backend: postgres\n  postgres:\n    url: host=db\n    pool_size: 0\n",
                      {},
                      "store.postgres.pool_size: must be 1..1000"},
        BadConfigCase{"store:\n  backend: postgres\n  postgres:\n    url: host=db\n    connect_timeout_ms: 0\n",
                      {},
                      "store.postgres.connect_timeout_ms"},
        BadConfigCase{"", {{"VONTRES_STORE_BACKEND", "mysql"}}, "store.backend: unknown backend"},
        BadConfigCase{"bus:\n  backend: kafka\n", {}, "bus.kafka.bootstrap_servers: must list"},
        BadConfigCase{"bus:\n  backend: kafka\n  kafka:\n    bootstrap_servers: k:9092\n    partitions: 0\n",
                      {},
                      "bus.kafka.partitions: must be 1..1024"},
        BadConfigCase{"bus:\n  backend: kafka\n  kafka:\n    bootstrap_servers: k:9092\n    replication_factor: 0\n",
                      {},
                      "bus.kafka.replication_factor: must be 1..16"},
        BadConfigCase{"bus:\n  backend: kafka\n  kafka:\n    bootstrap_servers: k:9092\n    client_properties:\n"
                      "      enable.auto.commit: 'true'\n",
                      {},
                      "bus.kafka.client_properties.enable.auto.commit: is set by the bus"},
        BadConfigCase{"bus:\n  backend: kafka\n  kafka:\n    bootstrap_servers: k:9092\n    client_properties:\n"
                      "      sasl.password: hunter2\n",
                      {},
                      "bus.kafka.client_properties.sasl.password: is a secret"},
        BadConfigCase{"bus:\n  backend: kafka\n  kafka:\n    bootstrap_servers: k:9092\n    client_properties: [a]\n",
                      {},
                      "bus.kafka.client_properties: expected a mapping"},
        BadConfigCase{"bus:\n  backend: kafka\n  kafka:\n    bootstrap_servers: k:9092\n    topic_creation: magic\n",
                      {},
                      "bus.kafka.topic_creation: must be admin or broker"},
        BadConfigCase{"log:\n  level: loud\n", {}, "log.level"},
        BadConfigCase{"http: [1, 2]\n", {}, "http: expected a section of keys"},
        BadConfigCase{"http:\n  listen: [a, b]\n", {}, "http.listen: expected a single value"},
        BadConfigCase{"- just\n- a list\n", {}, "<root>: expected a mapping"},
        BadConfigCase{"http:\n  listen: [unclosed\n", {}, "YAML syntax error at line"},
        BadConfigCase{"", {{"VONTRES_HTTP_LISTN", "x"}}, "VONTRES_HTTP_LISTN: unknown environment variable"},
        BadConfigCase{"", {{"VONTRES_BUS_PARTITIONS", "zero"}}, "VONTRES_BUS_PARTITIONS: expected an integer"},
        BadConfigCase{"auth:\n  jwt_algorithm: RS256\n", {}, "auth.jwt_private_key_file"},
        BadConfigCase{"auth:\n  password_min_length: 4\n", {}, "auth.password_min_length"},
        BadConfigCase{"routing:\n  intent_rules: billing\n", {}, "routing.intent_rules: expected a list"},
        BadConfigCase{"routing:\n  intent_rules: [billing]\n", {}, "routing.intent_rules[0]: expected a mapping"},
        BadConfigCase{"routing:\n  intent_rules:\n    - {intent: a, queue: q}\n    - {intent: b, queue: q}\n"
                      "    - {intent: c, queue: ''}\n",
                      {},
                      "routing.intent_rules[2].queue: must not be empty"},
        BadConfigCase{
            "routing:\n  intent_rules:\n    - {queue: q}\n", {}, "routing.intent_rules[0].intent: must not be empty"},
        BadConfigCase{"routing:\n  intent_rules:\n    - {intent: a, queue: q}\n    - {intent: a, queue: r}\n",
                      {},
                      "routing.intent_rules[1].intent: 'a' is already routed by routing.intent_rules[0]"},
        BadConfigCase{"routing:\n  intent_rules:\n    - {intent: a, colour: red}\n",
                      {},
                      "routing.intent_rules[0].colour: unknown key"},
        BadConfigCase{"routing:\n  intent_rules:\n    - {intent: a}\n", {}, "routing.intent_rules[0]: sets none of"},
        BadConfigCase{"routing:\n  intent_rules:\n    - {intent: a, skills: [{skill: x, min_proficiency: 11}]}\n",
                      {},
                      "routing.intent_rules[0].skills[0].min_proficiency: must be 1..10"},
        BadConfigCase{"routing:\n  intent_rules:\n    - {intent: a, skills: [[x]]}\n",
                      {},
                      "routing.intent_rules[0].skills[0]: expected a skill name"},
        BadConfigCase{"routing:\n  intent_rules:\n    - {intent: a, priority_boost: high}\n",
                      {},
                      "routing.intent_rules[0].priority_boost: expected an integer"},
        BadConfigCase{"routing:\n  tier_boost: [vip]\n", {}, "routing.tier_boost: expected a mapping"},
        BadConfigCase{"routing:\n  tier_boost: {vip: 500}\n", {}, "routing.tier_boost.vip: must be -100..100"},
        BadConfigCase{"routing:\n  negative_sentiment_threshold: -2\n", {}, "routing.negative_sentiment_threshold"},
        BadConfigCase{"routing:\n  negative_sentiment_threshold: bad\n",
                      {},
                      "routing.negative_sentiment_threshold: expected a number"},
        BadConfigCase{"routing:\n  offer_timeout: 0s\n", {}, "routing.offer_timeout: must be positive"},
        BadConfigCase{
            "routing:\n  explain_decisions: maybe\n", {}, "routing.explain_decisions: expected true or false"},
        BadConfigCase{"routing:\n  tick_resolution: 5s\n", {}, "routing.tick_resolution: must be 1ms..1s"},
        BadConfigCase{"routing:\n  queues: []\n", {}, "routing.queues: unknown key"},
        BadConfigCase{"telephony:\n  sip_udp: nowhere\n", {}, "telephony.sip_udp"},
        BadConfigCase{
            "telephony:\n  sip_tls: 127.0.0.1:5061\n", {}, "telephony.sip_tls: needs telephony.tls_cert_file"},
        BadConfigCase{"telephony:\n  sip_udp: ''\n  sip_tcp: ''\n", {}, "at least one SIP transport"},
        BadConfigCase{"telephony:\n  rtp_port_min: 30000\n  rtp_port_max: 30001\n", {}, "telephony.rtp_port_min"},
        BadConfigCase{"telephony:\n  rtp_inactivity_timeout: 10ms\n", {}, "telephony.rtp_inactivity_timeout"},
        BadConfigCase{"telephony:\n  sip_t1: 5s\n", {}, "telephony.sip_t1: must be 10ms..sip_t2"},
        BadConfigCase{"telephony:\n  ivr_options: sales\n", {}, "telephony.ivr_options: expected a list"},
        BadConfigCase{"telephony:\n  ivr_options:\n    - {digit: '1'}\n", {}, "telephony.ivr_options[0].queue"},
        BadConfigCase{
            "telephony:\n  ivr_options:\n    - {digit: '12', queue: q}\n", {}, "ivr_options[0].digit: must be one"},
        BadConfigCase{"telephony:\n  ivr_options:\n    - {digit: '1', queue: q}\n    - {digit: '1', queue: r}\n",
                      {},
                      "telephony.ivr_options[1].digit: is used by another option"},
        BadConfigCase{"telephony:\n  ivr_options:\n    - {queue: q}\n", {}, "needs a digit, phrases, or both"},
        BadConfigCase{"telephony:\n  ivr_options:\n    - {queue: q, digit: '1', colour: red}\n",
                      {},
                      "telephony.ivr_options[0].colour: unknown key"},
        BadConfigCase{"telephony:\n  numbers: [1]\n", {}, "telephony.numbers: expected a mapping"},
        BadConfigCase{"telephony:\n  sip_trusted_sources: [10.0.0.0/33]\n", {}, "telephony.sip_trusted_sources[0]"},
        BadConfigCase{"telephony:\n  sip_trusted_sources: [trunk.example]\n", {}, "telephony.sip_trusted_sources[0]"},
        BadConfigCase{"telephony:\n  register_lockout_base: 10m\n  register_lockout_max: 1m\n",
                      {},
                      "telephony.register_lockout_max"},
        BadConfigCase{"telephony:\n  sip_tcp_idle_timeout: 10ms\n", {}, "telephony.sip_tcp_idle_timeout"},
        BadConfigCase{"telephony:\n  sip_tcp_max_connections_per_source: 0\n",
                      {},
                      "telephony.sip_tcp_max_connections_per_source"}));

TEST(ConfigTest, TelephonyAbuseLimitsHaveSafeDefaultsAndAreConfigurable) {
  auto defaults = parse_config("", {});
  ASSERT_TRUE(defaults.is_ok()) << defaults.status().to_string();
  EXPECT_TRUE(defaults->telephony.sip_trusted_sources.empty());
  EXPECT_EQ(defaults->telephony.register_max_failures_per_account, 5);
  EXPECT_EQ(defaults->telephony.max_calls_per_source, 100U);
  EXPECT_EQ(defaults->telephony.rtp_send_without_receive, std::chrono::milliseconds(5'000));
  auto config = parse_config(
      "telephony:\n  sip_trusted_sources: [203.0.113.0/24, '::1']\n  register_max_failures_per_source: 7\n"
      "  register_lockout_base: 30s\n  max_calls_per_source: 4\n  invites_per_second_per_source: 2\n"
      "  rtp_send_without_receive: 2s\n  sip_tcp_idle_timeout: 90s\n  sip_tcp_max_connections_per_source: 8\n",
      {{"VONTRES_TELEPHONY_SIP_TCP_MAX_CONNECTIONS", "100"}});
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  const auto& t = config->telephony;
  EXPECT_EQ(t.sip_trusted_sources, (std::vector<std::string>{"203.0.113.0/24", "::1"}));
  EXPECT_EQ(t.register_max_failures_per_source, 7);
  EXPECT_EQ(t.register_lockout_base, std::chrono::milliseconds(30'000));
  EXPECT_EQ(t.max_calls_per_source, 4U);
  EXPECT_EQ(t.invites_per_second_per_source, 2U);
  EXPECT_EQ(t.rtp_send_without_receive, std::chrono::milliseconds(2'000));
  EXPECT_EQ(t.sip_tcp_idle_timeout, std::chrono::milliseconds(90'000));
  EXPECT_EQ(t.sip_tcp_max_connections_per_source, 8U);
  EXPECT_EQ(t.sip_tcp_max_connections, 100U);
}

TEST(ConfigTest, TelephonySectionReadsTransportsIvrAndNumbers) {
  auto config = parse_config(
      "telephony:\n  sip_udp: 127.0.0.1:5070\n  sip_tcp: ''\n  rtp_port_min: 30000\n  rtp_port_max: 30100\n"
      "  ivr_options:\n    - {digit: '1', queue: sales, phrases: [sales, buy something]}\n"
      "    - {phrases: support, queue: support, intent: technical_support}\n"
      "  numbers: {'+15550100': vip}\n",
      {{"VONTRES_TELEPHONY_MAX_CALLS", "7"}});
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  const auto& t = config->telephony;
  EXPECT_EQ(t.sip_udp, "127.0.0.1:5070");
  EXPECT_TRUE(t.sip_tcp.empty());
  EXPECT_EQ(t.rtp_port_min, 30000U);
  EXPECT_EQ(t.max_calls, 7U);
  ASSERT_EQ(t.ivr_options.size(), 2U);
  EXPECT_EQ(t.ivr_options[0].digit, "1");
  EXPECT_EQ(t.ivr_options[0].phrases, (std::vector<std::string>{"sales", "buy something"}));
  EXPECT_EQ(t.ivr_options[1].phrases, (std::vector<std::string>{"support"}));
  EXPECT_EQ(t.ivr_options[1].intent, "technical_support");
  EXPECT_EQ(t.numbers.at("+15550100"), "vip");
}

TEST(ConfigTest, RoutingSectionReadsRulesTiersAndEngineOptions) {
  auto config = parse_config(R"(
routing:
  intent_rules:
    - intent: billing_dispute
      queue: billing
      skills: [billing, {skill: disputes, min_proficiency: 5}]
    - intent: cancel
      skills: [retention]
      priority_boost: 3
  default_queue: general
  negative_sentiment_threshold: -0.75
  negative_sentiment_boost: 8
  tier_boost: {vip: 12, gold: 4}
  language_skill_prefix: "language:"
  offer_timeout: 20s
  reoffer_delay: 2s
  max_missed_offers: 2
  wrap_up: 30s
  explain_decisions: false
  explained_candidates: 4
  tick_resolution: 25ms
)",
                             {{"VONTRES_ROUTING_OFFER_TIMEOUT", "12s"}});
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  const RoutingConfig& r = config->routing;
  ASSERT_EQ(r.intent_rules.size(), 2u);
  EXPECT_EQ(r.intent_rules[0].intent, "billing_dispute");
  EXPECT_EQ(r.intent_rules[0].queue, "billing");
  ASSERT_EQ(r.intent_rules[0].skills.size(), 2u);
  EXPECT_EQ(r.intent_rules[0].skills[0].skill, "billing");
  EXPECT_EQ(r.intent_rules[0].skills[0].min_proficiency, 1);
  EXPECT_EQ(r.intent_rules[0].skills[1].skill, "disputes");
  EXPECT_EQ(r.intent_rules[0].skills[1].min_proficiency, 5);
  EXPECT_FALSE(r.intent_rules[1].queue.has_value());
  EXPECT_EQ(r.intent_rules[1].priority_boost, 3);
  EXPECT_EQ(r.default_queue, "general");
  EXPECT_DOUBLE_EQ(r.negative_sentiment_threshold, -0.75);
  EXPECT_EQ(r.negative_sentiment_boost, 8);
  EXPECT_EQ(r.tier_boost, (std::map<std::string, int>{{"gold", 4}, {"vip", 12}}));
  EXPECT_EQ(r.language_skill_prefix, "language:");
  EXPECT_EQ(r.offer_timeout, 12s);  // the environment wins over the file
  EXPECT_EQ(r.reoffer_delay, 2s);
  EXPECT_EQ(r.max_missed_offers, 2);
  EXPECT_EQ(r.wrap_up, 30s);
  EXPECT_FALSE(r.explain_decisions);
  EXPECT_EQ(r.explained_candidates, 4u);
  EXPECT_EQ(r.tick_resolution, 25ms);
}

TEST(ConfigTest, RoutingDefaultsBoostVipAndVeryNegativeSentiment) {
  auto config = parse_config("", {});
  ASSERT_TRUE(config.is_ok());
  EXPECT_TRUE(config->routing.intent_rules.empty());
  EXPECT_EQ(config->routing.tier_boost.at("vip"), 10);
  EXPECT_DOUBLE_EQ(config->routing.negative_sentiment_threshold, -0.6);
  EXPECT_EQ(config->routing.negative_sentiment_boost, 5);
  EXPECT_EQ(config->routing.language_skill_prefix, "lang:");
  EXPECT_TRUE(config->routing.explain_decisions);
}

TEST(ConfigTest, ListKeysCannotBeSetFromTheEnvironmentOrFlags) {
  auto config = parse_config("", {{"VONTRES_ROUTING_INTENT_RULES", "billing"}});
  ASSERT_FALSE(config.is_ok());
  EXPECT_NE(config.status().message().find("VONTRES_ROUTING_INTENT_RULES: cannot be set from the environment"),
            std::string::npos)
      << config.status().message();
  Config direct;
  Status flag = set_config_value(direct, "routing.tier_boost", "vip=3");
  EXPECT_EQ(flag.code(), "config_invalid");
  EXPECT_NE(flag.message().find("routing.tier_boost: is a list or mapping"), std::string::npos) << flag.message();
}

TEST(ConfigTest, ParsesDurationsAndByteSizes) {
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("30s"), 30s);
  EXPECT_EQ(*parse_duration("5m"), 5min);
  EXPECT_EQ(*parse_duration("1h"), 1h);
  EXPECT_EQ(*parse_duration("42"), 42ms);
  EXPECT_FALSE(parse_duration("").is_ok());
  EXPECT_FALSE(parse_duration("-5s").is_ok());
  EXPECT_FALSE(parse_duration("99999999999999999999h").is_ok());
  EXPECT_EQ(*parse_byte_size("512KiB"), 512u * 1024);
  EXPECT_EQ(*parse_byte_size("10MB"), 10'000'000u);
  EXPECT_EQ(*parse_byte_size("7"), 7u);
  EXPECT_FALSE(parse_byte_size("3 apples").is_ok());
}

TEST(ConfigTest, MissingFileHasItsOwnCode) {
  auto config = load_config_file("/nonexistent/vontres.yaml", {});
  ASSERT_FALSE(config.is_ok());
  EXPECT_EQ(config.status().code(), "config_not_found");
}

TEST(ConfigTest, SetConfigValueUsesTheSameParsersAsTheFile) {
  Config config;
  EXPECT_TRUE(set_config_value(config, "http.listen", "127.0.0.1:0").is_ok());
  EXPECT_EQ(config.http.listen.port, 0);
  EXPECT_EQ(set_config_value(config, "nope", "1").code(), "config_invalid");
  EXPECT_FALSE(config_keys().empty());
}

TEST(ConfigTest, NodeIdComesFromTheFileTheEnvironmentOrDefaultsToHostAndPort) {
  auto defaults = parse_config("http: {listen: 127.0.0.1:8443}\n", {});
  ASSERT_TRUE(defaults.is_ok()) << defaults.status().to_string();
  EXPECT_TRUE(defaults->node_id.empty());
  const std::string derived = defaults->effective_node_id();
  EXPECT_TRUE(derived.ends_with(":8443")) << derived;
  EXPECT_GT(derived.size(), std::string(":8443").size()) << derived;
  auto from_file = parse_config("node_id: api-1\n", {});
  ASSERT_TRUE(from_file.is_ok());
  EXPECT_EQ(from_file->effective_node_id(), "api-1");
  auto from_env = parse_config("node_id: api-1\n", {{"VONTRES_NODE_ID", "api-2"}});
  ASSERT_TRUE(from_env.is_ok());
  EXPECT_EQ(from_env->effective_node_id(), "api-2");
}

TEST(ConfigTest, GatewaySectionReadsTopicsAndLimits) {
  auto defaults = parse_config("", {});
  ASSERT_TRUE(defaults.is_ok());
  EXPECT_TRUE(defaults->gateway.enabled);
  EXPECT_EQ(defaults->gateway.topic_list(), (std::vector<std::string>{"call.events", "routing.events", "ai.events"}));
  auto config = parse_config(R"(
gateway:
  topics: "call.events, ai.events,analytics.events,"
  retained_per_org: 50
  retention: 2m
  client_queue: 16
)",
                             {});
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->gateway.topic_list(), (std::vector<std::string>{"call.events", "ai.events", "analytics.events"}));
  EXPECT_EQ(config->gateway.retained_per_org, 50u);
  EXPECT_EQ(config->gateway.retention, 2min);
  EXPECT_EQ(config->gateway.client_queue, 16u);
  for (const char* bad : {"gateway: {topics: ' , '}\n", "gateway: {retained_per_org: 0}\n",
                          "gateway: {client_queue: 0}\n", "gateway: {retention: 0s}\n"}) {
    auto refused = parse_config(bad, {});
    ASSERT_FALSE(refused.is_ok()) << bad;
    EXPECT_NE(refused.status().message().find("gateway."), std::string::npos) << refused.status().message();
  }
}

}  // namespace
}  // namespace vontres
