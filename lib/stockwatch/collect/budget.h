#pragma once
/// --max-rate N/PERIOD: a request budget per source, as a token bucket kept
/// in the store (or, without one, in the process), so that a cron job and a
/// `--every` service on the same store stay under the source's limit
/// together. Tickers that do not fit a cycle wait for the next one; those
/// with the oldest stored quote go first.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/core/timeutil.h"

namespace stockwatch {

class Store;

struct RateLimit {
  int64_t requests = 0;   // the bucket's size: N requests ...
  int64_t period_ms = 0;  // ... per PERIOD, refilled evenly
};

/// Parses "N/PERIOD": PERIOD is s, min, h or d (also sec, second, m, minute,
/// hour, day) or a duration such as 90s or 5m. Throws Error(64) naming --max-rate.
RateLimit ParseRateLimit(std::string_view text);

/// "60/min", "2000/h", "5/90s".
std::string FormatRateLimit(const RateLimit& r);

/// A token bucket's state: tokens left at time ts.
struct Bucket {
  double tokens = 0;
  TimeMs ts = 0;
};

/// Refills `b` up to `now` (full when new) and takes up to `want` whole
/// tokens; returns how many it took.
int64_t TakeTokens(std::optional<Bucket>& b, const RateLimit& limit, int64_t want, TimeMs now);

/// The bucket as stored ("TOKENS TS"); nullopt for anything else.
std::string FormatBucket(const Bucket& b);
std::optional<Bucket> ParseBucket(std::string_view s);

class RequestBudget {
 public:
  /// `key` names the bucket in the store ("budget:yahoo"); `per_request`
  /// is how many tickers one request carries (a spark or Stooq batch).
  /// Without a store the bucket lives in this process only.
  RequestBudget(RateLimit limit, std::string key, int per_request, Store* store);

  /// The tickers this cycle may ask for, oldest newest quote first (never
  /// quoted: first of all); takes their requests from the bucket. Sets
  /// `deferred` to how many must wait.
  std::vector<std::string> Fit(const std::vector<std::string>& tickers, TimeMs now,
                               size_t& deferred);

 private:
  std::vector<std::string> OldestFirst(const std::vector<std::string>& tickers);

  RateLimit limit_;
  std::string key_;
  int per_request_;
  Store* store_;
  std::optional<Bucket> local_;  // without a store
};

}  // namespace stockwatch
