// stockctl's query side: listings and stored quotes. Reads only; last
// and average come from the store, never from a live fetch.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "format.h"
#include "stockctl.h"
#include "stockwatch/chart/plot.h"
#include "stockwatch/core/session.h"

namespace stockwatch::stockctl {
namespace {

constexpr int64_t kDefaultHistory = 20;

Outcome Ok(std::string output) { return Outcome{exitcode::kOk, std::move(output), ""}; }

template <typename R>
void AppendLine(std::string& out, const R& record) {
  AppendJson(out, record);
  out.push_back('\n');
}

// The MOVE column only when some watch has a move (a list of bands reads
// as it always did).
std::string WatchTable(const std::vector<Watch>& watches, bool with_email) {
  const bool moves = std::any_of(watches.begin(), watches.end(),
                                 [](const Watch& w) { return w.move.has_value(); });
  std::vector<std::string> headers{"TICKER", "LOW", "HIGH"};
  std::vector<bool> right{false, true, true};
  if (with_email) {
    headers.insert(headers.begin(), "EMAIL");
    right.insert(right.begin(), false);
  }
  if (moves) {
    headers.push_back("MOVE");
    right.push_back(false);
  }
  Table t(std::move(headers), std::move(right));
  for (const Watch& w : watches) {
    std::vector<std::string> row{w.ticker, Num(w.low), Num(w.high)};
    if (with_email) row.insert(row.begin(), w.email);
    if (moves) row.push_back(Move(w));
    t.Add(std::move(row));
  }
  return t.Render();
}

[[noreturn]] void NoQuotes(const std::string& ticker) {
  throw DataError("ticker: no stored quotes for " + ticker +
                  " (stock-collect stores them; stockctl quote ingest loads recorded ones)");
}

// An average for people: up to 6 decimals, trailing zeros dropped.
std::string HumanAverage(double v) {
  std::string s = fmt::format("{:.6f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

Outcome Init(Ctx& c) {
  const int version = c.store.queries().SchemaVersion();
  if (c.opts.json) {
    std::string out = "{\"type\":\"database\",\"url\":";
    AppendJsonString(out, c.store.url());
    out += ",\"schema_version\":" + std::to_string(version) + "}\n";
    return Ok(out);
  }
  return Ok("database ready: " + c.store.url() + " (schema version " + std::to_string(version) +
            ")\n");
}

Outcome UserLs(Ctx& c) {
  const std::vector<User> users = c.store.queries().Users();
  std::string out;
  if (c.opts.json) {
    for (const User& u : users) AppendLine(out, u);
    return Ok(out);
  }
  std::map<std::string, size_t> counts;
  for (const Watch& w : c.store.queries().Watches(std::nullopt, std::nullopt)) ++counts[w.email];
  Table t({"EMAIL", "TELEGRAM_ID", "INTERVAL", "WATCHES"}, {false, true, false, true});
  for (const User& u : users) {
    t.Add({u.email, Int(u.telegram_id), Interval(u.interval), std::to_string(counts[u.email])});
  }
  return Ok(t.Render());
}

Outcome UserShow(Ctx& c) {
  const std::string email = NormalizeEmail(c.opts.email);
  const std::optional<User> u = c.store.queries().FindUser(email);
  if (!u) throw DataError("email: no such user: " + email);
  const std::vector<Watch> watches = c.store.queries().Watches(email, std::nullopt);
  std::string out;
  if (c.opts.json) {
    AppendLine(out, *u);
    for (const Watch& w : watches) AppendLine(out, w);
    return Ok(out);
  }
  out += "email:        " + u->email + "\n";
  out += "telegram_id:  " + Int(u->telegram_id) + "\n";
  out += "interval:     " + Interval(u->interval) + "\n";
  out += "watches:      " + std::to_string(watches.size()) + "\n";
  if (!watches.empty()) {
    out += "\n";
    out += WatchTable(watches, false);
  }
  return Ok(out);
}

Outcome WatchLs(Ctx& c) {
  std::optional<std::string> email, ticker;
  if (!c.opts.filter_email.empty()) email = NormalizeEmail(c.opts.filter_email);
  if (!c.opts.filter_ticker.empty()) ticker = NormalizeTicker(c.opts.filter_ticker);
  const std::vector<Watch> watches = c.store.queries().Watches(email, ticker);
  if (!c.opts.json) return Ok(WatchTable(watches, true));
  std::string out;
  for (const Watch& w : watches) AppendLine(out, w);
  return Ok(out);
}

Outcome QuoteLast(Ctx& c) {
  const std::string ticker = NormalizeTicker(c.opts.ticker);
  const std::optional<Quote> q = c.store.queries().LastQuote(ticker);
  if (!q) NoQuotes(ticker);
  // The market as stock-collect last learnt its session (none: not said).
  std::optional<MarketSession> session;
  if (std::optional<std::string> v = c.store.queries().GetValue(SessionKey(ticker)))
    session = ParseSession(*v);
  std::optional<MarketStatus> market;
  if (session || AroundTheClock(ticker, session))
    market = MarketAt(ticker, session, CalendarNowMs());
  const bool closed = market && (market->state == MarketState::kClosed ||
                                 market->state == MarketState::kAfterClose);
  std::string out;
  if (c.opts.json) {
    AppendJson(out, *q);
    if (market) {
      // The quote record with its market: "open", "closed" or "24h".
      out.pop_back();  // the closing brace
      out += ",\"market\":";
      AppendJsonString(out, closed ? "closed" : ToString(market->state));
      if (closed && market->closed_at > 0) {
        out += ",\"market_closed_at\":";
        AppendJsonString(out, FormatRfc3339(market->closed_at));
      }
      if (closed) {
        out += ",\"market_opens_at\":";
        AppendJsonString(out, FormatRfc3339(market->opens_at));
      }
      out += '}';
    }
    out += '\n';
    return Ok(out);
  }
  Table t({"TICKER", "PRICE", "CURRENCY", "TIME", "SOURCE"}, {false, true, false, false, false});
  t.Add({q->ticker, Num(q->price), q->currency.empty() ? "-" : q->currency, FormatRfc3339(q->ts),
         q->source.empty() ? "-" : q->source});
  out = t.Render();
  if (closed) {
    out += fmt::format("market closed{}{}; opens {} (as last seen by stock-collect)\n",
                       market->closed_at > 0 ? " since " + FormatRfc3339(market->closed_at) : "",
                       session && !session->tz.empty() ? " (" + session->tz + ")" : "",
                       FormatRfc3339(market->opens_at));
  }
  return Ok(out);
}

Outcome QuoteAvg(Ctx& c) {
  const std::string ticker = NormalizeTicker(c.opts.ticker);
  const auto [avg, count] = c.store.queries().AverageLast(ticker, c.opts.n);
  if (count == 0) NoQuotes(ticker);
  if (c.opts.json) {
    std::string out = "{\"type\":\"average\",\"ticker\":";
    AppendJsonString(out, ticker);
    out += ",\"n\":" + std::to_string(c.opts.n) + ",\"count\":" + std::to_string(count) +
           ",\"average\":";
    AppendJsonNumber(out, avg);
    out += "}\n";
    return Ok(out);
  }
  Table t({"TICKER", "VALUES", "AVERAGE"}, {false, true, true});
  std::string values = std::to_string(count);
  if (count < c.opts.n) values += " (of " + std::to_string(c.opts.n) + " asked)";
  t.Add({ticker, values, HumanAverage(avg)});
  return Ok(t.Render());
}

Outcome QuoteHistory(Ctx& c) {
  const std::string ticker = NormalizeTicker(c.opts.ticker);
  const int width = TerminalWidth();
  int64_t limit = c.opts.limit;
  if (limit <= 0) limit = c.opts.plot ? std::max(2, (width - 12) * 2) : kDefaultHistory;
  std::vector<Quote> quotes = c.store.queries().History(ticker, limit);
  if (quotes.empty()) NoQuotes(ticker);
  std::reverse(quotes.begin(), quotes.end());  // oldest first
  if (c.opts.plot) {
    std::vector<double> prices;
    std::vector<TimeMs> ts;
    for (const Quote& q : quotes) {
      prices.push_back(q.price);
      ts.push_back(q.ts);
    }
    const auto [lo, hi] = std::minmax_element(prices.begin(), prices.end());
    std::string title = ticker + "  last " + Num(prices.back());
    if (!quotes.back().currency.empty()) title += " " + quotes.back().currency;
    title += "  min " + Num(*lo) + "  max " + Num(*hi) + "  (" + std::to_string(prices.size()) +
             (prices.size() == 1 ? " stored value)" : " stored values)");
    // The move watches' references (previous close, a window's low or high).
    const std::vector<Watch> watches = c.store.queries().Watches(std::nullopt, ticker);
    const std::vector<PlotMark> marks = MoveReferenceMarks(quotes, watches);
    return Ok(PlotBraille(prices, ts, title, PlotOptions{width, c.opts.height}, marks));
  }
  std::string out;
  if (c.opts.json) {
    for (const Quote& q : quotes) AppendLine(out, q);
    return Ok(out);
  }
  Table t({"TIME", "PRICE", "CURRENCY", "SOURCE"}, {false, true, false, false});
  for (const Quote& q : quotes) {
    t.Add({FormatRfc3339(q.ts), Num(q.price), q.currency.empty() ? "-" : q.currency,
           q.source.empty() ? "-" : q.source});
  }
  return Ok(t.Render());
}

Outcome Export(Ctx& c) {
  std::string out;
  for (const User& u : c.store.queries().Users()) AppendLine(out, u);
  for (const Watch& w : c.store.queries().Watches(std::nullopt, std::nullopt)) AppendLine(out, w);
  return Ok(out);
}

}  // namespace stockwatch::stockctl
