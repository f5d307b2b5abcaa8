// The `vontres` binary: parses the command line and hands over to app/cli.h.
#include "app/cli.h"

int main(int argc, char** argv) { return vontres::app::run_cli(argc, argv); }
