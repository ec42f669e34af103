#include "flags.h"

#include <iostream>

#include "stockwatch/core/timeutil.h"

namespace stockwatch {
namespace {

/// "4M", "4MiB", "512K", "65536": bytes (K and M are powers of 1024).
size_t Size(const std::string& flag, const std::string& value) {
  size_t pos = 0;
  while (pos < value.size() && value[pos] >= '0' && value[pos] <= '9') ++pos;
  std::string unit = value.substr(pos);
  size_t mult = unit.empty() || unit == "B"                   ? 1
                : unit == "K" || unit == "k" || unit == "KiB" ? 1024
                : unit == "M" || unit == "m" || unit == "MiB" ? 1024 * 1024
                                                              : 0;
  if (pos == 0 || pos > 12 || mult == 0)
    throw Error(exitcode::kUsage, flag + ": not a size: \"" + value + "\" (e.g. 4M, 512K)");
  return std::stoull(value.substr(0, pos)) * mult;
}

// How the source is called: parallelism, timeouts, retries, batches and the
// circuit breaker.
void AddRequestFlags(CLI::App& app, StockCollectFlags& f) {
  CollectOptions& o = f.collect;
  app.add_option("-j,--jobs", o.jobs, "Requests in flight at once")->capture_default_str();
  app.add_option("--timeout", f.timeout, "Per request: whole transfer (a timeout is a failure)")
      ->capture_default_str();
  app.add_option("--slow-call", f.slow_call,
                 "A successful call slower than DURATION counts as a breaker failure");
  app.add_option("--retries", o.retries, "Extra attempts after a transport error, timeout or 5xx")
      ->capture_default_str();
  app.add_flag("--no-batch", f.no_batch, "One request per ticker (Yahoo chart API), no batches");
  app.add_option("--batch-size", o.batch_size, "Tickers per batched request (Yahoo spark, Stooq)")
      ->capture_default_str();
  app.add_option("--max-response", f.max_response,
                 "Largest answer body read from the source (SIZE: 4M, 512K); a larger one "
                 "fails its tickers")
      ->capture_default_str();
  app.add_option("--breaker-failures", o.breaker_failures,
                 "Consecutive failures that open the circuit breaker")
      ->capture_default_str();
  app.add_option("--breaker-cooldown", f.breaker_cooldown,
                 "How long the breaker stays open before one probe call")
      ->capture_default_str();
}

void AddSimAndReplayFlags(CLI::App& app, StockCollectFlags& f) {
  CollectOptions& o = f.collect;
  app.add_option("--seed", o.seed, "sim: random seed")->capture_default_str();
  app.add_option("--sim-step", f.sim_step, "sim: time between back-to-back cycles' quotes")
      ->capture_default_str();
  app.add_option("--sim-start", f.sim_start,
                 "sim: RFC 3339 time of the first quotes (default: now)");
  app.add_option("--pace", o.pace,
                 "replay: replay at SPEED times the recorded pace (1 = real time; 0 = at once)");
}

}  // namespace

void AddStockCollectFlags(CLI::App& app, StockCollectFlags& f) {
  CollectOptions& o = f.collect;
  app.footer(
      "Exit status, the worst ticker's: 0 every ticker quoted, 65 a ticker unknown to the source, "
      "75 rate limited or breaker open (try later), 69 the source or the store unavailable. Also: "
      "64 usage, 66 replay file missing, 70 internal error, 74 I/O error, 77 permission denied, "
      "78 bad configuration, 130 interrupted, 143 stopped by SIGTERM while waiting on the "
      "database. See stock-collect(1).");
  f.input = app.get_option("-i");
  app.add_option("--source", o.source,
                 "Price source: yahoo, stooq, sim, replay:FILE (or replay, reading -i)")
      ->capture_default_str();
  app.add_option("--source-url", o.source_url,
                 "Base URL of the Yahoo or Stooq API (tests point it at a local fake)")
      ->envname("STOCKWATCH_SOURCE_URL");
  app.add_option("--tickers", o.tickers,
                 "Tickers A,B (or - for one per line on stdin); default: every watched ticker");
  app.add_option("--max-rate", f.max_rate,
                 "At most N requests to the source per PERIOD (60/min, 2000/h), shared through "
                 "the store by every collector of this source; tickers that do not fit wait")
      ->type_name("N/PERIOD");
  f.shard_option =
      app.add_option(
             "--shard", f.shard,
             "Collect only shard I of N of the tickers (by a stable hash of each), so that N "
             "collectors split them: 1/3, 2/3, 3/3")
          ->type_name("I/N");
  app.add_flag("--market-hours", o.market_hours,
               "Skip tickers whose exchange is closed (sessions learnt from Yahoo), but ask once "
               "after each close; crypto and unknown sessions are always asked. Off by default");
  auto* once = app.add_flag("--once", f.once, "Run one cycle and exit (the default; for cron)");
  auto* every =
      app.add_option("--every", f.every, "Run a cycle every DURATION until SIGTERM (for systemd)");
  once->excludes(every);
  app.add_option("--count", o.count, "Stop after N cycles (sim: N quotes per ticker)");
  AddRequestFlags(app, f);
  app.add_flag("--no-store", o.no_store, "Do not store quotes (and do not read watches)");
  AddSimAndReplayFlags(app, f);
}

int RunStockCollect(StockCollectFlags& f) {
  CollectOptions& o = f.collect;
  o.db_url = o.no_store ? std::string() : f.common.DbUrl();
  o.input_given = f.input != nullptr && f.input->count() > 0;
  if (f.shard_option->count() > 0) o.shard = ParseShard(f.shard);
  if (!f.max_rate.empty()) o.max_rate = ParseRateLimit(f.max_rate);
  o.every_ms = f.every.empty() ? 0 : cli::DurationFlag("--every", f.every, false);
  o.timeout_ms = cli::DurationFlag("--timeout", f.timeout, false);
  o.slow_call_ms = f.slow_call.empty() ? 0 : cli::DurationFlag("--slow-call", f.slow_call, false);
  o.breaker_cooldown_ms = cli::DurationFlag("--breaker-cooldown", f.breaker_cooldown, true);
  o.sim_step_ms = cli::DurationFlag("--sim-step", f.sim_step, true);
  if (!f.sim_start.empty()) {
    o.sim_start = ParseRfc3339(f.sim_start);
    if (!o.sim_start)
      throw Error(exitcode::kUsage, "--sim-start: not an RFC 3339 time: \"" + f.sim_start + "\"");
  }
  o.batch = !f.no_batch;
  o.max_response = Size("--max-response", f.max_response);
  const std::string program = f.common.program;
  return RunCollect(o, std::cin,
                    [&](std::string_view m) { cli::Diag(program, m, log::Level::kWarn); });
}

}  // namespace stockwatch
