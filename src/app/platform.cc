#include "app/platform.h"

#include "bus/in_process_bus.h"
#include "bus/kafka_bus.h"
#include "cache/in_process_cache.h"
#include "redis/cluster_client.h"
#include "redis/options.h"
#include "redis/redis_cluster_cache.h"
#include "redis/redis_cluster_state_store.h"
#include "state/in_process_state_store.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace vontres::app {

Result<std::unique_ptr<store::Store>> open_store(const Config& config, const Clock& clock) {
  if (config.store.backend == "sqlite") {
    auto store = store::SqliteStore::open(config.store, config.sqlite_path(), clock);
    if (!store) return store.status();
    return std::unique_ptr<store::Store>(std::move(store).value());
  }
  if (config.store.backend == "postgres") {
    auto store = store::PostgresStore::open(config.store, clock);
    if (!store) return store.status();
    return std::unique_ptr<store::Store>(std::move(store).value());
  }
  return invalid_argument("unknown store backend '" + config.store.backend + "'", "config_invalid");
}

Result<Platform> open_platform(const Config& config, const Clock& clock, prometheus::Registry& metrics) {
  Platform platform;
  if (config.bus.backend == "in_process") {
    platform.bus = std::make_unique<bus::InProcessEventBus>(config.bus, clock, &metrics);
  } else if (config.bus.backend == "kafka") {
    VONTRES_ASSIGN_OR_RETURN(platform.bus, bus::KafkaEventBus::create(config.bus, clock, &metrics));
  } else {
    return invalid_argument("unknown bus backend '" + config.bus.backend + "'", "config_invalid");
  }
  std::shared_ptr<redis::ClusterClient> cache_client;
  if (config.cache.backend == "in_process") {
    platform.cache = std::make_unique<cache::InProcessCache>(config.cache, clock, &metrics);
  } else if (config.cache.backend == "redis_cluster") {
    VONTRES_ASSIGN_OR_RETURN(auto options, redis::client_options(config.cache.redis, "cache.redis", &metrics));
    VONTRES_ASSIGN_OR_RETURN(cache_client, redis::ClusterClient::connect(std::move(options)));
    VONTRES_ASSIGN_OR_RETURN(platform.cache,
                             redis::RedisClusterCache::create(cache_client, config.cache.redis.key_prefix));
  } else {
    return invalid_argument("unknown cache backend '" + config.cache.backend + "'", "config_invalid");
  }
  if (config.state.backend == "in_process") {
    platform.state = std::make_unique<state::InProcessStateStore>(clock, &metrics);
  } else if (config.state.backend == "redis_cluster") {
    std::shared_ptr<redis::ClusterClient> state_client;
    if (!config.state.redis.configured() && cache_client) {
      state_client = cache_client;  // same cluster, same settings: share the connections
    } else {
      const bool own = config.state.redis.configured();
      VONTRES_ASSIGN_OR_RETURN(auto options, redis::client_options(config.state.effective_redis(config.cache),
                                                                   own ? "state.redis" : "cache.redis", &metrics));
      VONTRES_ASSIGN_OR_RETURN(state_client, redis::ClusterClient::connect(std::move(options)));
    }
    platform.state = std::make_unique<redis::RedisClusterStateStore>(state_client, config.state.redis.key_prefix);
  } else {
    return invalid_argument("unknown state backend '" + config.state.backend + "'", "config_invalid");
  }
  VONTRES_ASSIGN_OR_RETURN(platform.store, open_store(config, clock));
  return platform;
}

}  // namespace vontres::app
