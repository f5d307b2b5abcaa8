// The backends of one Vontres process, chosen from configuration in exactly this one place.
// Services receive the interfaces (EventBus, Cache, Store) and never learn which implementation
// they got: the embedded ones by default; Redis Cluster for the cache and the state store
// (cache.backend / state.backend: redis_cluster); the other distributed ones plug in here too.
#pragma once

#include <memory>

#include <prometheus/registry.h>

#include "bus/event_bus.h"
#include "cache/cache.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"
#include "state/state_store.h"
#include "store/store.h"

namespace vontres::app {

struct Platform {
  std::unique_ptr<bus::EventBus> bus;
  std::unique_ptr<cache::Cache> cache;
  std::unique_ptr<store::Store> store;
  // Non-evicting shared state (state.backend): embedded, or Redis Cluster (sharing the cache's
  // connections when state.redis names no seeds of its own).
  std::unique_ptr<state::StateStore> state;
};

// Opens every backend named in `config`. The data directory must exist.
Result<Platform> open_platform(const Config& config, const Clock& clock, prometheus::Registry& metrics);

// Opens only the Store (for CLI commands that do not serve).
Result<std::unique_ptr<store::Store>> open_store(const Config& config, const Clock& clock);

}  // namespace vontres::app
