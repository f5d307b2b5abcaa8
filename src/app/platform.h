// The backends of one Vontres process, chosen from configuration in exactly this one place.
// Services receive the interfaces (EventBus, Cache, Store) and never learn which implementation
// they got: today the embedded ones; the distributed ones (Kafka, Redis Cluster, PostgreSQL) plug
// in here behind the same interfaces.
#pragma once

#include <memory>

#include <prometheus/registry.h>

#include "bus/event_bus.h"
#include "cache/cache.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"
#include "store/store.h"

namespace vontres::app {

struct Platform {
  std::unique_ptr<bus::EventBus> bus;
  std::unique_ptr<cache::Cache> cache;
  std::unique_ptr<store::Store> store;
};

// Opens every backend named in `config`. The data directory must exist.
Result<Platform> open_platform(const Config& config, const Clock& clock, prometheus::Registry& metrics);

// Opens only the Store (for CLI commands that do not serve).
Result<std::unique_ptr<store::Store>> open_store(const Config& config, const Clock& clock);

}  // namespace vontres::app
