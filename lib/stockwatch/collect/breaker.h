#pragma once
/// The circuit breaker that protects every call to a price source:
/// closed -> open after N consecutive failures (errors, timeouts, 5xx, 429,
/// slow calls: the caller decides what a failure is) -> fail fast while open
/// -> after the cool-down one probe (half-open) -> closed on success, open
/// again on failure. A Retry-After from the source opens it at once, for at
/// least that long. State changes are logged (log::Warn when it opens,
/// log::Info otherwise). Written here, not borrowed. Not thread-safe.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "stockwatch/core/timeutil.h"

namespace stockwatch {

struct BreakerOptions {
  int failure_threshold = 5;     // consecutive failures that open it (>= 1)
  int64_t cooldown_ms = 30'000;  // how long it stays open before a probe
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };
std::string_view ToString(BreakerState s);

/// What Acquire() allows.
enum class Permit {
  kDenied,  // open, or the half-open probe is still out: fail fast
  kCall,    // closed: a normal call
  kProbe,   // the one half-open probe: its result decides
};

class CircuitBreaker {
 public:
  using Clock = std::function<TimeMs()>;
  /// `name` prefixes the log lines ("yahoo"). `clock` defaults to NowMs().
  CircuitBreaker(std::string name, BreakerOptions opts, Clock clock = {});

  /// Asks to make one call now. Open with the cool-down over: moves to
  /// half-open and grants the probe.
  Permit Acquire();
  /// Reports the result of a call made under `permit`. Results of calls
  /// granted before the state changed (kCall results while half-open or
  /// open) do not move the breaker, except that a Retry-After always holds
  /// it open for at least that long.
  void OnSuccess(Permit permit);
  /// `why` is logged; `retry_after_ms`: the source said when to come back.
  void OnFailure(Permit permit, std::string_view why,
                 std::optional<int64_t> retry_after_ms = std::nullopt);

  BreakerState state() const { return state_; }
  /// True while half-open and the probe's result is not in yet.
  bool probe_pending() const { return state_ == BreakerState::kHalfOpen && probe_out_; }
  /// Consecutive failures counted while closed.
  int failures() const { return failures_; }
  /// When an open breaker lets the next probe through.
  TimeMs open_until() const { return open_until_; }
  const std::string& name() const { return name_; }

  /// State for keeping the breaker across runs (cron): restores an open or
  /// counting breaker; a restored half-open one is open with the cool-down over.
  void Restore(BreakerState state, int failures, TimeMs open_until);

 private:
  TimeMs Now() const { return clock_ ? clock_() : NowMs(); }
  void Open(std::string_view why, int64_t for_ms, bool reopened);

  std::string name_;
  BreakerOptions opts_;
  Clock clock_;
  BreakerState state_ = BreakerState::kClosed;
  int failures_ = 0;
  TimeMs open_until_ = 0;
  bool probe_out_ = false;
};

}  // namespace stockwatch
