#include <cstdlib>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "api_fixture.h"
#include "stockwatch/source/source.h"

namespace {

using stockwatch::FetchOutcome;

std::string Utc(std::string_view date, std::string_view time) {
  auto t = stockwatch::WarsawToUtc(date, time);
  REQUIRE(t.has_value());
  return stockwatch::FormatRfc3339(*t);
}

stockwatch::HttpResponse Resp(long status, std::string body) {
  stockwatch::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("Stooq CSV: the fixture's rows, Warsaw time converted to UTC") {
  auto rows = stockwatch::ParseStooqCsv(ApiFixture("stooq_quote_aapl_msft.csv"));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].symbol == "AAPL.US");
  CHECK_FALSE(rows[0].no_data);
  CHECK(rows[0].close == doctest::Approx(196.45));
  // 22:00:10 CEST is the US close, 16:00 EDT.
  CHECK(stockwatch::FormatRfc3339(rows[0].ts) == "2025-06-13T20:00:10Z");
  CHECK(rows[0].volume == 51447349);
  CHECK(rows[1].symbol == "MSFT.US");
  CHECK(rows[1].close == doctest::Approx(474.96));
}

TEST_CASE("Stooq CSV: N/D rows for unknown symbols") {
  auto rows = stockwatch::ParseStooqCsv(ApiFixture("stooq_quote_notfound.csv"));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].symbol == "ZZZZ.US");
  CHECK(rows[0].no_data);
}

TEST_CASE("Stooq CSV: not CSV, bad numbers, the daily limit") {
  CHECK_THROWS_AS(stockwatch::ParseStooqCsv(""), stockwatch::DataError);
  CHECK_THROWS_AS(stockwatch::ParseStooqCsv("<html><body>Error</body></html>"),
                  stockwatch::DataError);
  CHECK_THROWS_AS(stockwatch::ParseStooqCsv("Symbol,Date,Time,Open,High,Low,Close,Volume\n"
                                            "AAPL.US,2025-06-13,22:00:10,1,2,3,abc,5\n"),
                  stockwatch::DataError);
  CHECK(stockwatch::StooqLimitReached("Exceeded the daily hits limit"));
  CHECK_FALSE(stockwatch::StooqLimitReached(ApiFixture("stooq_quote_aapl_msft.csv")));
  // Windows line ends and a missing volume (indices, currencies).
  auto rows = stockwatch::ParseStooqCsv(
      "Symbol,Date,Time,Open,High,Low,Close,Volume\r\nEURUSD,2025-01-15,10:30:00,1,1,1,1.0301,"
      "\r\n");
  REQUIRE(rows.size() == 1);
  CHECK_FALSE(rows[0].volume.has_value());
  CHECK(stockwatch::FormatRfc3339(rows[0].ts) == "2025-01-15T09:30:00Z");
}

TEST_CASE("Stooq: Warsaw time across the EU summer-time changes") {
  CHECK(Utc("2025-01-15", "22:00:10") == "2025-01-15T21:00:10Z");  // CET
  CHECK(Utc("2025-06-13", "22:00:10") == "2025-06-13T20:00:10Z");  // CEST
  // 2025-03-30: clocks go 02:00 CET -> 03:00 CEST (01:00 UTC).
  CHECK(Utc("2025-03-30", "01:59:59") == "2025-03-30T00:59:59Z");
  CHECK(Utc("2025-03-30", "03:00:00") == "2025-03-30T01:00:00Z");
  // 2025-10-26: clocks go 03:00 CEST -> 02:00 CET (01:00 UTC).
  CHECK(Utc("2025-10-26", "01:30:00") == "2025-10-25T23:30:00Z");
  CHECK(Utc("2025-10-26", "04:00:00") == "2025-10-26T03:00:00Z");
  // 2024: last Sundays are March 31 and October 27.
  CHECK(Utc("2024-03-31", "12:00:00") == "2024-03-31T10:00:00Z");
  CHECK(Utc("2024-03-30", "12:00:00") == "2024-03-30T11:00:00Z");
  CHECK_FALSE(stockwatch::WarsawToUtc("N/D", "N/D").has_value());
  CHECK_FALSE(stockwatch::WarsawToUtc("2025-13-01", "10:00:00").has_value());
}

TEST_CASE("Stooq: ticker to symbol") {
  CHECK(stockwatch::StooqSymbol("AAPL") == "aapl.us");
  CHECK(stockwatch::StooqSymbol("BRK-B") == "brk-b.us");
  CHECK(stockwatch::StooqSymbol("SAP.DE") == "sap.de");
  CHECK(stockwatch::StooqSymbol("VOD.L") == "vod.uk");
  CHECK(stockwatch::StooqSymbol("7203.T") == "7203.jp");
  CHECK(stockwatch::StooqSymbol("PKN.WA") == "pkn.pl");
  CHECK(stockwatch::StooqSymbol("AAPL.US") == "aapl.us");
  CHECK(stockwatch::StooqSymbol("^GSPC") == "^spx");
  CHECK(stockwatch::StooqSymbol("^DAX") == "^dax");
  CHECK(stockwatch::StooqSymbol("EURUSD=X") == "eurusd");
  CHECK(stockwatch::StooqSymbol("BTC-USD") == "btcusd");
}

TEST_CASE("Stooq source: one batched request; answers per ticker") {
  stockwatch::HttpSourceOptions o;
  o.base_url = "http://127.0.0.1:9";
  o.batch_size = 20;
  auto s = stockwatch::MakeStooqSource(o);
  CHECK(s->name() == "stooq");
  auto calls = s->Plan({"AAPL", "MSFT", "ZZZZ", "^GSPC"});
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].request.url ==
        "http://127.0.0.1:9/q/l/?s=aapl.us,msft.us,zzzz.us,%5Espx&f=sd2t2ohlcv&h&e=csv");

  std::string body = ApiFixture("stooq_quote_aapl_msft.csv");
  body += "ZZZZ.US,N/D,N/D,N/D,N/D,N/D,N/D,N/D\n";
  auto r = s->Interpret(calls[0], Resp(200, body));
  CHECK(r.source_ok);
  REQUIRE(r.results.size() == 4);
  CHECK(r.results[0].outcome == FetchOutcome::kOk);
  CHECK(r.results[0].quote.ticker == "AAPL");
  CHECK(r.results[0].quote.price == doctest::Approx(196.45));
  CHECK(r.results[0].quote.currency == "USD");
  CHECK(r.results[0].quote.source == "stooq");
  CHECK(r.results[1].quote.ticker == "MSFT");
  CHECK(r.results[2].outcome == FetchOutcome::kUnknown);
  CHECK(r.results[2].error == "unknown ticker (stooq: no data for zzzz.us)");
  CHECK(r.results[3].outcome == FetchOutcome::kUnknown);  // not in the answer

  auto limit = s->Interpret(calls[0], Resp(200, "Exceeded the daily hits limit"));
  CHECK_FALSE(limit.source_ok);
  CHECK(limit.outcome == FetchOutcome::kRateLimited);

  auto html = s->Interpret(calls[0], Resp(200, "<html>maintenance</html>"));
  CHECK_FALSE(html.source_ok);
  CHECK(html.outcome == FetchOutcome::kFailed);

  auto down = s->Interpret(calls[0], Resp(502, "Bad Gateway"));
  CHECK(down.retryable);
  CHECK(down.failure == "HTTP 502: Bad Gateway");

  o.batch = false;
  CHECK(stockwatch::MakeStooqSource(o)->Plan({"AAPL", "MSFT"}).size() == 2);
}

TEST_CASE("regression (fuzz): an absurd Stooq volume is dropped, not cast out of range") {
  auto rows = stockwatch::ParseStooqCsv(
      "Symbol,Date,Time,Open,High,Low,Close,Volume\r\n"
      "AAPL.US,2025-06-13,22:00:10,199.73,200.1,196.4,196.45,1e92\r\n");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].close == doctest::Approx(196.45));
  CHECK_FALSE(rows[0].volume.has_value());
}
