// Command-line entry point: `vontres serve|version|config check|backup|restore|...`.
#pragma once

namespace vontres::app {

// Runs the command line; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace vontres::app
