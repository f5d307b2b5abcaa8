// `vontres serve`: every service of Vontres in one process, on the backends the configuration
// names. Returns when SIGTERM or SIGINT arrives and in-flight requests have finished (or the grace
// period ran out), or at once with an error if start-up fails.
#pragma once

#include "core/config.h"

namespace vontres::app {

// Returns the process exit code: 0 after a clean shutdown, 1 when start-up failed.
int serve(const Config& config);

}  // namespace vontres::app
