#pragma once
/// stock-collect's engine: fetches quotes for a list of
/// tickers from a price source, every call behind the source's circuit
/// breaker, stores them through the command side and only then emits
/// them as quote records.
#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/collect/budget.h"
#include "stockwatch/collect/shard.h"
#include "stockwatch/source/source.h"
#include "stockwatch/stream/stream.h"

namespace stockwatch {

class Store;

struct CollectOptions {
  std::string program = "stock-collect";
  std::string db_url;                 // the store; unused with no_store
  bool no_store = false;              // neither read watches nor store quotes
  StreamOptions stream;               // -o, --dead-letter, Kafka; -i for --source replay
  bool input_given = false;           // -i was given (only --source replay reads it)
  std::string source = "yahoo";       // yahoo | stooq | sim | replay | replay:FILE
  std::string source_url;             // base URL of yahoo / stooq; empty: the real one
  std::string tickers;                // "A,B", "-" (one per line on stdin), empty: the store's
  Shard shard;                        // --shard I/N: only the tickers of shard I
  std::optional<RateLimit> max_rate;  // --max-rate: requests per period to the source
  bool market_hours = false;          // skip tickers whose market is closed (but one quote after)
  int64_t every_ms = 0;               // 0: one cycle (--once)
  int64_t count = 0;                  // cycles; 0: 1 without every, unlimited with it
  int jobs = 8;                       // requests in flight at once
  int64_t timeout_ms = 10'000;        // per request, whole transfer
  int64_t slow_call_ms = 0;           // a slower successful call counts as a failure; 0: off
  int retries = 2;                    // extra attempts after a transport error, timeout or 5xx
  bool batch = true;                  // spark / Stooq batches
  int batch_size = 20;
  size_t max_response = HttpSourceOptions::kDefaultMaxResponse;  // bytes of an answer's body
  int breaker_failures = 5;
  int64_t breaker_cooldown_ms = 30'000;
  uint64_t seed = 1;                // sim
  int64_t sim_step_ms = 60'000;     // sim: ts step between back-to-back cycles
  std::optional<TimeMs> sim_start;  // sim: ts of the first cycle (default: now)
  double pace = 0;                  // replay: speed factor against the recorded ts; 0: no pacing
};

/// Gets one diagnostic line without the "PROGRAM: " prefix
/// ("AAPL: unknown ticker (yahoo: ...)").
using DiagFn = std::function<void(std::string_view)>;

/// The exit status for the worst per-ticker outcome of a cycle:
/// kOk 0, kUnknown 65, kRateLimited and kNotCalled 75, kFailed 69.
int ExitCodeFor(FetchOutcome worst);

/// Splits "A,B c" (commas and/or blanks) into normalised distinct tickers.
/// Throws Error(64) naming the bad ticker.
std::vector<std::string> ParseTickerList(std::string_view list);

/// Reads one ticker per line (blank lines and #-comments skipped); a bad
/// line is reported through `diag` as "stdin:LINE: ticker: ..." and
/// counted in `bad`.
std::vector<std::string> ReadTickerLines(std::istream& in, const DiagFn& diag, uint64_t& bad);

/// Runs stock-collect and returns its exit status (see man/stock-collect.1).
/// `stdin_tickers` is read for --tickers -. Throws Error for usage (64),
/// configuration, store or output failures.
int RunCollect(const CollectOptions& opts, std::istream& stdin_tickers, const DiagFn& diag);

}  // namespace stockwatch
