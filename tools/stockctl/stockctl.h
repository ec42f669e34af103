#pragma once
/// stockctl: CQRS commands and queries on the store (docs/design.md, "stockctl").
#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "common/cli.h"
#include "stockwatch/store/store.h"

namespace stockwatch::stockctl {

/// Everything the command line says.
struct Options {
  cli::CommonOptions common;
  bool json = false;        // --json
  std::string request_id;   // --request-id / STOCKWATCH_REQUEST_ID
  std::string fingerprint;  // of the request, with a request id (set by RunStockctl)

  std::string command;  // "user add", "quote last", ... (set by the parser)

  // Positional arguments.
  std::string email;
  std::string ticker;
  std::string file = "-";  // import / quote ingest

  // Values as typed (validated later, so errors name the field: exit 65).
  std::string telegram_id;  // --telegram-id
  bool no_telegram = false;
  std::string interval;   // --interval
  std::string low, high;  // --low / --high
  bool no_low = false, no_high = false;
  std::string move;      // --move (percent: 5, 5%, 2.5%)
  bool no_move = false;  // watch set --no-move
  std::string within;    // --within (a duration; 0 or "day": the day's change)
  bool up = false, down = false, both = false;  // --up / --down / (watch set) --both
  std::string filter_email, filter_ticker;      // watch ls --email / --ticker

  int64_t n = 10;           // quote avg -n
  int64_t limit = 0;        // quote history --limit (0: the default)
  bool plot = false;        // quote history --plot
  int height = 12;          // quote history --plot --height
  bool strict = false;      // import / ingest --strict
  std::string dead_letter;  // import / ingest --dead-letter
  // import / ingest with a request id and a FILE: the open file its bytes
  // were hashed from (FILE itself, rewound; for a FIFO or <(...), a copy),
  // which the command reads instead of opening FILE again (-1: none; owned
  // by the command).
  int input_fd = -1;
  std::string stale;  // status --stale
};

/// Defines every subcommand and flag of stockctl on `app`.
void DefineCli(CLI::App& app, Options& opts);

/// Runs the chosen command: prints its output on stdout and its messages on
/// stderr, returns the exit code. Throws Error for what cli::Run reports
/// (unreachable database 69, missing input file 66, ...).
int RunStockctl(const Options& opts);

// ---- internals shared by the stockctl sources ----

/// What a command needs: the options, the store, and (command side only)
/// the transaction it runs in.
struct Ctx {
  const Options& opts;
  Store& store;
  CommandTx* tx = nullptr;
};

/// The command side: user/watch changes (each inside Commands::Execute).
Outcome UserAdd(Ctx& c);
Outcome UserSet(Ctx& c);
Outcome UserRm(Ctx& c);
Outcome WatchAdd(Ctx& c);
Outcome WatchSet(Ctx& c);
Outcome WatchRm(Ctx& c);

/// The query side.
Outcome Init(Ctx& c);
Outcome UserLs(Ctx& c);
Outcome UserShow(Ctx& c);
Outcome WatchLs(Ctx& c);
Outcome QuoteLast(Ctx& c);
Outcome QuoteAvg(Ctx& c);
Outcome QuoteHistory(Ctx& c);
Outcome Export(Ctx& c);
/// stockctl status (status.cc): exit 0 healthy, 1 degraded.
Outcome Status(Ctx& c);

/// Bulk input (bulk.cc): these manage their own transactions.
int Import(const Options& opts, Store& store);
int QuoteIngest(const Options& opts, Store& store);

/// The fingerprint of the request `o` describes: the command, the arguments
/// that decide what it does and (import, quote ingest) a hash of the input's
/// bytes. Reads the input to hash it; input that cannot be read twice (stdin
/// from a pipe, a FIFO, <(...)) is first copied to a temporary file: stdin
/// then reads the copy. A named input is left open in o.input_fd (itself,
/// rewound, or its copy).
/// Output options (--json) are not part of it: a repeat may ask for another
/// format and gets the stored text.
std::string RequestFingerprint(Options& o);

/// Prints an outcome: output to stdout, each error line to stderr as
/// "stockctl: LINE". Returns its exit code (0 when stdout was closed early).
int Print(const Outcome& o);

/// The terminal width: $COLUMNS, else TIOCGWINSZ of stdout/stderr/stdin, else 80.
int TerminalWidth();

}  // namespace stockwatch::stockctl
