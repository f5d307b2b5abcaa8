#include "store/postgres_dump.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace vontres::store {

namespace fs = std::filesystem;

namespace {

Status backup_failed(std::string message) { return internal_error(std::move(message), "store_backup_failed"); }

bool is_executable(const std::string& path) { return !path.empty() && ::access(path.c_str(), X_OK) == 0; }

std::string search_path(const std::string& program) {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read-only lookup
  if (path == nullptr) return "";
  std::string_view rest(path);
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    if (!dir.empty() && is_executable(dir + "/" + program)) return dir + "/" + program;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return "";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace

std::vector<std::string> pg_dump_candidates() {
  std::vector<std::string> out;
  for (int version = 17; version >= 15; --version) {
    out.push_back("/usr/lib/postgresql/" + std::to_string(version) + "/bin/pg_dump");
  }
  out.emplace_back("/usr/bin/pg_dump");  // Debian's pg_wrapper: picks the newest installed
  return out;
}

std::string find_pg_dump() {
  for (const std::string& candidate : pg_dump_candidates()) {
    if (is_executable(candidate)) return candidate;
  }
  return search_path("pg_dump");
}

Status dump_postgres(const PostgresOptions& options, const std::string& destination_path,
                     const std::string& pg_dump_path) {
  if (!is_executable(pg_dump_path)) {
    return failed_precondition(
        "pg_dump not found (install postgresql-client-15; looked in /usr/lib/postgresql/*/bin, "
        "/usr/bin and PATH)",
        "pg_dump_not_found");
  }
  std::error_code error;
  const fs::path parent = fs::path(destination_path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, error);
  if (error) return backup_failed("creating " + parent.string() + ": " + error.message());
  const std::string temp_path = destination_path + ".tmp-" + unique_suffix();
  const std::string stderr_path = temp_path + ".stderr";
  struct Cleanup {
    std::vector<std::string> paths;
    ~Cleanup() {
      std::error_code ignored;
      for (const auto& path : paths) fs::remove(path, ignored);
    }
  } cleanup{{temp_path, stderr_path}};

  std::vector<std::string> arguments = {pg_dump_path, "--format=custom", "--no-password", "--file=" + temp_path,
                                        "--dbname=" + options.conninfo};
  std::vector<std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (!text.starts_with("PGPASSWORD=") && !text.starts_with("PGCONNECT_TIMEOUT=")) environment.emplace_back(text);
  }
  if (!options.password.empty()) environment.push_back("PGPASSWORD=" + options.password);
  // libpq's own timeout counts whole seconds (minimum 2).
  const auto timeout_seconds = std::max<int64_t>(2, (options.connect_timeout.count() + 999) / 1000);
  environment.push_back("PGCONNECT_TIMEOUT=" + std::to_string(timeout_seconds));

  std::vector<char*> argv;
  argv.reserve(arguments.size() + 1);
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(environment.size() + 1);
  for (auto& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, pg_dump_path.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return backup_failed("starting " + pg_dump_path + ": " + std::strerror(spawned));
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) return backup_failed(std::string("waiting for pg_dump: ") + std::strerror(errno));
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return backup_failed("pg_dump failed: " + read_text(stderr_path));
  }
  fs::rename(temp_path, destination_path, error);
  if (error) return backup_failed("moving backup into place at " + destination_path + ": " + error.message());
  return Status::ok();
}

}  // namespace vontres::store
