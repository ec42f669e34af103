// SQLite backend, query side: every read from the store.
#include <algorithm>
#include <string>

#include "stockwatch/store/internal.h"
#include "stockwatch/store/sqlite/backend.h"

namespace stockwatch::sqlite {
namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

// Columns: email, telegram_id, interval_s.
User ReadUser(const Stmt& s) {
  User u;
  u.email = s.ColText(0);
  u.telegram_id = s.ColOptInt(1);
  u.interval = s.ColInt(2);
  return u;
}

// Columns: email, ticker, low, high, telegram_id, move, within_s, direction.
#define SW_WATCH_COLUMNS                                                         \
  "SELECT w.email, w.ticker, w.low, w.high, u.telegram_id, w.move, w.within_s, " \
  "w.direction FROM watches w JOIN users u ON u.email = w.email "
Watch ReadWatch(const Stmt& s) {
  Watch w;
  w.email = s.ColText(0);
  w.ticker = s.ColText(1);
  w.low = s.ColOptDouble(2);
  w.high = s.ColOptDouble(3);
  w.telegram_id = s.ColOptInt(4);
  w.move = s.ColOptDouble(5);
  w.within = s.ColInt(6);
  w.direction = store_internal::DirectionFromColumn(s.ColText(7));
  return w;
}

// Columns: ticker, ts, price, currency, source, prev_close, volume.
Quote ReadQuote(const Stmt& s) {
  Quote q;
  q.ticker = s.ColText(0);
  q.ts = s.ColInt(1);
  q.price = s.ColDouble(2);
  q.currency = s.ColText(3);
  q.source = s.ColText(4);
  q.prev_close = s.ColOptDouble(5);
  q.volume = s.ColOptInt(6);
  return q;
}

// Columns: id, email, channel, alert_json, due.
OutboxItem ReadOutboxItem(const Stmt& s) {
  return OutboxItem{s.ColInt(0),  s.ColText(1), s.ColText(2),
                    s.ColText(3), s.ColInt(4),  static_cast<int>(s.ColInt(5)),
                    s.ColInt(6)};
}

}  // namespace

std::vector<User> SqliteQueries::Users() {
  Lock lock(db_.mu());
  std::vector<User> out;
  Stmt s = db_.Prepare("SELECT email, telegram_id, interval_s FROM users ORDER BY email");
  while (s.Step()) out.push_back(ReadUser(s));
  return out;
}

std::optional<User> SqliteQueries::FindUser(std::string_view email) {
  Lock lock(db_.mu());
  Stmt s = db_.Prepare("SELECT email, telegram_id, interval_s FROM users WHERE email = ?");
  s.Text(1, email);
  if (!s.Step()) return std::nullopt;
  return ReadUser(s);
}

std::optional<User> SqliteQueries::FindUserByTelegram(int64_t telegram_id) {
  Lock lock(db_.mu());
  Stmt s = db_.Prepare("SELECT email, telegram_id, interval_s FROM users WHERE telegram_id = ?");
  s.Int(1, telegram_id);
  if (!s.Step()) return std::nullopt;
  return ReadUser(s);
}

std::vector<Watch> SqliteQueries::Watches(std::optional<std::string_view> email,
                                          std::optional<std::string_view> ticker) {
  Lock lock(db_.mu());
  std::vector<Watch> out;
  // One statement per filter combination, so each can use its index.
  auto collect = [&](Stmt& s) {
    while (s.Step()) out.push_back(ReadWatch(s));
  };
  if (email && ticker) {
    Stmt s = db_.Prepare(SW_WATCH_COLUMNS "WHERE w.email = ? AND w.ticker = ?");
    s.Text(1, *email).Text(2, *ticker);
    collect(s);
  } else if (email) {
    Stmt s = db_.Prepare(SW_WATCH_COLUMNS "WHERE w.email = ? ORDER BY w.ticker");
    s.Text(1, *email);
    collect(s);
  } else if (ticker) {
    Stmt s = db_.Prepare(SW_WATCH_COLUMNS "WHERE w.ticker = ? ORDER BY w.email");
    s.Text(1, *ticker);
    collect(s);
  } else {
    Stmt s = db_.Prepare(SW_WATCH_COLUMNS "ORDER BY w.email, w.ticker");
    collect(s);
  }
  return out;
}

std::vector<std::string> SqliteQueries::WatchedTickers() {
  Lock lock(db_.mu());
  std::vector<std::string> out;
  Stmt s = db_.Prepare("SELECT DISTINCT ticker FROM watches ORDER BY ticker");
  while (s.Step()) out.push_back(s.ColText(0));
  return out;
}

int64_t SqliteQueries::WatchesVersion() {
  Lock lock(db_.mu());
  Stmt s = db_.Prepare("SELECT value FROM meta WHERE key = 'watches_version'");
  return s.Step() ? s.ColInt(0) : 0;
}

std::optional<Quote> SqliteQueries::LastQuote(std::string_view ticker) {
  Lock lock(db_.mu());
  Stmt s = db_.Prepare(
      "SELECT ticker, ts, price, currency, source, prev_close, volume FROM latest_quotes "
      "WHERE ticker = ?");
  s.Text(1, ticker);
  if (!s.Step()) return std::nullopt;
  return ReadQuote(s);
}

std::pair<double, int64_t> SqliteQueries::AverageLast(std::string_view ticker, int64_t n) {
  Lock lock(db_.mu());
  if (n <= 0) return {0.0, 0};
  // Summed here, oldest first, rather than with SQL avg(): the same numbers
  // give the same double on both backends.
  Stmt s = db_.Prepare("SELECT price FROM quotes WHERE ticker = ? ORDER BY ts DESC LIMIT ?");
  s.Text(1, ticker).Int(2, n);
  std::vector<double> prices;
  while (s.Step()) prices.push_back(s.ColDouble(0));
  double sum = 0;
  for (auto it = prices.rbegin(); it != prices.rend(); ++it) sum += *it;
  const auto count = static_cast<int64_t>(prices.size());
  return {count == 0 ? 0.0 : sum / static_cast<double>(count), count};
}

std::vector<Quote> SqliteQueries::History(std::string_view ticker, int64_t limit) {
  Lock lock(db_.mu());
  std::vector<Quote> out;
  if (limit <= 0) return out;
  Stmt s = db_.Prepare(
      "SELECT ticker, ts, price, currency, source, prev_close, volume FROM quotes "
      "WHERE ticker = ? ORDER BY ts DESC LIMIT ?");
  s.Text(1, ticker).Int(2, limit);
  while (s.Step()) out.push_back(ReadQuote(s));
  return out;
}

std::vector<WatchState> SqliteQueries::WatchStates() {
  Lock lock(db_.mu());
  std::vector<WatchState> out;
  Stmt s = db_.Prepare(
      "SELECT email, ticker, state, ts, move, move_ref FROM watch_states ORDER BY email, ticker");
  while (s.Step()) {
    out.push_back(WatchState{s.ColText(0), s.ColText(1), static_cast<BandState>(s.ColInt(2)),
                             s.ColInt(3), static_cast<uint8_t>(s.ColInt(4)), s.ColDouble(5)});
  }
  return out;
}

std::vector<TickerWindow> SqliteQueries::MoveWindows() {
  Lock lock(db_.mu());
  std::vector<TickerWindow> out;
  Stmt s = db_.Prepare("SELECT ticker, points FROM move_windows ORDER BY ticker");
  while (s.Step()) {
    TickerWindow w{s.ColText(0), {}};
    std::optional<std::vector<WindowPoint>> points =
        store_internal::DecodeWindowPoints(s.ColText(1));
    if (!points) {
      throw Error(exitcode::kSoftware,
                  db_.url() + ": move_windows: the points of " + w.ticker + " are malformed");
    }
    w.points = std::move(*points);
    out.push_back(std::move(w));
  }
  return out;
}

bool SqliteQueries::Delivered(std::string_view alert_id, std::string_view channel) {
  Lock lock(db_.mu());
  Stmt s = db_.Prepare("SELECT 1 FROM deliveries WHERE alert_id = ? AND channel = ?");
  s.Text(1, alert_id).Text(2, channel);
  return s.Step();
}

std::vector<std::string> SqliteQueries::DeliveredAmong(std::span<const std::string> ids,
                                                       std::string_view channel) {
  std::vector<std::string> found;
  Lock lock(db_.mu());
  for (size_t at = 0; at < ids.size(); at += store_internal::kDeliveredChunk) {
    std::string array = store_internal::JsonArray(
        ids.subspan(at, std::min(store_internal::kDeliveredChunk, ids.size() - at)));
    Stmt s = db_.Prepare(
        "SELECT d.alert_id FROM json_each(?) j JOIN deliveries d "
        "ON d.alert_id = j.value AND d.channel = ?");
    s.Text(1, array).Text(2, channel);
    while (s.Step()) found.push_back(s.ColText(0));
  }
  return found;
}

std::optional<std::string> SqliteQueries::GetValue(std::string_view key) {
  Lock lock(db_.mu());
  Stmt s = db_.Prepare("SELECT value FROM kv WHERE key = ?");
  s.Text(1, key);
  if (!s.Step()) return std::nullopt;
  return s.ColText(0);
}

std::vector<KeyValue> SqliteQueries::ValuesWithPrefix(std::string_view prefix) {
  Lock lock(db_.mu());
  std::vector<KeyValue> out;
  Stmt s =
      db_.Prepare("SELECT key, value FROM kv WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key");
  s.Text(1, prefix);
  while (s.Step()) out.push_back({s.ColText(0), s.ColText(1)});
  return out;
}

std::vector<std::pair<std::string, int64_t>> SqliteQueries::DeliveriesSince(TimeMs since) {
  Lock lock(db_.mu());
  std::vector<std::pair<std::string, int64_t>> out;
  Stmt s = db_.Prepare(
      "SELECT channel, count(*) FROM deliveries WHERE ts >= ? GROUP BY channel ORDER BY channel");
  s.Int(1, since);
  while (s.Step()) out.emplace_back(s.ColText(0), s.ColInt(1));
  return out;
}

std::vector<std::pair<std::string, int64_t>> SqliteQueries::DeadLettersSince(TimeMs since) {
  Lock lock(db_.mu());
  std::vector<std::pair<std::string, int64_t>> out;
  Stmt s = db_.Prepare(
      "SELECT channel, count(*) FROM dead_letters WHERE ts >= ? GROUP BY channel ORDER BY channel");
  s.Int(1, since);
  while (s.Step()) out.emplace_back(s.ColText(0), s.ColInt(1));
  return out;
}

std::vector<OutboxItem> SqliteQueries::DueOutbox(TimeMs now) {
  Lock lock(db_.mu());
  std::vector<OutboxItem> out;
  Stmt s = db_.Prepare(
      "SELECT id, email, channel, alert_json, due, attempts, first_try FROM outbox WHERE due <= ? "
      "ORDER BY due, id");
  s.Int(1, now);
  while (s.Step()) out.push_back(ReadOutboxItem(s));
  return out;
}

std::vector<OutboxItem> SqliteQueries::Outbox(std::string_view email) {
  Lock lock(db_.mu());
  std::vector<OutboxItem> out;
  Stmt s = db_.Prepare(
      "SELECT id, email, channel, alert_json, due, attempts, first_try FROM outbox WHERE email = ? "
      "ORDER BY due, id");
  s.Text(1, email);
  while (s.Step()) out.push_back(ReadOutboxItem(s));
  return out;
}

}  // namespace stockwatch::sqlite
