// budget.h: --max-rate's token bucket, its stored form, and which tickers a
// cycle may ask for when not all fit.
#include "stockwatch/collect/budget.h"

#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "stockwatch/core/error.h"
#include "temp_store.h"

namespace sw = stockwatch;

TEST_CASE("Budget: N/PERIOD is parsed strictly") {
  CHECK(sw::ParseRateLimit("60/min").requests == 60);
  CHECK(sw::ParseRateLimit("60/min").period_ms == 60'000);
  CHECK(sw::ParseRateLimit("2000/h").period_ms == 3'600'000);
  CHECK(sw::ParseRateLimit("5/s").period_ms == 1000);
  CHECK(sw::ParseRateLimit("5/90s").period_ms == 90'000);
  CHECK(sw::ParseRateLimit("1/day").period_ms == 86'400'000);
  CHECK(sw::FormatRateLimit(sw::ParseRateLimit("60/minute")) == "60/min");
  CHECK(sw::FormatRateLimit(sw::ParseRateLimit("5/90s")) == "5/90s");
  for (const char* bad : {"", "60", "/min", "0/min", "-1/min", "60/", "60/0s", "60/fortnight",
                          "6x/min", "60/min/2"}) {
    INFO(bad);
    CHECK_THROWS_AS(sw::ParseRateLimit(bad), sw::Error);
  }
}

TEST_CASE("Budget: the bucket starts full, refills evenly and never above N") {
  const sw::RateLimit limit{10, 60'000};  // one token every 6 s
  std::optional<sw::Bucket> b;
  CHECK(sw::TakeTokens(b, limit, 4, 1'000'000) == 4);
  CHECK(sw::TakeTokens(b, limit, 10, 1'000'000) == 6);
  CHECK(sw::TakeTokens(b, limit, 10, 1'000'000) == 0);
  CHECK(sw::TakeTokens(b, limit, 10, 1'000'000 + 5'999) == 0);
  CHECK(sw::TakeTokens(b, limit, 10, 1'000'000 + 6'000) == 1);
  CHECK(sw::TakeTokens(b, limit, 10, 1'000'000 + 6'000 + 3'600'000) == 10);  // capped at N
  // A clock stepped back refills nothing and takes nothing it has not got.
  CHECK(sw::TakeTokens(b, limit, 10, 0) == 0);
  // Stored and read back.
  sw::Bucket x{2.5, 1234};
  std::optional<sw::Bucket> y = sw::ParseBucket(sw::FormatBucket(x));
  REQUIRE(y);
  CHECK(y->tokens == doctest::Approx(2.5));
  CHECK(y->ts == 1234);
  for (const char* bad : {"", "1", "x 1", "1 x", "-1 5", "nan 5", "1 5 6"}) {
    INFO(bad);
    CHECK_FALSE(sw::ParseBucket(bad));
  }
}

TEST_CASE("Budget: tickers that do not fit wait, the oldest stored quote first") {
  sw::test::TempStore store;
  auto quote = [](const char* t, sw::TimeMs ts) {
    sw::Quote q;
    q.ticker = t;
    q.ts = ts;
    q.price = 1;
    return q;
  };
  std::vector<sw::Quote> quotes{quote("NEW", 3000), quote("MID", 2000), quote("OLD", 1000)};
  store.commands().StoreQuotes(quotes);
  // 2 requests a minute, one ticker per request.
  sw::RequestBudget budget({2, 60'000}, "budget:test", 1, &store.store());
  size_t deferred = 0;
  std::vector<std::string> tickers{"NEW", "MID", "NONE", "OLD"};
  CHECK(budget.Fit(tickers, 10'000, deferred) == std::vector<std::string>{"NONE", "OLD"});
  CHECK(deferred == 2);
  CHECK(budget.Fit(tickers, 10'000, deferred).empty());  // spent, and shared through the store
  CHECK(deferred == 4);
  sw::RequestBudget other({2, 60'000}, "budget:test", 1, &store.store());
  CHECK(other.Fit(tickers, 10'000, deferred).empty());
  CHECK(store.queries().GetValue("budget:test"));
  // Half a minute later one request is back; batches of 3 fit 3 tickers in it.
  sw::RequestBudget batched({2, 60'000}, "budget:test", 3, &store.store());
  CHECK(batched.Fit(tickers, 40'000, deferred) == std::vector<std::string>{"NONE", "OLD", "MID"});
  CHECK(deferred == 1);
  // When everything fits, the order is the caller's.
  sw::RequestBudget roomy({100, 60'000}, "budget:roomy", 1, &store.store());
  CHECK(roomy.Fit(tickers, 40'000, deferred) == tickers);
  CHECK(deferred == 0);
  // Without a store the bucket is the process's own.
  sw::RequestBudget local({1, 60'000}, "budget:local", 1, nullptr);
  CHECK(local.Fit(tickers, 0, deferred).size() == 1);
  CHECK(local.Fit(tickers, 0, deferred).empty());
}
