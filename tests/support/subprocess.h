// Starts a real program (the `vontres` binary, curl, openssl, ...) for integration tests, with its
// stdout and stderr captured. The child is killed when the object is destroyed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vontres::testing {

class Subprocess {
 public:
  // argv[0] is the program path (searched in PATH when it has no '/'). `env` entries are added to
  // the current environment. `stdin_text`, when given, is written to the child's stdin, then closed.
  static Subprocess start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                          const std::optional<std::string>& stdin_text = std::nullopt);
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  void send_signal(int signal);
  // Waits for exit; returns the exit code (128+signal if killed), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // Reads stderr until a line satisfies `match` (returns it) or the timeout passes/the child exits.
  std::optional<std::string> wait_for_stderr_line(const std::function<bool(const std::string&)>& match,
                                                  std::chrono::milliseconds timeout);
  // Everything read so far (call after wait() to get all of it).
  const std::string& stdout_text();
  const std::string& stderr_text();

 private:
  Subprocess() = default;
  void drain(bool block_until_eof);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  std::optional<int> exit_code_;
};

// Runs a program to completion (timeout 60 s) and returns {exit code, stdout, stderr}.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
              const std::optional<std::string>& stdin_text = std::nullopt);

// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace vontres::testing
