// vontres_with_backends TEST_BINARY [ARGS...]: starts a real PostgreSQL 15, a real Redis 7 Cluster
// (3 masters, 3 replicas) and a real Apache Kafka broker (KRaft) on 127.0.0.1, runs TEST_BINARY with
// TEST_VONTRES_BACKENDS naming where they are (support/backends.h), stops both and exits with the test's exit code. A
// server that cannot start is a failure (exit 1), never a skip.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/kafka_broker.h"
#include "support/postgres_server.h"
#include "support/redis_cluster.h"
#include "support/subprocess.h"

int main(int argc, char** argv) {
  using namespace vontres::testing;
  if (argc < 2) {
    std::cerr << "usage: vontres_with_backends TEST_BINARY [ARGS...]\n";
    return 2;
  }
  std::string error;
  auto postgres = PostgresServer::start({}, &error);
  if (!postgres) {
    std::cerr << "vontres_with_backends: PostgreSQL did not start: " << error << "\n";
    return 1;
  }
  auto redis = RedisCluster::start({}, &error);
  if (!redis) {
    std::cerr << "vontres_with_backends: Redis Cluster did not start: " << error << "\n";
    return 1;
  }
  auto kafka = KafkaBroker::start({}, error);
  if (!kafka) {
    std::cerr << "vontres_with_backends: the Kafka broker did not start: " << error << "\n";
    return 1;
  }
  TempDir dir;
  const std::string file = dir.path() + "/backends.json";
  std::ofstream(file) << nlohmann::json{
      {"postgres_admin", postgres->conninfo("postgres")},
      {"postgres_base", "host=127.0.0.1 port=" + std::to_string(postgres->port()) + " user=postgres sslmode=disable"},
      {"redis_seeds", redis->seeds()},
      {"kafka_bootstrap",
       kafka->bootstrap()}}.dump();
  std::cerr << "vontres_with_backends: PostgreSQL on 127.0.0.1:" << postgres->port() << ", Redis Cluster on "
            << redis->seeds().front() << ",..., Kafka on " << kafka->bootstrap() << "\n";
  ::setenv("TEST_VONTRES_BACKENDS", file.c_str(), 1);

  const pid_t child = ::fork();
  if (child == 0) {
    std::vector<char*> args(argv + 1, argv + argc);
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::perror("execv");
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::cerr << "vontres_with_backends: the tests exited with " << code << "\n";
  return code;
}
