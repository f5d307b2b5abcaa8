#include "app/serve.h"

#include <pthread.h>
#include <signal.h>

#include <memory>

#include <prometheus/registry.h>

#include "api/health.h"
#include "api/http.h"
#include "api/server.h"
#include "app/data_dir.h"
#include "app/platform.h"
#include "app/services.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"

namespace vontres::app {

int serve(const Config& config) {
  log::Logger logger("app");

  // Block the termination signals before any thread exists, so every thread inherits the mask and
  // only sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto fail = [&](const Status& status) {
    logger.error("start-up failed", {{"error.code", std::string(status.code())}, {"error.message", status.message()}});
    return 1;
  };

  auto lock = lock_data_dir(config.data_dir);
  if (!lock) return fail(lock.status());

  Clock& clock = SystemClock::instance();
  auto metrics = std::make_shared<prometheus::Registry>();
  auto platform = open_platform(config, clock, *metrics);
  if (!platform) return fail(platform.status());

  IdGenerator ids(clock);
  api::Router router;
  api::ReadinessChecks readiness;
  // Each check names its backend ("store:postgres", "bus:kafka", ...) so the operator sees which one is down.
  readiness.add("store:" + config.store.backend, [store = platform->store.get()] { return store->ping(); });
  readiness.add("bus:" + config.bus.backend, [bus = platform->bus.get()] { return bus->ping(); });
  readiness.add("cache:" + config.cache.backend, [cache = platform->cache.get()] { return cache->ping(); });
  readiness.add("state:" + config.state.backend, [state = platform->state.get()] { return state->ping(); });
  std::string metrics_token;
  if (!config.http.metrics_token_file.empty()) {
    auto token = api::read_metrics_token(config.http.metrics_token_file);
    if (!token) return fail(token.status());
    metrics_token = std::move(token).value();
  }
  api::register_health_routes(router, readiness, *metrics, std::move(metrics_token));

  auto services = Services::start(config, *platform, clock, ids, router, metrics.get());
  if (!services) return fail(services.status());

  api::HttpServer server(config.http, router, (*services)->authenticator(), *metrics, clock);
  Status started = server.start();
  if (!started) return fail(started);
  std::string scheme = config.http.tls_enabled() ? "https" : "http";
  std::string url = scheme + "://" + ListenAddress{config.http.listen.host, server.port()}.to_string();
  logger.info("vontres is serving",
              {{"url.full", url},
               {"service.version", VONTRES_VERSION},
               {"vontres.data_dir", config.data_dir},
               {"vontres.node_id", config.effective_node_id()},
               {"vontres.services", config.services},
               {"vontres.acd_client", config.acd_over_bus() ? "bus" : "in_process"},
               {"vontres.backends", config.bus.backend + "," + config.cache.backend + "," + config.store.backend}});

  int received = 0;
  sigwait(&signals, &received);
  logger.info("shutting down", {{"process.signal", received == SIGTERM ? "SIGTERM" : "SIGINT"},
                                {"vontres.grace_ms", config.http.shutdown_grace.count()}});
  server.shutdown(config.http.shutdown_grace);
  server.wait();
  (*services)->stop();
  logger.info("stopped");
  log::flush();
  return 0;
}

}  // namespace vontres::app
