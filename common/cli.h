#pragma once
/// Glue shared by the four programs: common flags, the config file, signal
/// handling and the one place that turns exceptions into stderr + exit code.
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "stockwatch/core/log.h"
#include "stockwatch/stream/stream.h"

namespace stockwatch::cli {

struct CommonOptions {
  std::string program;
  std::string db;                    // --db / STOCKWATCH_DB; empty: DefaultDbUrl()
  std::string config;                // -c / STOCKWATCH_CONFIG
  int verbose = 0;                   // -v (repeatable)
  bool quiet = false;                // -q
  std::string stop_timeout = "10s";  // --stop-timeout
  std::string db_retry;              // --db-retry (AddDbRetryFlag); empty: fail at once
  std::string metrics_file;          // --metrics FILE (stream programs)
  std::string metrics_listen;        // --metrics-listen HOST:PORT
  /// The store URL to use: --db, else STOCKWATCH_DB, else the default.
  std::string DbUrl() const;
};

/// Adds --db, -c/--config, -v, -q, --stop-timeout, --version to `app` (and, through
/// fallthrough, lets them appear after a subcommand).
void AddCommonFlags(CLI::App& app, CommonOptions& opts);
/// Adds --db-retry, for the programs that run for long (set opts.db_retry to
/// the program's default first).
void AddDbRetryFlag(CLI::App& app, CommonOptions& opts);
/// Adds --metrics FILE and --metrics-listen HOST:PORT (cli::Run publishes
/// the process's metrics there).
void AddMetricsFlags(CLI::App& app, CommonOptions& opts);
/// Adds -i -o --dead-letter -b -G -X -F --strict --exit-at-eof --broker-wait.
void AddStreamFlags(CLI::App& app, StreamOptions& opts);

/// Parses argv, then fills options not given on the command line or in the
/// environment from the config file (keys are long option names; a
/// [PROGRAM] section applies to that program only). Returns -1 to go on, or
/// the exit code to end with (0 after --help/--version, 64 bad usage,
/// 78 bad config), having printed what is needed.
int Parse(CLI::App& app, int argc, char** argv, CommonOptions& opts);

/// Installs the stderr log sink and SIGTERM/SIGINT/SIGHUP handlers (a stop
/// request; a second signal kills), ignores SIGPIPE, runs `fn` and maps what
/// it throws to "program: message" on stderr and a sysexits code. After a
/// SIGINT-requested stop, a zero result becomes 130. Under systemd
/// (NOTIFY_SOCKET) it also runs the notifier (service::Start/Stop).
int Run(const CommonOptions& opts, const std::function<int()>& fn);

/// Writes "program: message\n" to stderr. When stderr is the journal
/// (JOURNAL_STREAM names it), the line starts with its priority ("<3>" error,
/// "<4>" warning, "<6>" info, "<7>" debug) so that journalctl -p filters it.
void Diag(const std::string& program, std::string_view message,
          log::Level level = log::Level::kError);

/// The value of a duration flag (like 500ms, 30s, 5m, 1h) in milliseconds.
/// Throws Error(64) naming `flag` when it is not a duration, or when it is 0
/// and `allow_zero` is false.
int64_t DurationFlag(const std::string& flag, const std::string& value, bool allow_zero = true);

/// Reads a secret: the file's first line if `file` is set, else the env var;
/// empty when neither.
std::string ReadSecret(const std::string& file, const char* env_name);

}  // namespace stockwatch::cli
