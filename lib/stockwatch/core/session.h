#pragma once
/// Market hours: a ticker's exchange session as its source last reported
/// it, and the rule stock-collect --market-hours and stockctl use to tell
/// whether the market is open at a given time. Sessions live in the store's
/// key-value table under "session:TICKER" as JSON
/// {"start","end" (epoch s of the regular period),"tz","gmtoffset","crypto","updated" (ms)}.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stockwatch/core/timeutil.h"

namespace stockwatch {

struct MarketSession {
  int64_t start = 0;      // epoch seconds: the regular trading period's start
  int64_t end = 0;        // epoch seconds: its end
  std::string tz;         // the exchange's time zone ("America/New_York"), may be empty
  int64_t gmtoffset = 0;  // seconds east of UTC at the exchange
  bool crypto = false;    // trades around the clock (Yahoo's instrumentType CRYPTOCURRENCY)
  TimeMs updated = 0;     // when a quote last brought this session (the collector's clock)
};

enum class MarketState {
  kUnknown,         // no session known: ask
  kAroundTheClock,  // crypto: always ask
  kOpen,            // inside the (possibly rolled-forward) regular period: ask
  kAfterClose,      // closed, and no quote yet since the close: ask once
  kClosed,          // closed, the quote after the close is in: skip
};

struct MarketStatus {
  MarketState state = MarketState::kUnknown;
  TimeMs closed_at = 0;  // kAfterClose, kClosed: the close (ms), 0 before the known period
  TimeMs opens_at = 0;   // kAfterClose, kClosed: the next (guessed) open (ms)
};

/// The store key of a ticker's session: "session:TICKER".
std::string SessionKey(std::string_view ticker);
inline constexpr std::string_view kSessionPrefix = "session:";

/// True for tickers that trade around the clock whatever their session
/// says: Yahoo's crypto pairs ("BTC-USD": a "-USD" suffix), or a session
/// whose source marked it crypto.
bool AroundTheClock(std::string_view ticker, const std::optional<MarketSession>& s);

/// The market of `ticker` at `now` (ms). The rule, days of 24 h:
///  - crypto (AroundTheClock): kAroundTheClock; no session: kUnknown;
///  - before the period's start: kClosed until the start;
///  - otherwise the period rolls forward by whole days to the last one that
///    started at or before `now` (a guess, until a new quote brings the
///    real next period): inside it kOpen; after its end kAfterClose while
///    `updated` is before that end (one quote after the close), else
///    kClosed until the next day's start.
MarketStatus MarketAt(std::string_view ticker, const std::optional<MarketSession>& s, TimeMs now);

/// False only for kClosed: the collector skips the ticker.
inline bool ShouldAsk(const MarketStatus& m) { return m.state != MarketState::kClosed; }

/// "open", "closed", "after-close", "24h", "unknown".
std::string_view ToString(MarketState s);

/// The JSON kept in the store, and back (nullopt when it is not a session).
std::string FormatSession(const MarketSession& s);
std::optional<MarketSession> ParseSession(std::string_view json);

/// Same period, zone and kind (ignores `updated`).
bool SamePeriod(const MarketSession& a, const MarketSession& b);

}  // namespace stockwatch
