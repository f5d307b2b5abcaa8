#include "support/peers.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/subprocess.h"

namespace vontres::testing {

bool have_program(const std::string& name) { return run({"sh", "-c", "command -v " + name}).exit_code == 0; }

uint16_t free_port(uint16_t below) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(udp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(udp);
      continue;
    }
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    const bool tcp_free = bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(tcp);
    close(udp);
    if (tcp_free && ntohs(addr.sin_port) < below) return ntohs(addr.sin_port);
  }
  return 0;
}

}  // namespace vontres::testing
