#include "support/peers.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

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

std::string local_sipp_scenario(const std::string& scenario_file, const std::string& dir) {
  const std::string pcap = dir + "/pcap";
  std::filesystem::create_directories(pcap);
  std::error_code ec;
  std::filesystem::create_symlink("/usr/share/sip-tester/dtmf_2833_1.pcap", pcap + "/dtmf.pcap", ec);
  std::filesystem::create_symlink("/usr/share/sip-tester/g711a.pcap", pcap + "/g711a.pcap", ec);
  std::ifstream in(scenario_file);
  std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  xml = std::regex_replace(xml, std::regex("\"pcap/"), "\"" + pcap + "/");
  const std::string local = dir + "/" + std::filesystem::path(scenario_file).filename().string();
  std::ofstream(local) << xml;
  return local;
}

bool sipp_register(const std::string& register_scenario, const std::string& dir, const std::string& target,
                   const std::string& username, const std::string& password, uint16_t local_port) {
  const std::string csv = dir + "/" + username + ".csv";
  std::ofstream(csv) << "SEQUENTIAL\n" << username << ";\n";
  const RunResult r = run({"sipp",
                           "-sf",
                           register_scenario,
                           "-inf",
                           csv,
                           "-au",
                           username,
                           "-ap",
                           password,
                           target,
                           "-i",
                           "127.0.0.1",
                           "-p",
                           std::to_string(local_port),
                           "-m",
                           "1",
                           "-nostdin",
                           "-timeout",
                           "15s",
                           "-timeout_error"});
  return r.exit_code == 0;
}

}  // namespace vontres::testing
