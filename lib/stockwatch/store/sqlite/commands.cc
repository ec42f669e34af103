// SQLite backend, command side: every write to the store.
#include <string>
#include <unordered_map>

#include "stockwatch/core/error.h"
#include "stockwatch/core/records.h"
#include "stockwatch/store/internal.h"
#include "stockwatch/store/sqlite/backend.h"

namespace stockwatch::sqlite {
namespace {

void BumpWatchesVersion(Db& db) {
  db.Prepare("UPDATE meta SET value = value + 1 WHERE key = 'watches_version'").Run();
}

bool UserExists(Db& db, std::string_view email) {
  Stmt s = db.Prepare("SELECT 1 FROM users WHERE email = ?");
  s.Text(1, email);
  return s.Step();
}

// The email of the user linked to `telegram_id`, "" when none.
std::string TelegramOwner(Db& db, int64_t telegram_id) {
  Stmt s = db.Prepare("SELECT email FROM users WHERE telegram_id = ?");
  s.Int(1, telegram_id);
  return s.Step() ? s.ColText(0) : std::string();
}

[[noreturn]] void ThrowNoSuchUser(std::string_view email) {
  throw DataError("email: no such user: " + std::string(email));
}

[[noreturn]] void ThrowTelegramTaken(int64_t telegram_id) {
  throw DataError("telegram_id: " + std::to_string(telegram_id) +
                  " is already linked to another user");
}

/// The writes of user management, inside Execute()'s transaction.
class SqliteCommandTx : public CommandTx {
 public:
  explicit SqliteCommandTx(Db& db) : db_(db) {}

  void AddUser(const User& u) override {
    User user = u;
    Validate(user);
    if (UserExists(db_, user.email)) {
      throw DataError("email: " + user.email + " is already registered");
    }
    if (user.telegram_id && !TelegramOwner(db_, *user.telegram_id).empty()) {
      ThrowTelegramTaken(*user.telegram_id);
    }
    db_.Prepare("INSERT INTO users(email, telegram_id, interval_s) VALUES(?, ?, ?)")
        .Text(1, user.email)
        .OptInt(2, user.telegram_id)
        .Int(3, user.interval)
        .Run();
    BumpWatchesVersion(db_);
  }

  void SetUser(std::string_view email_in, std::optional<std::optional<int64_t>> telegram_id,
               std::optional<int64_t> interval) override {
    const std::string email = NormalizeEmail(email_in);
    if (!UserExists(db_, email)) ThrowNoSuchUser(email);
    if (interval && *interval < 0) throw DataError("interval: must be 0 or more seconds");
    if (telegram_id) {
      if (*telegram_id) {
        const std::string owner = TelegramOwner(db_, **telegram_id);
        if (!owner.empty() && owner != email) ThrowTelegramTaken(**telegram_id);
      }
      db_.Prepare("UPDATE users SET telegram_id = ? WHERE email = ?")
          .OptInt(1, *telegram_id)
          .Text(2, email)
          .Run();
    }
    if (interval) {
      db_.Prepare("UPDATE users SET interval_s = ? WHERE email = ?")
          .Int(1, *interval)
          .Text(2, email)
          .Run();
    }
    BumpWatchesVersion(db_);
  }

  void RemoveUser(std::string_view email_in) override {
    const std::string email = NormalizeEmail(email_in);
    if (!UserExists(db_, email)) ThrowNoSuchUser(email);
    // Watches and their states also go by ON DELETE CASCADE; deliveries and
    // the outbox are not tied by a foreign key (they may outlive a watch).
    db_.Prepare("DELETE FROM deliveries WHERE email = ?").Text(1, email).Run();
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
    BumpWatchesVersion(db_);
  }

  void AddWatch(const Watch& w) override {
    Watch watch = w;
    Validate(watch);
    if (!UserExists(db_, watch.email)) ThrowNoSuchUser(watch.email);
    {
      Stmt s = db_.Prepare("SELECT 1 FROM watches WHERE email = ? AND ticker = ?");
      s.Text(1, watch.email).Text(2, watch.ticker);
      if (s.Step()) {
        throw DataError("ticker: " + watch.email + " already watches " + watch.ticker +
                        " (use watch set to change it)");
      }
    }
    db_.Prepare("INSERT INTO watches(email, ticker, low, high) VALUES(?, ?, ?, ?)")
        .Text(1, watch.email)
        .Text(2, watch.ticker)
        .OptDouble(3, watch.low)
        .OptDouble(4, watch.high)
        .Run();
    BumpWatchesVersion(db_);
  }

  void SetWatch(std::string_view email_in, std::string_view ticker_in,
                std::optional<std::optional<double>> low,
                std::optional<std::optional<double>> high) override {
    const std::string email = NormalizeEmail(email_in);
    const std::string ticker = NormalizeTicker(ticker_in);
    std::optional<double> cur_low, cur_high, old_low, old_high;
    {
      Stmt s = db_.Prepare("SELECT low, high FROM watches WHERE email = ? AND ticker = ?");
      s.Text(1, email).Text(2, ticker);
      if (!s.Step()) {
        if (!UserExists(db_, email)) ThrowNoSuchUser(email);
        throw DataError("ticker: no such watch: " + email + " " + ticker);
      }
      old_low = cur_low = s.ColOptDouble(0);
      old_high = cur_high = s.ColOptDouble(1);
    }
    if (low) cur_low = *low;
    if (high) cur_high = *high;
    ValidateBand(cur_low, cur_high, low && !high ? "low" : "high");  // blame what was set
    db_.Prepare("UPDATE watches SET low = ?, high = ? WHERE email = ? AND ticker = ?")
        .OptDouble(1, cur_low)
        .OptDouble(2, cur_high)
        .Text(3, email)
        .Text(4, ticker)
        .Run();
    // A saved edge state is about the bound that set it: once that bound
    // changes, the watch is re-armed (what a running stock-alert does too).
    int stale = store_internal::StaleStateMask(old_low, old_high, cur_low, cur_high);
    if (stale != 0) {
      db_.Prepare("DELETE FROM watch_states WHERE email = ? AND ticker = ? AND "
                  "((state = 1 AND ? & 1) OR (state = 2 AND ? & 2))")
          .Text(1, email)
          .Text(2, ticker)
          .Int(3, stale)
          .Int(4, stale)
          .Run();
    }
    BumpWatchesVersion(db_);
  }

  void RemoveWatch(std::string_view email_in, std::string_view ticker_in) override {
    const std::string email = NormalizeEmail(email_in);
    const std::string ticker = NormalizeTicker(ticker_in);
    db_.Prepare("DELETE FROM watches WHERE email = ? AND ticker = ?")
        .Text(1, email)
        .Text(2, ticker)
        .Run();
    if (db_.Changes() == 0) {
      if (!UserExists(db_, email)) ThrowNoSuchUser(email);
      throw DataError("ticker: no such watch: " + email + " " + ticker);
    }
    BumpWatchesVersion(db_);
  }

  void PutUsers(std::span<const User> users) override {
    for (const User& u : users) {
      Stmt s = db_.Prepare(
          "INSERT INTO users(email, telegram_id, interval_s) VALUES(?, ?, ?) "
          "ON CONFLICT(email) DO UPDATE SET telegram_id = excluded.telegram_id, "
          "interval_s = excluded.interval_s");
      s.Text(1, u.email).OptInt(2, u.telegram_id).Int(3, u.interval);
      try {
        s.Run();
      } catch (const DataError&) {  // the only constraint left: telegram_id UNIQUE
        ThrowTelegramTaken(u.telegram_id.value_or(0));
      }
    }
    if (!users.empty()) BumpWatchesVersion(db_);
  }

  void PutWatches(std::span<const Watch> watches) override {
    for (const Watch& w : watches) {
      Stmt s = db_.Prepare(
          "INSERT INTO watches(email, ticker, low, high) VALUES(?, ?, ?, ?) "
          "ON CONFLICT(email, ticker) DO UPDATE SET low = excluded.low, high = excluded.high");
      s.Text(1, w.email).Text(2, w.ticker).OptDouble(3, w.low).OptDouble(4, w.high);
      try {
        s.Run();
      } catch (const DataError&) {  // FOREIGN KEY: the owner is missing
        ThrowNoSuchUser(w.email);
      }
    }
    if (!watches.empty()) BumpWatchesVersion(db_);
  }

  void StoreQuotes(std::span<const Quote> quotes) override { InsertQuotes(db_, quotes); }

 private:
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
           "INSERT INTO watch_states(email, ticker, state, ts) SELECT ?1, ?2, ?3, ?4 "
           "WHERE EXISTS (SELECT 1 FROM watches WHERE email = ?1 AND ticker = ?2) "
           "ON CONFLICT(email, ticker) DO UPDATE SET state = excluded.state, ts = excluded.ts")
        .Text(1, st.email)
        .Text(2, st.ticker)
        .Int(3, static_cast<int64_t>(st.state))
        .Int(4, st.ts)
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

void SqliteCommands::PutValue(std::string_view key, std::string_view value) {
  std::lock_guard<std::recursive_mutex> lock(db_.mu());
  PutKeyValue(db_, key, value);
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
