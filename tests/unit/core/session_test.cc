// session.h: the market-hours rule (open, closed, one quote after the
// close, roll-forward by a day, crypto, unknown) and the stored JSON.
#include "stockwatch/core/session.h"

#include <cstdlib>

#include <doctest/doctest.h>

#include "stockwatch/core/error.h"

namespace sw = stockwatch;

namespace {

// AAPL's regular period in the recorded chart: 2025-06-13 13:30Z to 20:00Z.
sw::MarketSession Aapl(sw::TimeMs updated) {
  sw::MarketSession s;
  s.start = 1749821400;
  s.end = 1749844800;
  s.tz = "America/New_York";
  s.gmtoffset = -14400;
  s.updated = updated;
  return s;
}

sw::TimeMs At(const char* rfc3339) { return *sw::ParseRfc3339(rfc3339); }

sw::MarketState StateAt(const sw::MarketSession& s, const char* now, const char* t = "AAPL") {
  return sw::MarketAt(t, s, At(now)).state;
}

}  // namespace

TEST_CASE("MarketAt: open inside the regular period, closed before it") {
  const sw::MarketSession s = Aapl(At("2025-06-13T14:00:00Z"));
  CHECK(StateAt(s, "2025-06-13T13:30:00Z") == sw::MarketState::kOpen);
  CHECK(StateAt(s, "2025-06-13T19:59:59Z") == sw::MarketState::kOpen);
  const sw::MarketStatus before = sw::MarketAt("AAPL", s, At("2025-06-13T13:29:59Z"));
  CHECK(before.state == sw::MarketState::kClosed);
  CHECK(sw::FormatRfc3339(before.opens_at) == "2025-06-13T13:30:00Z");
  CHECK_FALSE(sw::ShouldAsk(before));
  CHECK(sw::ShouldAsk(sw::MarketAt("AAPL", s, At("2025-06-13T15:00:00Z"))));
}

TEST_CASE("MarketAt: one quote after the close, then closed until the next start") {
  // Last quote during the session: the first cycle after the end asks.
  sw::MarketSession s = Aapl(At("2025-06-13T19:55:00Z"));
  sw::MarketStatus m = sw::MarketAt("AAPL", s, At("2025-06-13T20:00:00Z"));
  CHECK(m.state == sw::MarketState::kAfterClose);
  CHECK(sw::ShouldAsk(m));
  CHECK(sw::FormatRfc3339(m.closed_at) == "2025-06-13T20:00:00Z");
  CHECK(sw::FormatRfc3339(m.opens_at) == "2025-06-14T13:30:00Z");
  CHECK(StateAt(s, "2025-06-13T23:00:00Z") == sw::MarketState::kAfterClose);
  // That quote came at 20:05: no more until the next start.
  s.updated = At("2025-06-13T20:05:00Z");
  m = sw::MarketAt("AAPL", s, At("2025-06-13T20:10:00Z"));
  CHECK(m.state == sw::MarketState::kClosed);
  CHECK_FALSE(sw::ShouldAsk(m));
  CHECK(StateAt(s, "2025-06-14T13:29:59Z") == sw::MarketState::kClosed);
}

TEST_CASE("MarketAt: an ended period rolls forward by whole days until refreshed") {
  sw::MarketSession s = Aapl(At("2025-06-13T20:05:00Z"));
  CHECK(StateAt(s, "2025-06-14T13:30:00Z") == sw::MarketState::kOpen);  // a guess
  CHECK(StateAt(s, "2025-06-16T15:00:00Z") == sw::MarketState::kOpen);
  // After the rolled close, again one quote, then closed.
  const sw::MarketStatus m = sw::MarketAt("AAPL", s, At("2025-06-14T21:00:00Z"));
  CHECK(m.state == sw::MarketState::kAfterClose);
  CHECK(sw::FormatRfc3339(m.closed_at) == "2025-06-14T20:00:00Z");
  CHECK(sw::FormatRfc3339(m.opens_at) == "2025-06-15T13:30:00Z");
  s.updated = At("2025-06-14T21:00:00Z");
  CHECK(StateAt(s, "2025-06-14T22:00:00Z") == sw::MarketState::kClosed);
}

TEST_CASE("MarketAt: crypto trades around the clock; unknown sessions are asked") {
  const sw::MarketSession s = Aapl(At("2025-06-13T20:05:00Z"));
  CHECK(StateAt(s, "2025-06-13T22:00:00Z", "BTC-USD") == sw::MarketState::kAroundTheClock);
  CHECK(sw::MarketAt("ETH-USD", std::nullopt, At("2025-06-13T22:00:00Z")).state ==
        sw::MarketState::kAroundTheClock);
  sw::MarketSession c = s;
  c.crypto = true;  // instrumentType CRYPTOCURRENCY, whatever the ticker
  CHECK(StateAt(c, "2025-06-13T22:00:00Z", "BTC-EUR") == sw::MarketState::kAroundTheClock);
  const sw::MarketStatus u = sw::MarketAt("AAPL", std::nullopt, At("2025-06-13T22:00:00Z"));
  CHECK(u.state == sw::MarketState::kUnknown);
  CHECK(sw::ShouldAsk(u));
  sw::MarketSession empty;  // no usable period
  CHECK(StateAt(empty, "2025-06-13T22:00:00Z") == sw::MarketState::kUnknown);
  CHECK_FALSE(sw::AroundTheClock("USD", std::nullopt));
}

TEST_CASE("Session JSON: round trip; not a session is nullopt") {
  const sw::MarketSession s = Aapl(At("2025-06-13T20:05:00Z"));
  const std::optional<sw::MarketSession> back = sw::ParseSession(sw::FormatSession(s));
  REQUIRE(back.has_value());
  CHECK(sw::SamePeriod(*back, s));
  CHECK(back->updated == s.updated);
  CHECK(back->tz == "America/New_York");
  CHECK(back->gmtoffset == -14400);
  CHECK(sw::SessionKey("AAPL") == "session:AAPL");
  CHECK_FALSE(sw::ParseSession("not json").has_value());
  CHECK_FALSE(sw::ParseSession("{\"start\":1}").has_value());
  CHECK_FALSE(sw::ParseSession("{\"start\":1,\"end\":1e300}").has_value());
  CHECK_FALSE(sw::ParseSession("{\"start\":-5,\"end\":10}").has_value());
}

TEST_CASE("CalendarNowMs: STOCKWATCH_NOW fakes the calendar; a bad value is an error") {
  setenv("STOCKWATCH_NOW", "2025-06-13T21:00:00Z", 1);
  CHECK(sw::FormatRfc3339(sw::CalendarNowMs()) == "2025-06-13T21:00:00Z");
  setenv("STOCKWATCH_NOW", "yesterday", 1);
  CHECK_THROWS_AS(sw::CalendarNowMs(), sw::Error);
  unsetenv("STOCKWATCH_NOW");
  CHECK(sw::CalendarNowMs() > At("2025-01-01T00:00:00Z"));
}
