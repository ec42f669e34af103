// SQLite backend, command side: every write to the store.
#include <string>
#include <unordered_map>
#include <vector>

#include "stockwatch/core/error.h"
#include "stockwatch/core/records.h"
#include "stockwatch/store/internal.h"
#include "stockwatch/store/rules.h"
#include "stockwatch/store/sqlite/backend.h"

namespace stockwatch::sqlite {
namespace {

/// The writes of user management, inside Execute()'s transaction: the
/// statements only; the rules are RuledCommandTx's (store/rules.cc). SQLite
/// runs one writer at a time, so no statement meets a concurrent writer.
class SqliteCommandTx final : public store_internal::RuledCommandTx {
 public:
  explicit SqliteCommandTx(Db& db) : db_(db) {}

  void StoreQuotes(std::span<const Quote> quotes) override { InsertQuotes(db_, quotes); }

 private:
  using Settings = store_internal::Settings;
  using Clash = store_internal::Clash;

  bool UserExists(const std::string& email) override {
    Stmt s = db_.Prepare("SELECT 1 FROM users WHERE email = ?");
    s.Text(1, email);
    return s.Step();
  }
  std::string TelegramOwner(int64_t telegram_id) override {
    Stmt s = db_.Prepare("SELECT email FROM users WHERE telegram_id = ?");
    s.Int(1, telegram_id);
    return s.Step() ? s.ColText(0) : std::string();
  }
  std::optional<Settings> WatchSettings(const std::string& email,
                                        const std::string& ticker) override {
    Stmt s = db_.Prepare(
        "SELECT low, high, move, within_s, direction FROM watches WHERE email = ? AND ticker = ?");
    s.Text(1, email).Text(2, ticker);
    if (!s.Step()) return std::nullopt;
    Settings w;
    w.low = s.ColOptDouble(0);
    w.high = s.ColOptDouble(1);
    w.move = s.ColOptDouble(2);
    w.within = s.ColInt(3);
    w.direction = store_internal::DirectionFromColumn(s.ColText(4));
    return w;
  }
  Clash InsertUser(const User& u) override {
    db_.Prepare("INSERT INTO users(email, telegram_id, interval_s) VALUES(?, ?, ?)")
        .Text(1, u.email)
        .OptInt(2, u.telegram_id)
        .Int(3, u.interval)
        .Run();
    return Clash::kNone;
  }
  Clash SetTelegramId(const std::string& email, std::optional<int64_t> telegram_id) override {
    db_.Prepare("UPDATE users SET telegram_id = ? WHERE email = ?")
        .OptInt(1, telegram_id)
        .Text(2, email)
        .Run();
    return Clash::kNone;
  }
  void SetInterval(const std::string& email, int64_t interval) override {
    db_.Prepare("UPDATE users SET interval_s = ? WHERE email = ?")
        .Int(1, interval)
        .Text(2, email)
        .Run();
  }
  void DeleteUser(const std::string& email) override {
    // Watches and their states also go by ON DELETE CASCADE; deliveries and
    // the outbox are not tied by a foreign key (they may outlive a watch).
    db_.Prepare("DELETE FROM deliveries WHERE email = ?").Text(1, email).Run();
    db_.Prepare("DELETE FROM dead_letters WHERE email = ?").Text(1, email).Run();
    db_.Prepare("DELETE FROM outbox WHERE email = ?").Text(1, email).Run();
    // Per-user values (stock-notify's "paused:EMAIL", "notify.last:CHANNEL:EMAIL").
    db_.Prepare(
           "DELETE FROM kv WHERE length(key) >= length(?1) "
           "AND substr(key, length(key) - length(?1) + 1) = ?1")
        .Text(1, ":" + email)
        .Run();
    db_.Prepare("DELETE FROM watch_states WHERE email = ?").Text(1, email).Run();
    db_.Prepare("DELETE FROM watches WHERE email = ?").Text(1, email).Run();
    db_.Prepare("DELETE FROM users WHERE email = ?").Text(1, email).Run();
  }
  Clash InsertWatch(const Watch& w) override {
    db_.Prepare(
           "INSERT INTO watches(email, ticker, low, high, move, within_s, direction) "
           "VALUES(?, ?, ?, ?, ?, ?, ?)")
        .Text(1, w.email)
        .Text(2, w.ticker)
        .OptDouble(3, w.low)
        .OptDouble(4, w.high)
        .OptDouble(5, w.move)
        .Int(6, w.within)
        .OptText(7, store_internal::DirectionColumn(w.direction).value_or(""))
        .Run();
    return Clash::kNone;
  }
  void UpdateSettings(const std::string& email, const std::string& ticker,
                      const Settings& w) override {
    db_.Prepare(
           "UPDATE watches SET low = ?, high = ?, move = ?, within_s = ?, direction = ? "
           "WHERE email = ? AND ticker = ?")
        .OptDouble(1, w.low)
        .OptDouble(2, w.high)
        .OptDouble(3, w.move)
        .Int(4, w.within)
        .OptText(5, store_internal::DirectionColumn(w.direction).value_or(""))
        .Text(6, email)
        .Text(7, ticker)
        .Run();
  }
  void RearmStates(const std::string& email, const std::string& ticker, int stale) override {
    // ?3: the mask. A row with nothing left that holds goes; the rest of
    // what is stale is reset in place.
    db_.Prepare(
           "DELETE FROM watch_states WHERE email = ?1 AND ticker = ?2 AND "
           "((state = 1 AND ?3 & 1) OR (state = 2 AND ?3 & 2) OR (state = 0 AND ?3 & 4)) AND "
           "((move = 0 AND move_ref = 0) OR ?3 & 4)")
        .Text(1, email)
        .Text(2, ticker)
        .Int(3, stale)
        .Run();
    db_.Prepare(
           "UPDATE watch_states SET "
           "state = CASE WHEN (state = 1 AND ?3 & 1) OR (state = 2 AND ?3 & 2) THEN 0 "
           "ELSE state END, "
           "move = CASE WHEN ?3 & 4 THEN 0 ELSE move END, "
           "move_ref = CASE WHEN ?3 & 4 THEN 0 ELSE move_ref END "
           "WHERE email = ?1 AND ticker = ?2")
        .Text(1, email)
        .Text(2, ticker)
        .Int(3, stale)
        .Run();
  }
  bool DeleteWatch(const std::string& email, const std::string& ticker) override {
    db_.Prepare("DELETE FROM watches WHERE email = ? AND ticker = ?")
        .Text(1, email)
        .Text(2, ticker)
        .Run();
    return db_.Changes() != 0;
  }
  bool UpsertUsers(std::span<const User> users, std::optional<int64_t>* taken) override {
    for (const User& u : users) {
      Stmt s = db_.Prepare(
          "INSERT INTO users(email, telegram_id, interval_s) VALUES(?, ?, ?) "
          "ON CONFLICT(email) DO UPDATE SET telegram_id = excluded.telegram_id, "
          "interval_s = excluded.interval_s");
      s.Text(1, u.email).OptInt(2, u.telegram_id).Int(3, u.interval);
      try {
        s.Run();
      } catch (const DataError&) {  // the only constraint left: telegram_id UNIQUE
        *taken = u.telegram_id;
        return false;  // Execute() rolls back the rows before it
      }
    }
    return true;
  }
  bool UpsertWatches(std::span<const Watch> watches, std::string* missing) override {
    for (const Watch& w : watches) {
      // The move bits of a watch whose move changes are stale.
      db_.Prepare(
             "UPDATE watch_states SET move = 0, move_ref = 0 WHERE email = ?1 AND ticker = ?2 "
             "AND EXISTS (SELECT 1 FROM watches WHERE email = ?1 AND ticker = ?2 AND "
             "(move IS NOT ?3 OR within_s IS NOT ?4 OR direction IS NOT ?5))")
          .Text(1, w.email)
          .Text(2, w.ticker)
          .OptDouble(3, w.move)
          .Int(4, w.within)
          .OptText(5, store_internal::DirectionColumn(w.direction).value_or(""))
          .Run();
      Stmt s = db_.Prepare(
          "INSERT INTO watches(email, ticker, low, high, move, within_s, direction) "
          "VALUES(?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT(email, ticker) DO UPDATE SET low = excluded.low, high = excluded.high, "
          "move = excluded.move, within_s = excluded.within_s, direction = excluded.direction");
      s.Text(1, w.email).Text(2, w.ticker).OptDouble(3, w.low).OptDouble(4, w.high);
      s.OptDouble(5, w.move).Int(6, w.within);
      s.OptText(7, store_internal::DirectionColumn(w.direction).value_or(""));
      try {
        s.Run();
      } catch (const DataError&) {  // FOREIGN KEY: the owner is missing
        *missing = w.email;
        return false;
      }
    }
    return true;
  }
  void BumpWatchesVersion() override {
    db_.Prepare("UPDATE meta SET value = value + 1 WHERE key = 'watches_version'").Run();
  }

  Db& db_;
};

}  // namespace

void InsertQuotes(Db& db, std::span<const Quote> quotes) {
  // Only the newest quote per ticker of the batch can change the read model.
  std::unordered_map<std::string_view, const Quote*> newest;
  for (const Quote& q : quotes) {
    db.Prepare(
          "INSERT INTO quotes(ticker, ts, price, currency, source, prev_close, volume) "
          "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(ticker, ts) DO UPDATE SET "
          "price = excluded.price, currency = excluded.currency, source = excluded.source, "
          "prev_close = excluded.prev_close, volume = excluded.volume")
        .Text(1, q.ticker)
        .Int(2, q.ts)
        .Double(3, q.price)
        .OptText(4, q.currency)
        .OptText(5, q.source)
        .OptDouble(6, q.prev_close)
        .OptInt(7, q.volume)
        .Run();
    auto [it, inserted] = newest.try_emplace(q.ticker, &q);
    if (!inserted && q.ts >= it->second->ts) it->second = &q;
  }
  for (const auto& [ticker, q] : newest) {
    db.Prepare(
          "INSERT INTO latest_quotes(ticker, ts, price, currency, source, prev_close, volume) "
          "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(ticker) DO UPDATE SET "
          "ts = excluded.ts, price = excluded.price, currency = excluded.currency, "
          "source = excluded.source, prev_close = excluded.prev_close, volume = excluded.volume "
          "WHERE excluded.ts >= latest_quotes.ts")
        .Text(1, q->ticker)
        .Int(2, q->ts)
        .Double(3, q->price)
        .OptText(4, q->currency)
        .OptText(5, q->source)
        .OptDouble(6, q->prev_close)
        .OptInt(7, q->volume)
        .Run();
  }
}

Outcome SqliteCommands::Execute(std::string_view request_id, std::string_view fingerprint,
                                const std::function<Outcome(CommandTx&)>& fn) {
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  // BEGIN IMMEDIATE takes the write lock first, so concurrent repeats of one
  // request id run one after another and all but the first find its outcome.
  WriteTx tx(db_);
  if (!request_id.empty()) {
    Stmt s = db_.Prepare("SELECT exit_code, output, error, fingerprint FROM requests WHERE id = ?");
    s.Text(1, request_id);
    if (s.Step()) {
      Outcome stored{static_cast<int>(s.ColInt(0)), s.ColText(1), s.ColText(2)};
      const bool unbound = s.IsNull(3);
      const std::string stored_fp = s.ColText(3);
      if (!fingerprint.empty() && !unbound && stored_fp != fingerprint) {
        return store_internal::RequestIdReused(request_id);  // `tx` rolls back
      }
      if (!fingerprint.empty() && unbound) {
        // Stored before requests had fingerprints: this repeat binds it.
        db_.Prepare("UPDATE requests SET fingerprint = ? WHERE id = ?")
            .Text(1, fingerprint)
            .Text(2, request_id)
            .Run();
        tx.Commit();
      }
      return stored;
    }
  }
  SqliteCommandTx ctx(db_);
  Outcome out;
  db_.Exec("SAVEPOINT command");
  try {
    out = fn(ctx);
    db_.Exec("RELEASE command");
  } catch (const DataError& e) {
    db_.Exec("ROLLBACK TO command");
    db_.Exec("RELEASE command");
    out = Outcome{exitcode::kDataErr, "", e.what()};
  }
  if (!request_id.empty()) {
    db_.Prepare(
           "INSERT INTO requests(id, exit_code, output, error, ts, fingerprint) "
           "VALUES(?, ?, ?, ?, ?, ?)")
        .Text(1, request_id)
        .Int(2, out.exit_code)
        .Text(3, out.output)
        .Text(4, out.error)
        .Int(5, NowMs())
        .OptText(6, fingerprint)
        .Run();
  }
  tx.Commit();
  return out;
}

void SqliteCommands::StoreQuotes(std::span<const Quote> quotes) {
  if (quotes.empty()) return;
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  WriteTx tx(db_);
  InsertQuotes(db_, quotes);
  tx.Commit();
}

void SqliteCommands::SaveWatchStates(std::span<const WatchState> states) {
  if (states.empty()) return;
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  WriteTx tx(db_);
  for (const WatchState& st : states) {
    // A state for a watch removed meanwhile is dropped, not an error.
    db_.Prepare(
           "INSERT INTO watch_states(email, ticker, state, ts, move, move_ref) "
           "SELECT ?1, ?2, ?3, ?4, ?5, ?6 "
           "WHERE EXISTS (SELECT 1 FROM watches WHERE email = ?1 AND ticker = ?2) "
           "ON CONFLICT(email, ticker) DO UPDATE SET state = excluded.state, ts = excluded.ts, "
           "move = excluded.move, move_ref = excluded.move_ref")
        .Text(1, st.email)
        .Text(2, st.ticker)
        .Int(3, static_cast<int64_t>(st.state))
        .Int(4, st.ts)
        .Int(5, st.move)
        .Double(6, st.move_ref)
        .Run();
  }
  tx.Commit();
}

void SqliteCommands::SaveMoveWindows(std::span<const TickerWindow> windows) {
  if (windows.empty()) return;
  // Encoded first: a bad price throws before anything is written.
  std::vector<std::string> encoded;
  encoded.reserve(windows.size());
  for (const TickerWindow& w : windows)
    encoded.push_back(store_internal::EncodeWindowPoints(w.points));
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  WriteTx tx(db_);
  for (size_t i = 0; i < windows.size(); ++i) {
    if (windows[i].points.empty()) {
      db_.Prepare("DELETE FROM move_windows WHERE ticker = ?").Text(1, windows[i].ticker).Run();
      continue;
    }
    db_.Prepare(
           "INSERT INTO move_windows(ticker, points) VALUES(?, ?) "
           "ON CONFLICT(ticker) DO UPDATE SET points = excluded.points")
        .Text(1, windows[i].ticker)
        .Text(2, encoded[i])
        .Run();
  }
  tx.Commit();
}

namespace {

void InsertDelivery(Db& db, std::string_view alert_id, std::string_view channel, TimeMs ts,
                    std::string_view email) {
  db.Prepare(
        "INSERT INTO deliveries(alert_id, channel, email, ts) VALUES(?, ?, ?, ?) "
        "ON CONFLICT(alert_id, channel) DO NOTHING")
      .Text(1, alert_id)
      .Text(2, channel)
      .OptText(3, email)
      .Int(4, ts)
      .Run();
}

void PutKeyValue(Db& db, std::string_view key, std::string_view value) {
  db.Prepare(
        "INSERT INTO kv(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = "
        "excluded.value")
      .Text(1, key)
      .Text(2, value)
      .Run();
}

}  // namespace

bool SqliteCommands::RecordDelivery(std::string_view alert_id, std::string_view channel, TimeMs ts,
                                    std::string_view email) {
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  InsertDelivery(db_, alert_id, channel, ts, email);
  return db_.Changes() == 1;
}

void SqliteCommands::RecordDeliveries(std::span<const DeliveryRow> rows,
                                      std::span<const KeyValue> values) {
  if (rows.empty() && values.empty()) return;
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  WriteTx tx(db_);
  for (const DeliveryRow& r : rows) InsertDelivery(db_, r.alert_id, r.channel, r.ts, r.email);
  for (const KeyValue& kv : values) PutKeyValue(db_, kv.key, kv.value);
  tx.Commit();
}

void SqliteCommands::RecordDeadLetters(std::span<const DeadLetterRow> rows,
                                       std::span<const int64_t> dequeue) {
  if (rows.empty() && dequeue.empty()) return;
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  WriteTx tx(db_);
  for (const DeadLetterRow& r : rows) {
    db_.Prepare(
           "INSERT INTO dead_letters(alert_id, channel, email, ts, error) VALUES(?, ?, ?, ?, ?)")
        .Text(1, r.alert_id)
        .Text(2, r.channel)
        .OptText(3, r.email)
        .Int(4, r.ts)
        .Text(5, r.error)
        .Run();
  }
  for (int64_t id : dequeue) db_.Prepare("DELETE FROM outbox WHERE id = ?").Int(1, id).Run();
  tx.Commit();
}

void SqliteCommands::PutValue(std::string_view key, std::string_view value) {
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  PutKeyValue(db_, key, value);
}

std::string SqliteCommands::UpdateValue(
    std::string_view key, const std::function<std::string(const std::optional<std::string>&)>& fn) {
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  WriteTx tx(db_);  // the write lock first: a concurrent update waits for ours
  std::optional<std::string> old;
  {
    Stmt s = db_.Prepare("SELECT value FROM kv WHERE key = ?");
    s.Text(1, key);
    if (s.Step()) old = s.ColText(0);
  }
  std::string value = fn(old);
  PutKeyValue(db_, key, value);
  tx.Commit();
  return value;
}

int64_t SqliteCommands::Enqueue(const OutboxItem& item) {
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  Stmt s = db_.Prepare(
      "INSERT INTO outbox(email, channel, alert_json, due, attempts, first_try) "
      "VALUES(?, ?, ?, ?, ?, ?) RETURNING id");
  s.Text(1, item.email).Text(2, item.channel).Text(3, item.alert_json).Int(4, item.due);
  s.Int(5, item.attempts).Int(6, item.first_try);
  if (!s.Step()) throw Error(exitcode::kSoftware, db_.url() + ": outbox insert returned no id");
  const int64_t id = s.ColInt(0);
  s.Run();  // finish the statement so the autocommit transaction ends
  return id;
}

void SqliteCommands::Dequeue(std::span<const int64_t> ids) {
  if (ids.empty()) return;
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  WriteTx tx(db_);
  for (int64_t id : ids) db_.Prepare("DELETE FROM outbox WHERE id = ?").Int(1, id).Run();
  tx.Commit();
}

}  // namespace stockwatch::sqlite
