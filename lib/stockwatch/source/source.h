#pragma once
/// Price sources of stock-collect: Yahoo Finance and Stooq over HTTP, and a
/// seeded random walk (sim). The parsers are pure functions of a response
/// body, tested with the recorded payloads in tests/data/apis; the HTTP
/// sources only say which requests to make and what an answer means, so the
/// collector (collect/run.cc) can put every call behind the circuit breaker.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stockwatch/core/records.h"
#include "stockwatch/core/session.h"
#include "stockwatch/net/http.h"

namespace stockwatch {

// ------------------------------------------------------------------ Yahoo

/// Parses a v8 chart body (/v8/finance/chart/TICKER?range=1d&interval=1m,
/// HTTP 200) into a quote for `ticker`: price meta.regularMarketPrice at
/// meta.regularMarketTime; without them, the last non-null close and its
/// timestamp (the arrays may hold nulls). Also currency, prev_close
/// (meta.previousClose, else chartPreviousClose) and volume
/// (meta.regularMarketVolume) when present. Returns nullopt when the body
/// is a chart without a usable price (no data for the ticker). Throws
/// DataError("chart: ...") when it is not a chart payload at all. With
/// `session`, also the exchange session of meta (currentTradingPeriod's
/// regular start and end, exchangeTimezoneName, gmtoffset, instrumentType),
/// nullopt when meta has none.
std::optional<Quote> ParseYahooChart(std::string_view body, std::string_view ticker,
                                     std::optional<MarketSession>* session = nullptr);

/// Parses a spark body (/v7/finance/spark?symbols=A,B): the v7 shape
/// {"spark":{"result":[{"symbol","response":[chart]}]}} or the flat one
/// {"A":{"symbol","timestamp":[..],"close":[..],"previousClose"}}. Returns
/// a quote per symbol that has a price, keyed by upper-cased symbol
/// (ticker field set to that symbol). Throws DataError("spark: ...") when
/// the body is neither shape. With `sessions`, the v7 shape's sessions
/// (as ParseYahooChart), keyed as the quotes; the flat shape has none.
std::unordered_map<std::string, Quote> ParseYahooSpark(
    std::string_view body, std::unordered_map<std::string, MarketSession>* sessions = nullptr);

/// The error Yahoo put in a body ({"chart"|"spark"|"finance":{"error":
/// {"code","description"}}}) as "description" (or "code"); empty when the
/// body is not JSON or carries no error (a 429 body often is plain text).
std::string ParseYahooError(std::string_view body);

// ------------------------------------------------------------------ Stooq

/// The Stooq symbol for a ticker, lower case:
///   AAPL, BRK-B        -> aapl.us, brk-b.us   (no suffix: a US listing)
///   SAP.DE, VOD.L, 7203.T, PKN.WA, 0700.HK -> sap.de, vod.uk, 7203.jp, pkn.pl, 0700.hk
///   other X.Y          -> x.y                  (taken as a Stooq suffix)
///   ^GSPC ^DJI ^IXIC ^NDX -> ^spx ^dji ^ndq ^ndx; other ^X -> ^x
///   EURUSD=X           -> eurusd               (currency pair)
///   BTC-USD, ETH-EUR   -> btcusd, etheur       (crypto; Stooq lists few)
std::string StooqSymbol(std::string_view ticker);

struct StooqRow {
  std::string symbol;    // as Stooq wrote it ("AAPL.US")
  bool no_data = false;  // an N/D row: Stooq does not know the symbol
  double close = 0;
  TimeMs ts = 0;  // Date + Time, converted from Warsaw time to UTC
  std::optional<int64_t> volume;
};

/// Parses the CSV of /q/l/?s=..&f=sd2t2ohlcv&h&e=csv (header line
/// Symbol,Date,Time,Open,High,Low,Close,Volume, then one row per symbol).
/// Throws DataError("stooq: ...") when the body is not that CSV.
std::vector<StooqRow> ParseStooqCsv(std::string_view body);

/// True for Stooq's plain-text answer once the daily request quota is used up.
bool StooqLimitReached(std::string_view body);

/// Stooq's dates and times are Warsaw time (CET/CEST, EU summer-time
/// rules): "2025-06-13" "22:00:10" -> 2025-06-13T20:00:10Z.
std::optional<TimeMs> WarsawToUtc(std::string_view date, std::string_view time);

// ------------------------------------------------------------------ sim

/// A seeded random walk per ticker: the same seed and the same sequence of
/// calls give the same prices on every machine (own PRNG, no <random>
/// distributions). Each ticker's walk depends only on the seed and the
/// ticker, so adding tickers does not change the others.
class SimWalk {
 public:
  explicit SimWalk(uint64_t seed) : seed_(seed) {}
  /// The next price of `ticker`, in cents precision (the first call gives
  /// its starting price, between 5 and 1000). Steps are log-normal with a
  /// 0.5 % standard deviation.
  double Next(const std::string& ticker);
  /// True once `ticker` has a price (from Next() or Start()).
  bool Started(const std::string& ticker) const { return walks_.count(ticker) != 0; }
  /// Starts `ticker`'s walk at `price` (e.g. its last stored value), so the
  /// next call to Next() takes one step from there. No-op once started.
  void Start(const std::string& ticker, double price);

 private:
  struct Walk {
    uint64_t state = 0;
    double price = 0;
  };
  uint64_t seed_;
  std::unordered_map<std::string, Walk> walks_;
};

// ------------------------------------------------------------------ HTTP sources

/// What one ticker got in one cycle. The order is the exit-code priority
/// when a ticker had several attempts (see collect.h).
enum class FetchOutcome {
  kOk,
  kUnknown,      // the source does not know the ticker (exit 65)
  kRateLimited,  // 429, a daily limit, or a 503 with Retry-After (exit 75)
  kNotCalled,    // the breaker was open: failed fast (exit 75)
  kFailed,       // transport error, timeout, 5xx, refused (exit 69)
};

/// One call to a source: one HTTP request covering one or more tickers.
struct SourceCall {
  std::vector<std::string> tickers;  // normalised
  int kind = 0;                      // the source's own tag (chart, spark, ...)
  HttpRequest request;
};

struct TickerResult {
  std::string ticker;
  FetchOutcome outcome = FetchOutcome::kOk;
  Quote quote;                           // with kOk
  std::string error;                     // otherwise: what is wrong
  std::optional<MarketSession> session;  // with kOk: the exchange session, when the answer had one
};

/// What a call's answer means.
struct CallResult {
  bool source_ok = true;                  // for the breaker: false counts as a failure
  std::string failure;                    // why it failed (for the breaker's log and the tickers)
  std::optional<int64_t> retry_after_ms;  // the source said when to come back
  bool retryable = false;                 // the same call may succeed if repeated (transport, 5xx)
  /// For the call's tickers that neither `results` nor `follow_up` covers:
  /// kFailed or kRateLimited when the whole call failed.
  FetchOutcome outcome = FetchOutcome::kOk;
  /// Per ticker, for the tickers the answer settled. When the whole call
  /// failed, each of its tickers gets the call's outcome and `failure`.
  std::vector<TickerResult> results;
  /// More calls for tickers the answer did not settle (a spark batch that
  /// left a symbol out is asked again through the chart API).
  std::vector<SourceCall> follow_up;
};

struct HttpSourceOptions {
  std::string base_url;  // no trailing slash
  int64_t timeout_ms = 10'000;
  int64_t connect_timeout_ms = 5'000;
  bool batch = true;                          // several tickers per request where the source allows
  int batch_size = 20;                        // tickers per batched request
  size_t max_response = kDefaultMaxResponse;  // the most of an answer's body read
  /// Several times the largest real answer (a spark batch of 100 tickers is
  /// well under 1 MiB, a chart under 200 KiB).
  static constexpr size_t kDefaultMaxResponse = 4u << 20;
};

/// A price source over HTTP. Not thread-safe.
class HttpQuoteSource {
 public:
  virtual ~HttpQuoteSource() = default;
  /// "yahoo", "stooq": the quotes' source field and the breaker's name.
  virtual const std::string& name() const = 0;
  /// The User-Agent to send.
  virtual std::string user_agent() const = 0;
  /// The calls that fetch `tickers` (normalised, distinct).
  virtual std::vector<SourceCall> Plan(const std::vector<std::string>& tickers) = 0;
  /// Interprets the answer to `call` (any status, or a transport error).
  virtual CallResult Interpret(const SourceCall& call, const HttpResponse& resp) = 0;
};

/// Yahoo Finance: chart per ticker; spark batches when batch is set and
/// there are at least two tickers (a spark 4xx other than 404 turns spark
/// off for the rest of the run, and the batch is asked again per ticker).
std::unique_ptr<HttpQuoteSource> MakeYahooSource(const HttpSourceOptions& opts);
/// Stooq CSV quotes, batch_size symbols per request (1 without batch).
std::unique_ptr<HttpQuoteSource> MakeStooqSource(const HttpSourceOptions& opts);

/// The default base URLs.
inline constexpr std::string_view kYahooBaseUrl = "https://query1.finance.yahoo.com";
inline constexpr std::string_view kStooqBaseUrl = "https://stooq.com";

/// The shared part of Interpret for answers that are not a success: a
/// transport error or timeout (retryable), 429 (rate limited, Retry-After),
/// 5xx (retryable; with Retry-After: rate limited), 401/403 (refused), 408,
/// an answer larger than max_response (a failure, not retried).
/// Returns nullopt for other statuses (2xx, other 4xx): the source decides.
std::optional<CallResult> ClassifyHttpFailure(const HttpResponse& resp, std::string_view detail);

/// Splits `tickers` into chunks of at most `size`.
std::vector<std::vector<std::string>> Chunk(const std::vector<std::string>& tickers, int size);

}  // namespace stockwatch
