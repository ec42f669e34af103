#include "common/cli.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "stockwatch/config.h"
#include "stockwatch/log.h"
#include "stockwatch/metrics_export.h"
#include "stockwatch/service.h"
#include "stockwatch/signals.h"
#include "stockwatch/store.h"
#include "stockwatch/timeutil.h"

namespace stockwatch::cli {
namespace {

void OnSignal(int signo) {
  if (StopRequested()) {
    // Second signal: the user means it.
    signal(signo, SIG_DFL);
    raise(signo);
    return;
  }
  RequestStop(signo);
}

void InstallSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking reads return EINTR and see the stop
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

CLI::Option* FindOption(CLI::App& app, const std::string& key) {
  if (auto* o = app.get_option_no_throw("--" + key)) return o;
  for (CLI::App* sub : app.get_subcommands()) {
    if (auto* o = FindOption(*sub, key)) return o;
  }
  return nullptr;
}

std::string DefaultConfigPath() {
  std::string dir;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) dir = x;
  else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.config";
  if (!dir.empty()) {
    std::string p = dir + "/stockwatch/config.toml";
    if (std::filesystem::exists(p)) return p;
  }
  if (std::filesystem::exists("/etc/stockwatch/config.toml")) return "/etc/stockwatch/config.toml";
  return {};
}

/// Fills options that neither the command line nor the environment set.
void ApplyConfig(CLI::App& app, const std::string& path, const std::string& program) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(exitcode::kConfig, path + ": cannot read config file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const ConfigEntry& e : ParseConfig(text, path)) {
    if (!e.section.empty() && e.section != program) continue;  // another program's section
    std::string where = path + ":" + std::to_string(e.line);
    CLI::Option* opt = FindOption(app, e.key);
    if (opt == nullptr) {
      // Top-level keys may be meant for another stockwatch program.
      if (e.section.empty()) continue;
      throw Error(exitcode::kConfig, where + ": unknown key \"" + e.key + "\"");
    }
    if (e.key == "config" || opt->count() > 0) continue;  // the command line or env won
    try {
      for (const std::string& v : e.values) opt->add_result(v);
      opt->run_callback();
    } catch (const CLI::Error& err) {
      throw Error(exitcode::kConfig, where + ": " + e.key + ": " + err.what());
    }
  }
}

/// True when stderr is the journal's stream (systemd sets JOURNAL_STREAM to
/// its device and inode; a redirected stderr no longer matches).
bool StderrIsJournal() {
  static const bool is = [] {
    const char* js = std::getenv("JOURNAL_STREAM");
    if (js == nullptr) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st;
    if (fstat(2, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
  }();
  return is;
}

const char* JournalPriority(log::Level level) {
  switch (level) {
    case log::Level::kError: return "<3>";
    case log::Level::kWarn: return "<4>";
    case log::Level::kInfo: return "<6>";
    case log::Level::kDebug: return "<7>";
  }
  return "<3>";
}

}  // namespace

std::string CommonOptions::DbUrl() const {
  if (!db.empty()) return db;
  if (const char* e = std::getenv("STOCKWATCH_DB"); e && *e) return e;
  return DefaultDbUrl();
}

void AddCommonFlags(CLI::App& app, CommonOptions& opts) {
  app.fallthrough();  // so common flags work after a subcommand as well
  app.add_option("--db", opts.db, "Store URL: sqlite:PATH or postgresql://user@host:port/db")
      ->envname("STOCKWATCH_DB");
  app.add_option("-c,--config", opts.config, "Config file (keys are long option names)")
      ->envname("STOCKWATCH_CONFIG");
  app.add_flag("-v,--verbose", opts.verbose, "More diagnostics on stderr (repeatable)");
  app.add_flag("-q,--quiet", opts.quiet, "Only errors on stderr");
  app.add_option("--stop-timeout", opts.stop_timeout,
                 "After SIGTERM, how long to wait for Kafka acknowledgements or a database "
                 "statement before giving up on them")
      ->type_name("DURATION")
      ->capture_default_str();
  app.set_version_flag("--version", std::string(STOCKWATCH_VERSION));
}

void AddMetricsFlags(CLI::App& app, CommonOptions& opts) {
  app.add_option("--metrics", opts.metrics_file,
                 "Write Prometheus metrics to FILE (atomically, every 5 s and at exit)")
      ->type_name("FILE");
  app.add_option("--metrics-listen", opts.metrics_listen,
                 "Serve Prometheus metrics at http://HOST:PORT/metrics")
      ->type_name("HOST:PORT");
}

void AddStreamFlags(CLI::App& app, StreamOptions& opts) {
  app.add_option("-i,--input", opts.input, "Input: - (stdin), a file, or kafka:TOPIC");
  app.add_option("-o,--output", opts.output, "Output: - (stdout), a file, or kafka:TOPIC");
  app.add_option("--dead-letter", opts.dead_letter, "Where rejected input goes: a file or kafka:TOPIC");
  app.add_option("-b,--brokers", opts.brokers, "Kafka bootstrap servers")->envname("STOCKWATCH_BROKERS");
  app.add_option("-G,--group", opts.group, "Kafka consumer group (default: the program's name)");
  app.add_option("-X", opts.kafka_props, "librdkafka property KEY=VALUE (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("-F,--kafka-config", opts.kafka_config_file, "librdkafka properties file");
  app.add_flag("--strict", opts.strict, "Make the first bad input record fatal (exit 65)");
  app.add_flag("--exit-at-eof", opts.exit_at_eof,
               "Kafka input: exit once every assigned partition is read to its end");
  app.add_option("--broker-wait", opts.broker_wait_ms,
                 "Kafka input: exit 69 when no broker has answered DURATION after the start "
                 "(0: wait as long as it takes)")
      ->type_name("DURATION")
      ->default_str("60s")
      ->transform([](std::string v) {
        std::optional<int64_t> ms = ParseDurationMs(v);
        if (!ms) throw CLI::ValidationError("not a duration (e.g. 30s, 2m, 0)");
        return std::to_string(*ms);
      });
}

int Parse(CLI::App& app, int argc, char** argv, CommonOptions& opts) {
  if (opts.program.empty()) opts.program = app.get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print to stdout and succeed; usage errors go to
    // stderr in the same "program: message" shape as every other error.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    Diag(opts.program, std::string(e.what()) + " (see --help)");
    return exitcode::kUsage;
  }
  std::string path = opts.config.empty() ? DefaultConfigPath() : opts.config;
  if (path.empty()) return -1;
  try {
    ApplyConfig(app, path, opts.program);
  } catch (const Error& e) {
    Diag(opts.program, e.what());
    return e.exit_code();
  }
  return -1;
}

void Diag(const std::string& program, std::string_view message, log::Level level) {
  std::string line;
  if (StderrIsJournal()) line = JournalPriority(level);
  line += program;
  line += ": ";
  line += message;
  line += '\n';
  // One write() per line so lines from several processes do not interleave.
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = write(2, line.data() + off, line.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

int Run(const CommonOptions& opts, const std::function<int()>& fn) {
  log::Level level = opts.quiet          ? log::Level::kError
                     : opts.verbose >= 2 ? log::Level::kDebug
                     : opts.verbose == 1 ? log::Level::kInfo
                                         : log::Level::kWarn;
  std::string program = opts.program;
  log::SetSink([program](log::Level l, std::string_view msg) { Diag(program, msg, l); }, level);
  InstallSignals();
  service::Start();
  int rc;
  try {
    std::optional<int64_t> stop_ms = ParseDurationMs(opts.stop_timeout);
    if (!stop_ms) {
      throw Error(exitcode::kUsage, "--stop-timeout: not a duration: \"" + opts.stop_timeout +
                                        "\" (e.g. 500ms, 10s, 1m)");
    }
    SetStopTimeoutMs(*stop_ms);
    std::unique_ptr<metrics::Exporter> exporter;
    if (!opts.metrics_file.empty() || !opts.metrics_listen.empty()) {
      exporter = std::make_unique<metrics::Exporter>(
          metrics::ExportOptions{opts.metrics_file, opts.metrics_listen, 5000});
    }
    rc = fn();
    if (exporter) exporter->Stop();
  } catch (const Error& e) {
    Diag(program, e.what());
    rc = e.exit_code();
  } catch (const std::bad_alloc&) {
    Diag(program, "out of memory");
    rc = exitcode::kSoftware;
  } catch (const std::exception& e) {
    Diag(program, std::string("internal error: ") + e.what());
    rc = exitcode::kSoftware;
  }
  service::Stop();
  if (rc == 0 && StopSignal() == SIGINT) rc = exitcode::kInterrupted;
  return rc;
}

std::string ReadSecret(const std::string& file, const char* env_name) {
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw Error(exitcode::kConfig, file + ": cannot read secret file");
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' '))
      line.pop_back();
    return line;
  }
  const char* v = std::getenv(env_name);
  return v ? v : "";
}

}  // namespace stockwatch::cli
