// Stooq: CSV quotes for many symbols per request.
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "stockwatch/source/source.h"

namespace stockwatch {
namespace {

constexpr const char* kUserAgent = "Mozilla/5.0 (compatible; stockwatch/" STOCKWATCH_VERSION ")";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> Split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == sep) {
      out.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::string_view TrimCr(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

std::optional<double> ParseNumber(std::string_view s) {
  double v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

/// 01:00 UTC on the last Sunday of `month` (3 or 10) of `year`: when EU
/// summer time starts and ends.
TimeMs EuChange(int year, int month) {
  std::string s = fmt::format("{:04d}-{:02d}-31T01:00:00Z", year, month);
  TimeMs t = *ParseRfc3339(s);
  int64_t days = t / 86'400'000;
  int64_t weekday = ((days % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday; Sunday = 0
  return t - weekday * 86'400'000;
}

class StooqSource : public HttpQuoteSource {
 public:
  explicit StooqSource(const HttpSourceOptions& opts) : opts_(opts) {
    if (opts_.base_url.empty()) opts_.base_url = std::string(kStooqBaseUrl);
    while (!opts_.base_url.empty() && opts_.base_url.back() == '/') opts_.base_url.pop_back();
  }

  const std::string& name() const override { return name_; }
  std::string user_agent() const override { return kUserAgent; }

  std::vector<SourceCall> Plan(const std::vector<std::string>& tickers) override {
    std::vector<SourceCall> calls;
    for (auto& chunk : Chunk(tickers, opts_.batch ? opts_.batch_size : 1)) {
      std::string symbols;
      for (const auto& t : chunk) {
        if (!symbols.empty()) symbols += ',';
        symbols += UrlEncode(StooqSymbol(t));
      }
      SourceCall c;
      c.tickers = std::move(chunk);
      c.request.url = opts_.base_url + "/q/l/?s=" + symbols + "&f=sd2t2ohlcv&h&e=csv";
      c.request.headers = {"Accept: text/csv"};
      c.request.timeout_ms = opts_.timeout_ms;
      c.request.connect_timeout_ms = opts_.connect_timeout_ms;
      c.request.max_body = opts_.max_response;
      calls.push_back(std::move(c));
    }
    return calls;
  }

  CallResult Interpret(const SourceCall& call, const HttpResponse& resp) override {
    std::string detail;
    if (resp.status != 200) {
      detail = std::string(TrimCr(std::string_view(resp.body).substr(0, resp.body.find('\n'))));
      if (detail.size() > 100) detail.resize(100);
    }
    if (auto failed = ClassifyHttpFailure(resp, detail)) return *failed;
    CallResult r;
    if (resp.status != 200) {
      r.source_ok = false;
      r.outcome = FetchOutcome::kFailed;
      r.failure = fmt::format("unexpected answer from stooq (HTTP {}{}{})", resp.status,
                              detail.empty() ? "" : ": ", detail);
      return r;
    }
    if (StooqLimitReached(resp.body)) {
      r.source_ok = false;
      r.outcome = FetchOutcome::kRateLimited;
      r.failure = "rate limited (stooq: daily hits limit exceeded)";
      return r;
    }
    std::vector<StooqRow> rows;
    try {
      rows = ParseStooqCsv(resp.body);
    } catch (const DataError& e) {
      r.source_ok = false;
      r.outcome = FetchOutcome::kFailed;
      r.failure = fmt::format("unexpected answer from stooq: {}", e.what());
      return r;
    }
    std::unordered_map<std::string, const StooqRow*> by_symbol;
    for (const auto& row : rows) by_symbol.emplace(Lower(row.symbol), &row);
    for (const auto& t : call.tickers) r.results.push_back(ResultFor(t, by_symbol));
    return r;
  }

 private:
  /// A ticker's quote from the answer's rows, or why there is none.
  TickerResult ResultFor(const std::string& t,
                         const std::unordered_map<std::string, const StooqRow*>& by_symbol) const {
    std::string symbol = StooqSymbol(t);
    TickerResult tr;
    tr.ticker = t;
    auto it = by_symbol.find(symbol);
    if (it == by_symbol.end()) {
      tr.outcome = FetchOutcome::kUnknown;
      tr.error = fmt::format("unknown ticker (stooq: {} is not in the answer)", symbol);
    } else if (it->second->no_data) {
      tr.outcome = FetchOutcome::kUnknown;
      tr.error = fmt::format("unknown ticker (stooq: no data for {})", symbol);
    } else {
      tr.quote.ticker = t;
      tr.quote.price = it->second->close;
      tr.quote.ts = it->second->ts;
      tr.quote.volume = it->second->volume;
      tr.quote.source = name_;
      if (EndsWith(symbol, ".us")) tr.quote.currency = "USD";
      try {
        Validate(tr.quote);
      } catch (const DataError& e) {
        tr.outcome = FetchOutcome::kUnknown;
        tr.error = fmt::format("stooq: {}", e.what());
      }
    }
    return tr;
  }

 private:
  HttpSourceOptions opts_;
  std::string name_ = "stooq";
};

}  // namespace

std::string StooqSymbol(std::string_view ticker) {
  std::string t = Lower(ticker);
  if (!t.empty() && t[0] == '^') {
    static const std::pair<std::string_view, std::string_view> kIndices[] = {
        {"^gspc", "^spx"}, {"^dji", "^dji"}, {"^ixic", "^ndq"}, {"^ndx", "^ndx"}};
    for (auto [yahoo, stooq] : kIndices)
      if (t == yahoo) return std::string(stooq);
    return t;
  }
  if (EndsWith(t, "=x")) return t.substr(0, t.size() - 2);  // EURUSD=X -> eurusd
  size_t dot = t.rfind('.');
  if (dot != std::string::npos) {
    std::string_view suffix = std::string_view(t).substr(dot + 1);
    static const std::pair<std::string_view, std::string_view> kSuffixes[] = {
        {"l", "uk"}, {"de", "de"}, {"f", "de"}, {"t", "jp"}, {"wa", "pl"}, {"hk", "hk"}};
    for (auto [yahoo, stooq] : kSuffixes)
      if (suffix == yahoo) return t.substr(0, dot + 1) + std::string(stooq);
    return t;
  }
  size_t dash = t.rfind('-');
  if (dash != std::string::npos) {
    std::string_view quote = std::string_view(t).substr(dash + 1);
    if (quote == "usd" || quote == "eur" || quote == "gbp" || quote == "jpy" || quote == "pln")
      return t.substr(0, dash) + std::string(quote);  // BTC-USD -> btcusd
  }
  return t + ".us";
}

std::vector<StooqRow> ParseStooqCsv(std::string_view body) {
  std::vector<std::string_view> lines;
  for (std::string_view line : Split(body, '\n')) {
    line = TrimCr(line);
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty()) throw DataError("stooq: empty answer");
  std::vector<std::string_view> header = Split(lines[0], ',');
  int col_symbol = -1, col_date = -1, col_time = -1, col_close = -1, col_volume = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string h = Lower(TrimCr(header[i]));
    int idx = static_cast<int>(i);
    if (h == "symbol")
      col_symbol = idx;
    else if (h == "date")
      col_date = idx;
    else if (h == "time")
      col_time = idx;
    else if (h == "close")
      col_close = idx;
    else if (h == "volume")
      col_volume = idx;
  }
  if (col_symbol < 0 || col_date < 0 || col_close < 0) {
    std::string first(lines[0].substr(0, 80));
    throw DataError("stooq: not the quote CSV (first line: \"" + first + "\")");
  }
  std::vector<StooqRow> rows;
  for (size_t n = 1; n < lines.size(); ++n) {
    std::vector<std::string_view> f = Split(lines[n], ',');
    auto get = [&](int col) -> std::string_view {
      return col >= 0 && static_cast<size_t>(col) < f.size() ? TrimCr(f[static_cast<size_t>(col)])
                                                             : std::string_view();
    };
    StooqRow row;
    row.symbol = std::string(get(col_symbol));
    if (row.symbol.empty()) throw DataError(fmt::format("stooq: line {}: no symbol", n + 1));
    std::string_view date = get(col_date), time = get(col_time), close = get(col_close);
    if (date == "N/D" || close == "N/D" || close.empty()) {
      row.no_data = true;
      rows.push_back(std::move(row));
      continue;
    }
    auto price = ParseNumber(close);
    if (!price) throw DataError(fmt::format("stooq: line {}: close: not a number", n + 1));
    auto ts = WarsawToUtc(date, time.empty() || time == "N/D" ? "00:00:00" : time);
    if (!ts) throw DataError(fmt::format("stooq: line {}: bad date or time", n + 1));
    row.close = *price;
    row.ts = *ts;
    // A volume beyond 2^53 is not a real volume (and would not fit int64).
    if (auto v = ParseNumber(get(col_volume)); v && *v >= 0 && *v < 9e15)
      row.volume = static_cast<int64_t>(*v);
    rows.push_back(std::move(row));
  }
  return rows;
}

bool StooqLimitReached(std::string_view body) {
  return Lower(body.substr(0, 200)).find("daily hits limit") != std::string::npos;
}

std::optional<TimeMs> WarsawToUtc(std::string_view date, std::string_view time) {
  if (date.size() != 10 || time.size() != 8) return std::nullopt;
  auto local = ParseRfc3339(fmt::format("{}T{}Z", date, time));
  if (!local) return std::nullopt;
  int year =
      (date[0] - '0') * 1000 + (date[1] - '0') * 100 + (date[2] - '0') * 10 + (date[3] - '0');
  TimeMs summer_start = EuChange(year, 3), summer_end = EuChange(year, 10);
  TimeMs as_summer = *local - 2 * 3'600'000;  // CEST = UTC+2
  if (as_summer >= summer_start && as_summer < summer_end) return as_summer;
  return *local - 3'600'000;  // CET = UTC+1
}

std::unique_ptr<HttpQuoteSource> MakeStooqSource(const HttpSourceOptions& opts) {
  return std::make_unique<StooqSource>(opts);
}

}  // namespace stockwatch
