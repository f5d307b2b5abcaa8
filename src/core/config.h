// The one typed configuration tree. It is parsed from a YAML file, then overridden by environment
// variables (`VONTRES_` + the key path upper-cased with '.' as '_': `http.listen` ->
// `VONTRES_HTTP_LISTEN`, `data_dir` -> `VONTRES_DATA_DIR`), then by command-line flags (app/), and
// validated up front. Errors name the offending key and say why. Nothing reads the environment or
// files after load.
//
// Adding a setting: add a field here, then one line in the key table in config.cc. Most keys are
// scalars; a few (routing.intent_rules, routing.tier_boost) take a YAML list or mapping and can be
// set only in the file, not from the environment or flags.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace vontres {

// "HOST:PORT" or "[IPv6]:PORT". Port 0 asks the OS for a free port (tests).
struct ListenAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string to_string() const;
};
Result<ListenAddress> parse_listen_address(std::string_view text);

struct HttpConfig {
  ListenAddress listen{"127.0.0.1", 8080};
  int io_threads = 0;      // 0: one per core
  int worker_threads = 0;  // handler pool; 0: one per core
  uint64_t max_body_bytes = 1024 * 1024;
  uint64_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds request_timeout{30'000};  // reading a request and producing its response
  std::chrono::milliseconds idle_timeout{60'000};     // keep-alive connection with no request
  std::chrono::milliseconds shutdown_grace{10'000};   // SIGTERM: time allowed for in-flight requests
  uint64_t max_connections = 10'000;
  std::string tls_cert_file;  // PEM; TLS is on when both cert and key are set
  std::string tls_key_file;
  bool tls_enabled() const { return !tls_cert_file.empty(); }
  // When set, GET /metrics needs "Authorization: Bearer <first line of this file>" (Prometheus:
  // authorization.credentials_file), since its labels name organisations and queues. Empty: open.
  std::string metrics_token_file;
};

struct LogConfig {
  std::string level = "info";   // trace|debug|info|warn|error|critical|off
  std::string format = "json";  // json|text
};

// bus.backend: kafka (bus/kafka_bus.h). Properties the bus itself manages (bootstrap.servers,
// group.id, enable.idempotence, acks, enable.auto.commit, ...) may not be overridden, and secrets
// never appear inline: `secret_files` maps a librdkafka property (sasl.password, ssl.key.password)
// to a file whose first line is its value, read once when the bus starts.
struct KafkaBusConfig {
  std::string bootstrap_servers;  // "host:port,host:port"; required for the kafka backend
  int partitions = 16;            // for topics the bus creates
  int replication_factor = 3;     // for topics the bus creates
  // Passed to librdkafka as they are: security.protocol, sasl.mechanism, sasl.username,
  // ssl.ca.location, ssl.certificate.location, ssl.key.location, linger.ms, ...
  std::map<std::string, std::string> client_properties;
  std::map<std::string, std::string> secret_files;
  std::chrono::milliseconds min_publish_wait{5'000};  // publish() waits at least this for the brokers' ack
  std::chrono::milliseconds join_timeout{30'000};     // subscribe() waits this for the first assignment
  std::chrono::milliseconds commit_interval{200};     // acknowledged positions are committed this often
  // How missing topics are made: "admin" (CreateTopics with partitions and replication_factor) or
  // "broker" (the brokers' auto.create.topics.enable, with their defaults).
  std::string topic_creation = "admin";
};

struct BusConfig {
  std::string backend = "in_process";  // in_process | kafka
  // in_process: events retained until every group has acknowledged them, per topic. kafka: events
  // the client holds until the brokers confirm them (its local producer queue), for the whole bus.
  uint64_t capacity_per_topic = 65'536;
  int partitions = 16;                               // per topic; ordering holds per key within a partition
  std::chrono::milliseconds ack_timeout{30'000};     // unacknowledged deliveries are redelivered after this
  std::chrono::milliseconds publish_timeout{5'000};  // how long publish() may block on a full topic
  KafkaBusConfig kafka;
};

// A Redis Cluster connection (cache.redis, state.redis). Secrets stay in files: the password is
// read from password_file when the backend opens. TLS is on when the seeds are rediss:// URLs.
struct RedisConfig {
  std::vector<std::string> seeds;  // "host:port", "redis://host:port" or "rediss://host:port"; one scheme
  std::string tls_ca_file;         // required with rediss://: servers' certificates must chain to it
  std::string tls_server_name;     // name the certificates must carry; empty: the host connected to
  std::string username;            // optional ACL user
  std::string password_file;       // optional; first line is the password (AUTH)
  std::string key_prefix;          // prepended to every key; must not contain '{' or '}'
  std::chrono::milliseconds connect_timeout{1'000};
  std::chrono::milliseconds request_timeout{1'000};   // one attempt's wait for a reply
  std::chrono::milliseconds command_deadline{5'000};  // a command's total across retries and redirects
  std::chrono::milliseconds topology_refresh_interval{10'000};
  int connections_per_node = 2;
  int wait_replicas = 0;  // >0: writes wait (WAIT) for this many replicas, else fail "not replicated"
  std::chrono::milliseconds wait_timeout{200};
  bool configured() const { return !seeds.empty(); }
};

struct CacheConfig {
  std::string backend = "in_process";        // in_process | redis_cluster
  uint64_t max_bytes = 64ull * 1024 * 1024;  // in_process only (Redis: the servers' maxmemory)
  int shards = 16;                           // in_process only
  RedisConfig redis = [] {
    RedisConfig r;
    r.key_prefix = "vontres:cache:";
    return r;
  }();
};

// Shared non-evicting state (state/state_store.h). With backend redis_cluster and no state.redis.seeds,
// state.redis takes every setting from cache.redis except key_prefix, and shares its connections.
struct StateConfig {
  std::string backend = "in_process";  // in_process | redis_cluster
  RedisConfig redis = [] {
    RedisConfig r;
    r.key_prefix = "vontres:state:";
    return r;
  }();
  // The settings state.redis means: its own, or cache.redis' when it names no seeds.
  RedisConfig effective_redis(const CacheConfig& cache) const;
};

// store.backend: postgres. TLS is chosen in the URL: `sslmode=verify-full sslrootcert=<CA file>`
// (or `?sslmode=verify-full&sslrootcert=...` in URI form) checks the server's certificate and host
// name; anything weaker than verify-full should stay on a trusted network.
struct PostgresStoreConfig {
  std::string url;            // libpq conninfo "host=... dbname=..." or "postgresql://user@host:port/db?..."
  std::string password_file;  // first line is the password; never put the password in the URL or the repo
  int pool_size = 8;          // connections per process, 1..1000
  std::chrono::milliseconds connect_timeout{5'000};
};

struct StoreConfig {
  std::string backend = "sqlite";  // sqlite | postgres
  std::string sqlite_path;         // default: <data_dir>/vontres.db
  // SQLite: how long a writer waits for the file lock. PostgreSQL: how long a caller waits for a free
  // pooled connection.
  std::chrono::milliseconds busy_timeout{5'000};
  PostgresStoreConfig postgres;
};

struct AuthConfig {
  std::string issuer = "vontres";
  std::string audience = "vontres-api";
  // HS256 (default), RS256, ES256 or EdDSA. HS256 uses jwt_secret_file; the others the key pair.
  std::string jwt_algorithm = "HS256";
  // File holding the HS256 secret. Empty: <data_dir>/jwt-secret, created with a random 256-bit
  // secret (mode 0600) on first start. Secrets never live in the configuration itself.
  std::string jwt_secret_file;
  std::string jwt_private_key_file;  // PEM, for RS256/ES256/EdDSA
  std::string jwt_public_key_file;   // PEM, for RS256/ES256/EdDSA
  std::chrono::milliseconds access_token_ttl{15 * 60'000};
  std::chrono::milliseconds refresh_token_ttl{30LL * 24 * 3'600'000};
  std::chrono::milliseconds clock_skew_leeway{30'000};
  int password_min_length = 12;
  // argon2id cost: memory in KiB, passes, lanes.
  uint32_t argon2_memory_kib = 19 * 1024;
  uint32_t argon2_iterations = 2;
  uint32_t argon2_parallelism = 1;
  // Login protection: failures per account / per source address within the window before lock-out.
  int login_max_failures_per_account = 5;
  int login_max_failures_per_address = 20;
  std::chrono::milliseconds login_failure_window{15 * 60'000};
  std::chrono::milliseconds login_lockout_base{60'000};  // doubles with each further lock-out
  std::chrono::milliseconds login_lockout_max{3'600'000};
};

// A skill a call must have an agent for. In YAML either a bare name (`billing`, proficiency 1) or
// `{skill: billing, min_proficiency: 5}`.
struct RoutingSkillConfig {
  std::string skill;
  int min_proficiency = 1;  // 1..10
};

// `intent` (from the AI service) -> queue override, extra skills, priority boost.
struct RoutingIntentRuleConfig {
  std::string intent;
  std::optional<std::string> queue;  // a queue id; absent: the call keeps its entry queue
  std::vector<RoutingSkillConfig> skills;
  int priority_boost = 0;
};

// The default routing rules of every organisation (an organisation may replace them at runtime
// through PUT /api/v1/routing/rules) and the engine options worth tuning.
struct RoutingConfig {
  std::vector<RoutingIntentRuleConfig> intent_rules;
  std::string default_queue;                   // for calls with neither a queue nor a matching intent; empty: none
  double negative_sentiment_threshold = -0.6;  // sentiment (-1..1) at or below this gets the boost
  int negative_sentiment_boost = 5;
  std::map<std::string, int> tier_boost{{"vip", 10}};  // customer tier -> priority boost
  std::string language_skill_prefix = "lang:";         // language "es" requires skill "lang:es"; empty: off
  // Defaults for queues created without these fields.
  std::chrono::milliseconds offer_timeout{15'000};  // how long an offer reserves an agent
  std::chrono::milliseconds reoffer_delay{5'000};
  int max_missed_offers = 3;
  std::chrono::milliseconds wrap_up{0};
  // Explain records: decisions kept per call (0 turns them off) and candidates per decision.
  bool explain_decisions = true;
  uint64_t decisions_per_call = 16;
  uint64_t explained_candidates = 8;
  // Timers (offer timeouts, escalations, wrap-up ends) run at most this late; timers due within
  // one resolution step run together.
  std::chrono::milliseconds tick_resolution{10};
  // How the call host reaches the ACD: "in_process" (this process's routing service, direct),
  // "bus" (commands on routing.commands for the routing process; routing/acd_client.h) or "auto"
  // (in_process when this process runs routing, else bus). See Config::acd_over_bus().
  std::string acd_client = "auto";
};

// One choice of the IVR menu: a DTMF digit and/or spoken phrases (the AI service matches speech)
// leading to a queue.
struct IvrOptionConfig {
  std::string digit;                 // "0".."9", "*", "#"; empty: speech only
  std::string queue;                 // routing queue id
  std::string intent;                // intent name passed to routing with the call (optional)
  std::vector<std::string> phrases;  // words/phrases a caller may say instead of pressing the digit
};

// SIP signalling, RTP media, IVR and agent bridging (the call service). Listen addresses are
// "HOST:PORT"; an empty address turns that transport off.
struct TelephonyConfig {
  bool enabled = true;
  std::string sip_udp = "127.0.0.1:5060";
  std::string sip_tcp = "127.0.0.1:5060";
  std::string sip_tls;  // needs tls_cert_file and tls_key_file
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string public_host;        // host written into Via, Contact and SDP; empty: the SIP listen host
  std::string realm = "vontres";  // digest realm for agents' softphones
  // Offer the RFC 8760 SHA-256 digest challenge (first) besides MD5. Turn off for MD5-only phones
  // that answer the first challenge whatever its algorithm.
  bool digest_sha256 = true;
  std::string rtp_host = "127.0.0.1";
  uint64_t rtp_port_min = 20'000;
  uint64_t rtp_port_max = 20'999;
  std::chrono::milliseconds rtp_inactivity_timeout{30'000};  // no RTP from a leg this long ends the call
  // Every call host refreshes its heartbeat in the shared state store this often; one silent for
  // node_timeout is lost, and a surviving node ends its calls with node_lost (telephony/node_sweeper.h).
  std::chrono::milliseconds node_heartbeat_interval{2'000};
  std::chrono::milliseconds node_timeout{10'000};
  std::string prompts_dir;        // WAV prompts (8 kHz mono); empty: the ones generated at build time
  bool record_calls = false;      // WAV recordings under <data_dir>/recordings
  uint64_t max_calls = 1'000;     // concurrent calls; more get 503 with Retry-After
  bool ready_on_register = true;  // an agent whose softphone registers becomes available
  std::chrono::milliseconds sip_t1{500};
  std::chrono::milliseconds sip_t2{4'000};
  std::chrono::milliseconds sip_t4{5'000};
  // IVR: after the welcome prompt the menu is played; a digit or a phrase picks the queue.
  std::vector<IvrOptionConfig> ivr_options;
  std::string ivr_default_queue;  // no choice after ivr_max_attempts: this queue; empty: first option's
  std::chrono::milliseconds ivr_menu_timeout{6'000};
  int ivr_max_attempts = 2;
  // Dialled number (Request-URI user) -> queue of the default organisation, skipping the IVR.
  // Organisations claim numbers of their own through /api/v1/numbers.
  std::map<std::string, std::string> numbers;
  // The organisation (id or name) that inbound calls to a number no organisation has claimed
  // belong to: they get the IVR and `numbers` above. Empty: the only organisation when there is
  // exactly one; with several, such calls are refused (404) and logged.
  std::string default_org;

  // Abuse limits at the SIP edge (issue 11). Addresses or CIDRs ("203.0.113.0/24", "::1") of
  // trunks and edge proxies (Kamailio) that are exempt from every per-source limit below; their
  // REGISTER failures still count per account. A YAML list, file only.
  std::vector<std::string> sip_trusted_sources;
  // Digest guessing: wrong passwords per SIP account / wrong credentials per source address within
  // the window before that account or address is refused (403 + Retry-After) for the lock-out,
  // which doubles with each further lock-out up to the maximum. The right password does not work
  // while locked. 0 failures turns that counter off.
  int register_max_failures_per_account = 5;
  int register_max_failures_per_source = 20;
  std::chrono::milliseconds register_failure_window{15 * 60'000};
  std::chrono::milliseconds register_lockout_base{60'000};
  std::chrono::milliseconds register_lockout_max{3'600'000};
  // Calls per source address: at most this many at once, and new INVITEs at this rate (burst of
  // twice the rate); more get 503 + Retry-After. 0 turns the limit off.
  uint64_t max_calls_per_source = 100;
  uint64_t invites_per_second_per_source = 20;
  // Media to a peer that has never sent RTP stops after this long (counted from the ACK that
  // allowed sending), so a forged SDP address cannot be flooded; 0: no bound.
  std::chrono::milliseconds rtp_send_without_receive{5'000};
  // SIP over TCP/TLS: connections without a byte received this long are closed (RFC 5626 CRLF
  // keep-alives count); caps on open connections in total and per source address.
  std::chrono::milliseconds sip_tcp_idle_timeout{300'000};
  uint64_t sip_tcp_max_connections = 4'096;
  uint64_t sip_tcp_max_connections_per_source = 64;
};

// AI service (issue 6): live transcription, sentiment, intent, suggestions, redaction, summaries.
// Everything runs offline on embedded models unless an OpenAI-compatible endpoint and key are set;
// with no key nothing is sent anywhere.
struct AiConfig {
  bool enabled = true;
  // Speech-to-text. "pocketsphinx": embedded; "openai": POST /audio/transcriptions per utterance; "off".
  std::string stt_backend = "pocketsphinx";
  std::string stt_model_dir;                     // empty: pocketsphinx-en-us's model folder
  std::string stt_conversation_mode = "open";    // open (general language model) | grammar (known phrases only)
  uint64_t stt_max_streams = 8;                  // decoders at once (call legs); more legs queue, then are skipped
  int stt_workers = 0;                           // decoding threads; 0: one per core
  std::chrono::milliseconds stt_max_lag{3'000};  // audio queued per leg beyond this is dropped (metric)
  // Intent. "embedded": TF-IDF + linear model trained at start-up; "openai": chat model, JSON schema.
  std::string intent_backend = "embedded";
  std::string intent_examples_file;  // CSV text,category; empty: <share>/intents/examples.csv
  double intent_threshold = 0.35;    // below this confidence the intent is "unknown"
  // Sentiment alert: the caller's rolling score stays below the threshold for this long.
  double sentiment_alert_threshold = -0.3;
  std::chrono::milliseconds sentiment_alert_after{20'000};
  // Script suggestions from the knowledge base (Markdown articles and scripts).
  std::string knowledge_dir;  // empty: <share>/knowledge
  uint64_t suggestions_max = 3;
  std::chrono::milliseconds suggestion_min_interval{5'000};
  // Redaction: comma-separated classes out of card,cvv,expiry,ssn,email,phone (default all);
  // organisations can override it through the API.
  std::string redact = "card,cvv,expiry,ssn,email,phone";
  bool pause_on_card = true;  // recording and transcript storage pause while a card number is given
  // OpenAI-compatible endpoint. The key is read from llm_api_key_file or VONTRES_AI_LLM_API_KEY.
  std::string llm_base_url = "https://api.openai.com/v1";
  std::string llm_api_key;
  std::string llm_api_key_file;
  std::string llm_chat_model = "gpt-4o-mini";
  std::string llm_transcription_model = "whisper-1";
  std::chrono::milliseconds llm_timeout{15'000};
  std::chrono::milliseconds llm_suggestion_budget{2'000};  // after this the KB suggestion is shown instead
  int llm_max_retries = 2;
  int llm_breaker_failures = 5;  // consecutive failures that open the circuit
  std::chrono::milliseconds llm_breaker_cooldown{30'000};
  bool llm_suggestions = true;  // use the LLM for suggestions when configured
  bool llm_summaries = true;    // use the LLM for post-call summaries when configured
};

// The desktop gateway (GET /api/v1/events, gateway/desktop_gateway.h) of every `api` process.
struct GatewayConfig {
  bool enabled = true;
  // Comma-separated bus topics pushed to desktops.
  std::string topics = "call.events,routing.events,ai.events";
  uint64_t retained_per_org = 2'000;             // recent events kept per organisation for ?since= resume
  uint64_t max_retained = 200'000;               // all organisations together (memory bound)
  std::chrono::milliseconds retention{600'000};  // older retained events are forgotten (resync instead)
  uint64_t dedup_window = 65'536;                // event ids remembered to drop redeliveries
  uint64_t client_queue = 512;                   // frames queued for one client before it is dropped
  uint64_t max_clients = 10'000;

  std::vector<std::string> topic_list() const;  // `topics` split at commas, trimmed, empties dropped
};

struct Config {
  std::string service_name = "vontres";
  // This process's identity among the nodes sharing the backends: owner of the calls it holds,
  // name of its per-node consumer groups and heartbeat. Empty: effective_node_id() derives host
  // name ":" HTTP port, which stays the same across restarts of the same process.
  std::string node_id;
  // The services this process runs: "all" (one process, the default) or a comma-separated list of
  // roles: telephony (SIP/RTP call host), routing (the ACD), ai, api (REST, users, desktop
  // gateway). Every process serves /healthz, /readyz and /metrics. A process with telephony and
  // without routing reaches the ACD over the bus.
  std::string services = "all";
  std::string data_dir = "./data";
  HttpConfig http;
  LogConfig log;
  BusConfig bus;
  CacheConfig cache;
  StateConfig state;
  StoreConfig store;
  AuthConfig auth;
  RoutingConfig routing;
  TelephonyConfig telephony;
  AiConfig ai;
  GatewayConfig gateway;

  // Derived values.
  // node_id when set, else "<host name>:<http port>" (the configured port, so 0 when the OS picks).
  std::string effective_node_id() const;
  std::string sqlite_path() const;
  std::string jwt_secret_path() const;
  // Whether this process runs `role` (see `services`).
  bool runs(std::string_view role) const;
  // Whether the call host reaches the ACD over the bus (routing.acd_client resolved).
  bool acd_over_bus() const;
};

using Environment = std::map<std::string, std::string>;

// Reads the process environment (only the VONTRES_* variables). Call once, in main.
Environment process_environment();

// Parses YAML text (may be empty), applies `env` overrides, validates. Errors have code
// "config_invalid" and a message naming the key, e.g. "http.listen: port out of range".
Result<Config> parse_config(std::string_view yaml_text, const Environment& env);
// Reads the file then parse_config. A missing file is an error with code "config_not_found".
Result<Config> load_config_file(const std::string& path, const Environment& env);
// Validation alone, for values changed after parsing (flags).
Status validate_config(const Config& config);

// Sets one key by its dotted path from a string, as env overrides and flags do. List and mapping
// keys (routing.intent_rules, routing.tier_boost) are refused: they are set in the YAML file.
Status set_config_value(Config& config, std::string_view key, std::string_view value);
// All known keys, for documentation and `vontres config check --keys`.
std::vector<std::string> config_keys();
// The env variable name for a key: "http.listen" -> "VONTRES_HTTP_LISTEN".
std::string config_env_name(std::string_view key);

// "a, b,,c " -> {"a", "b", "c"}: the items of a comma-separated list, spaces around them trimmed,
// empty ones dropped (services, gateway.topics, seeds given as one string, redaction classes).
std::vector<std::string> split_list(std::string_view text);

// "250ms", "30s", "5m", "1h" or a bare number of milliseconds.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);
// "1048576", "512KiB", "64MiB", "1GiB", "10MB" (decimal units too).
Result<uint64_t> parse_byte_size(std::string_view text);

}  // namespace vontres
