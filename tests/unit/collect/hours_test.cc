// hours.h: sessions kept in the store and --market-hours' filter.
#include "stockwatch/collect/hours.h"

#include <doctest/doctest.h>

#include "temp_store.h"

namespace sw = stockwatch;

namespace {

sw::MarketSession Aapl() {
  sw::MarketSession s;
  s.start = 1749821400;  // 2025-06-13T13:30:00Z
  s.end = 1749844800;    // 2025-06-13T20:00:00Z
  s.tz = "America/New_York";
  s.gmtoffset = -14400;
  return s;
}

sw::TimeMs At(const char* rfc3339) { return *sw::ParseRfc3339(rfc3339); }

std::vector<std::string> Ask(sw::SessionBook& book, const std::vector<std::string>& tickers,
                             const char* now, size_t& skipped) {
  return sw::OpenMarkets(book, tickers, At(now), skipped);
}

}  // namespace

TEST_CASE("SessionBook: open, one quote after the close, closed; kept in the store") {
  sw::test::TempStore db;
  const std::vector<std::string> all = {"AAPL", "BTC-USD", "NEW"};
  size_t skipped = 9;
  {
    sw::SessionBook book(&db.store());
    CHECK(Ask(book, all, "2025-06-13T15:00:00Z", skipped) == all);  // unknown: asked
    CHECK(skipped == 0);
    book.Learn("AAPL", Aapl(), At("2025-06-13T15:00:00Z"));
    CHECK(Ask(book, all, "2025-06-13T16:00:00Z", skipped) == all);  // open
    // The first cycle after the close asks; its quote is the last one.
    CHECK(Ask(book, all, "2025-06-13T20:01:00Z", skipped) == all);
    book.Learn("AAPL", Aapl(), At("2025-06-13T20:01:00Z"));
  }
  // A later run reads the stored session: AAPL is skipped, the rest asked.
  sw::SessionBook again(&db.store());
  CHECK(Ask(again, all, "2025-06-13T20:02:00Z", skipped) ==
        std::vector<std::string>{"BTC-USD", "NEW"});
  CHECK(skipped == 1);
  const std::optional<std::string> v = db.queries().GetValue("session:AAPL");
  REQUIRE(v.has_value());
  const std::optional<sw::MarketSession> s = sw::ParseSession(*v);
  REQUIRE(s.has_value());
  CHECK(s->updated == At("2025-06-13T20:01:00Z"));
  CHECK(s->tz == "America/New_York");
  // The next day's guessed session opens it again.
  CHECK(Ask(again, {"AAPL"}, "2025-06-14T14:00:00Z", skipped) == std::vector<std::string>{"AAPL"});
}

TEST_CASE("SessionBook: a quote within an unchanged period writes nothing") {
  sw::test::TempStore db;
  sw::SessionBook book(&db.store());
  book.Learn("AAPL", Aapl(), At("2025-06-13T14:00:00Z"));
  book.Learn("AAPL", Aapl(), At("2025-06-13T15:00:00Z"));
  const std::optional<sw::MarketSession> s =
      sw::ParseSession(db.queries().GetValue("session:AAPL").value_or(""));
  REQUIRE(s.has_value());
  CHECK(s->updated == At("2025-06-13T14:00:00Z"));
  // A new period is written at once.
  sw::MarketSession next = Aapl();
  next.start += 3 * 86400;
  next.end += 3 * 86400;
  book.Learn("AAPL", next, At("2025-06-13T20:30:00Z"));
  const std::optional<sw::MarketSession> n =
      sw::ParseSession(db.queries().GetValue("session:AAPL").value_or(""));
  REQUIRE(n.has_value());
  CHECK(n->start == next.start);
  size_t skipped = 0;
  CHECK(Ask(book, {"AAPL"}, "2025-06-14T15:00:00Z", skipped).empty());  // before the new start
}
