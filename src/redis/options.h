// Turns a configuration section (core/config.h RedisConfig: cache.redis or state.redis) into
// ClientOptions, reading the password file once, here, at open time.
#pragma once

#include <string_view>

#include "core/config.h"
#include "core/status.h"
#include "redis/cluster_client.h"

namespace vontres::redis {

// `section` ("cache.redis") names the keys in errors (code "config_invalid"). `metrics`, optional,
// must outlive the client.
Result<ClientOptions> client_options(const RedisConfig& config, std::string_view section,
                                     prometheus::Registry* metrics = nullptr);

}  // namespace vontres::redis
