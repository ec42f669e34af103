#pragma once
/// stock-collect's market hours: the sessions its source reported, kept in
/// the store ("session:TICKER"), and --market-hours' filter of a cycle's
/// tickers by the rule of core/session.h.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "stockwatch/core/session.h"

namespace stockwatch {

class Store;

class SessionBook {
 public:
  /// Reads the stored sessions once, on first use; `store` may be null
  /// (sessions are then kept for this run only).
  explicit SessionBook(Store* store) : store_(store) {}

  /// The known session of `ticker`.
  std::optional<MarketSession> Get(const std::string& ticker);

  /// A quote of `ticker` came with `s` at `now` (the cycle's calendar
  /// time). Stores it when the period changed, or when it is the quote
  /// after a close (the rule needs its time); otherwise nothing is written.
  void Learn(const std::string& ticker, MarketSession s, TimeMs now);

 private:
  void Load();
  Store* store_;
  bool loaded_ = false;
  std::unordered_map<std::string, MarketSession> sessions_;
};

/// The tickers to ask at `now`: every one but those whose market is
/// closed and already had its quote after the close (MarketAt's kClosed).
/// `skipped` gets how many were left out.
std::vector<std::string> OpenMarkets(SessionBook& book, const std::vector<std::string>& tickers,
                                     TimeMs now, size_t& skipped);

}  // namespace stockwatch
