#include "app/platform.h"

#include "bus/in_process_bus.h"
#include "bus/kafka_bus.h"
#include "cache/in_process_cache.h"
#include "store/sqlite_store.h"

namespace vontres::app {

Result<std::unique_ptr<store::Store>> open_store(const Config& config, const Clock& clock) {
  if (config.store.backend == "sqlite") {
    auto store = store::SqliteStore::open(config.store, config.sqlite_path(), clock);
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
  if (config.cache.backend == "in_process") {
    platform.cache = std::make_unique<cache::InProcessCache>(config.cache, clock, &metrics);
  } else {
    return invalid_argument("unknown cache backend '" + config.cache.backend + "'", "config_invalid");
  }
  VONTRES_ASSIGN_OR_RETURN(platform.store, open_store(config, clock));
  return platform;
}

}  // namespace vontres::app
