// Yahoo Finance: the v8 chart API per ticker and spark batches.
#include <simdjson.h>

#include <cmath>

#include <fmt/format.h>

#include "stockwatch/core/log.h"
#include "stockwatch/source/source.h"

namespace stockwatch {
namespace {

using simdjson::SUCCESS;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// Looks like a browser: Yahoo answers scripts with a bare User-Agent with
// 429s far sooner.
constexpr const char* kUserAgent =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36";

enum Kind { kChart = 0, kSpark = 1 };

simdjson::dom::parser& Parser() {
  static thread_local simdjson::dom::parser parser;
  return parser;
}

element ParseOrThrow(std::string_view body, std::string_view what) {
  element doc;
  auto err = Parser().parse(body.data(), body.size()).get(doc);
  if (err != SUCCESS)
    throw DataError(fmt::format("{}: not JSON ({})", what, simdjson::error_message(err)));
  return doc;
}

std::optional<element> Field(element obj, std::string_view key) {
  element v;
  if (obj[key].get(v) != SUCCESS || v.is_null()) return std::nullopt;
  return v;
}

std::optional<double> Number(element obj, std::string_view key) {
  auto v = Field(obj, key);
  double d;
  if (!v || v->get_double().get(d) != SUCCESS || !std::isfinite(d)) return std::nullopt;
  return d;
}

std::string String(element obj, std::string_view key) {
  auto v = Field(obj, key);
  std::string_view s;
  if (!v || v->get_string().get(s) != SUCCESS) return {};
  return std::string(s);
}

/// The last bar whose close and timestamp are both numbers (arrays may
/// hold nulls for minutes without trades).
std::optional<std::pair<double, int64_t>> LastBar(std::optional<element> timestamps,
                                                  std::optional<element> closes) {
  array ts_arr, close_arr;
  if (!timestamps || !closes || timestamps->get_array().get(ts_arr) != SUCCESS ||
      closes->get_array().get(close_arr) != SUCCESS)
    return std::nullopt;
  std::vector<std::optional<int64_t>> ts;
  for (element e : ts_arr) {
    double d;
    // Seconds, kept only when in range (a huge value would overflow as ms).
    ts.push_back(e.get_double().get(d) == SUCCESS && EpochSecondsToMs(d)
                     ? std::optional<int64_t>(static_cast<int64_t>(d))
                     : std::nullopt);
  }
  std::optional<std::pair<double, int64_t>> last;
  size_t i = 0;
  for (element e : close_arr) {
    if (i >= ts.size()) break;
    double d;
    if (e.get_double().get(d) == SUCCESS && std::isfinite(d) && d > 0 && ts[i])
      last = std::make_pair(d, *ts[i]);
    ++i;
  }
  return last;
}

/// The exchange session in a chart's meta: currentTradingPeriod.regular
/// {start,end,gmtoffset}, exchangeTimezoneName, instrumentType. Nullopt
/// without a usable regular period (a crypto pair still gets one).
std::optional<MarketSession> SessionFromMeta(element meta) {
  MarketSession s;
  s.crypto = String(meta, "instrumentType") == "CRYPTOCURRENCY";
  s.tz = String(meta, "exchangeTimezoneName");
  if (auto g = Number(meta, "gmtoffset"); g && std::abs(*g) <= 86'400)
    s.gmtoffset = static_cast<int64_t>(*g);
  element regular;
  if (meta["currentTradingPeriod"]["regular"].get(regular) == SUCCESS && regular.is_object()) {
    auto start = Number(regular, "start"), end = Number(regular, "end");
    if (start && end && EpochSecondsToMs(*start) && EpochSecondsToMs(*end) && *end > *start) {
      s.start = static_cast<int64_t>(*start);
      s.end = static_cast<int64_t>(*end);
      return s;
    }
  }
  if (s.crypto) return s;
  return std::nullopt;
}

/// A quote from one chart result ({"meta","timestamp","indicators"}), the
/// element of chart.result[] and of spark.result[].response[]; its session
/// into `session` when asked for and present.
std::optional<Quote> QuoteFromChart(element result, std::string_view ticker,
                                    std::optional<MarketSession>* session = nullptr) {
  auto meta = Field(result, "meta");
  std::optional<double> price, time;
  if (meta) {
    price = Number(*meta, "regularMarketPrice");
    time = Number(*meta, "regularMarketTime");
  }
  if (price && *price <= 0) price.reset();
  if (!price || !time) {
    std::optional<element> closes;
    if (auto ind = Field(result, "indicators")) {
      element q0;
      if ((*ind)["quote"].at(0).get(q0) == SUCCESS) closes = Field(q0, "close");
    }
    auto bar = LastBar(Field(result, "timestamp"), closes);
    if (!price) {
      if (!bar) return std::nullopt;
      price = bar->first;
      time = static_cast<double>(bar->second);
    } else if (!time) {
      if (!bar) return std::nullopt;
      time = static_cast<double>(bar->second);
    }
  }
  Quote q;
  q.ticker = std::string(ticker);
  q.price = *price;
  std::optional<TimeMs> ts = EpochSecondsToMs(*time);
  if (!ts) throw DataError("chart: regularMarketTime out of range");
  q.ts = *ts;
  if (meta) {
    q.currency = String(*meta, "currency");
    q.prev_close = Number(*meta, "previousClose");
    if (!q.prev_close) q.prev_close = Number(*meta, "chartPreviousClose");
    // A volume beyond 2^53 is not a real volume (and would not fit int64).
    if (auto v = Number(*meta, "regularMarketVolume"); v && *v >= 0 && *v < 9e15)
      q.volume = static_cast<int64_t>(*v);
    if (session != nullptr) *session = SessionFromMeta(*meta);
  }
  return q;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

class YahooSource : public HttpQuoteSource {
 public:
  explicit YahooSource(const HttpSourceOptions& opts) : opts_(opts) {
    if (opts_.base_url.empty()) opts_.base_url = std::string(kYahooBaseUrl);
    while (!opts_.base_url.empty() && opts_.base_url.back() == '/') opts_.base_url.pop_back();
  }

  const std::string& name() const override { return name_; }
  std::string user_agent() const override { return kUserAgent; }

  std::vector<SourceCall> Plan(const std::vector<std::string>& tickers) override {
    std::vector<SourceCall> calls;
    if (opts_.batch && spark_ok_ && tickers.size() >= 2) {
      for (auto& chunk : Chunk(tickers, opts_.batch_size)) {
        if (chunk.size() == 1) {
          calls.push_back(ChartCall(chunk[0]));
        } else {
          calls.push_back(SparkCall(std::move(chunk)));
        }
      }
    } else {
      for (const auto& t : tickers) calls.push_back(ChartCall(t));
    }
    return calls;
  }

  CallResult Interpret(const SourceCall& call, const HttpResponse& resp) override {
    std::string detail = resp.status != 200 ? ParseYahooError(resp.body) : std::string();
    if (auto failed = ClassifyHttpFailure(resp, detail)) return *failed;
    return call.kind == kSpark ? InterpretSpark(call, resp, detail)
                               : InterpretChart(call, resp, detail);
  }

 private:
  HttpRequest Request(std::string url) const {
    HttpRequest r;
    r.url = std::move(url);
    r.headers = {"Accept: application/json"};
    r.timeout_ms = opts_.timeout_ms;
    r.connect_timeout_ms = opts_.connect_timeout_ms;
    r.max_body = opts_.max_response;
    return r;
  }

  SourceCall ChartCall(const std::string& ticker) const {
    SourceCall c;
    c.tickers = {ticker};
    c.kind = kChart;
    c.request = Request(opts_.base_url + "/v8/finance/chart/" + UrlEncode(ticker) +
                        "?range=1d&interval=1m");
    return c;
  }

  SourceCall SparkCall(std::vector<std::string> tickers) const {
    std::string symbols;
    for (const auto& t : tickers) {
      if (!symbols.empty()) symbols += ',';
      symbols += UrlEncode(t);
    }
    SourceCall c;
    c.tickers = std::move(tickers);
    c.kind = kSpark;
    c.request =
        Request(opts_.base_url + "/v7/finance/spark?symbols=" + symbols + "&range=1d&interval=5m");
    return c;
  }

  CallResult InterpretChart(const SourceCall& call, const HttpResponse& resp,
                            const std::string& detail) {
    CallResult r;
    const std::string& ticker = call.tickers.at(0);
    TickerResult tr;
    tr.ticker = ticker;
    if (resp.status == 200) {
      try {
        std::optional<Quote> q = ParseYahooChart(resp.body, ticker, &tr.session);
        if (q) {
          q->source = name_;
          Validate(*q);
          tr.quote = std::move(*q);
        } else {
          tr.outcome = FetchOutcome::kUnknown;
          tr.error = "unknown ticker (yahoo: no price in the answer)";
        }
      } catch (const DataError& e) {
        // A 200 that is not a chart (a consent page, a proxy's error page)
        // means the source does not work for us right now.
        r.source_ok = false;
        r.outcome = FetchOutcome::kFailed;
        r.failure = fmt::format("unexpected answer from yahoo: {}", e.what());
        return r;
      }
    } else if (resp.status >= 400 && resp.status < 500) {
      // The source answered; the ticker is the problem.
      tr.outcome = FetchOutcome::kUnknown;
      tr.error = resp.status == 404 ? fmt::format("unknown ticker (yahoo: {})",
                                                  detail.empty() ? "not found" : detail)
                                    : fmt::format("rejected by yahoo (HTTP {}{}{})", resp.status,
                                                  detail.empty() ? "" : ": ", detail);
    } else {
      r.source_ok = false;
      r.outcome = FetchOutcome::kFailed;
      r.failure = fmt::format("unexpected answer from yahoo (HTTP {})", resp.status);
      return r;
    }
    r.results.push_back(std::move(tr));
    return r;
  }

  CallResult InterpretSpark(const SourceCall& call, const HttpResponse& resp,
                            const std::string& detail) {
    CallResult r;
    std::unordered_map<std::string, Quote> quotes;
    std::unordered_map<std::string, MarketSession> sessions;
    if (resp.status == 200) {
      try {
        quotes = ParseYahooSpark(resp.body, &sessions);
      } catch (const DataError& e) {
        TurnSparkOff(e.what());
      }
    } else if (resp.status == 404) {
      // Yahoo answers 404 when none of the symbols is known: the chart API
      // tells which ones, one by one.
    } else if (resp.status >= 400 && resp.status < 500) {
      TurnSparkOff(fmt::format("HTTP {}{}{}", resp.status, detail.empty() ? "" : ": ", detail));
    } else {
      r.source_ok = false;
      r.outcome = FetchOutcome::kFailed;
      r.failure = fmt::format("unexpected answer from yahoo (HTTP {})", resp.status);
      return r;
    }
    for (const auto& t : call.tickers) {
      auto it = quotes.find(t);
      if (it == quotes.end()) {
        r.follow_up.push_back(ChartCall(t));
        continue;
      }
      TickerResult tr;
      tr.ticker = t;
      tr.quote = std::move(it->second);
      tr.quote.ticker = t;
      tr.quote.source = name_;
      try {
        Validate(tr.quote);
      } catch (const DataError&) {
        r.follow_up.push_back(ChartCall(t));
        continue;
      }
      if (auto si = sessions.find(t); si != sessions.end()) tr.session = std::move(si->second);
      r.results.push_back(std::move(tr));
    }
    return r;
  }

  void TurnSparkOff(std::string_view why) {
    if (!spark_ok_) return;
    spark_ok_ = false;
    log::Warn("yahoo: spark batch answered {}; asking per ticker (chart API) from now on", why);
  }

  HttpSourceOptions opts_;
  std::string name_ = "yahoo";
  bool spark_ok_ = true;
};

}  // namespace

std::optional<Quote> ParseYahooChart(std::string_view body, std::string_view ticker,
                                     std::optional<MarketSession>* session) {
  element doc = ParseOrThrow(body, "chart");
  element chart;
  if (doc["chart"].get(chart) != SUCCESS || !chart.is_object())
    throw DataError("chart: no \"chart\" object");
  element result;
  if (chart["result"].at(0).get(result) != SUCCESS || !result.is_object()) return std::nullopt;
  return QuoteFromChart(result, ticker, session);
}

std::unordered_map<std::string, Quote> ParseYahooSpark(
    std::string_view body, std::unordered_map<std::string, MarketSession>* sessions) {
  element doc = ParseOrThrow(body, "spark");
  object top;
  if (doc.get_object().get(top) != SUCCESS) throw DataError("spark: not a JSON object");
  std::unordered_map<std::string, Quote> out;
  element spark;
  if (doc["spark"].get(spark) == SUCCESS) {
    // v7 shape: spark.result[] = {"symbol", "response": [chart result]}.
    element results;
    if (spark["result"].get(results) != SUCCESS || results.is_null()) return out;
    array arr;
    if (results.get_array().get(arr) != SUCCESS) throw DataError("spark: result is not an array");
    for (element item : arr) {
      std::string symbol = Upper(String(item, "symbol"));
      element resp0;
      if (symbol.empty() || item["response"].at(0).get(resp0) != SUCCESS) continue;
      std::optional<MarketSession> session;
      if (auto q = QuoteFromChart(resp0, symbol, &session)) {
        out.emplace(symbol, std::move(*q));
        if (session && sessions != nullptr) sessions->emplace(symbol, std::move(*session));
      }
    }
    return out;
  }
  if (doc["finance"].get(spark) == SUCCESS) {
    throw DataError("spark: error answer (" + ParseYahooError(body) + ")");
  }
  // Flat shape: {"SYM": {"symbol","timestamp":[..],"close":[..],"previousClose"}, ...}.
  for (auto [key, value] : top) {
    if (value.is_null()) continue;  // a symbol without data
    if (!value.is_object()) throw DataError("spark: neither the v7 nor the flat shape");
    std::string symbol = Upper(String(value, "symbol"));
    if (symbol.empty()) symbol = Upper(key);
    if (symbol.empty()) continue;  // no name to file it under: not a quote
    auto bar = LastBar(Field(value, "timestamp"), Field(value, "close"));
    if (!bar) continue;
    Quote q;
    q.ticker = symbol;
    q.price = bar->first;
    q.ts = bar->second * 1000;
    q.prev_close = Number(value, "previousClose");
    if (!q.prev_close) q.prev_close = Number(value, "chartPreviousClose");
    out.emplace(symbol, std::move(q));
  }
  return out;
}

std::string ParseYahooError(std::string_view body) {
  element doc;
  if (body.empty() || Parser().parse(body.data(), body.size()).get(doc) != SUCCESS) return {};
  for (std::string_view key : {"chart", "spark", "finance"}) {
    element err;
    if (doc[key]["error"].get(err) != SUCCESS || !err.is_object()) continue;
    std::string d = String(err, "description");
    if (d.empty()) d = String(err, "code");
    if (!d.empty()) return d;
  }
  return {};
}

std::unique_ptr<HttpQuoteSource> MakeYahooSource(const HttpSourceOptions& opts) {
  return std::make_unique<YahooSource>(opts);
}

}  // namespace stockwatch
