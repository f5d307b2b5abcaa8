#include "redis/redis_cluster_state_store.h"

#include <charconv>

#include "redis/scripts.h"

namespace vontres::redis {
namespace {

Status state_status(const Status& client_error) {
  if (client_error.kind() == ErrorKind::kUnavailable || client_error.kind() == ErrorKind::kDeadlineExceeded) {
    return unavailable(client_error.message(), "state_unavailable");
  }
  return internal_error(client_error.message(), "state_error");
}

Status reply_status(const Reply& reply) {
  const std::string_view code = reply.error_code();
  if (code == "WRONGTYPE") return failed_precondition(reply.text, "state_wrong_type");
  if (reply.text.find("not an integer") != std::string::npos) {
    return failed_precondition(reply.text, "state_not_integer");
  }
  return failed_precondition(reply.text, "state_error");
}

Status invalid_ttl() { return invalid_argument("state ttl must be positive", "state_invalid_ttl"); }

Result<std::string> ttl_argument(state::Ttl ttl) {
  if (!ttl) return std::string();
  if (ttl->count() <= 0) return invalid_ttl();
  return std::to_string(ttl->count());
}

Result<int64_t> integer_of(const Reply& reply) {
  if (reply.type == Reply::Type::kInteger) return reply.integer;
  int64_t value = 0;
  const char* end = reply.text.data() + reply.text.size();
  auto [ptr, ec] = std::from_chars(reply.text.data(), end, value);
  if (reply.is_string() && ec == std::errc() && ptr == end) return value;
  return internal_error("unexpected Redis reply " + reply.debug_string(), "state_error");
}

Result<bool> boolean_of(const Reply& reply) {
  VONTRES_ASSIGN_OR_RETURN(int64_t value, integer_of(reply));
  return value != 0;
}

}  // namespace

RedisClusterStateStore::RedisClusterStateStore(std::shared_ptr<ClusterClient> client, std::string key_prefix)
    : client_(std::move(client)), key_prefix_(std::move(key_prefix)) {}

Result<Reply> RedisClusterStateStore::run(std::string_view key, const std::vector<std::string>& args, bool write) {
  auto reply = client_->command_for_key(key, args, write);
  if (!reply.is_ok()) return state_status(reply.status());
  if (reply->is_error()) return reply_status(*reply);
  return std::move(reply).value();
}

Result<Reply> RedisClusterStateStore::run_script(const Script& script, const std::string& key,
                                                 const std::vector<std::string>& args, bool write) {
  auto reply = client_->eval(script, {key}, args, write);
  if (!reply.is_ok()) return state_status(reply.status());
  if (reply->is_error()) return reply_status(*reply);
  return std::move(reply).value();
}

Result<std::optional<std::string>> RedisClusterStateStore::get(std::string_view key) {
  const std::string full = key_for(key);
  VONTRES_ASSIGN_OR_RETURN(Reply reply, run(full, {"GET", full}, false));
  if (reply.is_nil()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(reply.text));
}

Status RedisClusterStateStore::set(std::string_view key, std::string_view value, state::Ttl ttl) {
  VONTRES_ASSIGN_OR_RETURN(std::string ttl_ms, ttl_argument(ttl));
  const std::string full = key_for(key);
  std::vector<std::string> args{"SET", full, std::string(value)};
  if (!ttl_ms.empty()) {
    args.emplace_back("PX");
    args.push_back(ttl_ms);
  }
  return run(full, args, true).status();
}

Result<bool> RedisClusterStateStore::erase(std::string_view key) {
  const std::string full = key_for(key);
  VONTRES_ASSIGN_OR_RETURN(Reply reply, run(full, {"DEL", full}, true));
  return boolean_of(reply);
}

Result<bool> RedisClusterStateStore::compare_and_set(std::string_view key, const std::optional<std::string>& expected,
                                                     std::string_view value, state::Ttl ttl) {
  VONTRES_ASSIGN_OR_RETURN(std::string ttl_ms, ttl_argument(ttl));
  VONTRES_ASSIGN_OR_RETURN(Reply reply,
                           run_script(scripts::compare_and_set(), key_for(key),
                                      {expected ? "1" : "0", expected.value_or(""), std::string(value), ttl_ms}, true));
  return boolean_of(reply);
}

Result<int64_t> RedisClusterStateStore::increment(std::string_view key, int64_t delta, state::Ttl ttl_if_created) {
  VONTRES_ASSIGN_OR_RETURN(std::string ttl_ms, ttl_argument(ttl_if_created));
  VONTRES_ASSIGN_OR_RETURN(Reply reply,
                           run_script(scripts::increment(), key_for(key), {std::to_string(delta), ttl_ms}, true));
  return integer_of(reply);
}

Result<bool> RedisClusterStateStore::set_ttl(std::string_view key, state::Ttl ttl) {
  VONTRES_ASSIGN_OR_RETURN(std::string ttl_ms, ttl_argument(ttl));
  VONTRES_ASSIGN_OR_RETURN(Reply reply, run_script(scripts::set_ttl(), key_for(key), {ttl_ms}, true));
  return boolean_of(reply);
}

Status RedisClusterStateStore::hash_set(std::string_view key, std::string_view field, std::string_view value) {
  const std::string full = key_for(key);
  return run(full, {"HSET", full, std::string(field), std::string(value)}, true).status();
}

Result<std::optional<std::string>> RedisClusterStateStore::hash_get(std::string_view key, std::string_view field) {
  const std::string full = key_for(key);
  VONTRES_ASSIGN_OR_RETURN(Reply reply, run(full, {"HGET", full, std::string(field)}, false));
  if (reply.is_nil()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(reply.text));
}

Result<bool> RedisClusterStateStore::hash_erase(std::string_view key, std::string_view field) {
  const std::string full = key_for(key);
  VONTRES_ASSIGN_OR_RETURN(Reply reply, run(full, {"HDEL", full, std::string(field)}, true));
  return boolean_of(reply);
}

Result<std::map<std::string, std::string>> RedisClusterStateStore::hash_get_all(std::string_view key) {
  const std::string full = key_for(key);
  VONTRES_ASSIGN_OR_RETURN(Reply reply, run(full, {"HGETALL", full}, false));
  std::map<std::string, std::string> fields;
  if (reply.type != Reply::Type::kArray || reply.elements.size() % 2 != 0) {
    return internal_error("unexpected HGETALL reply " + reply.debug_string(), "state_error");
  }
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    fields.emplace(std::move(reply.elements[i].text), std::move(reply.elements[i + 1].text));
  }
  return fields;
}

Result<std::optional<state::Lease>> RedisClusterStateStore::acquire_lease(std::string_view name,
                                                                          std::string_view holder,
                                                                          std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return invalid_ttl();
  VONTRES_ASSIGN_OR_RETURN(Reply reply, run_script(scripts::lease_acquire(), lease_key_for(name),
                                                   {std::string(holder), std::to_string(ttl.count())}, true));
  if (reply.type != Reply::Type::kArray || reply.elements.empty()) {
    return internal_error("unexpected lease reply " + reply.debug_string(), "state_error");
  }
  if (reply.elements[0].integer == 0) return std::optional<state::Lease>();
  if (reply.elements.size() != 4)
    return internal_error("unexpected lease reply " + reply.debug_string(), "state_error");
  VONTRES_ASSIGN_OR_RETURN(int64_t token, integer_of(reply.elements[2]));
  VONTRES_ASSIGN_OR_RETURN(int64_t expires, integer_of(reply.elements[3]));
  return std::optional<state::Lease>(state::Lease{reply.elements[1].text, token, expires});
}

Result<bool> RedisClusterStateStore::renew_lease(std::string_view name, const state::Lease& lease,
                                                 std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return invalid_ttl();
  VONTRES_ASSIGN_OR_RETURN(Reply reply,
                           run_script(scripts::lease_renew(), lease_key_for(name),
                                      {lease.holder, std::to_string(lease.token), std::to_string(ttl.count())}, true));
  return boolean_of(reply);
}

Status RedisClusterStateStore::release_lease(std::string_view name, const state::Lease& lease) {
  return run_script(scripts::lease_release(), lease_key_for(name), {lease.holder, std::to_string(lease.token)}, true)
      .status();
}

Result<std::optional<state::Lease>> RedisClusterStateStore::current_lease(std::string_view name) {
  VONTRES_ASSIGN_OR_RETURN(Reply reply, run_script(scripts::lease_current(), lease_key_for(name), {}, false));
  if (reply.type != Reply::Type::kArray) {
    return internal_error("unexpected lease reply " + reply.debug_string(), "state_error");
  }
  if (reply.elements.empty()) return std::optional<state::Lease>();
  if (reply.elements.size() != 3)
    return internal_error("unexpected lease reply " + reply.debug_string(), "state_error");
  VONTRES_ASSIGN_OR_RETURN(int64_t token, integer_of(reply.elements[1]));
  VONTRES_ASSIGN_OR_RETURN(int64_t expires, integer_of(reply.elements[2]));
  return std::optional<state::Lease>(state::Lease{reply.elements[0].text, token, expires});
}

Status RedisClusterStateStore::ping() {
  auto reply = client_->command({"PING"});
  if (!reply.is_ok()) return state_status(reply.status());
  if (reply->is_error()) return reply_status(*reply);
  return Status::ok();
}

}  // namespace vontres::redis
