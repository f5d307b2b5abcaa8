// Bootstrapping a fresh install from the command line.
#pragma once

#include <string>

#include "core/config.h"
#include "core/status.h"

namespace vontres::app {

// Opens the store, applies migrations, creates organisation `org_name` if missing and an admin
// `email` with `password` in it. Fails with "email_taken" if the user exists.
Status create_first_admin(const Config& config, const std::string& org_name, const std::string& email,
                          const std::string& password);

}  // namespace vontres::app
