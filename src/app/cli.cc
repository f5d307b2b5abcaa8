#include "app/cli.h"

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "ai/intent/cli.h"
#include "ai/sentiment/command.h"
#include "ai/sentiment/vader.h"
#include "ai/stt/cli.h"
#include "app/bootstrap.h"
#include "app/data_dir.h"
#include "app/platform.h"
#include "app/serve.h"
#include "core/config.h"
#include "core/log.h"
#include "store/postgres_dump.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

#ifndef VONTRES_VERSION  // set by CMake
#define VONTRES_VERSION "0.0.0-dev"
#endif

namespace vontres::app {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Options shared by every command that needs a configuration.
struct ConfigOptions {
  std::string config_file;
  std::string http_listen;
  std::string data_dir;
  std::string log_level;
  std::string log_format;
  std::string services;
  std::string node_id;

  void add_to(CLI::App& command, bool with_http) {
    command.add_option("-c,--config", config_file,
                       "YAML configuration file (default: $VONTRES_CONFIG, else built-in defaults)");
    command.add_option("--data-dir", data_dir, "Data directory (overrides data_dir / VONTRES_DATA_DIR)");
    command.add_option("--log-level", log_level, "trace|debug|info|warn|error|critical|off");
    command.add_option("--log-format", log_format, "json|text");
    if (with_http) {
      command.add_option("--http-listen", http_listen, "HOST:PORT of the API server (port 0: any free port)");
      command.add_option("--services", services,
                         "Services this process runs: all, or a list of telephony,routing,ai,api (overrides services)");
      command.add_option("--node-id", node_id, "This process's node id (overrides node_id / VONTRES_NODE_ID)");
    }
  }
};

int report(const Status& status, int exit_code = kExitFailure) {
  std::cerr << "vontres: error: " << status.code() << ": " << status.message() << "\n";
  return exit_code;
}

Result<Config> load(const ConfigOptions& options) {
  Environment env = process_environment();
  std::string file = options.config_file;
  if (file.empty()) {
    if (auto it = env.find("VONTRES_CONFIG"); it != env.end()) file = it->second;
  }
  Result<Config> config = file.empty() ? parse_config("", env) : load_config_file(file, env);
  if (!config) return config;
  const std::pair<const char*, const std::string*> flags[] = {
      {"http.listen", &options.http_listen}, {"data_dir", &options.data_dir}, {"log.level", &options.log_level},
      {"log.format", &options.log_format},   {"services", &options.services}, {"node_id", &options.node_id}};
  for (const auto& [key, value] : flags) {
    if (value->empty()) continue;
    Status s = set_config_value(*config, key, *value);
    if (!s) return invalid_argument("flag for " + s.message(), "config_invalid");
  }
  VONTRES_RETURN_IF_ERROR(validate_config(*config));
  return config;
}

void init_logging(const Config& config) {
  log::Level level = log::Level::kInfo;
  log::parse_level(config.log.level, level);
  log::init(
      {.service_name = config.service_name, .level = level, .json = config.log.format == "json", .to_stderr = true});
}

std::optional<std::string> read_password(bool from_stdin) {
  std::string password;
  bool tty = ::isatty(STDIN_FILENO) != 0;
  if (!from_stdin && tty) {
    std::cerr << "Password: " << std::flush;
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, password);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  } else if (!std::getline(std::cin, password)) {
    return std::nullopt;
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return password;
}

}  // namespace

int run_cli(int argc, char** argv) {
  // The store holds password hashes and tokens' hashes: nothing Vontres creates is world-readable.
  ::umask(027);
  CLI::App cli{"Vontres: a self-hosted AI call center", "vontres"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", VONTRES_VERSION);

  ConfigOptions serve_options;
  auto* serve_cmd =
      cli.add_subcommand("serve", "Run the services (all of them in one process by default, or those of --services)");
  serve_options.add_to(*serve_cmd, true);

  auto* version_cmd = cli.add_subcommand("version", "Print the version");

  auto* config_cmd = cli.add_subcommand("config", "Configuration tools");
  config_cmd->require_subcommand(1);
  ConfigOptions check_options;
  auto* check_cmd = config_cmd->add_subcommand("check", "Validate a configuration and exit (0: valid, 2: invalid)");
  check_options.add_to(*check_cmd, true);
  auto* keys_cmd = config_cmd->add_subcommand("keys", "List every configuration key and its environment variable");

  ConfigOptions backup_options;
  std::string backup_output;
  auto* backup_cmd = cli.add_subcommand("backup", "Write a consistent copy of the store while the server runs");
  backup_options.add_to(*backup_cmd, false);
  backup_cmd->add_option("-o,--output", backup_output, "Backup file to write")->required();

  ConfigOptions restore_options;
  std::string restore_input;
  auto* restore_cmd = cli.add_subcommand("restore", "Replace the store with a backup (the server must be stopped)");
  restore_options.add_to(*restore_cmd, false);
  restore_cmd->add_option("-i,--input", restore_input, "Backup file to restore")->required()->check(CLI::ExistingFile);

  auto* users_cmd = cli.add_subcommand("users", "User management");
  users_cmd->require_subcommand(1);
  ConfigOptions admin_options;
  std::string admin_org;
  std::string admin_email;
  bool password_stdin = false;
  auto* admin_cmd =
      users_cmd->add_subcommand("create-admin", "Create an organisation's first admin (password read from stdin)");
  admin_options.add_to(*admin_cmd, false);
  admin_cmd->add_option("--org", admin_org, "Organisation name (created if missing)")->required();
  admin_cmd->add_option("--email", admin_email, "Admin e-mail address")->required();
  admin_cmd->add_flag("--password-stdin", password_stdin, "Read the password from standard input without prompting");

  // AI tools for operators and for checking models offline.
  auto* ai_cmd = cli.add_subcommand("ai", "AI models: sentiment, intent");
  ai_cmd->require_subcommand(1);
  std::optional<std::string> sentiment_text;
  auto* sentiment_cmd = ai_cmd->add_subcommand(
      "sentiment", "VADER scores of TEXT as JSON; without TEXT, one JSON line per line of standard input");
  sentiment_cmd->add_option("text", sentiment_text, "Text to score");
  std::string intent_text;
  std::string intent_train;
  auto* intent_cmd = ai_cmd->add_subcommand("intent", "Detect the intent of TEXT with a model trained on --train");
  intent_cmd->add_option("text", intent_text, "Text to classify")->required();
  intent_cmd->add_option("--train", intent_train, "Labelled CSV (text,category)")->required()->check(CLI::ExistingFile);
  std::string eval_train;
  std::string eval_test;
  auto* eval_cmd =
      ai_cmd->add_subcommand("eval-intent", "Train on --train, evaluate on --test: accuracy and confusion summary");
  eval_cmd->add_option("--train", eval_train, "Labelled CSV (text,category)")->required()->check(CLI::ExistingFile);
  eval_cmd->add_option("--test", eval_test, "Labelled CSV (text,category)")->required()->check(CLI::ExistingFile);
  std::string cv_file;
  int cv_folds = 5;
  auto* cv_cmd = ai_cmd->add_subcommand("cross-validate", "Stratified k-fold cross-validation of the intent model");
  cv_cmd->add_option("file", cv_file, "Labelled CSV (text,category)")->required()->check(CLI::ExistingFile);
  cv_cmd->add_option("--folds", cv_folds, "Number of folds")->check(CLI::Range(2, 20));
  std::string transcribe_file;
  std::string transcribe_mode = "open";
  ai::stt::TranscribeCommandOptions transcribe_options;
  auto* transcribe_cmd = ai_cmd->add_subcommand("transcribe", "Speech-to-text of a mono WAV file (any sample rate)");
  transcribe_cmd->add_option("file", transcribe_file, "WAV file")->required()->check(CLI::ExistingFile);
  transcribe_cmd->add_option("--mode", transcribe_mode, "open (language model) or grammar (--grammar phrases)")
      ->check(CLI::IsMember({"open", "grammar"}));
  transcribe_cmd->add_option("--grammar", transcribe_options.grammar_file, "Phrases, one per line (grammar mode)")
      ->check(CLI::ExistingFile);
  transcribe_cmd->add_option("--model-dir", transcribe_options.model_dir, "PocketSphinx model directory");
  transcribe_cmd->add_flag("--json", transcribe_options.json, "One JSON object per utterance");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  if (*version_cmd) {
    std::cout << "vontres " << VONTRES_VERSION << "\n";
    return kExitOk;
  }
  if (*keys_cmd) {
    for (const auto& key : config_keys()) std::cout << key << "\t" << config_env_name(key) << "\n";
    return kExitOk;
  }
  if (*check_cmd) {
    auto config = load(check_options);
    if (!config) return report(config.status(), kExitUsage);
    std::cout << "configuration OK\n";
    return kExitOk;
  }
  if (*serve_cmd) {
    auto config = load(serve_options);
    if (!config) return report(config.status(), kExitUsage);
    init_logging(*config);
    return serve(*config);
  }
  if (*backup_cmd) {
    auto config = load(backup_options);
    if (!config) return report(config.status(), kExitUsage);
    if (config->store.backend == "postgres") {
      // pg_dump takes its own consistent snapshot while the servers keep writing.
      auto options = store::postgres_options_from_config(config->store);
      if (!options) return report(options.status(), kExitUsage);
      Status s = store::dump_postgres(*options, backup_output);
      if (!s) return report(s);
      std::cout << "backup written to " << backup_output << " (pg_dump custom format; restore with pg_restore)\n";
      return kExitOk;
    }
    if (!std::filesystem::exists(config->sqlite_path())) {
      return report(not_found("no store at '" + config->sqlite_path() + "'", "store_not_found"));
    }
    auto store = store::SqliteStore::open(config->store, config->sqlite_path(), SystemClock::instance());
    if (!store) return report(store.status());
    Status s = (*store)->backup_to(backup_output);
    if (!s) return report(s);
    std::cout << "backup written to " << backup_output << "\n";
    return kExitOk;
  }
  if (*restore_cmd) {
    auto config = load(restore_options);
    if (!config) return report(config.status(), kExitUsage);
    if (config->store.backend == "postgres") {
      return report(failed_precondition("vontres restore replaces a SQLite file; restore a PostgreSQL backup with "
                                        "pg_restore --clean --if-exists -d <store.postgres.url> " +
                                            restore_input,
                                        "restore_unsupported"),
                    kExitUsage);
    }
    auto lock = lock_data_dir(config->data_dir);
    if (!lock) return report(lock.status());
    Status s = store::restore_sqlite_backup(restore_input, config->sqlite_path());
    if (!s) return report(s);
    std::cout << "restored " << restore_input << " into " << config->sqlite_path() << "\n";
    return kExitOk;
  }
  if (*sentiment_cmd) {
    static const ai::sentiment::SentimentAnalyzer analyzer;
    std::ios::sync_with_stdio(false);
    return ai::sentiment::run_sentiment_command(analyzer, sentiment_text, std::cin, std::cout);
  }
  if (*intent_cmd) return ai::intent::run_intent_command(intent_text, intent_train, std::cout, std::cerr);
  if (*eval_cmd) return ai::intent::run_eval_intent_command(eval_train, eval_test, std::cout, std::cerr);
  if (*cv_cmd) return ai::intent::run_cross_validate_command(cv_file, cv_folds, std::cout, std::cerr);
  if (*transcribe_cmd) {
    transcribe_options.mode = transcribe_mode == "grammar" ? ai::stt::Mode::kGrammar : ai::stt::Mode::kOpen;
    return ai::stt::run_transcribe_command(transcribe_file, transcribe_options, std::cout, std::cerr);
  }
  if (*admin_cmd) {
    auto config = load(admin_options);
    if (!config) return report(config.status(), kExitUsage);
    init_logging(*config);
    auto password = read_password(password_stdin);
    if (!password) return report(invalid_argument("no password on standard input", "password_missing"), kExitUsage);
    auto status = create_first_admin(*config, admin_org, admin_email, *password);
    if (!status) return report(status);
    std::cout << "admin " << admin_email << " ready in organisation '" << admin_org << "'\n";
    return kExitOk;
  }
  return kExitUsage;
}

}  // namespace vontres::app
