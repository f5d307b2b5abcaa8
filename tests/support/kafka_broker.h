// A real Apache Kafka broker (KRaft, one combined broker+controller node) on 127.0.0.1 for tests.
// The jars come from Maven Central through tests/kafka/pom.xml into ~/.cache/vontres-kafka/<version>
// (fetched once, then reused); the broker runs as `java -cp '<cache>/*' kafka.Kafka` with its log
// directory in a temp dir, and is killed by PID when the object is destroyed. Start one per test
// binary (it takes a few seconds) and share it.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "support/subprocess.h"

namespace vontres::testing {

inline constexpr const char* kKafkaVersion = "4.1.1";  // must match tests/kafka/pom.xml

struct KafkaBrokerOptions {
  // Adds an SSL listener whose certificate is signed by a CA the helper makes with openssl;
  // ssl_bootstrap() and ca_file() then tell clients where it is and what to trust.
  bool ssl = false;
};

class KafkaBroker {
 public:
  // Fetches the jars if needed, formats the storage, starts the broker and waits (up to 60 s)
  // until its listener accepts connections. On failure returns null and sets `error`.
  static std::unique_ptr<KafkaBroker> start(const KafkaBrokerOptions& options, std::string& error);
  KafkaBroker() = default;  // not started: use start()
  ~KafkaBroker();
  KafkaBroker(const KafkaBroker&) = delete;
  KafkaBroker& operator=(const KafkaBroker&) = delete;

  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string ssl_bootstrap() const { return "127.0.0.1:" + std::to_string(ssl_port_); }
  const std::string& ca_file() const { return ca_file_; }

  // SIGKILL, as a crash would; the data directory stays. restart() starts it again on the same
  // ports and waits until it accepts connections. Both by PID.
  void kill();
  bool restart(std::string& error);
  // The broker's output so far (for failure messages).
  std::string log_tail() const;

 private:
  bool launch(std::string& error);

  std::unique_ptr<TempDir> dir_;
  std::string jars_;
  uint16_t port_ = 0;
  uint16_t controller_port_ = 0;
  uint16_t ssl_port_ = 0;
  std::string ca_file_;
  std::optional<Subprocess> process_;
};

// The directory holding the broker jars, fetching them with Maven if absent. Empty and `error`
// set when they cannot be had.
std::string kafka_jars(std::string& error);

}  // namespace vontres::testing
