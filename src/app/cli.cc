#include "app/cli.h"

#include <iostream>

namespace vontres::app {
int run_cli(int, char**) {
  std::cout << "vontres\n";
  return 0;
}
}  // namespace vontres::app
