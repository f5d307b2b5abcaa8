#include "support/kafka_broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/peers.h"

#ifndef VONTRES_SOURCE_DIR
#error "VONTRES_SOURCE_DIR must name the source tree (tests/CMakeLists.txt defines it)"
#endif

namespace vontres::testing {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

bool port_accepts(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A CA and a certificate for 127.0.0.1 it signed, as a PKCS#12 keystore and a PEM truststore.
bool make_tls_material(const std::string& dir, std::string& error) {
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=vontres-test-ca",
       "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem"},
      {"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", dir + "/broker.key",
       "-out", dir + "/broker.csr"},
      {"sh", "-c", "printf 'subjectAltName=IP:127.0.0.1\\n' > '" + dir + "/san.ext'"},
      {"openssl", "x509", "-req", "-in", dir + "/broker.csr", "-CA", dir + "/ca.pem", "-CAkey", dir + "/ca.key",
       "-CAcreateserial", "-days", "2", "-extfile", dir + "/san.ext", "-out", dir + "/broker.pem"},
      {"openssl", "pkcs12", "-export", "-in", dir + "/broker.pem", "-inkey", dir + "/broker.key", "-certfile",
       dir + "/ca.pem", "-passout", "pass:vontres-test", "-out", dir + "/broker.p12"},
  };
  for (const auto& argv : steps) {
    RunResult result = run(argv);
    if (result.exit_code != 0) {
      error = "TLS material: `" + argv[0] + " " + argv[1] + "` failed: " + result.err;
      return false;
    }
  }
  return true;
}

}  // namespace

std::string kafka_jars(std::string& error) {
  const char* home = std::getenv("HOME");
  std::string cache = std::string(home != nullptr ? home : "/tmp") + "/.cache/vontres-kafka/" + kKafkaVersion;
  const std::string marker = cache + "/kafka_2.13-" + kKafkaVersion + ".jar";
  if (fs::exists(marker)) return cache;
  if (!have_program("mvn")) {
    error = "mvn is not installed (Debian package maven): cannot fetch the Kafka broker jars";
    return {};
  }
  // Into a fresh directory first, renamed at the end, so an interrupted fetch is never taken as done.
  const std::string partial = cache + ".partial-" + std::to_string(getpid());
  fs::create_directories(partial);
  RunResult result = run({"mvn", "-q", "-B", "-f", std::string(VONTRES_SOURCE_DIR) + "/tests/kafka/pom.xml",
                          "dependency:copy-dependencies", "-DoutputDirectory=" + partial});
  std::error_code ec;
  if (result.exit_code != 0 || !fs::exists(partial + "/kafka_2.13-" + kKafkaVersion + ".jar")) {
    fs::remove_all(partial, ec);
    error = "mvn could not fetch org.apache.kafka:kafka_2.13:" + std::string(kKafkaVersion) + ": " + result.out +
            result.err;
    return {};
  }
  fs::rename(partial, cache, ec);
  if (ec && !fs::exists(marker)) {
    error = "cannot move the fetched jars to " + cache + ": " + ec.message();
    return {};
  }
  fs::remove_all(partial, ec);
  return cache;
}

std::unique_ptr<KafkaBroker> KafkaBroker::start(const KafkaBrokerOptions& options, std::string& error) {
  if (!have_program("java")) {
    error = "java is not installed (Debian package openjdk-17-jre-headless): cannot run the Kafka broker";
    return nullptr;
  }
  auto broker = std::make_unique<KafkaBroker>();
  broker->jars_ = kafka_jars(error);
  if (broker->jars_.empty()) return nullptr;
  broker->dir_ = std::make_unique<TempDir>();
  const std::string& dir = broker->dir_->path();
  broker->port_ = free_port();
  broker->controller_port_ = free_port();
  while (broker->controller_port_ == broker->port_) broker->controller_port_ = free_port();
  if (options.ssl) {
    broker->ssl_port_ = free_port();
    if (!make_tls_material(dir, error)) return nullptr;
    broker->ca_file_ = dir + "/ca.pem";
  }
  if (broker->port_ == 0 || broker->controller_port_ == 0) {
    error = "no free loopback port";
    return nullptr;
  }
  const std::string plain = "PLAINTEXT://127.0.0.1:" + std::to_string(broker->port_);
  const std::string controller = "CONTROLLER://127.0.0.1:" + std::to_string(broker->controller_port_);
  const std::string ssl = "SSL://127.0.0.1:" + std::to_string(broker->ssl_port_);
  std::ofstream props(dir + "/server.properties");
  props << "process.roles=broker,controller\n"
        << "node.id=1\n"
        << "controller.quorum.voters=1@127.0.0.1:" << broker->controller_port_ << "\n"
        << "listeners=" << plain << "," << controller << (options.ssl ? "," + ssl : "") << "\n"
        << "advertised.listeners=" << plain << (options.ssl ? "," + ssl : "") << "\n"
        << "controller.listener.names=CONTROLLER\n"
        << "inter.broker.listener.name=PLAINTEXT\n"
        << "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL\n"
        << "log.dirs=" << dir << "/data\n"
        << "num.partitions=4\n"
        << "offsets.topic.replication.factor=1\n"
        << "offsets.topic.num.partitions=4\n"
        << "transaction.state.log.replication.factor=1\n"
        << "transaction.state.log.min.isr=1\n"
        << "share.coordinator.state.topic.replication.factor=1\n"
        << "share.coordinator.state.topic.min.isr=1\n"
        << "group.initial.rebalance.delay.ms=0\n"
        << "group.min.session.timeout.ms=1000\n"
        << "auto.create.topics.enable=false\n";
  if (options.ssl) {
    props << "ssl.keystore.type=PKCS12\n"
          << "ssl.keystore.location=" << dir << "/broker.p12\n"
          << "ssl.keystore.password=vontres-test\n"
          << "ssl.key.password=vontres-test\n";
  }
  props.close();
  RunResult format = run({"java", "-cp", broker->jars_ + "/*", "kafka.tools.StorageTool", "format", "-t",
                          "vontresTestCluster0001", "-c", dir + "/server.properties"});
  if (format.exit_code != 0) {
    error = "kafka.tools.StorageTool format failed: " + format.out + format.err;
    return nullptr;
  }
  if (!broker->launch(error)) return nullptr;
  return broker;
}

bool KafkaBroker::launch(std::string& error) {
  const std::string& dir = dir_->path();
  // exec: the shell becomes the JVM, so the PID we hold is the broker's.
  process_.emplace(Subprocess::start(
      {"/bin/sh", "-c",
       "exec java -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true -cp '" + jars_ +
           "/*' kafka.Kafka '" + dir + "/server.properties' >>'" + dir + "/broker.log' 2>&1"}));
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (process_->wait(0ms).has_value()) {
      error = "the Kafka broker exited during start-up: " + log_tail();
      return false;
    }
    if (port_accepts(port_) && (ssl_port_ == 0 || port_accepts(ssl_port_))) return true;
    std::this_thread::sleep_for(100ms);
  }
  error = "the Kafka broker did not listen on 127.0.0.1:" + std::to_string(port_) + " within 60 s: " + log_tail();
  return false;
}

void KafkaBroker::kill() {
  if (!process_) return;
  process_->send_signal(SIGKILL);
  (void)process_->wait(30s);
  process_.reset();
}

bool KafkaBroker::restart(std::string& error) {
  kill();
  return launch(error);
}

std::string KafkaBroker::log_tail() const {
  if (!dir_) return {};
  const std::string text = read_file(dir_->path() + "/broker.log");
  return text.size() > 4'000 ? text.substr(text.size() - 4'000) : text;
}

KafkaBroker::~KafkaBroker() { kill(); }

}  // namespace vontres::testing
