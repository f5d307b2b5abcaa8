// Raw bytes -> the server's request parsing, routing, authentication and error path
// (api::handle_raw_request), without sockets. Every input must yield a well-formed JSON error or a
// handler response, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <prometheus/registry.h>

#include "api/dispatch.h"
#include "api/health.h"
#include "api/raw_request.h"
#include "core/log.h"

namespace {

using namespace vontres;
using namespace vontres::api;

class FuzzAuthenticator final : public Authenticator {
 public:
  Result<Principal> authenticate(const Request& request) override {
    if (request.header("authorization") == "Bearer ok") return Principal{"u", "o", {}, {"things.read"}, "jwt", "t"};
    return unauthenticated("bad token", "token_invalid");
  }
};

struct World {
  World() {
    log::Options options;
    options.level = log::Level::kOff;
    log::init(options);
    register_health_routes(router, checks, registry);
    RouteOptions read;
    read.permission = "things.read";
    router.add(Method::kGet, "/api/v1/things/{id}", read, [](Request& request) {
      return Response::json(200, {{"id", request.path_params.at("id")}, {"query", request.query}});
    });
    router.add(Method::kGet, "/api/v1/things/mine", read, [](Request&) { return Response::no_content(); });
    RouteOptions open;
    open.public_route = true;
    router.add(Method::kPost, "/echo", open, [](Request& request) {
      auto body = request.json_body();
      if (!body.is_ok()) return Response::error(body.status());
      return Response::json(200, *body);
    });
    router.add(Method::kPut, "/throws/{x}", open, [](Request&) -> Response { throw std::runtime_error("x"); });
  }
  Router router;
  ReadinessChecks checks;
  prometheus::Registry registry;
  FuzzAuthenticator authenticator;
  ManualClock clock;
  Dispatcher dispatcher{router, &authenticator, clock};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Response response = handle_raw_request(world.dispatcher, bytes, {2048, 4096});
  if (response.status < 100 || response.status > 599) std::abort();
  if (response.status >= 400) {
    // Every error is {"error":{"code":...,"message":...}}.
    const auto body = nlohmann::json::parse(response.body, nullptr, false);
    if (body.is_discarded() || !body.contains("error") || !body["error"]["code"].is_string()) std::abort();
  }
  return 0;
}
