#include "core/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace vontres {
namespace {

Status config_error(std::string_view key, std::string_view why) {
  return invalid_argument(fmt::format("{}: {}", key, why), "config_invalid");
}

template <typename Int>
Result<Int> parse_int(std::string_view text) {
  Int value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return invalid_argument("expected an integer, got '" + std::string(text) + "'");
  }
  return value;
}

Result<bool> parse_bool(std::string_view text) {
  if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
  if (text == "false" || text == "no" || text == "off" || text == "0") return false;
  return invalid_argument("expected true or false, got '" + std::string(text) + "'");
}

Result<double> parse_double(std::string_view text) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return invalid_argument("expected a number, got '" + std::string(text) + "'");
  }
  return value;
}

using Setter = std::function<Status(Config&, std::string_view)>;
// For keys whose value is a YAML list or mapping. `key` is the full dotted path; the setter's
// errors already name the exact element ("routing.intent_rules[2].skills[0]: ...").
using NodeSetter = std::function<Status(Config&, const YAML::Node&, const std::string& key)>;
// Exactly one of `set` (scalar keys: YAML, environment, flags) and `set_node` (YAML only) is set.
struct KeySpec {
  KeySpec(std::string name, Setter setter) : key(std::move(name)), set(std::move(setter)) {}
  KeySpec(std::string name, NodeSetter setter) : key(std::move(name)), set_node(std::move(setter)) {}
  std::string key;
  Setter set;
  NodeSetter set_node;
};

Setter string_field(std::string Config::*field) {
  return [field](Config& c, std::string_view v) {
    c.*field = std::string(v);
    return Status::ok();
  };
}

template <typename Section>
Setter section_string(Section Config::*section, std::string Section::*field) {
  return [=](Config& c, std::string_view v) {
    (c.*section).*field = std::string(v);
    return Status::ok();
  };
}

template <typename Section, typename Int>
Setter section_int(Section Config::*section, Int Section::*field) {
  return [=](Config& c, std::string_view v) -> Status {
    auto r = parse_int<Int>(v);
    if (!r) return r.status();
    (c.*section).*field = *r;
    return Status::ok();
  };
}

template <typename Section>
Setter section_bytes(Section Config::*section, uint64_t Section::*field) {
  return [=](Config& c, std::string_view v) -> Status {
    auto r = parse_byte_size(v);
    if (!r) return r.status();
    (c.*section).*field = *r;
    return Status::ok();
  };
}

template <typename Section>
Setter section_duration(Section Config::*section, std::chrono::milliseconds Section::*field) {
  return [=](Config& c, std::string_view v) -> Status {
    auto r = parse_duration(v);
    if (!r) return r.status();
    (c.*section).*field = *r;
    return Status::ok();
  };
}

template <typename Section>
Setter section_bool(Section Config::*section, bool Section::*field) {
  return [=](Config& c, std::string_view v) -> Status {
    auto r = parse_bool(v);
    if (!r) return r.status();
    (c.*section).*field = *r;
    return Status::ok();
  };
}

template <typename Section>
Setter section_double(Section Config::*section, double Section::*field) {
  return [=](Config& c, std::string_view v) -> Status {
    auto r = parse_double(v);
    if (!r) return r.status();
    (c.*section).*field = *r;
    return Status::ok();
  };
}

// A scalar element of a list/mapping key; `~` or nothing reads as the empty string.
Result<std::string> scalar_at(const YAML::Node& node, const std::string& path) {
  if (node.IsNull()) return std::string();
  if (!node.IsScalar()) return config_error(path, "expected a single value");
  return node.Scalar();
}

Result<int> int_at(const YAML::Node& node, const std::string& path) {
  VONTRES_ASSIGN_OR_RETURN(std::string text, scalar_at(node, path));
  auto value = parse_int<int>(text);
  if (!value) return config_error(path, value.status().message());
  return *value;
}

Result<RoutingSkillConfig> skill_at(const YAML::Node& node, const std::string& path) {
  RoutingSkillConfig skill;
  if (node.IsScalar()) {
    skill.skill = node.Scalar();
    return skill;
  }
  if (!node.IsMap()) return config_error(path, "expected a skill name or {skill: NAME, min_proficiency: 1..10}");
  for (const auto& field : node) {
    const std::string name = field.first.as<std::string>();
    const std::string field_path = path + "." + name;
    if (name == "skill") {
      VONTRES_ASSIGN_OR_RETURN(skill.skill, scalar_at(field.second, field_path));
    } else if (name == "min_proficiency") {
      VONTRES_ASSIGN_OR_RETURN(skill.min_proficiency, int_at(field.second, field_path));
    } else {
      return config_error(field_path, "unknown key (expected skill or min_proficiency)");
    }
  }
  return skill;
}

Status set_intent_rules(Config& c, const YAML::Node& node, const std::string& key) {
  if (!node.IsSequence()) return config_error(key, "expected a list of {intent, queue, skills, priority_boost}");
  std::vector<RoutingIntentRuleConfig> rules;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = fmt::format("{}[{}]", key, i);
    const YAML::Node item = node[i];
    if (!item.IsMap()) return config_error(path, "expected a mapping with intent, queue, skills, priority_boost");
    RoutingIntentRuleConfig rule;
    for (const auto& field : item) {
      const std::string name = field.first.as<std::string>();
      const std::string field_path = path + "." + name;
      const YAML::Node& value = field.second;
      if (name == "intent") {
        VONTRES_ASSIGN_OR_RETURN(rule.intent, scalar_at(value, field_path));
      } else if (name == "queue") {
        VONTRES_ASSIGN_OR_RETURN(rule.queue, scalar_at(value, field_path));
      } else if (name == "priority_boost") {
        VONTRES_ASSIGN_OR_RETURN(rule.priority_boost, int_at(value, field_path));
      } else if (name == "skills") {
        if (value.IsNull()) continue;
        if (!value.IsSequence()) return config_error(field_path, "expected a list of skills");
        for (size_t j = 0; j < value.size(); ++j) {
          VONTRES_ASSIGN_OR_RETURN(auto skill, skill_at(value[j], fmt::format("{}[{}]", field_path, j)));
          rule.skills.push_back(std::move(skill));
        }
      } else {
        return config_error(field_path, "unknown key (expected intent, queue, skills or priority_boost)");
      }
    }
    rules.push_back(std::move(rule));
  }
  c.routing.intent_rules = std::move(rules);
  return Status::ok();
}

Status set_tier_boost(Config& c, const YAML::Node& node, const std::string& key) {
  if (!node.IsMap()) return config_error(key, "expected a mapping of customer tier to priority boost, e.g. {vip: 10}");
  std::map<std::string, int> tiers;
  for (const auto& item : node) {
    const std::string tier = item.first.as<std::string>();
    VONTRES_ASSIGN_OR_RETURN(tiers[tier], int_at(item.second, key + "." + tier));
  }
  c.routing.tier_boost = std::move(tiers);
  return Status::ok();
}

Result<std::vector<std::string>> string_list_at(const YAML::Node& node, const std::string& path) {
  std::vector<std::string> out;
  if (node.IsNull()) return out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) return config_error(path, "expected a list of strings");
  for (size_t i = 0; i < node.size(); ++i) {
    VONTRES_ASSIGN_OR_RETURN(auto item, scalar_at(node[i], fmt::format("{}[{}]", path, i)));
    out.push_back(std::move(item));
  }
  return out;
}

Status set_ivr_options(Config& c, const YAML::Node& node, const std::string& key) {
  if (!node.IsSequence()) return config_error(key, "expected a list of {digit, queue, intent, phrases}");
  std::vector<IvrOptionConfig> options;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = fmt::format("{}[{}]", key, i);
    const YAML::Node item = node[i];
    if (!item.IsMap()) return config_error(path, "expected a mapping with digit, queue, intent, phrases");
    IvrOptionConfig option;
    for (const auto& field : item) {
      const std::string name = field.first.as<std::string>();
      const std::string field_path = path + "." + name;
      if (name == "digit") {
        VONTRES_ASSIGN_OR_RETURN(option.digit, scalar_at(field.second, field_path));
      } else if (name == "queue") {
        VONTRES_ASSIGN_OR_RETURN(option.queue, scalar_at(field.second, field_path));
      } else if (name == "intent") {
        VONTRES_ASSIGN_OR_RETURN(option.intent, scalar_at(field.second, field_path));
      } else if (name == "phrases") {
        VONTRES_ASSIGN_OR_RETURN(option.phrases, string_list_at(field.second, field_path));
      } else {
        return config_error(field_path, "unknown key (expected digit, queue, intent or phrases)");
      }
    }
    options.push_back(std::move(option));
  }
  c.telephony.ivr_options = std::move(options);
  return Status::ok();
}

Status set_numbers(Config& c, const YAML::Node& node, const std::string& key) {
  if (!node.IsMap()) return config_error(key, "expected a mapping of dialled number to queue id");
  std::map<std::string, std::string> numbers;
  for (const auto& item : node) {
    const std::string number = item.first.as<std::string>();
    VONTRES_ASSIGN_OR_RETURN(numbers[number], scalar_at(item.second, key + "." + number));
  }
  c.telephony.numbers = std::move(numbers);
  return Status::ok();
}

Status set_string_map(std::map<std::string, std::string>& out, const YAML::Node& node, const std::string& key) {
  if (!node.IsMap()) return config_error(key, "expected a mapping of name to value");
  std::map<std::string, std::string> values;
  for (const auto& item : node) {
    const std::string name = item.first.as<std::string>();
    VONTRES_ASSIGN_OR_RETURN(values[name], scalar_at(item.second, key + "." + name));
  }
  out = std::move(values);
  return Status::ok();
}

Status set_trusted_sources(Config& c, const YAML::Node& node, const std::string& key) {
  VONTRES_ASSIGN_OR_RETURN(c.telephony.sip_trusted_sources, string_list_at(node, key));
  return Status::ok();
}

// "ADDRESS" or "ADDRESS/PREFIX" (IPv4 or IPv6, numeric).
bool is_address_or_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  std::array<unsigned char, sizeof(in6_addr)> buffer{};
  int bits = 0;
  if (inet_pton(AF_INET, address.c_str(), buffer.data()) == 1) {
    bits = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), buffer.data()) == 1) {
    bits = 128;
  } else {
    return false;
  }
  if (slash == std::string_view::npos) return true;
  auto prefix = parse_int<int>(text.substr(slash + 1));
  return prefix && *prefix >= 0 && *prefix <= bits;
}

RedisConfig& cache_redis(Config& c) { return c.cache.redis; }
RedisConfig& state_redis(Config& c) { return c.state.redis; }

template <typename Field, typename Parse>
Setter redis_setter(RedisConfig& (*pick)(Config&), Field RedisConfig::*field, Parse parse) {
  return [=](Config& c, std::string_view v) -> Status {
    auto r = parse(v);
    if (!r) return r.status();
    pick(c).*field = *r;
    return Status::ok();
  };
}

Result<std::string> as_string(std::string_view v) { return std::string(v); }
Result<int> as_int(std::string_view v) { return parse_int<int>(v); }

// A YAML list of seeds, or one comma-separated string.
NodeSetter redis_seeds(RedisConfig& (*pick)(Config&)) {
  return [=](Config& c, const YAML::Node& node, const std::string& key) -> Status {
    std::vector<std::string> seeds;
    if (node.IsScalar()) {
      seeds = split_list(node.Scalar());
    } else {
      VONTRES_ASSIGN_OR_RETURN(seeds, string_list_at(node, key));
    }
    pick(c).seeds = std::move(seeds);
    return Status::ok();
  };
}

// The keys of one redis section (`section` is "cache.redis" or "state.redis").
void add_redis_keys(std::vector<KeySpec>& table, const std::string& section, RedisConfig& (*pick)(Config&)) {
  table.emplace_back(section + ".seeds", redis_seeds(pick));
  table.emplace_back(section + ".tls_ca_file", redis_setter(pick, &RedisConfig::tls_ca_file, as_string));
  table.emplace_back(section + ".tls_server_name", redis_setter(pick, &RedisConfig::tls_server_name, as_string));
  table.emplace_back(section + ".username", redis_setter(pick, &RedisConfig::username, as_string));
  table.emplace_back(section + ".password_file", redis_setter(pick, &RedisConfig::password_file, as_string));
  table.emplace_back(section + ".key_prefix", redis_setter(pick, &RedisConfig::key_prefix, as_string));
  table.emplace_back(section + ".connect_timeout", redis_setter(pick, &RedisConfig::connect_timeout, parse_duration));
  table.emplace_back(section + ".request_timeout", redis_setter(pick, &RedisConfig::request_timeout, parse_duration));
  table.emplace_back(section + ".command_deadline", redis_setter(pick, &RedisConfig::command_deadline, parse_duration));
  table.emplace_back(section + ".topology_refresh_interval",
                     redis_setter(pick, &RedisConfig::topology_refresh_interval, parse_duration));
  table.emplace_back(section + ".connections_per_node", redis_setter(pick, &RedisConfig::connections_per_node, as_int));
  table.emplace_back(section + ".wait_replicas", redis_setter(pick, &RedisConfig::wait_replicas, as_int));
  table.emplace_back(section + ".wait_timeout", redis_setter(pick, &RedisConfig::wait_timeout, parse_duration));
}

// "host:port" with an optional redis:// or rediss:// scheme; returns the scheme ("redis" or "rediss").
std::optional<std::string> redis_seed_scheme(std::string_view text) {
  std::string scheme = "redis";
  if (text.starts_with("rediss://")) {
    scheme = "rediss";
    text.remove_prefix(9);
  } else if (text.starts_with("redis://")) {
    text.remove_prefix(8);
  }
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto port = parse_int<int>(text.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) return std::nullopt;
  return scheme;
}

Status validate_redis(const RedisConfig& r, const std::string& section) {
  if (r.seeds.empty())
    return config_error(section + ".seeds", "needs at least one host:port for the redis_cluster backend");
  std::optional<std::string> scheme;
  for (size_t i = 0; i < r.seeds.size(); ++i) {
    const std::string key = section + ".seeds[" + std::to_string(i) + "]";
    auto this_scheme = redis_seed_scheme(r.seeds[i]);
    if (!this_scheme) return config_error(key, "expected host:port, redis://host:port or rediss://host:port");
    if (scheme && *scheme != *this_scheme) return config_error(key, "mixes redis:// and rediss:// seeds");
    scheme = this_scheme;
  }
  if (scheme == "rediss" && r.tls_ca_file.empty()) {
    return config_error(section + ".tls_ca_file", "rediss:// seeds need a CA file to verify the servers");
  }
  if (r.key_prefix.find_first_of("{}") != std::string::npos) {
    return config_error(section + ".key_prefix", "must not contain '{' or '}' (keys carry their own hash tags)");
  }
  const std::pair<const char*, std::chrono::milliseconds> positive[] = {
      {".connect_timeout", r.connect_timeout},
      {".request_timeout", r.request_timeout},
      {".command_deadline", r.command_deadline},
      {".topology_refresh_interval", r.topology_refresh_interval},
      {".wait_timeout", r.wait_timeout}};
  for (const auto& [suffix, value] : positive) {
    if (value.count() <= 0) return config_error(section + suffix, "must be positive");
  }
  if (r.connections_per_node < 1 || r.connections_per_node > 64) {
    return config_error(section + ".connections_per_node", "must be 1..64");
  }
  if (r.wait_replicas < 0 || r.wait_replicas > 16) return config_error(section + ".wait_replicas", "must be 0..16");
  return Status::ok();
}

const std::vector<KeySpec>& base_key_table() {
  static const std::vector<KeySpec> table = {
      {"service_name", string_field(&Config::service_name)},
      {"data_dir", string_field(&Config::data_dir)},
      {"node_id", string_field(&Config::node_id)},
      {"services", string_field(&Config::services)},
      {"http.listen",
       [](Config& c, std::string_view v) -> Status {
         auto r = parse_listen_address(v);
         if (!r) return r.status();
         c.http.listen = *r;
         return Status::ok();
       }},
      {"http.io_threads", section_int(&Config::http, &HttpConfig::io_threads)},
      {"http.worker_threads", section_int(&Config::http, &HttpConfig::worker_threads)},
      {"http.max_body_bytes", section_bytes(&Config::http, &HttpConfig::max_body_bytes)},
      {"http.max_header_bytes", section_bytes(&Config::http, &HttpConfig::max_header_bytes)},
      {"http.request_timeout", section_duration(&Config::http, &HttpConfig::request_timeout)},
      {"http.idle_timeout", section_duration(&Config::http, &HttpConfig::idle_timeout)},
      {"http.shutdown_grace", section_duration(&Config::http, &HttpConfig::shutdown_grace)},
      {"http.max_connections", section_int(&Config::http, &HttpConfig::max_connections)},
      {"http.tls_cert_file", section_string(&Config::http, &HttpConfig::tls_cert_file)},
      {"http.tls_key_file", section_string(&Config::http, &HttpConfig::tls_key_file)},
      {"http.metrics_token_file", section_string(&Config::http, &HttpConfig::metrics_token_file)},
      {"log.level", section_string(&Config::log, &LogConfig::level)},
      {"log.format", section_string(&Config::log, &LogConfig::format)},
      {"bus.backend", section_string(&Config::bus, &BusConfig::backend)},
      {"bus.capacity_per_topic", section_int(&Config::bus, &BusConfig::capacity_per_topic)},
      {"bus.partitions", section_int(&Config::bus, &BusConfig::partitions)},
      {"bus.ack_timeout", section_duration(&Config::bus, &BusConfig::ack_timeout)},
      {"bus.publish_timeout", section_duration(&Config::bus, &BusConfig::publish_timeout)},
      {"bus.kafka.bootstrap_servers",
       [](Config& c, std::string_view v) {
         c.bus.kafka.bootstrap_servers = std::string(v);
         return Status::ok();
       }},
      {"bus.kafka.partitions",
       [](Config& c, std::string_view v) -> Status {
         VONTRES_ASSIGN_OR_RETURN(c.bus.kafka.partitions, parse_int<int>(v));
         return Status::ok();
       }},
      {"bus.kafka.replication_factor",
       [](Config& c, std::string_view v) -> Status {
         VONTRES_ASSIGN_OR_RETURN(c.bus.kafka.replication_factor, parse_int<int>(v));
         return Status::ok();
       }},
      {"bus.kafka.min_publish_wait",
       [](Config& c, std::string_view v) -> Status {
         VONTRES_ASSIGN_OR_RETURN(c.bus.kafka.min_publish_wait, parse_duration(v));
         return Status::ok();
       }},
      {"bus.kafka.join_timeout",
       [](Config& c, std::string_view v) -> Status {
         VONTRES_ASSIGN_OR_RETURN(c.bus.kafka.join_timeout, parse_duration(v));
         return Status::ok();
       }},
      {"bus.kafka.commit_interval",
       [](Config& c, std::string_view v) -> Status {
         VONTRES_ASSIGN_OR_RETURN(c.bus.kafka.commit_interval, parse_duration(v));
         return Status::ok();
       }},
      {"bus.kafka.topic_creation",
       [](Config& c, std::string_view v) {
         c.bus.kafka.topic_creation = std::string(v);
         return Status::ok();
       }},
      {"bus.kafka.client_properties", NodeSetter([](Config& c, const YAML::Node& node, const std::string& key) {
         return set_string_map(c.bus.kafka.client_properties, node, key);
       })},
      {"bus.kafka.secret_files", NodeSetter([](Config& c, const YAML::Node& node, const std::string& key) {
         return set_string_map(c.bus.kafka.secret_files, node, key);
       })},
      {"cache.backend", section_string(&Config::cache, &CacheConfig::backend)},
      {"cache.max_bytes", section_bytes(&Config::cache, &CacheConfig::max_bytes)},
      {"cache.shards", section_int(&Config::cache, &CacheConfig::shards)},
      {"state.backend", section_string(&Config::state, &StateConfig::backend)},
      {"store.backend", section_string(&Config::store, &StoreConfig::backend)},
      {"store.sqlite_path", section_string(&Config::store, &StoreConfig::sqlite_path)},
      {"store.busy_timeout", section_duration(&Config::store, &StoreConfig::busy_timeout)},
      {"store.postgres.url",
       [](Config& c, std::string_view v) {
         c.store.postgres.url = std::string(v);
         return Status::ok();
       }},
      {"store.postgres.password_file",
       [](Config& c, std::string_view v) {
         c.store.postgres.password_file = std::string(v);
         return Status::ok();
       }},
      {"store.postgres.pool_size",
       [](Config& c, std::string_view v) -> Status {
         auto r = parse_int<int>(v);
         if (!r) return r.status();
         c.store.postgres.pool_size = *r;
         return Status::ok();
       }},
      {"store.postgres.connect_timeout_ms",
       [](Config& c, std::string_view v) -> Status {
         auto r = parse_duration(v);
         if (!r) return r.status();
         c.store.postgres.connect_timeout = *r;
         return Status::ok();
       }},
      {"auth.issuer", section_string(&Config::auth, &AuthConfig::issuer)},
      {"auth.audience", section_string(&Config::auth, &AuthConfig::audience)},
      {"auth.jwt_algorithm", section_string(&Config::auth, &AuthConfig::jwt_algorithm)},
      {"auth.jwt_secret_file", section_string(&Config::auth, &AuthConfig::jwt_secret_file)},
      {"auth.jwt_private_key_file", section_string(&Config::auth, &AuthConfig::jwt_private_key_file)},
      {"auth.jwt_public_key_file", section_string(&Config::auth, &AuthConfig::jwt_public_key_file)},
      {"auth.access_token_ttl", section_duration(&Config::auth, &AuthConfig::access_token_ttl)},
      {"auth.refresh_token_ttl", section_duration(&Config::auth, &AuthConfig::refresh_token_ttl)},
      {"auth.clock_skew_leeway", section_duration(&Config::auth, &AuthConfig::clock_skew_leeway)},
      {"auth.password_min_length", section_int(&Config::auth, &AuthConfig::password_min_length)},
      {"auth.argon2_memory_kib", section_int(&Config::auth, &AuthConfig::argon2_memory_kib)},
      {"auth.argon2_iterations", section_int(&Config::auth, &AuthConfig::argon2_iterations)},
      {"auth.argon2_parallelism", section_int(&Config::auth, &AuthConfig::argon2_parallelism)},
      {"auth.login_max_failures_per_account", section_int(&Config::auth, &AuthConfig::login_max_failures_per_account)},
      {"auth.login_max_failures_per_address", section_int(&Config::auth, &AuthConfig::login_max_failures_per_address)},
      {"auth.login_failure_window", section_duration(&Config::auth, &AuthConfig::login_failure_window)},
      {"auth.login_lockout_base", section_duration(&Config::auth, &AuthConfig::login_lockout_base)},
      {"auth.login_lockout_max", section_duration(&Config::auth, &AuthConfig::login_lockout_max)},
      {"routing.intent_rules", NodeSetter(set_intent_rules)},
      {"routing.default_queue", section_string(&Config::routing, &RoutingConfig::default_queue)},
      {"routing.negative_sentiment_threshold",
       section_double(&Config::routing, &RoutingConfig::negative_sentiment_threshold)},
      {"routing.negative_sentiment_boost", section_int(&Config::routing, &RoutingConfig::negative_sentiment_boost)},
      {"routing.tier_boost", NodeSetter(set_tier_boost)},
      {"routing.language_skill_prefix", section_string(&Config::routing, &RoutingConfig::language_skill_prefix)},
      {"routing.offer_timeout", section_duration(&Config::routing, &RoutingConfig::offer_timeout)},
      {"routing.reoffer_delay", section_duration(&Config::routing, &RoutingConfig::reoffer_delay)},
      {"routing.max_missed_offers", section_int(&Config::routing, &RoutingConfig::max_missed_offers)},
      {"routing.wrap_up", section_duration(&Config::routing, &RoutingConfig::wrap_up)},
      {"routing.explain_decisions", section_bool(&Config::routing, &RoutingConfig::explain_decisions)},
      {"routing.decisions_per_call", section_int(&Config::routing, &RoutingConfig::decisions_per_call)},
      {"routing.explained_candidates", section_int(&Config::routing, &RoutingConfig::explained_candidates)},
      {"routing.tick_resolution", section_duration(&Config::routing, &RoutingConfig::tick_resolution)},
      {"routing.acd_client", section_string(&Config::routing, &RoutingConfig::acd_client)},
      {"telephony.enabled", section_bool(&Config::telephony, &TelephonyConfig::enabled)},
      {"telephony.sip_udp", section_string(&Config::telephony, &TelephonyConfig::sip_udp)},
      {"telephony.sip_tcp", section_string(&Config::telephony, &TelephonyConfig::sip_tcp)},
      {"telephony.sip_tls", section_string(&Config::telephony, &TelephonyConfig::sip_tls)},
      {"telephony.tls_cert_file", section_string(&Config::telephony, &TelephonyConfig::tls_cert_file)},
      {"telephony.tls_key_file", section_string(&Config::telephony, &TelephonyConfig::tls_key_file)},
      {"telephony.public_host", section_string(&Config::telephony, &TelephonyConfig::public_host)},
      {"telephony.realm", section_string(&Config::telephony, &TelephonyConfig::realm)},
      {"telephony.digest_sha256", section_bool(&Config::telephony, &TelephonyConfig::digest_sha256)},
      {"telephony.rtp_host", section_string(&Config::telephony, &TelephonyConfig::rtp_host)},
      {"telephony.rtp_port_min", section_int(&Config::telephony, &TelephonyConfig::rtp_port_min)},
      {"telephony.rtp_port_max", section_int(&Config::telephony, &TelephonyConfig::rtp_port_max)},
      {"telephony.rtp_inactivity_timeout",
       section_duration(&Config::telephony, &TelephonyConfig::rtp_inactivity_timeout)},
      {"telephony.node_heartbeat_interval",
       section_duration(&Config::telephony, &TelephonyConfig::node_heartbeat_interval)},
      {"telephony.node_timeout", section_duration(&Config::telephony, &TelephonyConfig::node_timeout)},
      {"telephony.prompts_dir", section_string(&Config::telephony, &TelephonyConfig::prompts_dir)},
      {"telephony.record_calls", section_bool(&Config::telephony, &TelephonyConfig::record_calls)},
      {"telephony.max_calls", section_int(&Config::telephony, &TelephonyConfig::max_calls)},
      {"telephony.ready_on_register", section_bool(&Config::telephony, &TelephonyConfig::ready_on_register)},
      {"telephony.sip_t1", section_duration(&Config::telephony, &TelephonyConfig::sip_t1)},
      {"telephony.sip_t2", section_duration(&Config::telephony, &TelephonyConfig::sip_t2)},
      {"telephony.sip_t4", section_duration(&Config::telephony, &TelephonyConfig::sip_t4)},
      {"telephony.ivr_options", NodeSetter(set_ivr_options)},
      {"telephony.ivr_default_queue", section_string(&Config::telephony, &TelephonyConfig::ivr_default_queue)},
      {"telephony.default_org", section_string(&Config::telephony, &TelephonyConfig::default_org)},
      {"telephony.ivr_menu_timeout", section_duration(&Config::telephony, &TelephonyConfig::ivr_menu_timeout)},
      {"telephony.ivr_max_attempts", section_int(&Config::telephony, &TelephonyConfig::ivr_max_attempts)},
      {"telephony.numbers", NodeSetter(set_numbers)},
      {"telephony.sip_trusted_sources", NodeSetter(set_trusted_sources)},
      {"telephony.register_max_failures_per_account",
       section_int(&Config::telephony, &TelephonyConfig::register_max_failures_per_account)},
      {"telephony.register_max_failures_per_source",
       section_int(&Config::telephony, &TelephonyConfig::register_max_failures_per_source)},
      {"telephony.register_failure_window",
       section_duration(&Config::telephony, &TelephonyConfig::register_failure_window)},
      {"telephony.register_lockout_base",
       section_duration(&Config::telephony, &TelephonyConfig::register_lockout_base)},
      {"telephony.register_lockout_max", section_duration(&Config::telephony, &TelephonyConfig::register_lockout_max)},
      {"telephony.max_calls_per_source", section_int(&Config::telephony, &TelephonyConfig::max_calls_per_source)},
      {"telephony.invites_per_second_per_source",
       section_int(&Config::telephony, &TelephonyConfig::invites_per_second_per_source)},
      {"telephony.rtp_send_without_receive",
       section_duration(&Config::telephony, &TelephonyConfig::rtp_send_without_receive)},
      {"telephony.sip_tcp_idle_timeout", section_duration(&Config::telephony, &TelephonyConfig::sip_tcp_idle_timeout)},
      {"telephony.sip_tcp_max_connections", section_int(&Config::telephony, &TelephonyConfig::sip_tcp_max_connections)},
      {"telephony.sip_tcp_max_connections_per_source",
       section_int(&Config::telephony, &TelephonyConfig::sip_tcp_max_connections_per_source)},
      {"ai.enabled", section_bool(&Config::ai, &AiConfig::enabled)},
      {"ai.stt_backend", section_string(&Config::ai, &AiConfig::stt_backend)},
      {"ai.stt_model_dir", section_string(&Config::ai, &AiConfig::stt_model_dir)},
      {"ai.stt_conversation_mode", section_string(&Config::ai, &AiConfig::stt_conversation_mode)},
      {"ai.stt_max_streams", section_int(&Config::ai, &AiConfig::stt_max_streams)},
      {"ai.stt_workers", section_int(&Config::ai, &AiConfig::stt_workers)},
      {"ai.stt_max_lag", section_duration(&Config::ai, &AiConfig::stt_max_lag)},
      {"ai.intent_backend", section_string(&Config::ai, &AiConfig::intent_backend)},
      {"ai.intent_examples_file", section_string(&Config::ai, &AiConfig::intent_examples_file)},
      {"ai.intent_threshold", section_double(&Config::ai, &AiConfig::intent_threshold)},
      {"ai.sentiment_alert_threshold", section_double(&Config::ai, &AiConfig::sentiment_alert_threshold)},
      {"ai.sentiment_alert_after", section_duration(&Config::ai, &AiConfig::sentiment_alert_after)},
      {"ai.knowledge_dir", section_string(&Config::ai, &AiConfig::knowledge_dir)},
      {"ai.suggestions_max", section_int(&Config::ai, &AiConfig::suggestions_max)},
      {"ai.suggestion_min_interval", section_duration(&Config::ai, &AiConfig::suggestion_min_interval)},
      {"ai.redact", section_string(&Config::ai, &AiConfig::redact)},
      {"ai.pause_on_card", section_bool(&Config::ai, &AiConfig::pause_on_card)},
      {"ai.llm_base_url", section_string(&Config::ai, &AiConfig::llm_base_url)},
      {"ai.llm_api_key", section_string(&Config::ai, &AiConfig::llm_api_key)},
      {"ai.llm_api_key_file", section_string(&Config::ai, &AiConfig::llm_api_key_file)},
      {"ai.llm_chat_model", section_string(&Config::ai, &AiConfig::llm_chat_model)},
      {"ai.llm_transcription_model", section_string(&Config::ai, &AiConfig::llm_transcription_model)},
      {"ai.llm_timeout", section_duration(&Config::ai, &AiConfig::llm_timeout)},
      {"ai.llm_suggestion_budget", section_duration(&Config::ai, &AiConfig::llm_suggestion_budget)},
      {"ai.llm_max_retries", section_int(&Config::ai, &AiConfig::llm_max_retries)},
      {"ai.llm_breaker_failures", section_int(&Config::ai, &AiConfig::llm_breaker_failures)},
      {"ai.llm_breaker_cooldown", section_duration(&Config::ai, &AiConfig::llm_breaker_cooldown)},
      {"ai.llm_suggestions", section_bool(&Config::ai, &AiConfig::llm_suggestions)},
      {"ai.llm_summaries", section_bool(&Config::ai, &AiConfig::llm_summaries)},
      {"gateway.enabled", section_bool(&Config::gateway, &GatewayConfig::enabled)},
      {"gateway.topics", section_string(&Config::gateway, &GatewayConfig::topics)},
      {"gateway.retained_per_org", section_int(&Config::gateway, &GatewayConfig::retained_per_org)},
      {"gateway.max_retained", section_int(&Config::gateway, &GatewayConfig::max_retained)},
      {"gateway.retention", section_duration(&Config::gateway, &GatewayConfig::retention)},
      {"gateway.dedup_window", section_int(&Config::gateway, &GatewayConfig::dedup_window)},
      {"gateway.client_queue", section_int(&Config::gateway, &GatewayConfig::client_queue)},
      {"gateway.max_clients", section_int(&Config::gateway, &GatewayConfig::max_clients)},
  };
  return table;
}

const std::vector<KeySpec>& key_table() {
  static const std::vector<KeySpec> table = [] {
    std::vector<KeySpec> all = base_key_table();
    add_redis_keys(all, "cache.redis", cache_redis);
    add_redis_keys(all, "state.redis", state_redis);
    return all;
  }();
  return table;
}

const KeySpec* find_key(std::string_view key) {
  for (const auto& spec : key_table()) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

bool is_section(const std::string& key) {
  std::string prefix = key + ".";
  for (const auto& spec : key_table()) {
    if (spec.key.starts_with(prefix)) return true;
  }
  return false;
}

Status apply_node(Config& config, const YAML::Node& node, const std::string& prefix) {
  if (!node.IsMap()) {
    return config_error(prefix.empty() ? "<root>" : prefix, "expected a mapping of keys to values");
  }
  for (const auto& item : node) {
    std::string name = item.first.as<std::string>();
    std::string key = prefix.empty() ? name : prefix + "." + name;
    const YAML::Node& value = item.second;
    const KeySpec* spec = find_key(key);
    if (spec != nullptr && spec->set_node) {
      if (value.IsNull()) continue;
      VONTRES_RETURN_IF_ERROR(spec->set_node(config, value, key));
      continue;
    }
    if (value.IsMap()) {
      VONTRES_RETURN_IF_ERROR(apply_node(config, value, key));
      continue;
    }
    if (spec == nullptr) {
      if (is_section(key)) return config_error(key, "expected a section of keys, e.g. " + key + ".<name>: value");
      return config_error(key, "unknown key");
    }
    if (value.IsNull()) continue;  // `key:` with no value keeps the default
    if (!value.IsScalar()) return config_error(key, "expected a single value");
    Status s = spec->set(config, value.Scalar());
    if (!s) return config_error(key, s.message());
  }
  return Status::ok();
}

Status validate_gateway(const GatewayConfig& g) {
  if (g.enabled && g.topic_list().empty()) return config_error("gateway.topics", "must name at least one topic");
  if (g.retained_per_org < 1 || g.retained_per_org > 1'000'000) {
    return config_error("gateway.retained_per_org", "must be 1..1000000");
  }
  if (g.max_retained < g.retained_per_org) {
    return config_error("gateway.max_retained", "must be at least gateway.retained_per_org");
  }
  if (g.retention.count() <= 0) return config_error("gateway.retention", "must be positive");
  if (g.dedup_window < 16) return config_error("gateway.dedup_window", "must be at least 16");
  if (g.client_queue < 1) return config_error("gateway.client_queue", "must be at least 1");
  if (g.max_clients < 1) return config_error("gateway.max_clients", "must be at least 1");
  return Status::ok();
}

Status validate_ai(const AiConfig& a) {
  static const std::set<std::string> kStt = {"pocketsphinx", "openai", "off"};
  if (!kStt.contains(a.stt_backend)) return config_error("ai.stt_backend", "must be pocketsphinx, openai or off");
  if (a.stt_conversation_mode != "open" && a.stt_conversation_mode != "grammar")
    return config_error("ai.stt_conversation_mode", "must be open or grammar");
  if (a.stt_max_streams < 1 || a.stt_max_streams > 10'000)
    return config_error("ai.stt_max_streams", "must be 1..10000");
  if (a.stt_workers < 0 || a.stt_workers > 256) return config_error("ai.stt_workers", "must be 0..256");
  if (a.stt_max_lag.count() < 100) return config_error("ai.stt_max_lag", "must be at least 100ms");
  if (a.intent_backend != "embedded" && a.intent_backend != "openai")
    return config_error("ai.intent_backend", "must be embedded or openai");
  if (!(a.intent_threshold >= 0.0 && a.intent_threshold <= 1.0))
    return config_error("ai.intent_threshold", "must be 0..1");
  if (!(a.sentiment_alert_threshold >= -1.0 && a.sentiment_alert_threshold <= 1.0))
    return config_error("ai.sentiment_alert_threshold", "must be -1..1");
  if (a.sentiment_alert_after.count() < 1) return config_error("ai.sentiment_alert_after", "must be positive");
  if (a.suggestions_max < 1 || a.suggestions_max > 20) return config_error("ai.suggestions_max", "must be 1..20");
  if (a.suggestion_min_interval.count() < 0) return config_error("ai.suggestion_min_interval", "must not be negative");
  static const std::set<std::string> kClasses = {"card", "cvv", "expiry", "ssn", "email", "phone"};
  size_t start = 0;
  while (start <= a.redact.size() && !a.redact.empty()) {
    size_t end = a.redact.find(',', start);
    if (end == std::string::npos) end = a.redact.size();
    std::string item = a.redact.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    if (auto last = item.find_last_not_of(' '); last != std::string::npos) item.erase(last + 1);
    if (!item.empty() && !kClasses.contains(item))
      return config_error("ai.redact", "unknown class '" + item + "' (card, cvv, expiry, ssn, email, phone)");
    start = end + 1;
  }
  if (a.llm_base_url.rfind("http://", 0) != 0 && a.llm_base_url.rfind("https://", 0) != 0)
    return config_error("ai.llm_base_url", "must start with http:// or https://");
  if (a.llm_timeout.count() < 100) return config_error("ai.llm_timeout", "must be at least 100ms");
  if (a.llm_suggestion_budget.count() < 1) return config_error("ai.llm_suggestion_budget", "must be positive");
  if (a.llm_max_retries < 0 || a.llm_max_retries > 10) return config_error("ai.llm_max_retries", "must be 0..10");
  if (a.llm_breaker_failures < 1) return config_error("ai.llm_breaker_failures", "must be at least 1");
  if (a.llm_breaker_cooldown.count() < 0) return config_error("ai.llm_breaker_cooldown", "must not be negative");
  return Status::ok();
}

Status validate_telephony(const TelephonyConfig& t) {
  const std::pair<const char*, const std::string*> listens[] = {
      {"telephony.sip_udp", &t.sip_udp}, {"telephony.sip_tcp", &t.sip_tcp}, {"telephony.sip_tls", &t.sip_tls}};
  for (const auto& [key, value] : listens) {
    if (value->empty()) continue;
    auto parsed = parse_listen_address(*value);
    if (!parsed) return config_error(key, parsed.status().message());
  }
  if (!t.sip_tls.empty() && (t.tls_cert_file.empty() || t.tls_key_file.empty()))
    return config_error("telephony.sip_tls", "needs telephony.tls_cert_file and telephony.tls_key_file");
  if (t.enabled && t.sip_udp.empty() && t.sip_tcp.empty() && t.sip_tls.empty())
    return config_error("telephony.sip_udp", "at least one SIP transport must be on (or telephony.enabled: false)");
  if (t.rtp_port_min < 1024 || t.rtp_port_max > 65'534 || t.rtp_port_min + 2 > t.rtp_port_max)
    return config_error("telephony.rtp_port_min",
                        "the RTP range must be within 1024..65534 and hold at least two ports");
  if (t.node_heartbeat_interval.count() < 100) {
    return config_error("telephony.node_heartbeat_interval", "must be at least 100ms");
  }
  if (t.node_timeout < 2 * t.node_heartbeat_interval) {
    return config_error("telephony.node_timeout", "must be at least twice telephony.node_heartbeat_interval");
  }
  if (t.rtp_inactivity_timeout.count() < 1'000)
    return config_error("telephony.rtp_inactivity_timeout", "must be at least 1s");
  if (t.max_calls < 1) return config_error("telephony.max_calls", "must be at least 1");
  if (t.realm.empty()) return config_error("telephony.realm", "must not be empty");
  if (t.sip_t1.count() < 10 || t.sip_t1 > t.sip_t2) return config_error("telephony.sip_t1", "must be 10ms..sip_t2");
  if (t.sip_t4.count() < 0) return config_error("telephony.sip_t4", "must not be negative");
  if (t.ivr_max_attempts < 1 || t.ivr_max_attempts > 10)
    return config_error("telephony.ivr_max_attempts", "must be 1..10");
  if (t.ivr_menu_timeout.count() < 500) return config_error("telephony.ivr_menu_timeout", "must be at least 500ms");
  std::set<std::string> digits;
  for (size_t i = 0; i < t.ivr_options.size(); ++i) {
    const auto& option = t.ivr_options[i];
    const std::string path = fmt::format("telephony.ivr_options[{}]", i);
    if (option.queue.empty()) return config_error(path + ".queue", "must not be empty");
    if (option.digit.empty() && option.phrases.empty()) return config_error(path, "needs a digit, phrases, or both");
    if (!option.digit.empty()) {
      if (option.digit.size() != 1 || std::string_view("0123456789*#").find(option.digit[0]) == std::string_view::npos)
        return config_error(path + ".digit", "must be one of 0-9, * or #");
      if (!digits.insert(option.digit).second) return config_error(path + ".digit", "is used by another option");
    }
  }
  for (const auto& [number, queue] : t.numbers) {
    if (number.empty() || queue.empty())
      return config_error("telephony.numbers", "numbers and queues must not be empty");
  }
  for (size_t i = 0; i < t.sip_trusted_sources.size(); ++i) {
    if (!is_address_or_cidr(t.sip_trusted_sources[i]))
      return config_error(fmt::format("telephony.sip_trusted_sources[{}]", i),
                          "expected a numeric address or ADDRESS/PREFIX");
  }
  if (t.register_max_failures_per_account < 0 || t.register_max_failures_per_source < 0)
    return config_error("telephony.register_max_failures_per_account", "must not be negative");
  if (t.register_failure_window.count() < 1'000)
    return config_error("telephony.register_failure_window", "must be at least 1s");
  if (t.register_lockout_base.count() < 1'000)
    return config_error("telephony.register_lockout_base", "must be at least 1s");
  if (t.register_lockout_max < t.register_lockout_base)
    return config_error("telephony.register_lockout_max", "must be at least register_lockout_base");
  if (t.rtp_send_without_receive.count() < 0)
    return config_error("telephony.rtp_send_without_receive", "must not be negative");
  if (t.sip_tcp_idle_timeout.count() < 1'000)
    return config_error("telephony.sip_tcp_idle_timeout", "must be at least 1s");
  if (t.sip_tcp_max_connections < 1) return config_error("telephony.sip_tcp_max_connections", "must be at least 1");
  if (t.sip_tcp_max_connections_per_source < 1)
    return config_error("telephony.sip_tcp_max_connections_per_source", "must be at least 1");
  return Status::ok();
}

bool boost_in_range(int boost) { return boost >= -100 && boost <= 100; }

Status validate_routing(const RoutingConfig& r) {
  std::map<std::string, size_t> intents;
  for (size_t i = 0; i < r.intent_rules.size(); ++i) {
    const RoutingIntentRuleConfig& rule = r.intent_rules[i];
    const std::string path = fmt::format("routing.intent_rules[{}]", i);
    if (rule.intent.empty()) return config_error(path + ".intent", "must not be empty");
    if (auto [it, inserted] = intents.emplace(rule.intent, i); !inserted) {
      return config_error(path + ".intent",
                          fmt::format("'{}' is already routed by routing.intent_rules[{}]", rule.intent, it->second));
    }
    if (rule.queue && rule.queue->empty()) {
      return config_error(path + ".queue", "must not be empty (leave it out to keep the call's entry queue)");
    }
    for (size_t j = 0; j < rule.skills.size(); ++j) {
      const std::string skill_path = fmt::format("{}.skills[{}]", path, j);
      if (rule.skills[j].skill.empty()) return config_error(skill_path + ".skill", "must not be empty");
      if (rule.skills[j].min_proficiency < 1 || rule.skills[j].min_proficiency > 10) {
        return config_error(skill_path + ".min_proficiency", "must be 1..10");
      }
    }
    if (!boost_in_range(rule.priority_boost)) return config_error(path + ".priority_boost", "must be -100..100");
    if (!rule.queue && rule.skills.empty() && rule.priority_boost == 0) {
      return config_error(path, "sets none of queue, skills and priority_boost, so it would do nothing");
    }
  }
  if (!(r.negative_sentiment_threshold >= -1 && r.negative_sentiment_threshold <= 1)) {
    return config_error("routing.negative_sentiment_threshold", "must be -1..1");
  }
  if (!boost_in_range(r.negative_sentiment_boost)) {
    return config_error("routing.negative_sentiment_boost", "must be -100..100");
  }
  for (const auto& [tier, boost] : r.tier_boost) {
    if (tier.empty()) return config_error("routing.tier_boost", "tier names must not be empty");
    if (!boost_in_range(boost)) return config_error("routing.tier_boost." + tier, "must be -100..100");
  }
  if (r.offer_timeout.count() <= 0) return config_error("routing.offer_timeout", "must be positive");
  if (r.reoffer_delay.count() < 0) return config_error("routing.reoffer_delay", "must not be negative");
  if (r.max_missed_offers < 0) return config_error("routing.max_missed_offers", "must not be negative (0: never)");
  if (r.wrap_up.count() < 0) return config_error("routing.wrap_up", "must not be negative");
  if (r.decisions_per_call > 1000) return config_error("routing.decisions_per_call", "must be 0..1000");
  if (r.explained_candidates > 1000) return config_error("routing.explained_candidates", "must be 0..1000");
  if (r.tick_resolution.count() < 1 || r.tick_resolution.count() > 1000) {
    return config_error("routing.tick_resolution", "must be 1ms..1s");
  }
  if (r.acd_client != "in_process" && r.acd_client != "bus" && r.acd_client != "auto") {
    return config_error("routing.acd_client", "must be auto, in_process or bus");
  }
  return Status::ok();
}

}  // namespace

std::string ListenAddress::to_string() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return invalid_argument("expected [IPV6]:PORT, got '" + std::string(text) + "'");
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return invalid_argument("expected HOST:PORT, got '" + std::string(text) + "'");
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) return invalid_argument("empty host in '" + std::string(text) + "'");
  auto port = parse_int<int>(port_text);
  if (!port || *port < 0 || *port > 65535) return invalid_argument("port out of range in '" + std::string(text) + "'");
  out.port = static_cast<uint16_t>(*port);
  return out;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::vector<std::string> GatewayConfig::topic_list() const { return split_list(topics); }

std::string Config::effective_node_id() const {
  if (!node_id.empty()) return node_id;
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0')
    return "localhost:" + std::to_string(http.listen.port);
  return std::string(host.data()) + ":" + std::to_string(http.listen.port);
}

RedisConfig StateConfig::effective_redis(const CacheConfig& cache) const {
  if (redis.configured() || !cache.redis.configured()) return redis;
  RedisConfig shared = cache.redis;  // with the state's own key prefix
  shared.key_prefix = redis.key_prefix;
  return shared;
}

std::string Config::sqlite_path() const {
  if (!store.sqlite_path.empty()) return store.sqlite_path;
  return data_dir + "/vontres.db";
}

namespace {
constexpr std::array<std::string_view, 4> kRoles = {"telephony", "routing", "ai", "api"};

}  // namespace

bool Config::runs(std::string_view role) const {
  const auto roles = split_list(services);
  return std::find(roles.begin(), roles.end(), "all") != roles.end() ||
         std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Config::acd_over_bus() const {
  return routing.acd_client == "bus" || (routing.acd_client == "auto" && !runs("routing"));
}

std::string Config::jwt_secret_path() const {
  if (!auth.jwt_secret_file.empty()) return auth.jwt_secret_file;
  return data_dir + "/jwt-secret";
}

Environment process_environment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (!entry.starts_with("VONTRES_")) continue;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::string config_env_name(std::string_view key) {
  std::string out = "VONTRES_";
  for (char c : key) out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

std::vector<std::string> config_keys() {
  std::vector<std::string> keys;
  for (const auto& spec : key_table()) keys.push_back(spec.key);
  return keys;
}

Status set_config_value(Config& config, std::string_view key, std::string_view value) {
  const KeySpec* spec = find_key(key);
  if (spec == nullptr) return config_error(key, "unknown key");
  if (!spec->set) return config_error(key, "is a list or mapping; set it in the configuration file");
  Status s = spec->set(config, value);
  if (!s) return config_error(key, s.message());
  return Status::ok();
}

Result<Config> parse_config(std::string_view yaml_text, const Environment& env) {
  Config config;
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    if (root.IsDefined() && !root.IsNull()) VONTRES_RETURN_IF_ERROR(apply_node(config, root, ""));
  } catch (const YAML::Exception& e) {
    return invalid_argument(
        fmt::format("YAML syntax error at line {}, column {}: {}", e.mark.line + 1, e.mark.column + 1, e.msg),
        "config_invalid");
  }
  std::set<std::string> known_env;
  for (const auto& spec : key_table()) {
    std::string name = config_env_name(spec.key);
    known_env.insert(name);
    auto it = env.find(name);
    if (it == env.end()) continue;
    if (!spec.set) {
      return config_error(name, "cannot be set from the environment (" + spec.key +
                                    " is a list or mapping); set it in the configuration file");
    }
    Status s = spec.set(config, it->second);
    if (!s) return config_error(name, s.message());
  }
  for (const auto& [name, value] : env) {
    if (name.starts_with("VONTRES_") && !known_env.contains(name) && name != "VONTRES_CONFIG") {
      return config_error(name, "unknown environment variable (no such configuration key)");
    }
  }
  VONTRES_RETURN_IF_ERROR(validate_config(config));
  return config;
}

Result<Config> load_config_file(const std::string& path, const Environment& env) {
  std::ifstream in(path);
  if (!in) return not_found("cannot read configuration file '" + path + "'", "config_not_found");
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto result = parse_config(buffer.str(), env);
  if (!result) return result.status().with_context(path);
  return result;
}

// Properties KafkaEventBus sets itself: overriding them would break the bus contract.
bool kafka_property_is_managed(const std::string& name) {
  static const std::set<std::string> kManaged = {"bootstrap.servers",
                                                 "metadata.broker.list",
                                                 "group.id",
                                                 "enable.idempotence",
                                                 "acks",
                                                 "request.required.acks",
                                                 "enable.auto.commit",
                                                 "enable.auto.offset.store",
                                                 "auto.offset.reset",
                                                 "partition.assignment.strategy",
                                                 "queue.buffering.max.messages",
                                                 "allow.auto.create.topics",
                                                 "client.id",
                                                 "dr_msg_cb",
                                                 "rebalance_cb",
                                                 "offset_commit_cb"};
  return kManaged.contains(name);
}

bool kafka_property_is_secret(const std::string& name) {
  return name.find("password") != std::string::npos || name.find("secret") != std::string::npos ||
         name == "sasl.oauthbearer.config" || name == "ssl.key.pem" || name == "ssl_key";
}

Status validate_kafka_bus(const KafkaBusConfig& k) {
  if (k.bootstrap_servers.empty()) {
    return config_error("bus.kafka.bootstrap_servers", "must list at least one host:port for bus.backend kafka");
  }
  if (k.partitions < 1 || k.partitions > 1024) return config_error("bus.kafka.partitions", "must be 1..1024");
  if (k.replication_factor < 1 || k.replication_factor > 16)
    return config_error("bus.kafka.replication_factor", "must be 1..16");
  if (k.min_publish_wait.count() <= 0) return config_error("bus.kafka.min_publish_wait", "must be positive");
  if (k.join_timeout.count() <= 0) return config_error("bus.kafka.join_timeout", "must be positive");
  if (k.commit_interval.count() <= 0) return config_error("bus.kafka.commit_interval", "must be positive");
  if (k.topic_creation != "admin" && k.topic_creation != "broker")
    return config_error("bus.kafka.topic_creation", "must be admin or broker");
  for (const auto& [name, value] : k.client_properties) {
    const std::string key = "bus.kafka.client_properties." + name;
    if (kafka_property_is_managed(name)) return config_error(key, "is set by the bus and cannot be overridden");
    if (kafka_property_is_secret(name))
      return config_error(key, "is a secret: give its file in bus.kafka.secret_files");
    if (value.empty()) return config_error(key, "must not be empty");
  }
  for (const auto& [name, path] : k.secret_files) {
    const std::string key = "bus.kafka.secret_files." + name;
    if (kafka_property_is_managed(name)) return config_error(key, "is set by the bus and cannot be overridden");
    if (path.empty()) return config_error(key, "must name a file");
  }
  return Status::ok();
}

Status validate_config(const Config& c) {
  if (c.service_name.empty()) return config_error("service_name", "must not be empty");
  if (c.data_dir.empty()) return config_error("data_dir", "must not be empty");
  const auto roles = split_list(c.services);
  if (roles.empty()) return config_error("services", "must name at least one of all, telephony, routing, ai, api");
  for (const std::string& role : roles) {
    if (role != "all" && std::find(kRoles.begin(), kRoles.end(), role) == kRoles.end()) {
      return config_error("services", "unknown service '" + std::string(role) + "' (all, telephony, routing, ai, api)");
    }
  }
  if (c.runs("telephony") && !c.runs("routing") && c.routing.acd_client == "in_process") {
    return config_error("routing.acd_client", "cannot be in_process when this process runs telephony without routing");
  }
  if (c.node_id.size() > 128 || c.node_id.find_first_of(" \t\r\n/") != std::string::npos) {
    return config_error("node_id", "must be at most 128 characters without spaces or '/'");
  }
  if (c.http.io_threads < 0 || c.http.io_threads > 256) return config_error("http.io_threads", "must be 0..256");
  if (c.http.worker_threads < 0 || c.http.worker_threads > 1024) {
    return config_error("http.worker_threads", "must be 0..1024");
  }
  if (c.http.max_body_bytes < 1024) return config_error("http.max_body_bytes", "must be at least 1KiB");
  if (c.http.max_header_bytes < 1024) return config_error("http.max_header_bytes", "must be at least 1KiB");
  if (c.http.request_timeout.count() <= 0) return config_error("http.request_timeout", "must be positive");
  if (c.http.idle_timeout.count() <= 0) return config_error("http.idle_timeout", "must be positive");
  if (c.http.max_connections == 0) return config_error("http.max_connections", "must be positive");
  if (c.http.tls_cert_file.empty() != c.http.tls_key_file.empty()) {
    return config_error(c.http.tls_cert_file.empty() ? "http.tls_cert_file" : "http.tls_key_file",
                        "TLS needs both http.tls_cert_file and http.tls_key_file");
  }
  static const std::set<std::string> kLevels = {"trace",   "debug", "info",     "warn",
                                                "warning", "error", "critical", "off"};
  if (!kLevels.contains(c.log.level))
    return config_error("log.level", "must be one of trace|debug|info|warn|error|critical|off");
  if (c.log.format != "json" && c.log.format != "text") return config_error("log.format", "must be json or text");
  if (c.bus.backend != "in_process" && c.bus.backend != "kafka")
    return config_error("bus.backend", "unknown backend '" + c.bus.backend + "' (available: in_process, kafka)");
  if (c.bus.backend == "kafka") VONTRES_RETURN_IF_ERROR(validate_kafka_bus(c.bus.kafka));
  if (c.bus.capacity_per_topic < 16) return config_error("bus.capacity_per_topic", "must be at least 16");
  if (c.bus.partitions < 1 || c.bus.partitions > 1024) return config_error("bus.partitions", "must be 1..1024");
  if (c.bus.ack_timeout.count() <= 0) return config_error("bus.ack_timeout", "must be positive");
  if (c.bus.publish_timeout.count() < 0) return config_error("bus.publish_timeout", "must not be negative");
  if (c.cache.backend != "in_process" && c.cache.backend != "redis_cluster") {
    return config_error("cache.backend",
                        "unknown backend '" + c.cache.backend + "' (available: in_process, redis_cluster)");
  }
  if (c.cache.backend == "redis_cluster") VONTRES_RETURN_IF_ERROR(validate_redis(c.cache.redis, "cache.redis"));
  if (c.state.backend != "in_process" && c.state.backend != "redis_cluster") {
    return config_error("state.backend",
                        "unknown backend '" + c.state.backend + "' (available: in_process, redis_cluster)");
  }
  if (c.state.backend == "redis_cluster") {
    if (c.state.redis.configured()) {
      VONTRES_RETURN_IF_ERROR(validate_redis(c.state.redis, "state.redis"));
    } else if (c.cache.redis.configured()) {
      VONTRES_RETURN_IF_ERROR(validate_redis(c.state.effective_redis(c.cache), "cache.redis"));
      if (c.state.redis.key_prefix.find_first_of("{}") != std::string::npos) {
        return config_error("state.redis.key_prefix", "must not contain '{' or '}' (keys carry their own hash tags)");
      }
    } else {
      return config_error("state.redis.seeds",
                          "needs host:port seeds (or cache.redis.seeds to share) for redis_cluster");
    }
  }
  if (c.cache.max_bytes < 1024) return config_error("cache.max_bytes", "must be at least 1KiB");
  if (c.cache.shards < 1 || c.cache.shards > 1024) return config_error("cache.shards", "must be 1..1024");
  if (c.store.backend != "sqlite" && c.store.backend != "postgres")
    return config_error("store.backend", "unknown backend '" + c.store.backend + "' (available: sqlite, postgres)");
  if (c.store.busy_timeout.count() < 0) return config_error("store.busy_timeout", "must not be negative");
  if (c.store.backend == "postgres") {
    const std::string& url = c.store.postgres.url;
    if (url.empty()) return config_error("store.postgres.url", "is required when store.backend is postgres");
    if (!url.starts_with("postgresql://") && !url.starts_with("postgres://") && url.find('=') == std::string::npos) {
      return config_error("store.postgres.url", "must be a libpq conninfo (key=value ...) or a postgresql:// URI");
    }
    // A password in the URL would end up in files, process listings and logs.
    const bool is_uri = url.starts_with("postgresql://") || url.starts_with("postgres://");
    const size_t authority = is_uri ? url.find("//") + 2 : 0;
    const size_t at = is_uri ? url.find_first_of("@/?", authority) : std::string::npos;
    const bool uri_password = at != std::string::npos && url[at] == '@' &&
                              url.substr(authority, at - authority).find(':') != std::string::npos;
    if (url.find("password=") != std::string::npos || uri_password) {
      return config_error("store.postgres.url", "must not contain a password; use store.postgres.password_file");
    }
    if (c.store.postgres.pool_size < 1 || c.store.postgres.pool_size > 1000)
      return config_error("store.postgres.pool_size", "must be 1..1000");
    if (c.store.postgres.connect_timeout.count() < 1 || c.store.postgres.connect_timeout.count() > 600'000)
      return config_error("store.postgres.connect_timeout_ms", "must be 1ms..10m");
  }
  static const std::set<std::string> kAlgorithms = {"HS256", "RS256", "ES256", "EdDSA"};
  if (!kAlgorithms.contains(c.auth.jwt_algorithm))
    return config_error("auth.jwt_algorithm", "must be HS256, RS256, ES256 or EdDSA");
  if (c.auth.jwt_algorithm != "HS256" && (c.auth.jwt_private_key_file.empty() || c.auth.jwt_public_key_file.empty())) {
    return config_error("auth.jwt_private_key_file",
                        c.auth.jwt_algorithm + " needs auth.jwt_private_key_file and auth.jwt_public_key_file");
  }
  if (c.auth.issuer.empty()) return config_error("auth.issuer", "must not be empty");
  if (c.auth.audience.empty()) return config_error("auth.audience", "must not be empty");
  if (c.auth.access_token_ttl.count() <= 0) return config_error("auth.access_token_ttl", "must be positive");
  if (c.auth.refresh_token_ttl <= c.auth.access_token_ttl)
    return config_error("auth.refresh_token_ttl", "must be longer than auth.access_token_ttl");
  if (c.auth.clock_skew_leeway.count() < 0 || c.auth.clock_skew_leeway.count() > 300'000)
    return config_error("auth.clock_skew_leeway", "must be 0..5m");
  if (c.auth.password_min_length < 8 || c.auth.password_min_length > 128)
    return config_error("auth.password_min_length", "must be 8..128");
  if (c.auth.argon2_memory_kib < 8 * 1024)
    return config_error("auth.argon2_memory_kib", "must be at least 8192 (8 MiB)");
  if (c.auth.argon2_iterations < 1) return config_error("auth.argon2_iterations", "must be at least 1");
  if (c.auth.argon2_parallelism < 1 || c.auth.argon2_parallelism > 64)
    return config_error("auth.argon2_parallelism", "must be 1..64");
  if (c.auth.login_max_failures_per_account < 1)
    return config_error("auth.login_max_failures_per_account", "must be at least 1");
  if (c.auth.login_max_failures_per_address < 1)
    return config_error("auth.login_max_failures_per_address", "must be at least 1");
  VONTRES_RETURN_IF_ERROR(validate_routing(c.routing));
  VONTRES_RETURN_IF_ERROR(validate_telephony(c.telephony));
  VONTRES_RETURN_IF_ERROR(validate_gateway(c.gateway));
  return validate_ai(c.ai);
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  auto number = parse_int<int64_t>(text.substr(0, i));
  if (!number)
    return invalid_argument("expected a duration like 250ms, 30s, 5m or 1h, got '" + std::string(text) + "'");
  std::string_view unit = text.substr(i);
  int64_t factor = 0;
  if (unit.empty() || unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else
    return invalid_argument("unknown duration unit '" + std::string(unit) + "' (use ms, s, m or h)");
  if (*number > INT64_MAX / factor) return invalid_argument("duration too large");
  return std::chrono::milliseconds(*number * factor);
}

Result<uint64_t> parse_byte_size(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  auto number = parse_int<uint64_t>(text.substr(0, i));
  if (!number)
    return invalid_argument("expected a size like 1048576, 512KiB or 64MiB, got '" + std::string(text) + "'");
  std::string_view unit = text.substr(i);
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},      {"B", 1},         {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"KB", 1000}, {"MB", 1000'000}, {"GB", 1000'000'000}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      if (*number > UINT64_MAX / factor) return invalid_argument("size too large");
      return *number * factor;
    }
  }
  return invalid_argument("unknown size unit '" + std::string(unit) + "' (use B, KiB, MiB, GiB, KB, MB or GB)");
}

}  // namespace vontres
