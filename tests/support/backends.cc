#include "support/backends.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

namespace vontres::testing {

std::string shared_backends_expected() {
  const char* file = std::getenv("TEST_VONTRES_BACKENDS");
  return file == nullptr || *file == '\0' ? std::string() : std::string("kafka,redis_cluster,postgres");
}

std::string shared_backends_yaml() {
  const char* file = std::getenv("TEST_VONTRES_BACKENDS");
  if (file == nullptr || *file == '\0') return {};
  std::ifstream in(file);
  const nlohmann::json backends = nlohmann::json::parse(in, nullptr, false);
  if (!backends.is_object()) return "store: {backend: \"unreadable TEST_VONTRES_BACKENDS file\"}\n";
  static std::atomic<int> counter{0};
  const std::string name = "e2e_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));

  std::unique_ptr<PGconn, decltype(&PQfinish)> admin(PQconnectdb(backends.value("postgres_admin", "").c_str()),
                                                     &PQfinish);
  if (PQstatus(admin.get()) != CONNECTION_OK) return "store: {backend: \"postgres admin connection failed\"}\n";
  std::unique_ptr<PGresult, decltype(&PQclear)> created(PQexec(admin.get(), ("CREATE DATABASE " + name).c_str()),
                                                        &PQclear);
  if (PQresultStatus(created.get()) != PGRES_COMMAND_OK) return "store: {backend: \"CREATE DATABASE failed\"}\n";

  std::ostringstream yaml;
  yaml << "store:\n  backend: postgres\n  postgres:\n    url: \"" << backends.value("postgres_base", "")
       << " dbname=" << name << "\"\n";
  yaml << "cache:\n  backend: redis_cluster\n  redis:\n    key_prefix: \"" << name << ":cache:\"\n    seeds: [";
  bool first = true;
  for (const auto& seed : backends.value("redis_seeds", nlohmann::json::array())) {
    yaml << (first ? "" : ", ") << "\"" << seed.get<std::string>() << "\"";
    first = false;
  }
  yaml << "]\n";
  yaml << "state:\n  backend: redis_cluster\n  redis:\n    key_prefix: \"" << name << ":state:\"\n";
  // The servers a suite starts one after another share the broker's topics, as the processes of
  // one deployment do; each handles only the calls it holds.
  yaml << "bus:\n  backend: kafka\n  kafka:\n    bootstrap_servers: \"" << backends.value("kafka_bootstrap", "")
       << "\"\n    replication_factor: 1\n";
  return yaml.str();
}

}  // namespace vontres::testing
