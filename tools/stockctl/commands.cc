// stockctl's command side: user and watch changes. Each runs inside
// Commands::Execute, so its output is stored with its effect when a request
// id is given (at-most-once).
#include <charconv>
#include <cmath>

#include "format.h"
#include "stockctl.h"

namespace stockwatch::stockctl {
namespace {

// What the user typed, cut short for messages.
std::string Shown(std::string_view s) {
  constexpr size_t kMax = 40;
  return s.size() <= kMax ? std::string(s) : std::string(s.substr(0, kMax)) + "...";
}

double ParseNumber(std::string_view field, std::string_view text) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (!text.empty() && ec == std::errc::result_out_of_range && ptr == end)
    throw DataError(std::string(field) + ": out of range: " + Shown(text));
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw DataError(std::string(field) + ": not a number: " + Shown(text));
  }
  if (!std::isfinite(v)) throw DataError(std::string(field) + ": not a finite number");
  return v;
}

int64_t ParseInteger(std::string_view field, std::string_view text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (!text.empty() && ec == std::errc::result_out_of_range && ptr == end)
    throw DataError(std::string(field) + ": out of range: " + Shown(text));
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw DataError(std::string(field) + ": not an integer: " + Shown(text));
  }
  return v;
}

// Seconds, or a duration ("30s", "5m", "1h") in whole seconds.
int64_t ParseInterval(std::string_view text) {
  const std::optional<int64_t> ms = ParseDurationMs(text);
  if (!ms)
    throw DataError("interval: not a duration (seconds, or like 30s, 5m, 1h): " + Shown(text));
  if (*ms % 1000 != 0) throw DataError("interval: must be whole seconds");
  return *ms / 1000;
}

// A percent: "5", "5%", "2.5%" (validated by the store: ValidateMove).
double ParseMove(std::string_view text) {
  std::string_view number = text;
  if (number.ends_with('%')) number.remove_suffix(1);
  try {
    return ParseNumber("move", number);
  } catch (const DataError&) {
    throw DataError("move: not a percentage (like 5, 5% or 2.5%): " + Shown(text));
  }
}

// A move's window: a duration in whole seconds ("90s", "15m", "1h"), or
// "0" / "day" for the day's change.
int64_t ParseWithin(std::string_view text) {
  if (text == "day") return 0;
  const std::optional<int64_t> ms = ParseDurationMs(text);
  if (!ms)
    throw DataError("within: not a duration (like 90s, 15m, 1h; 0 or day: the day's change): " +
                    Shown(text));
  if (*ms % 1000 != 0) throw DataError("within: must be whole seconds");
  return *ms / 1000;
}

std::optional<MoveDirection> DirectionFlag(const Options& o) {
  if (o.up) return MoveDirection::kUp;
  if (o.down) return MoveDirection::kDown;
  if (o.both) return MoveDirection::kBoth;
  return std::nullopt;
}

// What `watch set` was asked to change.
WatchEdit EditOf(const Options& o) {
  WatchEdit e;
  if (!o.low.empty()) e.low.emplace(ParseNumber("low", o.low));
  if (o.no_low) e.low.emplace(std::nullopt);
  if (!o.high.empty()) e.high.emplace(ParseNumber("high", o.high));
  if (o.no_high) e.high.emplace(std::nullopt);
  if (!o.move.empty()) e.move.emplace(ParseMove(o.move));
  if (o.no_move) e.move.emplace(std::nullopt);
  if (!o.within.empty()) e.within = ParseWithin(o.within);
  e.direction = DirectionFlag(o);
  return e;
}

std::string UserLine(const User& u) {
  std::string s = u.email;
  if (u.telegram_id) s += " (telegram " + std::to_string(*u.telegram_id) + ")";
  if (u.interval > 0) s += " (interval " + Interval(u.interval) + ")";
  return s;
}

Outcome Ok(std::string output) { return Outcome{exitcode::kOk, std::move(output), ""}; }

std::string JsonLine(const auto& record) { return ToJson(record) + "\n"; }

Watch ReadBack(Ctx& c, const std::string& email, const std::string& ticker) {
  auto ws = c.store.queries().Watches(email, ticker);
  if (ws.empty()) throw Error(exitcode::kSoftware, "watch vanished inside its transaction");
  return ws.front();
}

}  // namespace

Outcome UserAdd(Ctx& c) {
  User u;
  u.email = NormalizeEmail(c.opts.email);
  if (!c.opts.telegram_id.empty()) u.telegram_id = ParseInteger("telegram_id", c.opts.telegram_id);
  c.tx->AddUser(u);
  return Ok(c.opts.json ? JsonLine(u) : "added user " + UserLine(u) + "\n");
}

Outcome UserSet(Ctx& c) {
  const std::string email = NormalizeEmail(c.opts.email);
  std::optional<std::optional<int64_t>> telegram;
  if (!c.opts.telegram_id.empty())
    telegram.emplace(ParseInteger("telegram_id", c.opts.telegram_id));
  if (c.opts.no_telegram) telegram.emplace(std::nullopt);
  std::optional<int64_t> interval;
  if (!c.opts.interval.empty()) interval = ParseInterval(c.opts.interval);
  if (!telegram && !interval) {
    throw Error(exitcode::kUsage,
                "user set: nothing to change (give --telegram-id, --no-telegram or --interval)");
  }
  c.tx->SetUser(email, telegram, interval);
  const std::optional<User> u = c.store.queries().FindUser(email);
  if (!u) throw Error(exitcode::kSoftware, "user vanished inside its transaction");
  return Ok(c.opts.json ? JsonLine(*u) : "updated user " + UserLine(*u) + "\n");
}

Outcome UserRm(Ctx& c) {
  const std::string email = NormalizeEmail(c.opts.email);
  const std::optional<User> u = c.store.queries().FindUser(email);
  if (!u) throw DataError("email: no such user: " + email);
  const size_t watches = c.store.queries().Watches(email, std::nullopt).size();
  c.tx->RemoveUser(email);
  if (c.opts.json) return Ok(JsonLine(*u));
  return Ok("removed user " + email + " and " + std::to_string(watches) +
            (watches == 1 ? " watch" : " watches") + "\n");
}

Outcome WatchAdd(Ctx& c) {
  Watch w;
  w.email = c.opts.email;
  w.ticker = c.opts.ticker;
  if (!c.opts.low.empty()) w.low = ParseNumber("low", c.opts.low);
  if (!c.opts.high.empty()) w.high = ParseNumber("high", c.opts.high);
  if (!c.opts.move.empty()) w.move = ParseMove(c.opts.move);
  if (!c.opts.within.empty()) w.within = ParseWithin(c.opts.within);
  w.direction = DirectionFlag(c.opts).value_or(MoveDirection::kBoth);
  Validate(w);
  c.tx->AddWatch(w);
  const Watch stored = ReadBack(c, w.email, w.ticker);
  if (c.opts.json) return Ok(JsonLine(stored));
  return Ok(w.email + " now watches " + w.ticker + " (" + WatchWords(stored) + ")\n");
}

Outcome WatchSet(Ctx& c) {
  const std::string email = NormalizeEmail(c.opts.email);
  const std::string ticker = NormalizeTicker(c.opts.ticker);
  const WatchEdit edit = EditOf(c.opts);
  if (!edit.low && !edit.high && !edit.move && !edit.within && !edit.direction) {
    throw Error(exitcode::kUsage,
                "watch set: nothing to change (give --low, --no-low, --high, --no-high, --move, "
                "--no-move, --within, --up, --down or --both)");
  }
  c.tx->SetWatch(email, ticker, edit);
  const Watch stored = ReadBack(c, email, ticker);
  if (c.opts.json) return Ok(JsonLine(stored));
  return Ok(email + " watches " + ticker + " (" + WatchWords(stored) + ")\n");
}

Outcome WatchRm(Ctx& c) {
  const std::string email = NormalizeEmail(c.opts.email);
  const std::string ticker = NormalizeTicker(c.opts.ticker);
  const auto before = c.store.queries().Watches(email, ticker);
  c.tx->RemoveWatch(email, ticker);  // throws DataError when there is none
  if (c.opts.json && !before.empty()) return Ok(JsonLine(before.front()));
  return Ok(email + " no longer watches " + ticker + "\n");
}

}  // namespace stockwatch::stockctl
