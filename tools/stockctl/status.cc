// stockctl status: one screen about the running system, from the store only:
// circuit breakers, stale quotes, users and watches, the outbox, recent
// deliveries and dead letters, and edge states. Exit 0 healthy, 1 degraded.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "format.h"
#include "stockctl.h"
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

}  // namespace

Outcome Status(Ctx& c) {
  Queries& q = c.store.queries();
  const TimeMs now = NowMs();

  // --stale: given, else 3x the interval a long-running collector recorded,
  // else 15 minutes.
  int64_t stale_ms = kDefaultStaleMs;
  if (!c.opts.stale.empty()) {
    std::optional<int64_t> ms = ParseDurationMs(c.opts.stale);
    if (!ms || *ms <= 0) throw DataError("stale: not a duration (like 15m or 90s): " + c.opts.stale);
    stale_ms = *ms;
  } else if (std::optional<std::string> every = q.GetValue("stock-collect/every")) {
    int64_t ms = std::atoll(every->c_str());
    if (ms > 0) stale_ms = 3 * ms;
  }

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

  std::vector<Stale> stale;
  std::vector<std::string> tickers = q.WatchedTickers();
  for (const std::string& t : tickers) {
    std::optional<Quote> last = q.LastQuote(t);
    if (!last) stale.push_back({t, std::nullopt});
    else if (now - last->ts > stale_ms) stale.push_back({t, last->ts});
  }

  const size_t users = q.Users().size();
  const size_t watches = q.Watches(std::nullopt, std::nullopt).size();

  std::map<std::string, int64_t> outbox, overdue;
  for (const OutboxItem& it : q.DueOutbox(std::numeric_limits<TimeMs>::max())) {
    const std::string shown = ShownChannel(it.channel);
    ++outbox[shown];
    if (it.due < now - kOverdueMs) ++overdue[shown];
  }
  const std::map<std::string, int64_t> hour = PerChannel(q.DeliveriesSince(now - 3600'000));
  const std::map<std::string, int64_t> day = PerChannel(q.DeliveriesSince(now - 86400'000));
  const std::map<std::string, int64_t> dead_hour = PerChannel(q.DeadLettersSince(now - 3600'000));
  const std::map<std::string, int64_t> dead_day = PerChannel(q.DeadLettersSince(now - 86400'000));

  std::map<std::string, int64_t> states;
  for (const WatchState& s : q.WatchStates()) {
    states[s.state == BandState::kAbove   ? "above"
           : s.state == BandState::kBelow ? "below"
                                          : "inside"]++;
  }

  std::vector<std::string> problems;
  int64_t not_closed = std::count_if(breakers.begin(), breakers.end(),
                                     [](const Breaker& b) { return b.state != "closed"; });
  if (not_closed > 0) problems.push_back(fmt::format("{} breaker(s) not closed", not_closed));
  if (!stale.empty()) problems.push_back(fmt::format("{} stale ticker(s)", stale.size()));
  int64_t late = 0;
  for (const auto& [ch, n] : overdue) late += n;
  if (late > 0) problems.push_back(fmt::format("{} outbox message(s) overdue", late));
  // An alert that was given up on in the last hour reached nobody: someone
  // should look (the dead letter has it). Older ones are only counted.
  int64_t dead = 0;
  for (const auto& [ch, n] : dead_hour) dead += n;
  if (dead > 0) problems.push_back(fmt::format("{} dead letter(s) in the last hour", dead));
  const bool healthy = problems.empty();

  std::string out;
  if (c.opts.json) {
    out = "{\"type\":\"status\",\"healthy\":";
    out += healthy ? "true" : "false";
    out += ",\"problems\":[";
    for (size_t i = 0; i < problems.size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, problems[i]);
    }
    out += "],\"store\":";
    AppendJsonString(out, c.store.url());
    out += fmt::format(",\"users\":{},\"watches\":{},\"tickers\":{},\"stale_after_s\":{}", users,
                       watches, tickers.size(), stale_ms / 1000);
    out += ",\"breakers\":[";
    for (size_t i = 0; i < breakers.size(); ++i) {
      const Breaker& b = breakers[i];
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
    for (size_t i = 0; i < stale.size(); ++i) {
      if (i) out += ',';
      out += "{\"ticker\":";
      AppendJsonString(out, stale[i].ticker);
      out += ",\"newest\":";
      if (stale[i].newest) AppendJsonString(out, FormatRfc3339(*stale[i].newest));
      else out += "null";
      out += '}';
    }
    out += "],\"outbox\":";
    JsonCounts(out, outbox);
    out += ",\"outbox_overdue\":";
    JsonCounts(out, overdue);
    out += ",\"deliveries_last_hour\":";
    JsonCounts(out, hour);
    out += ",\"deliveries_last_day\":";
    JsonCounts(out, day);
    out += ",\"dead_letters_last_hour\":";
    JsonCounts(out, dead_hour);
    out += ",\"dead_letters_last_day\":";
    JsonCounts(out, dead_day);
    out += ",\"edge_states\":";
    JsonCounts(out, states);
    out += "}\n";
  } else {
    out += fmt::format("store:        {}\n", c.store.url());
    out += fmt::format("users:        {}\nwatches:      {} on {} ticker(s)\n", users, watches,
                       tickers.size());
    if (breakers.empty()) {
      out += "breakers:     none recorded (stock-collect keeps them in the store)\n";
    } else {
      out += "breakers:\n";
      Table t({"  SOURCE", "STATE", "FAILURES", "NEXT PROBE"}, {false, false, true, false});
      for (const Breaker& b : breakers) {
        t.Add({"  " + b.source, b.state, std::to_string(b.failures),
               b.state != "closed" && b.next_probe > 0
                   ? FormatRfc3339(b.next_probe) +
                         (b.next_probe > now ? " (in " + Age(b.next_probe - now) + ")" : " (due)")
                   : "-"});
      }
      out += t.Render();
    }
    if (stale.empty()) {
      out += fmt::format("stale quotes: none (older than {})\n", Age(stale_ms));
    } else {
      out += fmt::format("stale quotes: {} ticker(s) with no quote in the last {}\n", stale.size(),
                         Age(stale_ms));
      Table t({"  TICKER", "NEWEST QUOTE"}, {false, false});
      for (const Stale& s : stale) {
        t.Add({"  " + s.ticker, s.newest ? FormatRfc3339(*s.newest) + " (" + Age(now - *s.newest) +
                                               " ago)"
                                         : "never"});
      }
      out += t.Render();
    }
    out += fmt::format("outbox:       {}", Counts(outbox));
    out += late > 0 ? fmt::format(" ({} overdue)\n", late) : "\n";
    out += fmt::format("deliveries:   last hour: {}; last day: {}\n", Counts(hour), Counts(day));
    out += fmt::format("dead letters: last hour: {}; last day: {}\n", Counts(dead_hour),
                       Counts(dead_day));
    out += fmt::format("edge states:  {}\n", Counts(states));
    out += healthy ? "status:       healthy\n"
                   : fmt::format("status:       degraded: {}\n", fmt::join(problems, ", "));
  }
  return Outcome{healthy ? 0 : 1, std::move(out), ""};
}

}  // namespace stockwatch::stockctl
