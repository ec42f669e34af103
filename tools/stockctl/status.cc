// stockctl status: one screen about the running system, from the store only:
// circuit breakers, stale quotes, users and watches, the outbox, recent
// deliveries and dead letters, and edge states. Exit 0 healthy, 1 degraded.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "format.h"
#include "stockctl.h"
#include "stockwatch/core/session.h"
#include "stockwatch/core/timeutil.h"
#include "stockwatch/net/http.h"

namespace stockwatch::stockctl {
namespace {

constexpr std::string_view kBreakerPrefix = "stock-collect/breaker/";
constexpr int64_t kDefaultStaleMs = 15 * 60 * 1000;
constexpr int64_t kOverdueMs = 5 * 60 * 1000;  // an outbox item this late is a backlog

struct Breaker {
  std::string source;  // "yahoo@default", "stooq@http://..."
  std::string state;   // closed, open, half-open
  int64_t failures = 0;
  TimeMs next_probe = 0;  // when open
};

struct Stale {
  std::string ticker;
  std::optional<TimeMs> newest;
};

std::string Age(int64_t ms) {
  int64_t s = ms / 1000;
  if (s < 120) return fmt::format("{}s", s);
  if (s < 7200) return fmt::format("{}m", s / 60);
  if (s < 172800) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

// A delivery channel as stored ("telegram", "webhook:URL", "file:PATH"),
// for showing: a webhook URL without its credentials or query values.
std::string ShownChannel(std::string_view channel) {
  constexpr std::string_view kWebhook = "webhook:";
  if (channel.substr(0, kWebhook.size()) != kWebhook) return std::string(channel);
  return std::string(kWebhook) + RedactUrl(channel.substr(kWebhook.size()));
}

// Counts per stored channel, keyed by the channel as shown.
std::map<std::string, int64_t> PerChannel(
    const std::vector<std::pair<std::string, int64_t>>& counts) {
  std::map<std::string, int64_t> out;
  for (const auto& [ch, n] : counts) out[ShownChannel(ch)] += n;
  return out;
}

std::string Counts(const std::map<std::string, int64_t>& m) {
  if (m.empty()) return "none";
  std::string out;
  for (const auto& [k, v] : m) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", k, v);
  return out;
}

void JsonCounts(std::string& out, const std::map<std::string, int64_t>& m) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, k);
    out += ':' + std::to_string(v);
  }
  out += '}';
}

/// What the store says of the running system.
struct Report {
  TimeMs now = 0;
  int64_t stale_ms = kDefaultStaleMs;
  std::vector<Breaker> breakers;
  std::vector<Stale> stale;
  std::vector<std::string> closed_markets;  // watched tickers whose market is closed now
  size_t tickers = 0, users = 0, watches = 0;
  std::map<std::string, int64_t> outbox, overdue, hour, day, dead_hour, dead_day, states;
  std::vector<std::string> problems;
  int64_t late = 0;  // outbox messages overdue
};

// --stale: given, else 3x the interval a long-running collector recorded,
// else 15 minutes.
int64_t StaleAfterMs(const Options& opts, Queries& q) {
  if (!opts.stale.empty()) {
    std::optional<int64_t> ms = ParseDurationMs(opts.stale);
    if (!ms || *ms <= 0) throw DataError("stale: not a duration (like 15m or 90s): " + opts.stale);
    return *ms;
  }
  if (std::optional<std::string> every = q.GetValue("stock-collect/every")) {
    int64_t ms = std::atoll(every->c_str());
    if (ms > 0) return 3 * ms;
  }
  return kDefaultStaleMs;
}

std::vector<Breaker> ReadBreakers(Queries& q) {
  std::vector<Breaker> breakers;
  for (const KeyValue& kv : q.ValuesWithPrefix(kBreakerPrefix)) {
    Breaker b;
    b.source = kv.key.substr(kBreakerPrefix.size());
    char state[16] = {0};
    long long failures = 0, until = 0;
    if (std::sscanf(kv.value.c_str(), "%15s %lld %lld", state, &failures, &until) < 1) continue;
    b.state = state;
    b.failures = failures;
    b.next_probe = until;
    breakers.push_back(std::move(b));
  }
  return breakers;
}

void ReadTickersAndWatches(Queries& q, Report& r) {
  std::vector<std::string> tickers = q.WatchedTickers();
  // The sessions stock-collect learnt, read at once (one query).
  std::map<std::string, MarketSession> sessions;
  for (const KeyValue& kv : q.ValuesWithPrefix(kSessionPrefix)) {
    if (std::optional<MarketSession> s = ParseSession(kv.value))
      sessions.emplace(kv.key.substr(kSessionPrefix.size()), std::move(*s));
  }
  const TimeMs calendar_now = sessions.empty() ? 0 : CalendarNowMs();
  for (const std::string& t : tickers) {
    // A closed market's newest quote is as fresh as the market allows: it is
    // stale only when it is older than --stale before the close.
    TimeMs fresh_at = r.now;
    auto it = sessions.find(t);
    if (it != sessions.end()) {
      const MarketStatus m = MarketAt(t, it->second, calendar_now);
      if (m.state == MarketState::kClosed || m.state == MarketState::kAfterClose) {
        r.closed_markets.push_back(t);
        if (m.closed_at > 0) fresh_at = std::min(fresh_at, m.closed_at);
      }
    }
    std::optional<Quote> last = q.LastQuote(t);
    if (!last)
      r.stale.push_back({t, std::nullopt});
    else if (fresh_at - last->ts > r.stale_ms)
      r.stale.push_back({t, last->ts});
  }
  r.tickers = tickers.size();
  r.users = q.Users().size();
  r.watches = q.Watches(std::nullopt, std::nullopt).size();
}

void ReadDeliveries(Queries& q, Report& r) {
  for (const OutboxItem& it : q.DueOutbox(std::numeric_limits<TimeMs>::max())) {
    const std::string shown = ShownChannel(it.channel);
    ++r.outbox[shown];
    if (it.due < r.now - kOverdueMs) ++r.overdue[shown];
  }
  r.hour = PerChannel(q.DeliveriesSince(r.now - 3600'000));
  r.day = PerChannel(q.DeliveriesSince(r.now - 86400'000));
  r.dead_hour = PerChannel(q.DeadLettersSince(r.now - 3600'000));
  r.dead_day = PerChannel(q.DeadLettersSince(r.now - 86400'000));
  for (const WatchState& s : q.WatchStates()) {
    r.states[s.state == BandState::kAbove   ? "above"
             : s.state == BandState::kBelow ? "below"
                                            : "inside"]++;
  }
}

void FindProblems(Report& r) {
  int64_t not_closed = std::count_if(r.breakers.begin(), r.breakers.end(),
                                     [](const Breaker& b) { return b.state != "closed"; });
  if (not_closed > 0) r.problems.push_back(fmt::format("{} breaker(s) not closed", not_closed));
  if (!r.stale.empty()) r.problems.push_back(fmt::format("{} stale ticker(s)", r.stale.size()));
  for (const auto& [ch, n] : r.overdue) r.late += n;
  if (r.late > 0) r.problems.push_back(fmt::format("{} outbox message(s) overdue", r.late));
  // An alert that was given up on in the last hour reached nobody: someone
  // should look (the dead letter has it). Older ones are only counted.
  int64_t dead = 0;
  for (const auto& [ch, n] : r.dead_hour) dead += n;
  if (dead > 0) r.problems.push_back(fmt::format("{} dead letter(s) in the last hour", dead));
}

void JsonBreakersAndStale(std::string& out, const Report& r) {
  out += ",\"breakers\":[";
  for (size_t i = 0; i < r.breakers.size(); ++i) {
    const Breaker& b = r.breakers[i];
    if (i) out += ',';
    out += "{\"source\":";
    AppendJsonString(out, b.source);
    out += ",\"state\":";
    AppendJsonString(out, b.state);
    out += fmt::format(",\"failures\":{}", b.failures);
    if (b.state != "closed" && b.next_probe > 0) {
      out += ",\"next_probe\":";
      AppendJsonString(out, FormatRfc3339(b.next_probe));
    }
    out += '}';
  }
  out += "],\"stale\":[";
  for (size_t i = 0; i < r.stale.size(); ++i) {
    if (i) out += ',';
    out += "{\"ticker\":";
    AppendJsonString(out, r.stale[i].ticker);
    out += ",\"newest\":";
    if (r.stale[i].newest)
      AppendJsonString(out, FormatRfc3339(*r.stale[i].newest));
    else
      out += "null";
    out += '}';
  }
  out += "],\"closed_markets\":[";
  for (size_t i = 0; i < r.closed_markets.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, r.closed_markets[i]);
  }
  out += ']';
}

std::string Json(const Report& r, const std::string& store_url) {
  std::string out = "{\"type\":\"status\",\"healthy\":";
  out += r.problems.empty() ? "true" : "false";
  out += ",\"problems\":[";
  for (size_t i = 0; i < r.problems.size(); ++i) {
    if (i) out += ',';
    AppendJsonString(out, r.problems[i]);
  }
  out += "],\"store\":";
  AppendJsonString(out, store_url);
  out += fmt::format(",\"users\":{},\"watches\":{},\"tickers\":{},\"stale_after_s\":{}", r.users,
                     r.watches, r.tickers, r.stale_ms / 1000);
  JsonBreakersAndStale(out, r);
  out += ",\"outbox\":";
  JsonCounts(out, r.outbox);
  out += ",\"outbox_overdue\":";
  JsonCounts(out, r.overdue);
  out += ",\"deliveries_last_hour\":";
  JsonCounts(out, r.hour);
  out += ",\"deliveries_last_day\":";
  JsonCounts(out, r.day);
  out += ",\"dead_letters_last_hour\":";
  JsonCounts(out, r.dead_hour);
  out += ",\"dead_letters_last_day\":";
  JsonCounts(out, r.dead_day);
  out += ",\"edge_states\":";
  JsonCounts(out, r.states);
  out += "}\n";
  return out;
}

void TextBreakers(std::string& out, const Report& r) {
  if (r.breakers.empty()) {
    out += "breakers:     none recorded (stock-collect keeps them in the store)\n";
    return;
  }
  out += "breakers:\n";
  Table t({"  SOURCE", "STATE", "FAILURES", "NEXT PROBE"}, {false, false, true, false});
  for (const Breaker& b : r.breakers) {
    t.Add({"  " + b.source, b.state, std::to_string(b.failures),
           b.state != "closed" && b.next_probe > 0
               ? FormatRfc3339(b.next_probe) +
                     (b.next_probe > r.now ? " (in " + Age(b.next_probe - r.now) + ")" : " (due)")
               : "-"});
  }
  out += t.Render();
}

void TextStale(std::string& out, const Report& r) {
  if (r.stale.empty()) {
    out += fmt::format("stale quotes: none (older than {})\n", Age(r.stale_ms));
    return;
  }
  out += fmt::format("stale quotes: {} ticker(s) with no quote in the last {}\n", r.stale.size(),
                     Age(r.stale_ms));
  Table t({"  TICKER", "NEWEST QUOTE"}, {false, false});
  for (const Stale& s : r.stale) {
    t.Add({"  " + s.ticker, s.newest
                                ? FormatRfc3339(*s.newest) + " (" + Age(r.now - *s.newest) + " ago)"
                                : "never"});
  }
  out += t.Render();
}

std::string Text(const Report& r, const std::string& store_url) {
  std::string out;
  out += fmt::format("store:        {}\n", store_url);
  out += fmt::format("users:        {}\nwatches:      {} on {} ticker(s)\n", r.users, r.watches,
                     r.tickers);
  TextBreakers(out, r);
  TextStale(out, r);
  out += r.closed_markets.empty()
             ? std::string("closed markets: none known\n")
             : fmt::format("closed markets: {} ticker(s): {}\n", r.closed_markets.size(),
                           fmt::join(r.closed_markets, ", "));
  out += fmt::format("outbox:       {}", Counts(r.outbox));
  out += r.late > 0 ? fmt::format(" ({} overdue)\n", r.late) : "\n";
  out += fmt::format("deliveries:   last hour: {}; last day: {}\n", Counts(r.hour), Counts(r.day));
  out += fmt::format("dead letters: last hour: {}; last day: {}\n", Counts(r.dead_hour),
                     Counts(r.dead_day));
  out += fmt::format("edge states:  {}\n", Counts(r.states));
  out += r.problems.empty()
             ? "status:       healthy\n"
             : fmt::format("status:       degraded: {}\n", fmt::join(r.problems, ", "));
  return out;
}

}  // namespace

Outcome Status(Ctx& c) {
  Queries& q = c.store.queries();
  Report r;
  r.now = NowMs();
  r.stale_ms = StaleAfterMs(c.opts, q);
  r.breakers = ReadBreakers(q);
  ReadTickersAndWatches(q, r);
  ReadDeliveries(q, r);
  FindProblems(r);
  const bool healthy = r.problems.empty();
  std::string out = c.opts.json ? Json(r, c.store.url()) : Text(r, c.store.url());
  return Outcome{healthy ? 0 : 1, std::move(out), ""};
}

}  // namespace stockwatch::stockctl
