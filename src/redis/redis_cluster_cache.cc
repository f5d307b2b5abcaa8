#include "redis/redis_cluster_cache.h"

#include <charconv>
#include <vector>

#include "redis/scripts.h"

namespace vontres::redis {
namespace {

Status cache_status(const Status& client_error) {
  if (client_error.kind() == ErrorKind::kUnavailable || client_error.kind() == ErrorKind::kDeadlineExceeded) {
    return unavailable(client_error.message(), "cache_unavailable");
  }
  return internal_error(client_error.message(), "cache_error");
}

Status reply_status(const Reply& reply) {
  if (reply.text.find("not an integer") != std::string::npos || reply.error_code() == "WRONGTYPE") {
    return failed_precondition(reply.text, "cache_not_integer");
  }
  return failed_precondition(reply.text, "cache_error");
}

Result<std::string> ttl_argument(cache::Ttl ttl) {
  if (!ttl) return std::string();
  if (ttl->count() <= 0) return invalid_argument("cache ttl must be positive", "cache_invalid_ttl");
  return std::to_string(ttl->count());
}

Result<int64_t> integer_of(const Reply& reply) {
  if (reply.type == Reply::Type::kInteger) return reply.integer;
  int64_t value = 0;
  const char* end = reply.text.data() + reply.text.size();
  auto [ptr, ec] = std::from_chars(reply.text.data(), end, value);
  if (reply.is_string() && ec == std::errc() && ptr == end) return value;
  return internal_error("unexpected Redis reply " + reply.debug_string(), "cache_error");
}

}  // namespace

RedisClusterCache::RedisClusterCache(std::shared_ptr<ClusterClient> client, std::string key_prefix)
    : client_(std::move(client)),
      key_prefix_(std::move(key_prefix)),
      channel_(key_prefix_ + "invalidations"),
      hub_(std::make_shared<cache::InvalidationHub>()) {}

Result<std::unique_ptr<RedisClusterCache>> RedisClusterCache::create(std::shared_ptr<ClusterClient> client,
                                                                     std::string key_prefix) {
  std::unique_ptr<RedisClusterCache> cache(
      new RedisClusterCache(std::move(client), std::move(key_prefix)));  // NOLINT: private constructor
  cache->dispatcher_ = std::thread([raw = cache.get()] { raw->dispatch_loop(); });
  auto subscription = cache->client_->subscribe(cache->channel_, [raw = cache.get()](std::string_view key) {
    std::lock_guard lock(raw->queue_mutex_);
    if (raw->queue_.size() >= kMaxQueuedInvalidations) {
      raw->queue_.pop_front();
      raw->dropped_.fetch_add(1);
    }
    raw->queue_.emplace_back(key);
    raw->queue_ready_.notify_one();
  });
  if (!subscription.is_ok()) return cache_status(subscription.status());
  cache->subscription_ = std::move(subscription).value();
  return cache;
}

RedisClusterCache::~RedisClusterCache() {
  subscription_.reset();
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
}

void RedisClusterCache::dispatch_loop() {
  std::unique_lock lock(queue_mutex_);
  for (;;) {  // ends when the cache is destroyed
    queue_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::string key = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    hub_->notify(key);
    lock.lock();
  }
}

Result<Reply> RedisClusterCache::run(const std::string& key, const std::vector<std::string>& args, bool write) {
  auto reply = client_->command_for_key(key, args, write);
  if (!reply.is_ok()) return cache_status(reply.status());
  if (reply->is_error()) return reply_status(*reply);
  return std::move(reply).value();
}

Result<std::optional<std::string>> RedisClusterCache::get(std::string_view key) {
  const std::string full = key_for(key);
  VONTRES_ASSIGN_OR_RETURN(Reply reply, run(full, {"GET", full}, false));
  if (reply.is_nil()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(reply.text));
}

Status RedisClusterCache::set(std::string_view key, std::string_view value, cache::Ttl ttl) {
  VONTRES_ASSIGN_OR_RETURN(std::string ttl_ms, ttl_argument(ttl));
  const std::string full = key_for(key);
  std::vector<std::string> args{"SET", full, std::string(value)};
  if (!ttl_ms.empty()) {
    args.emplace_back("PX");
    args.push_back(ttl_ms);
  }
  return run(full, args, true).status();
}

Result<bool> RedisClusterCache::erase(std::string_view key) {
  const std::string full = key_for(key);
  VONTRES_ASSIGN_OR_RETURN(Reply reply, run(full, {"DEL", full}, true));
  return reply.integer != 0;
}

Result<int64_t> RedisClusterCache::increment(std::string_view key, int64_t delta, cache::Ttl ttl_if_created) {
  VONTRES_ASSIGN_OR_RETURN(std::string ttl_ms, ttl_argument(ttl_if_created));
  auto reply = client_->eval(scripts::increment(), {key_for(key)}, {std::to_string(delta), ttl_ms}, true);
  if (!reply.is_ok()) return cache_status(reply.status());
  if (reply->is_error()) return reply_status(*reply);
  return integer_of(*reply);
}

Result<bool> RedisClusterCache::compare_and_set(std::string_view key, const std::optional<std::string>& expected,
                                                std::string_view value, cache::Ttl ttl) {
  VONTRES_ASSIGN_OR_RETURN(std::string ttl_ms, ttl_argument(ttl));
  auto reply = client_->eval(scripts::compare_and_set(), {key_for(key)},
                             {expected ? "1" : "0", expected.value_or(""), std::string(value), ttl_ms}, true);
  if (!reply.is_ok()) return cache_status(reply.status());
  if (reply->is_error()) return reply_status(*reply);
  VONTRES_ASSIGN_OR_RETURN(int64_t set, integer_of(*reply));
  return set != 0;
}

Result<std::optional<std::chrono::milliseconds>> RedisClusterCache::ttl(std::string_view key) {
  const std::string full = key_for(key);
  VONTRES_ASSIGN_OR_RETURN(Reply reply, run(full, {"PTTL", full}, false));
  if (reply.integer == -2) return not_found("cache key not found", "cache_key_not_found");
  if (reply.integer == -1) return std::optional<std::chrono::milliseconds>();
  return std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(reply.integer));
}

Status RedisClusterCache::invalidate(std::string_view key) {
  VONTRES_RETURN_IF_ERROR(erase(key).status());
  Status published = client_->publish(channel_, std::string(key));
  if (!published.is_ok()) return cache_status(published);
  return Status::ok();
}

Result<std::unique_ptr<cache::InvalidationSubscription>> RedisClusterCache::subscribe_invalidations(
    std::function<void(std::string_view key)> callback) {
  return hub_->add(std::move(callback));
}

Status RedisClusterCache::ping() {
  auto reply = client_->command({"PING"});
  if (!reply.is_ok()) return cache_status(reply.status());
  if (reply->is_error()) return reply_status(*reply);
  return Status::ok();
}

}  // namespace vontres::redis
