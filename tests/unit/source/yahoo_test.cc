#include <cstdlib>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "api_fixture.h"
#include "stockwatch/source/source.h"

namespace {

using stockwatch::FetchOutcome;
using stockwatch::HttpResponse;

HttpResponse Resp(long status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::unique_ptr<stockwatch::HttpQuoteSource> Yahoo(bool batch = true, int batch_size = 20) {
  stockwatch::HttpSourceOptions o;
  o.base_url = "http://127.0.0.1:9/";
  o.batch = batch;
  o.batch_size = batch_size;
  o.timeout_ms = 1234;
  return stockwatch::MakeYahooSource(o);
}

}  // namespace

TEST_CASE("Yahoo chart: price and time from meta (fixture)") {
  auto q = stockwatch::ParseYahooChart(ApiFixture("yahoo_chart_AAPL_1d_5m.json"), "AAPL");
  REQUIRE(q.has_value());
  CHECK(q->ticker == "AAPL");
  CHECK(q->price == doctest::Approx(197.48).epsilon(1e-12));
  CHECK(stockwatch::FormatRfc3339(q->ts) == "2025-06-13T14:15:37Z");  // 1749824137
  CHECK(q->currency == "USD");
  REQUIRE(q->prev_close.has_value());
  CHECK(*q->prev_close == doctest::Approx(199.2));
  REQUIRE(q->volume.has_value());
  CHECK(*q->volume == 12889032);
}

TEST_CASE("Yahoo chart: without meta price, the last non-null close and its timestamp") {
  auto j = nlohmann::json::parse(ApiFixture("yahoo_chart_AAPL_1d_5m.json"));
  auto& r0 = j["chart"]["result"][0];
  r0["meta"].erase("regularMarketPrice");
  r0["meta"].erase("regularMarketTime");
  r0["meta"].erase("previousClose");
  auto& close = r0["indicators"]["quote"][0]["close"];
  close[9] = nullptr;  // the newest minute had no trade
  close[3] = nullptr;
  auto q = stockwatch::ParseYahooChart(j.dump(), "aapl");
  REQUIRE(q.has_value());
  CHECK(q->ticker == "aapl");  // as asked; the source normalises later
  CHECK(q->price == doctest::Approx(197.35));
  CHECK(q->ts == 1749823800LL * 1000);
  REQUIRE(q->prev_close.has_value());
  CHECK(*q->prev_close == doctest::Approx(199.2));  // chartPreviousClose

  // Meta price but no meta time: the time of the last bar.
  r0["meta"]["regularMarketPrice"] = 198.0;
  q = stockwatch::ParseYahooChart(j.dump(), "AAPL");
  REQUIRE(q.has_value());
  CHECK(q->price == doctest::Approx(198.0));
  CHECK(q->ts == 1749823800LL * 1000);

  // Nothing usable at all: no quote, but not an error either.
  r0["meta"].erase("regularMarketPrice");
  for (auto& c : close) c = nullptr;
  CHECK_FALSE(stockwatch::ParseYahooChart(j.dump(), "AAPL").has_value());
}

TEST_CASE("Yahoo chart: the 404 payload has no quote and names the error") {
  std::string body = ApiFixture("yahoo_chart_notfound_404.json");
  CHECK_FALSE(stockwatch::ParseYahooChart(body, "ZZZZ").has_value());
  CHECK(stockwatch::ParseYahooError(body) == "No data found, symbol may be delisted");
}

TEST_CASE("Yahoo chart: bodies that are not charts") {
  CHECK_THROWS_AS(stockwatch::ParseYahooChart("Too Many Requests\r\n", "AAPL"),
                  stockwatch::DataError);
  CHECK_THROWS_AS(stockwatch::ParseYahooChart("<html>consent</html>", "AAPL"),
                  stockwatch::DataError);
  CHECK_THROWS_AS(stockwatch::ParseYahooChart("{\"quoteResponse\":{}}", "AAPL"),
                  stockwatch::DataError);
  CHECK(stockwatch::ParseYahooError("Too Many Requests\r\n").empty());
  CHECK(
      stockwatch::ParseYahooError(
          R"({"finance":{"result":null,"error":{"code":"Unauthorized","description":"Invalid Crumb"}}})") ==
      "Invalid Crumb");
  CHECK(stockwatch::ParseYahooError(
            R"({"chart":{"result":null,"error":{"code":"Bad Request"}}})") == "Bad Request");
}

TEST_CASE("Yahoo spark: v7 shape (fixture)") {
  auto m = stockwatch::ParseYahooSpark(ApiFixture("yahoo_spark_v7_AAPL_MSFT_1d_5m.json"));
  REQUIRE(m.size() == 2);
  CHECK(m.at("AAPL").price == doctest::Approx(197.48));
  CHECK(m.at("AAPL").ts == 1749824137LL * 1000);
  CHECK(m.at("AAPL").currency == "USD");
  CHECK(m.at("MSFT").price == doctest::Approx(477.71));
  CHECK(*m.at("MSFT").prev_close == doctest::Approx(478.87));
  CHECK(*m.at("MSFT").volume == 3120441);
}

TEST_CASE("Yahoo spark: flat (v8) shape (fixture), price = last close at its timestamp") {
  auto m = stockwatch::ParseYahooSpark(ApiFixture("yahoo_spark_v8_AAPL_MSFT_1d_5m.json"));
  REQUIRE(m.size() == 2);
  CHECK(m.at("AAPL").price == doctest::Approx(197.48));
  CHECK(m.at("AAPL").ts == 1749824100LL * 1000);
  CHECK(*m.at("AAPL").prev_close == doctest::Approx(199.2));
  CHECK(m.at("MSFT").price == doctest::Approx(477.71));
  CHECK(m.at("MSFT").ts == 1749824100LL * 1000);
}

TEST_CASE("Yahoo spark: nulls and missing symbols") {
  auto j = nlohmann::json::parse(ApiFixture("yahoo_spark_v8_AAPL_MSFT_1d_5m.json"));
  j["AAPL"]["close"][9] = nullptr;
  j["MSFT"]["close"] = nlohmann::json::array({nullptr, nullptr});
  j["ZZZZ"] = nullptr;
  auto m = stockwatch::ParseYahooSpark(j.dump());
  REQUIRE(m.size() == 1);
  CHECK(m.at("AAPL").price == doctest::Approx(197.35));
  CHECK(m.at("AAPL").ts == 1749823800LL * 1000);

  CHECK(stockwatch::ParseYahooSpark(R"({"spark":{"result":null,"error":null}})").empty());
  CHECK_THROWS_AS(stockwatch::ParseYahooSpark("[1,2]"), stockwatch::DataError);
  CHECK_THROWS_AS(stockwatch::ParseYahooSpark(R"({"AAPL":[1]})"), stockwatch::DataError);
  CHECK_THROWS_AS(
      stockwatch::ParseYahooSpark(R"({"finance":{"error":{"description":"Invalid Crumb"}}})"),
      stockwatch::DataError);
}

TEST_CASE("Yahoo source: plans chart calls per ticker, spark batches where it pays") {
  auto y = Yahoo(true, 2);
  CHECK(y->name() == "yahoo");
  CHECK(y->user_agent().rfind("Mozilla/5.0", 0) == 0);
  auto one = y->Plan({"^GSPC"});
  REQUIRE(one.size() == 1);
  CHECK(one[0].request.url == "http://127.0.0.1:9/v8/finance/chart/%5EGSPC?range=1d&interval=1m");
  CHECK(one[0].request.timeout_ms == 1234);

  auto three = y->Plan({"AAPL", "MSFT", "BTC-USD"});
  REQUIRE(three.size() == 2);
  CHECK(three[0].request.url ==
        "http://127.0.0.1:9/v7/finance/spark?symbols=AAPL,MSFT&range=1d&interval=5m");
  CHECK(three[0].tickers == std::vector<std::string>{"AAPL", "MSFT"});
  CHECK(three[1].request.url == "http://127.0.0.1:9/v8/finance/chart/BTC-USD?range=1d&interval=1m");

  auto nobatch = Yahoo(false)->Plan({"AAPL", "MSFT"});
  REQUIRE(nobatch.size() == 2);
  CHECK(nobatch[1].request.url.find("/v8/finance/chart/MSFT?") != std::string::npos);
}

TEST_CASE("Yahoo source: chart answers") {
  auto y = Yahoo(false);
  auto call = y->Plan({"AAPL"}).at(0);

  auto ok = y->Interpret(call, Resp(200, ApiFixture("yahoo_chart_AAPL_1d_5m.json")));
  CHECK(ok.source_ok);
  REQUIRE(ok.results.size() == 1);
  CHECK(ok.results[0].outcome == FetchOutcome::kOk);
  CHECK(ok.results[0].quote.price == doctest::Approx(197.48));
  CHECK(ok.results[0].quote.source == "yahoo");

  auto nf = y->Interpret(call, Resp(404, ApiFixture("yahoo_chart_notfound_404.json")));
  CHECK(nf.source_ok);  // the source works; the ticker is unknown
  REQUIRE(nf.results.size() == 1);
  CHECK(nf.results[0].outcome == FetchOutcome::kUnknown);
  CHECK(nf.results[0].error == "unknown ticker (yahoo: No data found, symbol may be delisted)");

  auto bad = y->Interpret(
      call,
      Resp(
          400,
          R"({"chart":{"result":null,"error":{"code":"Bad Request","description":"Invalid input - interval=7m is not supported"}}})"));
  REQUIRE(bad.results.size() == 1);
  CHECK(bad.results[0].outcome == FetchOutcome::kUnknown);
  CHECK(bad.results[0].error.find("Invalid input - interval=7m is not supported") !=
        std::string::npos);

  auto throttled = y->Interpret(call, Resp(429, "Too Many Requests\r\n"));
  CHECK_FALSE(throttled.source_ok);
  CHECK_FALSE(throttled.retryable);
  CHECK(throttled.outcome == FetchOutcome::kRateLimited);
  CHECK_FALSE(throttled.retry_after_ms.has_value());
  CHECK(throttled.results.empty());

  HttpResponse r429 = Resp(429, "");
  r429.retry_after_ms = 30'000;
  auto honoured = y->Interpret(call, r429);
  CHECK(honoured.retry_after_ms == 30'000);
  CHECK(honoured.failure == "rate limited (HTTP 429, Retry-After 30 s)");

  auto down = y->Interpret(call, Resp(503, "<html>oops</html>"));
  CHECK_FALSE(down.source_ok);
  CHECK(down.retryable);
  CHECK(down.outcome == FetchOutcome::kFailed);
  CHECK(down.failure == "HTTP 503");

  HttpResponse timeout;
  timeout.timed_out = true;
  timeout.error = "Operation timed out";
  timeout.elapsed_ms = 1234;
  auto t = y->Interpret(call, timeout);
  CHECK_FALSE(t.source_ok);
  CHECK(t.retryable);
  CHECK(t.failure == "timed out after 1234 ms");

  auto garbage = y->Interpret(call, Resp(200, "<html>consent.yahoo.com</html>"));
  CHECK_FALSE(garbage.source_ok);
  CHECK(garbage.outcome == FetchOutcome::kFailed);

  auto refused = y->Interpret(
      call,
      Resp(401, R"({"finance":{"error":{"code":"Unauthorized","description":"Invalid Crumb"}}})"));
  CHECK_FALSE(refused.source_ok);
  CHECK(refused.failure == "refused (HTTP 401): Invalid Crumb");
}

TEST_CASE("Yahoo source: spark answers; what a batch leaves out is asked per ticker") {
  auto y = Yahoo(true);
  auto call = y->Plan({"AAPL", "MSFT", "ZZZZ"}).at(0);
  auto r = y->Interpret(call, Resp(200, ApiFixture("yahoo_spark_v8_AAPL_MSFT_1d_5m.json")));
  CHECK(r.source_ok);
  REQUIRE(r.results.size() == 2);
  CHECK(r.results[0].ticker == "AAPL");
  CHECK(r.results[0].quote.price == doctest::Approx(197.48));
  CHECK(r.results[1].ticker == "MSFT");
  REQUIRE(r.follow_up.size() == 1);
  CHECK(r.follow_up[0].tickers == std::vector<std::string>{"ZZZZ"});
  CHECK(r.follow_up[0].request.url.find("/v8/finance/chart/ZZZZ?") != std::string::npos);

  // 404: none known; each is asked through the chart API; spark stays on.
  auto nf =
      y->Interpret(call, Resp(404, R"({"spark":{"result":null,"error":{"code":"Not Found"}}})"));
  CHECK(nf.follow_up.size() == 3);
  CHECK(y->Plan({"A", "B"}).at(0).request.url.find("/v7/finance/spark") != std::string::npos);

  // Another 4xx (e.g. a crumb is required): spark is off for the rest of the run.
  auto refused = y->Interpret(call, Resp(400, R"({"finance":{"error":{"description":"Bad"}}})"));
  CHECK(refused.source_ok);
  CHECK(refused.follow_up.size() == 3);
  auto plan = y->Plan({"A", "B"});
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].request.url.find("/v8/finance/chart/A?") != std::string::npos);
}

TEST_CASE(
    "regression (fuzz): Yahoo chart with an absurd regularMarketTime is a DataError, not UB") {
  const std::string body =
      R"({"chart":{"result":[{"meta":{"symbol":"AAPL","regularMarketPrice":1.5,"regularMarketTime":174982291749824096}}],"error":null}})";
  CHECK_THROWS_AS(stockwatch::ParseYahooChart(body, "AAPL"), stockwatch::DataError);
  const std::string spark =
      R"({"AAPL":{"symbol":"AAPL","timestamp":[1e300,1749824137],"close":[1.0,2.0]}})";
  auto quotes = stockwatch::ParseYahooSpark(spark);
  REQUIRE(quotes.count("AAPL") == 1);
  CHECK(quotes["AAPL"].ts == 1'749'824'137'000);
}

TEST_CASE("regression (fuzz): an absurd Yahoo volume is dropped, not cast out of range") {
  const std::string body =
      R"({"chart":{"result":[{"meta":{"symbol":"AAPL","regularMarketPrice":1.5,"regularMarketTime":1749824137,"regularMarketVolume":1e92}}],"error":null}})";
  auto q = stockwatch::ParseYahooChart(body, "AAPL");
  REQUIRE(q.has_value());
  CHECK_FALSE(q->volume.has_value());
}

TEST_CASE("regression (fuzz): a spark entry without any symbol gives no quote") {
  auto quotes = stockwatch::ParseYahooSpark(
      R"({"": {"timestamp": [1749824137], "close": [1.5]}, "MSFT": {"timestamp": [1749824137], "close": [2.5]}})");
  CHECK(quotes.size() == 1);
  CHECK(quotes.count("MSFT") == 1);
  CHECK(quotes.count("") == 0);
}

TEST_CASE("Yahoo chart and spark v7: the exchange session from meta") {
  std::optional<stockwatch::MarketSession> s;
  auto q = stockwatch::ParseYahooChart(ApiFixture("yahoo_chart_AAPL_1d_5m.json"), "AAPL", &s);
  REQUIRE(q.has_value());
  REQUIRE(s.has_value());
  CHECK(s->start == 1749821400);  // currentTradingPeriod.regular
  CHECK(s->end == 1749844800);
  CHECK(s->tz == "America/New_York");
  CHECK(s->gmtoffset == -14400);
  CHECK_FALSE(s->crypto);

  std::unordered_map<std::string, stockwatch::MarketSession> sessions;
  auto m =
      stockwatch::ParseYahooSpark(ApiFixture("yahoo_spark_v7_AAPL_MSFT_1d_5m.json"), &sessions);
  REQUIRE(sessions.count("MSFT") == 1);
  CHECK(sessions["MSFT"].end == 1749844800);
  CHECK(sessions["MSFT"].tz == "America/New_York");

  // Crypto: instrumentType CRYPTOCURRENCY, whatever the period says.
  auto j = nlohmann::json::parse(ApiFixture("yahoo_chart_AAPL_1d_5m.json"));
  auto& meta = j["chart"]["result"][0]["meta"];
  meta["instrumentType"] = "CRYPTOCURRENCY";
  meta.erase("currentTradingPeriod");
  s.reset();
  stockwatch::ParseYahooChart(j.dump(), "BTC-EUR", &s);
  REQUIRE(s.has_value());
  CHECK(s->crypto);
  // Neither a period nor crypto: no session.
  meta["instrumentType"] = "EQUITY";
  s.reset();
  stockwatch::ParseYahooChart(j.dump(), "AAPL", &s);
  CHECK_FALSE(s.has_value());
}

TEST_CASE("Yahoo source: a chart answer carries the ticker's session to the collector") {
  auto y = Yahoo(false);
  auto calls = y->Plan({"AAPL"});
  REQUIRE(calls.size() == 1);
  auto r = y->Interpret(calls[0], Resp(200, ApiFixture("yahoo_chart_AAPL_1d_5m.json")));
  REQUIRE(r.results.size() == 1);
  REQUIRE(r.results[0].session.has_value());
  CHECK(r.results[0].session->start == 1749821400);
}
