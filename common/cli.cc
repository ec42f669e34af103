#include "common/cli.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <utility>

#include "stockwatch/core/config.h"
#include "stockwatch/core/log.h"
#include "stockwatch/core/signals.h"
#include "stockwatch/core/timeutil.h"
#include "stockwatch/ops/metrics_export.h"
#include "stockwatch/ops/service.h"
#include "stockwatch/store/store.h"

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
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
    dir = x;
  else if (const char* h = std::getenv("HOME"); h && *h)
    dir = std::string(h) + "/.config";
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

/// --help of a subcommand also lists the options of the program itself,
/// which may come after the subcommand too (and so bash completion, built
/// from --help, offers them there).
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_footer(const CLI::App* app) const override {
    std::string out;
    if (const CLI::App* root = app->get_parent()) {
      while (root->get_parent() != nullptr) root = root->get_parent();
      std::string common;
      for (const CLI::Option* opt : root->get_options()) {
        if (opt->get_group().empty() || opt->get_name() == "--help" ||
            opt->get_name() == "-h,--help")
          continue;
        common += make_option(opt, false);
      }
      if (!common.empty())
        out += "Options of " + root->get_name() + " (before or after the subcommand):\n" + common +
               "\n";
    }
    return out + Formatter::make_footer(app);
  }
};

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

/// An option name that would carry a secret (--telegram-token, --password,
/// ...), but not the --*-file options that name a file holding one.
bool SecretOptionName(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (name.size() < 2 || name[0] != '-' || name.ends_with("-file")) return false;
  return Contains(name, "token") || Contains(name, "password") || Contains(name, "passwd") ||
         Contains(name, "secret");
}

/// The command-line words a usage error must not echo: values of
/// secret-looking options, and words shaped like a bot token (123456:ABC-x).
std::vector<std::string> SecretWords(int argc, char** argv) {
  static const std::regex kTokenShape("[0-9]+:[A-Za-z0-9_-]+");
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const size_t eq = a.find('=');
    if (eq != std::string::npos && SecretOptionName(a.substr(0, eq))) {
      out.push_back(a.substr(eq + 1));
    } else if (SecretOptionName(a) && i + 1 < argc) {
      out.push_back(argv[++i]);
    } else if (std::regex_match(a, kTokenShape)) {
      out.push_back(a);
    }
  }
  // Longest first, so a secret containing a shorter one is hidden whole.
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

std::string Redact(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    if (s.empty()) continue;
    for (size_t at = text.find(s); at != std::string::npos; at = text.find(s, at + 8))
      text.replace(at, s.size(), "(hidden)");
  }
  return text;
}

/// "a, b or c"
std::string Alternatives(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

/// The usage error to print: CLI11's, with secrets hidden, and a missing or
/// unknown subcommand named with the ones there are.
std::string UsageMessage(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  const std::vector<std::string> secrets = SecretWords(argc, argv);
  CLI::App* cur = &app;
  std::string path = app.get_name();
  while (!cur->get_subcommands().empty()) {
    cur = cur->get_subcommands().front();
    path += " " + cur->get_name();
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
      cur->get_require_subcommand_min() > 0) {
    std::vector<std::string> names;
    for (const CLI::App* sub : std::as_const(*cur).get_subcommands({}))
      names.push_back(sub->get_name());
    std::string word;
    for (const std::string& r : app.remaining(true)) {
      if (!r.empty() && r[0] != '-') {
        word = r;
        break;
      }
    }
    // "stockctl user: ..." is "stockctl: user: ..." once Diag adds the program.
    std::string where = cur == &app ? "" : path.substr(app.get_name().size() + 1) + ": ";
    std::string what = cur == &app ? "command" : "subcommand";
    std::string msg = word.empty() ? where + "a " + what + " is required"
                                   : where + "unknown " + what + " \"" + word + "\"";
    return Redact(msg + " (one of " + Alternatives(names) + "; see " + path + " --help)", secrets);
  }
  std::string msg = Redact(e.what(), secrets);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    a = a.substr(0, a.find('='));
    if (SecretOptionName(a) && app.get_option_no_throw(a) == nullptr) {
      msg +=
          " (secrets are never taken on the command line: use the environment or a "
          "--*-file option";
      return msg + ")";
    }
  }
  return msg + " (see --help)";
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
    case log::Level::kError:
      return "<3>";
    case log::Level::kWarn:
      return "<4>";
    case log::Level::kInfo:
      return "<6>";
    case log::Level::kDebug:
      return "<7>";
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
  app.formatter(std::make_shared<HelpFormatter>());  // before any subcommand: they inherit it
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

void AddDbRetryFlag(CLI::App& app, CommonOptions& opts) {
  app.add_option("--db-retry", opts.db_retry,
                 "While the database does not answer (a PostgreSQL restart), keep trying for "
                 "DURATION before exit 69 (0: fail at once)")
      ->type_name("DURATION")
      ->capture_default_str();
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
  app.add_option("--dead-letter", opts.dead_letter,
                 "Where rejected input goes: a file or kafka:TOPIC");
  app.add_option("-b,--brokers", opts.brokers, "Kafka bootstrap servers")
      ->envname("STOCKWATCH_BROKERS");
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
    Diag(opts.program, UsageMessage(app, e, argc, argv));
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
    SetStopTimeoutMs(DurationFlag("--stop-timeout", opts.stop_timeout));
    if (!opts.db_retry.empty()) SetDbRetryMs(DurationFlag("--db-retry", opts.db_retry));
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

int64_t DurationFlag(const std::string& flag, const std::string& value, bool allow_zero) {
  std::optional<int64_t> ms = ParseDurationMs(value);
  const char* what = !ms                         ? "not a duration"
                     : (!allow_zero && *ms == 0) ? "must be positive"
                                                 : nullptr;
  if (what != nullptr) {
    throw Error(exitcode::kUsage,
                flag + ": " + what + ": \"" + value + "\" (e.g. 500ms, 30s, 5m, 1h)");
  }
  return *ms;
}

std::string ReadSecret(const std::string& file, const char* env_name) {
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw Error(exitcode::kConfig, file + ": cannot read secret file");
    // As ssh does for a private key: a secret others can read is no secret.
    struct stat st {};
    if (stat(file.c_str(), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      log::Warn("warning: {}: the secret file can be {} by any user (mode {}); chmod 600 {}", file,
                (st.st_mode & S_IROTH) != 0 ? "read" : "changed", mode, file);
    }
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
