#include "stockwatch/collect/breaker.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "stockwatch/core/log.h"

namespace {

using stockwatch::BreakerOptions;
using stockwatch::BreakerState;
using stockwatch::CircuitBreaker;
using stockwatch::Permit;

struct FakeClock {
  stockwatch::TimeMs now = 1'000'000;
  CircuitBreaker::Clock fn() {
    return [this] { return now; };
  }
};

/// Captures log lines for the duration of a test.
struct LogCapture {
  std::vector<std::string> lines;
  LogCapture() {
    stockwatch::log::SetSink(
        [this](stockwatch::log::Level level, std::string_view msg) {
          lines.push_back(std::string(level == stockwatch::log::Level::kWarn ? "W " : "I ") +
                          std::string(msg));
        },
        stockwatch::log::Level::kDebug);
  }
  ~LogCapture() { stockwatch::log::SetSink({}, stockwatch::log::Level::kWarn); }
  bool Has(std::string_view needle) const {
    for (const auto& l : lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
};

/// Drives a breaker to open with `n` failures.
void Fail(CircuitBreaker& b, int n) {
  for (int i = 0; i < n; ++i) {
    Permit p = b.Acquire();
    REQUIRE(p == Permit::kCall);
    b.OnFailure(p, "HTTP 500");
  }
}

}  // namespace

TEST_CASE("CircuitBreaker: stays closed below the threshold; a success resets the count") {
  FakeClock clock;
  LogCapture logs;
  CircuitBreaker b("src", BreakerOptions{3, 10'000}, clock.fn());
  CHECK(b.state() == BreakerState::kClosed);
  Fail(b, 2);
  CHECK(b.state() == BreakerState::kClosed);
  CHECK(b.failures() == 2);
  Permit p = b.Acquire();
  CHECK(p == Permit::kCall);
  b.OnSuccess(p);
  CHECK(b.failures() == 0);
  // Consecutive means consecutive: 2 + success + 2 does not open it.
  Fail(b, 2);
  CHECK(b.state() == BreakerState::kClosed);
  CHECK(logs.lines.empty());
}

TEST_CASE("CircuitBreaker: closed -> open after N consecutive failures, then fails fast") {
  FakeClock clock;
  LogCapture logs;
  CircuitBreaker b("src", BreakerOptions{3, 10'000}, clock.fn());
  Fail(b, 3);
  CHECK(b.state() == BreakerState::kOpen);
  CHECK(b.open_until() == clock.now + 10'000);
  CHECK(logs.Has("W src: circuit open after 3 consecutive failures (last: HTTP 500)"));
  for (int i = 0; i < 5; ++i) CHECK(b.Acquire() == Permit::kDenied);
  clock.now += 9'999;
  CHECK(b.Acquire() == Permit::kDenied);
  CHECK(b.state() == BreakerState::kOpen);
}

TEST_CASE("CircuitBreaker: open -> half-open after the cool-down: exactly one probe") {
  FakeClock clock;
  LogCapture logs;
  CircuitBreaker b("src", BreakerOptions{2, 5'000}, clock.fn());
  Fail(b, 2);
  clock.now += 5'000;
  Permit probe = b.Acquire();
  CHECK(probe == Permit::kProbe);
  CHECK(b.state() == BreakerState::kHalfOpen);
  CHECK(b.probe_pending());
  CHECK(logs.Has("I src: circuit half-open"));
  // While the probe is out, everything else fails fast.
  CHECK(b.Acquire() == Permit::kDenied);
  CHECK(b.Acquire() == Permit::kDenied);

  SUBCASE("probe succeeds -> closed") {
    b.OnSuccess(probe);
    CHECK(b.state() == BreakerState::kClosed);
    CHECK(b.failures() == 0);
    CHECK_FALSE(b.probe_pending());
    CHECK(logs.Has("I src: circuit closed"));
    CHECK(b.Acquire() == Permit::kCall);
    // And it takes the full threshold again to open.
    Fail(b, 1);
    CHECK(b.state() == BreakerState::kClosed);
  }
  SUBCASE("probe fails -> open again for another cool-down") {
    clock.now += 123;
    b.OnFailure(probe, "timeout");
    CHECK(b.state() == BreakerState::kOpen);
    CHECK(b.open_until() == clock.now + 5'000);
    CHECK(logs.Has("W src: circuit open again: the probe failed (timeout)"));
    CHECK(b.Acquire() == Permit::kDenied);
    clock.now += 5'000;
    CHECK(b.Acquire() == Permit::kProbe);
  }
}

TEST_CASE("CircuitBreaker: late results of calls made before it opened do not move it") {
  FakeClock clock;
  LogCapture logs;
  CircuitBreaker b("src", BreakerOptions{2, 5'000}, clock.fn());
  Permit early1 = b.Acquire();
  Permit early2 = b.Acquire();
  Fail(b, 2);
  REQUIRE(b.state() == BreakerState::kOpen);
  b.OnSuccess(early1);  // a slow call that finally answered: still open
  CHECK(b.state() == BreakerState::kOpen);
  clock.now += 5'000;
  Permit probe = b.Acquire();
  REQUIRE(probe == Permit::kProbe);
  b.OnFailure(early2, "HTTP 500");  // not the probe: the probe decides
  CHECK(b.state() == BreakerState::kHalfOpen);
  CHECK(b.probe_pending());
  b.OnSuccess(probe);
  CHECK(b.state() == BreakerState::kClosed);
}

TEST_CASE("CircuitBreaker: a Retry-After opens it at once for that long") {
  FakeClock clock;
  LogCapture logs;
  CircuitBreaker b("src", BreakerOptions{5, 10'000}, clock.fn());
  Permit p = b.Acquire();
  b.OnFailure(p, "HTTP 429", 2'000);
  CHECK(b.state() == BreakerState::kOpen);
  CHECK(b.open_until() == clock.now + 2'000);
  CHECK(logs.Has("W src: circuit open: HTTP 429; the source asked to wait 2 s (Retry-After)"));
  clock.now += 1'999;
  CHECK(b.Acquire() == Permit::kDenied);
  clock.now += 1;
  CHECK(b.Acquire() == Permit::kProbe);
}

TEST_CASE("CircuitBreaker: a 429 without Retry-After is an ordinary failure") {
  FakeClock clock;
  CircuitBreaker b("src", BreakerOptions{2, 10'000}, clock.fn());
  Permit p = b.Acquire();
  b.OnFailure(p, "HTTP 429");
  CHECK(b.state() == BreakerState::kClosed);
  p = b.Acquire();
  b.OnFailure(p, "HTTP 429");
  CHECK(b.state() == BreakerState::kOpen);
  CHECK(b.open_until() == clock.now + 10'000);
}

TEST_CASE("CircuitBreaker: Retry-After longer than the cool-down wins; it extends an open period") {
  FakeClock clock;
  LogCapture logs;
  CircuitBreaker b("src", BreakerOptions{1, 10'000}, clock.fn());
  Permit p = b.Acquire();
  b.OnFailure(p, "HTTP 429", 60'000);
  CHECK(b.open_until() == clock.now + 60'000);

  // While open, a late 429 with a longer Retry-After pushes the probe back...
  clock.now += 1'000;
  b.OnFailure(Permit::kCall, "HTTP 429", 120'000);
  CHECK(b.open_until() == clock.now + 120'000);
  CHECK(logs.Has("I src: circuit stays open 120 s longer (Retry-After)"));
  // ...a shorter one does not pull it forward.
  b.OnFailure(Permit::kCall, "HTTP 429", 1'000);
  CHECK(b.open_until() == clock.now + 120'000);

  // A failed probe with Retry-After reopens for the longer of the two.
  clock.now += 120'000;
  Permit probe = b.Acquire();
  REQUIRE(probe == Permit::kProbe);
  b.OnFailure(probe, "HTTP 429", 30'000);
  CHECK(b.state() == BreakerState::kOpen);
  CHECK(b.open_until() == clock.now + 30'000);
  clock.now += 30'000;
  probe = b.Acquire();
  REQUIRE(probe == Permit::kProbe);
  b.OnFailure(probe, "HTTP 503", 1'000);
  CHECK(b.open_until() == clock.now + 10'000);
}

TEST_CASE("CircuitBreaker: Restore brings back an open breaker (cron runs)") {
  FakeClock clock;
  CircuitBreaker b("src", BreakerOptions{3, 10'000}, clock.fn());
  b.Restore(BreakerState::kOpen, 3, clock.now + 4'000);
  CHECK(b.state() == BreakerState::kOpen);
  CHECK(b.Acquire() == Permit::kDenied);
  clock.now += 4'000;
  CHECK(b.Acquire() == Permit::kProbe);

  CircuitBreaker c("src", BreakerOptions{3, 10'000}, clock.fn());
  c.Restore(BreakerState::kClosed, 2, 0);
  Permit p = c.Acquire();
  c.OnFailure(p, "x");
  CHECK(c.state() == BreakerState::kOpen);

  // A half-open breaker saved mid-probe: the probe never answered, try again.
  CircuitBreaker d("src", BreakerOptions{3, 10'000}, clock.fn());
  d.Restore(BreakerState::kHalfOpen, 3, clock.now + 50'000);
  CHECK(d.Acquire() == Permit::kProbe);
}

TEST_CASE("CircuitBreaker: threshold 1 opens on the first failure") {
  FakeClock clock;
  CircuitBreaker b("src", BreakerOptions{1, 0}, clock.fn());
  Permit p = b.Acquire();
  b.OnFailure(p, "x");
  CHECK(b.state() == BreakerState::kOpen);
  // Cool-down 0: the next call is already the probe.
  CHECK(b.Acquire() == Permit::kProbe);
}
