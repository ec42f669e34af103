#include "stockwatch/collect/breaker.h"

#include <algorithm>

#include "stockwatch/core/log.h"

namespace stockwatch {
namespace {

std::string Seconds(int64_t ms) {
  if (ms % 1000 == 0) return fmt::format("{} s", ms / 1000);
  return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000.0);
}

}  // namespace

std::string_view ToString(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half-open";
  }
  return "?";
}

CircuitBreaker::CircuitBreaker(std::string name, BreakerOptions opts, Clock clock)
    : name_(std::move(name)), opts_(opts), clock_(std::move(clock)) {
  if (opts_.failure_threshold < 1) opts_.failure_threshold = 1;
  if (opts_.cooldown_ms < 0) opts_.cooldown_ms = 0;
}

Permit CircuitBreaker::Acquire() {
  switch (state_) {
    case BreakerState::kClosed:
      return Permit::kCall;
    case BreakerState::kOpen:
      if (Now() < open_until_) return Permit::kDenied;
      state_ = BreakerState::kHalfOpen;
      probe_out_ = true;
      log::Info("{}: circuit half-open: cool-down over, one probe call", name_);
      return Permit::kProbe;
    case BreakerState::kHalfOpen:
      if (probe_out_) return Permit::kDenied;
      probe_out_ = true;
      return Permit::kProbe;
  }
  return Permit::kDenied;
}

void CircuitBreaker::OnSuccess(Permit permit) {
  if (state_ == BreakerState::kClosed) {
    failures_ = 0;
    return;
  }
  if (state_ == BreakerState::kHalfOpen && permit == Permit::kProbe) {
    state_ = BreakerState::kClosed;
    failures_ = 0;
    probe_out_ = false;
    log::Info("{}: circuit closed: the probe succeeded", name_);
  }
  // Open, or a late result of a call made before it opened: no evidence
  // about the source now.
}

void CircuitBreaker::OnFailure(Permit permit, std::string_view why,
                               std::optional<int64_t> retry_after_ms) {
  const int64_t ra = retry_after_ms ? std::max<int64_t>(*retry_after_ms, 0) : 0;
  switch (state_) {
    case BreakerState::kClosed:
      ++failures_;
      if (failures_ >= opts_.failure_threshold) {
        Open(why, std::max(opts_.cooldown_ms, ra), false);
      } else if (retry_after_ms) {
        // The source said when to come back: calling earlier would be rude
        // and pointless, so the breaker opens for exactly that long.
        Open(why, ra, false);
      }
      return;
    case BreakerState::kHalfOpen:
      if (permit == Permit::kProbe) {
        Open(why, std::max(opts_.cooldown_ms, ra), true);
      } else if (retry_after_ms) {
        Open(why, ra, true);
      }
      return;
    case BreakerState::kOpen:
      if (retry_after_ms && Now() + ra > open_until_) {
        open_until_ = Now() + ra;
        log::Info("{}: circuit stays open {} longer (Retry-After)", name_,
                  Seconds(open_until_ - Now()));
      }
      return;
  }
}

void CircuitBreaker::Open(std::string_view why, int64_t for_ms, bool reopened) {
  state_ = BreakerState::kOpen;
  probe_out_ = false;
  open_until_ = Now() + for_ms;
  if (reopened) {
    log::Warn("{}: circuit open again: the probe failed ({}); next probe in {}", name_, why,
              Seconds(for_ms));
  } else if (failures_ >= opts_.failure_threshold) {
    log::Warn("{}: circuit open after {} consecutive failures (last: {}); calls fail fast for {}",
              name_, failures_, why, Seconds(for_ms));
  } else {
    log::Warn("{}: circuit open: {}; the source asked to wait {} (Retry-After)", name_, why,
              Seconds(for_ms));
  }
}

void CircuitBreaker::Restore(BreakerState state, int failures, TimeMs open_until) {
  failures_ = std::max(failures, 0);
  probe_out_ = false;
  open_until_ = open_until;
  state_ = state == BreakerState::kClosed ? BreakerState::kClosed : BreakerState::kOpen;
  if (state == BreakerState::kHalfOpen) open_until_ = std::min(open_until_, Now());
}

}  // namespace stockwatch
