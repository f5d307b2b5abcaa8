#include "app/bootstrap.h"

#include <filesystem>

#include <prometheus/registry.h>

#include "app/data_dir.h"
#include "app/platform.h"
#include "app/services.h"
#include "users/users_service.h"

namespace vontres::app {

Status create_first_admin(const Config& config, const std::string& org_name, const std::string& email,
                          const std::string& password) {
  // Works whether or not a server is running on the same data directory: SQLite in WAL mode lets a
  // second process write, serialised by its busy timeout.
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return failed_precondition("cannot create data directory '" + config.data_dir + "'", "data_dir_unusable");
  Clock& clock = SystemClock::instance();
  prometheus::Registry metrics;
  VONTRES_ASSIGN_OR_RETURN(Platform platform, open_platform(config, clock, metrics));
  IdGenerator ids(clock);
  api::Router router;
  Config offline = config;
  offline.telephony.enabled = false;  // never bind SIP ports for a one-off command
  offline.ai.enabled = false;         // nor load speech models and train the intent model
  VONTRES_ASSIGN_OR_RETURN(auto services, Services::start(offline, platform, clock, ids, router));
  return users::create_admin(services->users(), org_name, email, password);
}

}  // namespace vontres::app
