// stockctl's command line and dispatch: every command runs as one store
// transaction (Commands::Execute) when it writes or has a request id.
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "stockctl.h"

namespace stockwatch::stockctl {
namespace {

constexpr size_t kMaxRequestId = 200;

struct Command {
  std::string_view name;
  Outcome (*fn)(Ctx&);
  bool writes;
};

constexpr Command kCommands[] = {
    {"init", Init, false},
    {"user add", UserAdd, true},
    {"user set", UserSet, true},
    {"user rm", UserRm, true},
    {"user ls", UserLs, false},
    {"user show", UserShow, false},
    {"watch add", WatchAdd, true},
    {"watch set", WatchSet, true},
    {"watch rm", WatchRm, true},
    {"watch ls", WatchLs, false},
    {"quote last", QuoteLast, false},
    {"quote avg", QuoteAvg, false},
    {"quote history", QuoteHistory, false},
    {"export", Export, false},
    {"status", Status, false},
};

// Writes all of `s` to fd; false when the reader went away (EPIPE).
bool WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return false;
      throw Error(exitcode::kIoErr, std::string("stdout: ") + std::strerror(errno));
    }
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

CLI::App* Sub(CLI::App& parent, const std::string& name, const std::string& help, Options& o,
              std::string command) {
  CLI::App* sub = parent.add_subcommand(name, help);
  sub->callback([&o, command = std::move(command)] { o.command = command; });
  return sub;
}

// CLI::PositiveNumber's message prints the largest double in full.
const CLI::Validator kPositive(
    [](std::string& v) {
      int64_t n = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || ptr != v.data() + v.size() || n < 1)
        return std::string("must be a positive integer");
      return std::string();
    },
    "N>0");

void AddBulkFlags(CLI::App* sub, Options& o) {
  sub->add_flag("--strict", o.strict, "Stop at the first bad line (nothing is stored; exit 65)");
  sub->add_option("--dead-letter", o.dead_letter,
                  "Append rejected lines to FILE as rejected records (then bad lines do not make "
                  "the exit code 65)");
}

void DefineUserCommands(CLI::App& app, Options& o) {
  CLI::App* user = app.add_subcommand("user", "Register, change, remove and list users");
  user->require_subcommand(1);
  CLI::App* ua = Sub(*user, "add", "Register a user", o, "user add");
  ua->add_option("email", o.email, "The user's email address")->required()->type_name("EMAIL");
  ua->add_option("--telegram-id", o.telegram_id, "The user's Telegram chat id")->type_name("N");
  CLI::App* us = Sub(*user, "set", "Change a user's Telegram id or interval", o, "user set");
  us->add_option("email", o.email, "The user's email address")->required()->type_name("EMAIL");
  CLI::Option* tg =
      us->add_option("--telegram-id", o.telegram_id, "Link this Telegram chat id")->type_name("N");
  us->add_flag("--no-telegram", o.no_telegram, "Unlink the Telegram chat")->excludes(tg);
  us->add_option("--interval", o.interval,
                 "At most one message per this many seconds (or 30s, 5m, 1h); 0: no limit")
      ->type_name("SECONDS");
  CLI::App* ur = Sub(*user, "rm", "Remove a user and all related data", o, "user rm");
  ur->add_option("email", o.email, "The user's email address")->required()->type_name("EMAIL");
  Sub(*user, "ls", "List users", o, "user ls");
  CLI::App* ush = Sub(*user, "show", "Show a user and their watches", o, "user show");
  ush->add_option("email", o.email, "The user's email address")->required()->type_name("EMAIL");
}

// --move, --within and --up/--down of watch add and watch set.
struct MoveFlags {
  CLI::Option *move, *within, *up, *down;
};

MoveFlags AddMoveFlags(CLI::App* sub, Options& o, bool set) {
  MoveFlags f{};
  f.move = sub->add_option("--move", o.move,
                           set ? "New percent move (5, 5%, 2.5%); keeps --within and --up/--down"
                               : "Alert when the price moves PCT percent (5, 5%, 2.5%) from the "
                                 "previous close, or within --within")
               ->type_name("PCT");
  f.within = sub->add_option("--within", o.within,
                             "Measure the move against the prices of this rolling window (90s, "
                             "15m, 1h; at most 7d); 0 or day: against the previous close")
                 ->type_name("DURATION");
  f.up = sub->add_flag("--up", o.up, "Only alert on a rise");
  f.down = sub->add_flag("--down", o.down, "Only alert on a fall")->excludes(f.up);
  if (!set) {
    for (CLI::Option* opt : {f.within, f.up, f.down}) opt->needs(f.move);
  }
  return f;
}

void DefineWatchCommands(CLI::App& app, Options& o) {
  CLI::App* watch = app.add_subcommand("watch", "Add, change, remove and list watches");
  watch->require_subcommand(1);
  CLI::App* wa = Sub(*watch, "add", "Watch a ticker for a user", o, "watch add");
  wa->add_option("email", o.email, "The user's email address")->required()->type_name("EMAIL");
  wa->add_option("ticker", o.ticker, "The ticker (AAPL, BRK-B, ^GSPC, BTC-USD)")
      ->required()
      ->type_name("TICKER");
  wa->add_option("--low", o.low, "Alert when the price goes below X")->type_name("X");
  wa->add_option("--high", o.high, "Alert when the price goes above Y")->type_name("Y");
  AddMoveFlags(wa, o, false);
  CLI::App* ws = Sub(*watch, "set", "Change a watch's band or move", o, "watch set");
  ws->add_option("email", o.email, "The user's email address")->required()->type_name("EMAIL");
  ws->add_option("ticker", o.ticker, "The ticker")->required()->type_name("TICKER");
  CLI::Option* low = ws->add_option("--low", o.low, "New lower bound")->type_name("X");
  ws->add_flag("--no-low", o.no_low, "Remove the lower bound")->excludes(low);
  CLI::Option* high = ws->add_option("--high", o.high, "New upper bound")->type_name("Y");
  ws->add_flag("--no-high", o.no_high, "Remove the upper bound")->excludes(high);
  const MoveFlags mf = AddMoveFlags(ws, o, true);
  CLI::Option* both =
      ws->add_flag("--both", o.both, "Alert on a move either way again")->excludes(mf.up);
  both->excludes(mf.down);
  ws->add_flag("--no-move", o.no_move, "Remove the move (and its window and direction)")
      ->excludes(mf.move)
      ->excludes(mf.within)
      ->excludes(mf.up)
      ->excludes(mf.down)
      ->excludes(both);
  CLI::App* wr = Sub(*watch, "rm", "Stop watching a ticker", o, "watch rm");
  wr->add_option("email", o.email, "The user's email address")->required()->type_name("EMAIL");
  wr->add_option("ticker", o.ticker, "The ticker")->required()->type_name("TICKER");
  CLI::App* wl = Sub(*watch, "ls", "List watches (sorted by email, ticker)", o, "watch ls");
  wl->add_option("--email", o.filter_email, "Only this user's watches")->type_name("E");
  wl->add_option("--ticker", o.filter_ticker, "Only watches of this ticker")->type_name("T");
}

void DefineQuoteCommands(CLI::App& app, Options& o) {
  CLI::App* quote = app.add_subcommand("quote", "Stored quotes: last, average, history, ingest");
  quote->require_subcommand(1);
  CLI::App* ql =
      Sub(*quote, "last", "The last stored quote of a ticker (no live fetch)", o, "quote last");
  ql->add_option("ticker", o.ticker, "The ticker")->required()->type_name("TICKER");
  CLI::App* qa = Sub(*quote, "avg", "The average of the last N stored prices", o, "quote avg");
  qa->add_option("ticker", o.ticker, "The ticker")->required()->type_name("TICKER");
  qa->add_option("-n", o.n, "How many of the last stored prices (default 10)")
      ->check(kPositive)
      ->type_name("N");
  CLI::App* qh = Sub(*quote, "history", "Stored quotes, oldest first", o, "quote history");
  qh->add_option("ticker", o.ticker, "The ticker")->required()->type_name("TICKER");
  qh->add_option("--limit", o.limit,
                 "The last N quotes (default 20; with --plot, two per terminal column)")
      ->check(kPositive)
      ->type_name("N");
  qh->add_flag("--plot", o.plot, "Draw a terminal chart instead of a table");
  qh->add_option("--height", o.height, "Chart height in rows with --plot (default 12)")
      ->check(CLI::Range(2, 200))
      ->type_name("ROWS");
  CLI::App* qi = Sub(*quote, "ingest", "Store quote records from FILE or stdin", o, "quote ingest");
  qi->add_option("file", o.file, "Quote records as JSON lines (default: stdin)")->type_name("FILE");
  AddBulkFlags(qi, o);
}

// import, export and status.
void DefineBulkAndStatusCommands(CLI::App& app, Options& o) {
  CLI::App* imp =
      Sub(app, "import", "Import user and watch records (JSON lines); existing ones are updated", o,
          "import");
  imp->add_option("file", o.file, "User and watch records (default: stdin)")->type_name("FILE");
  AddBulkFlags(imp, o);
  Sub(app, "export", "Print every user, then every watch, as JSON lines", o, "export");
  CLI::App* st = Sub(app, "status",
                     "Health from the store: breakers, stale quotes, outbox, deliveries, "
                     "dead letters (exit 1 when degraded)",
                     o, "status");
  st->add_option("--stale", o.stale,
                 "A watched ticker is stale when its newest quote is older than DURATION "
                 "(default: 3x stock-collect's --every, else 15m)")
      ->type_name("DURATION");
}

}  // namespace

void DefineCli(CLI::App& app, Options& o) {
  cli::AddCommonFlags(app, o.common);  // first: makes subcommands fall through
  app.add_flag("--json", o.json, "Print JSON lines instead of tables");
  app.add_option(
         "--request-id", o.request_id,
         "At-most-once: a repeat of this id prints the first outcome and changes nothing; the "
         "same id with a different request exits 65")
      ->envname("STOCKWATCH_REQUEST_ID");
  app.require_subcommand(1);
  app.footer(
      "Options may come before or after the subcommand.\n"
      "Exit status: 0 ok, 1 degraded (status only), 64 usage, 65 bad data (the message names the "
      "field), 66 input file "
      "missing, 69 database unavailable, 70 internal error, 74 I/O error, 75 database busy (try "
      "again), 77 permission denied, 78 bad configuration, 130 interrupted by SIGINT, 143 stopped "
      "by SIGTERM (an import cut short stores nothing). See stockctl(1).");

  Sub(app, "init", "Create or upgrade the database schema", o, "init");
  DefineUserCommands(app, o);
  DefineWatchCommands(app, o);
  DefineQuoteCommands(app, o);
  DefineBulkAndStatusCommands(app, o);
}

int RunStockctl(const Options& given) {
  if (given.request_id.size() > kMaxRequestId) {
    throw Error(exitcode::kUsage,
                "--request-id: longer than " + std::to_string(kMaxRequestId) + " bytes");
  }
  Options opts = given;
  if (!opts.request_id.empty()) opts.fingerprint = RequestFingerprint(opts);
  // A query without a request id reads only: it opens the store read-only
  // and creates nothing (a request id stores the outcome: a command).
  bool reads_only = false;
  for (const Command& cmd : kCommands) {
    if (cmd.name == opts.command) reads_only = !cmd.writes && cmd.name != "init";
  }
  if (!opts.request_id.empty()) reads_only = false;
  auto store =
      Store::Open(opts.common.DbUrl(), reads_only ? Access::kReadOnly : Access::kReadWrite);
  if (opts.command == "import") return Import(opts, *store);
  if (opts.command == "quote ingest") return QuoteIngest(opts, *store);
  for (const Command& cmd : kCommands) {
    if (cmd.name != opts.command) continue;
    Outcome out;
    if (cmd.writes || !opts.request_id.empty()) {
      out = store->commands().Execute(opts.request_id, opts.fingerprint, [&](CommandTx& tx) {
        Ctx ctx{opts, *store, &tx};
        return cmd.fn(ctx);
      });
    } else {
      Ctx ctx{opts, *store, nullptr};
      try {
        out = cmd.fn(ctx);
      } catch (const DataError& e) {
        out = Outcome{exitcode::kDataErr, "", e.what()};
      }
    }
    return Print(out);
  }
  throw Error(exitcode::kSoftware, "unknown command: " + opts.command);
}

int Print(const Outcome& o) {
  WriteAll(1, o.output);  // a closed pipe is fine (EPIPE: exit as the command did)
  std::string_view err = o.error;
  while (!err.empty()) {
    const size_t nl = err.find('\n');
    cli::Diag("stockctl", err.substr(0, nl));
    if (nl == std::string_view::npos) break;
    err.remove_prefix(nl + 1);
  }
  return o.exit_code;
}

int TerminalWidth() {
  if (const char* c = std::getenv("COLUMNS"); c != nullptr && *c != '\0') {
    char* end = nullptr;
    const long v = std::strtol(c, &end, 10);
    if (end != nullptr && *end == '\0' && v > 0 && v < 10000) return static_cast<int>(v);
  }
  for (int fd : {1, 2, 0}) {
    winsize ws{};
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  }
  return 80;
}

}  // namespace stockwatch::stockctl
