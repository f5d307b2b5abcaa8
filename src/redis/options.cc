#include "redis/options.h"

#include <fstream>

namespace vontres::redis {
namespace {

Status bad(std::string_view section, std::string_view key, const std::string& why) {
  return invalid_argument(std::string(section) + "." + std::string(key) + ": " + why, "config_invalid");
}

}  // namespace

Result<ClientOptions> client_options(const RedisConfig& config, std::string_view section,
                                     prometheus::Registry* metrics) {
  ClientOptions options;
  options.metrics = metrics;
  for (size_t i = 0; i < config.seeds.size(); ++i) {
    bool tls = false;
    auto endpoint = parse_endpoint(config.seeds[i], &tls);
    if (!endpoint) return bad(section, "seeds[" + std::to_string(i) + "]", endpoint.status().message());
    if (i > 0 && tls != options.tls)
      return bad(section, "seeds[" + std::to_string(i) + "]", "mixes redis:// and rediss://");
    options.tls = tls;
    options.seeds.push_back(*endpoint);
  }
  if (options.seeds.empty()) return bad(section, "seeds", "needs at least one host:port");
  options.tls_ca_file = config.tls_ca_file;
  options.tls_server_name = config.tls_server_name;
  options.username = config.username;
  if (!config.password_file.empty()) {
    std::ifstream file(config.password_file);
    if (!file) return bad(section, "password_file", "cannot read " + config.password_file);
    std::getline(file, options.password);
    if (!options.password.empty() && options.password.back() == '\r') options.password.pop_back();
    if (options.password.empty()) return bad(section, "password_file", config.password_file + " is empty");
  }
  options.connect_timeout = config.connect_timeout;
  options.request_timeout = config.request_timeout;
  options.command_deadline = config.command_deadline;
  options.topology_refresh_interval = config.topology_refresh_interval;
  options.connections_per_node = config.connections_per_node;
  options.wait_replicas = config.wait_replicas;
  options.wait_timeout = config.wait_timeout;
  return options;
}

}  // namespace vontres::redis
