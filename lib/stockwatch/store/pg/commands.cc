// PostgreSQL backend, command side: every write to the store.
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "stockwatch/core/records.h"
#include "stockwatch/store/internal.h"
#include "stockwatch/store/pg/backend.h"
#include "stockwatch/store/rules.h"

namespace stockwatch::pg {
namespace {

// Batches up to this size are written row by row; larger ones go through
// COPY into a temporary table and one set-based upsert.
constexpr size_t kRowByRow = 8;

/// Keeps the last of each key, in first-seen order (an upsert may not touch
/// one row twice).
template <typename T, typename KeyFn>
std::vector<const T*> LastPerKey(std::span<const T> items, KeyFn key) {
  std::unordered_map<std::string, size_t> index;
  std::vector<const T*> out;
  out.reserve(items.size());
  for (const T& item : items) {
    auto [it, inserted] = index.try_emplace(key(item), out.size());
    if (inserted) {
      out.push_back(&item);
    } else {
      out[it->second] = &item;
    }
  }
  return out;
}

/// Fills the session's temporary table `table` (made by `ddl` on first use;
/// ON COMMIT DELETE ROWS) with one COPY of `rows`, each as `tuple(row)`.
template <typename T, typename TupleFn>
void CopyIntoTemp(pqxx::transaction_base& t, const std::string& table, const char* ddl,
                  std::vector<std::string> columns, const std::vector<const T*>& rows,
                  TupleFn tuple) {
  t.exec(ddl);
  t.exec("TRUNCATE " + table);
  pqxx::stream_to copy(t, table, columns);
  for (const T* row : rows) copy << tuple(*row);
  copy.complete();
}

/// The writes of user management, inside Execute()'s transaction: the
/// statements only; the rules are RuledCommandTx's (store/rules.cc). Other
/// connections write at the same time, so a write reports the constraint a
/// concurrent writer made it break (a Clash) instead of the driver's error.
class PgCommandTx final : public store_internal::RuledCommandTx {
 public:
  explicit PgCommandTx(Conn& c) : c_(c) {}

  void StoreQuotes(std::span<const Quote> quotes) override { InsertQuotes(c_, tx(), quotes); }

 private:
  using Settings = store_internal::Settings;
  using Clash = store_internal::Clash;

  pqxx::transaction_base& tx() { return *c_.tx(); }

  bool UserExists(const std::string& email) override {
    return !c_.Run(tx(), "user_exists", "SELECT 1 FROM users WHERE email = $1", email).empty();
  }
  std::string TelegramOwner(int64_t telegram_id) override {
    pqxx::result r = c_.Run(tx(), "user_by_telegram_email",
                            "SELECT email FROM users WHERE telegram_id = $1", telegram_id);
    return r.empty() ? std::string() : r[0][0].as<std::string>();
  }
  std::optional<Settings> WatchSettings(const std::string& email,
                                        const std::string& ticker) override {
    // FOR UPDATE: a concurrent change of the same watch waits for this one,
    // so a change is validated against what it replaces.
    pqxx::result r = c_.Run(tx(), "watch_get_for_update",
                            "SELECT low, high, move, within_s, direction FROM watches "
                            "WHERE email = $1 AND ticker = $2 FOR UPDATE",
                            email, ticker);
    if (r.empty()) return std::nullopt;
    Settings w;
    w.low = Opt<double>(r[0][0]);
    w.high = Opt<double>(r[0][1]);
    w.move = Opt<double>(r[0][2]);
    w.within = r[0][3].as<int64_t>();
    w.direction = store_internal::DirectionFromColumn(r[0][4].is_null() ? "" : r[0][4].c_str());
    return w;
  }
  Clash InsertUser(const User& u) override {
    try {
      c_.Run(tx(), "user_insert",
             "INSERT INTO users(email, telegram_id, interval_s) VALUES($1, $2, $3)", u.email,
             u.telegram_id, u.interval);
    } catch (const pqxx::unique_violation&) {  // a concurrent add won the race
      return Clash::kEmailTaken;
    }
    return Clash::kNone;
  }
  Clash SetTelegramId(const std::string& email, std::optional<int64_t> telegram_id) override {
    try {
      c_.Run(tx(), "user_set_telegram", "UPDATE users SET telegram_id = $1 WHERE email = $2",
             telegram_id, email);
    } catch (const pqxx::unique_violation&) {
      return Clash::kTelegramTaken;
    }
    return Clash::kNone;
  }
  void SetInterval(const std::string& email, int64_t interval) override {
    c_.Run(tx(), "user_set_interval", "UPDATE users SET interval_s = $1 WHERE email = $2", interval,
           email);
  }
  void DeleteUser(const std::string& email) override {
    auto& t = tx();
    // Watches and their states also go by ON DELETE CASCADE; deliveries and
    // the outbox are not tied by a foreign key (they may outlive a watch).
    c_.Run(t, "deliveries_delete_user", "DELETE FROM deliveries WHERE email = $1", email);
    c_.Run(t, "dead_letters_delete_user", "DELETE FROM dead_letters WHERE email = $1", email);
    c_.Run(t, "outbox_delete_user", "DELETE FROM outbox WHERE email = $1", email);
    // Per-user values (stock-notify's "paused:EMAIL", "notify.last:CHANNEL:EMAIL").
    c_.Run(t, "kv_delete_user", "DELETE FROM kv WHERE right(key, length($1)) = $1", ":" + email);
    c_.Run(t, "states_delete_user", "DELETE FROM watch_states WHERE email = $1", email);
    c_.Run(t, "watches_delete_user", "DELETE FROM watches WHERE email = $1", email);
    c_.Run(t, "user_delete", "DELETE FROM users WHERE email = $1", email);
  }
  Clash InsertWatch(const Watch& w) override {
    try {
      c_.Run(tx(), "watch_insert",
             "INSERT INTO watches(email, ticker, low, high, move, within_s, direction) "
             "VALUES($1, $2, $3, $4, $5, $6, $7)",
             w.email, w.ticker, w.low, w.high, w.move, w.within,
             store_internal::DirectionColumn(w.direction));
    } catch (const pqxx::unique_violation&) {
      return Clash::kWatchExists;
    } catch (const pqxx::foreign_key_violation&) {
      return Clash::kNoOwner;
    }
    return Clash::kNone;
  }
  void UpdateSettings(const std::string& email, const std::string& ticker,
                      const Settings& w) override {
    c_.Run(tx(), "watch_update",
           "UPDATE watches SET low = $1, high = $2, move = $3, within_s = $4, direction = $5 "
           "WHERE email = $6 AND ticker = $7",
           w.low, w.high, w.move, w.within, store_internal::DirectionColumn(w.direction), email,
           ticker);
  }
  void RearmStates(const std::string& email, const std::string& ticker, int stale) override {
    // As in sqlite/commands.cc: a row with nothing left that holds goes; the
    // rest of what is stale is reset in place.
    c_.Run(tx(), "watch_state_rearm_delete",
           "DELETE FROM watch_states WHERE email = $1 AND ticker = $2 AND "
           "((state = 1 AND ($3::int & 1) <> 0) OR (state = 2 AND ($3::int & 2) <> 0) OR "
           "(state = 0 AND ($3::int & 4) <> 0)) AND "
           "((move = 0 AND move_ref = 0) OR ($3::int & 4) <> 0)",
           email, ticker, stale);
    c_.Run(tx(), "watch_state_rearm_update",
           "UPDATE watch_states SET "
           "state = CASE WHEN (state = 1 AND ($3::int & 1) <> 0) OR "
           "(state = 2 AND ($3::int & 2) <> 0) THEN 0 ELSE state END, "
           "move = CASE WHEN ($3::int & 4) <> 0 THEN 0 ELSE move END, "
           "move_ref = CASE WHEN ($3::int & 4) <> 0 THEN 0 ELSE move_ref END "
           "WHERE email = $1 AND ticker = $2",
           email, ticker, stale);
  }
  bool DeleteWatch(const std::string& email, const std::string& ticker) override {
    return c_.Run(tx(), "watch_delete", "DELETE FROM watches WHERE email = $1 AND ticker = $2",
                  email, ticker)
               .affected_rows() != 0;
  }
  bool UpsertUsers(std::span<const User> users, std::optional<int64_t>* taken) override {
    auto& t = tx();
    const std::vector<const User*> rows = LastPerKey(users, [](const User& u) { return u.email; });
    CopyIntoTemp(t, "sw_in_users",
                 "CREATE TEMP TABLE IF NOT EXISTS sw_in_users(email TEXT COLLATE \"C\", "
                 "telegram_id BIGINT, interval_s BIGINT) ON COMMIT DELETE ROWS",
                 {"email", "telegram_id", "interval_s"}, rows,
                 [](const User& u) { return std::make_tuple(u.email, u.telegram_id, u.interval); });
    // The upsert runs first, under a savepoint; only when it fails is the
    // clashing id looked for, set-based (hash joins; an ORDER BY ... LIMIT made
    // the planner walk the index in nested loops: 7 s for 5000 rows): an id the
    // batch gives twice, or an id a user outside the change keeps.
    t.exec("SAVEPOINT sw_put_users");
    try {
      c_.Run(t, "users_upsert_from_temp",
             "INSERT INTO users(email, telegram_id, interval_s) "
             "SELECT email, telegram_id, interval_s FROM sw_in_users "
             "ON CONFLICT(email) DO UPDATE SET telegram_id = excluded.telegram_id, "
             "interval_s = excluded.interval_s");
    } catch (const pqxx::unique_violation&) {
      t.exec("ROLLBACK TO SAVEPOINT sw_put_users");
      pqxx::result twice = c_.Run(t, "users_telegram_twice",
                                  "SELECT min(telegram_id) FROM (SELECT telegram_id FROM "
                                  "sw_in_users WHERE telegram_id IS NOT NULL GROUP BY telegram_id "
                                  "HAVING count(*) > 1) d");
      pqxx::result kept =
          c_.Run(t, "users_telegram_kept",
                 "SELECT min(i.telegram_id) FROM sw_in_users i "
                 "JOIN users u ON u.telegram_id = i.telegram_id AND u.email <> i.email "
                 "WHERE NOT EXISTS (SELECT 1 FROM sw_in_users k WHERE k.email = u.email)");
      *taken = std::nullopt;  // a concurrent writer's, when neither query finds it
      for (const pqxx::result* r : {&twice, &kept}) {
        if (!(*r)[0][0].is_null()) {
          *taken = (*r)[0][0].as<int64_t>();
          break;
        }
      }
      return false;
    }
    return true;
  }
  bool UpsertWatches(std::span<const Watch> watches, std::string* missing) override {
    auto& t = tx();
    const std::vector<const Watch*> rows = LastPerKey(watches, [](const Watch& w) {
      std::string key = w.email;
      key.push_back('\0');
      key += w.ticker;
      return key;
    });
    CopyIntoTemp(t, "sw_in_watches",
                 "CREATE TEMP TABLE IF NOT EXISTS sw_in_watches(email TEXT COLLATE \"C\", "
                 "ticker TEXT COLLATE \"C\", low DOUBLE PRECISION, high DOUBLE PRECISION, "
                 "move DOUBLE PRECISION, within_s BIGINT, direction TEXT) "
                 "ON COMMIT DELETE ROWS",
                 {"email", "ticker", "low", "high", "move", "within_s", "direction"}, rows,
                 [](const Watch& w) {
                   return std::make_tuple(w.email, w.ticker, w.low, w.high, w.move, w.within,
                                          store_internal::DirectionColumn(w.direction));
                 });
    // The move bits of a watch whose move changes are stale.
    c_.Run(t, "watch_states_rearm_from_temp",
           "UPDATE watch_states s SET move = 0, move_ref = 0 FROM watches w, sw_in_watches i "
           "WHERE w.email = s.email AND w.ticker = s.ticker AND i.email = s.email "
           "AND i.ticker = s.ticker AND (w.move IS DISTINCT FROM i.move OR "
           "w.within_s <> i.within_s OR w.direction IS DISTINCT FROM i.direction)");
    // The upsert runs first, under a savepoint; only when it fails is the
    // missing owner looked for (the happy path pays nothing for the message).
    t.exec("SAVEPOINT sw_put_watches");
    try {
      c_.Run(t, "watches_upsert_from_temp",
             "INSERT INTO watches(email, ticker, low, high, move, within_s, direction) "
             "SELECT email, ticker, low, high, move, within_s, direction FROM sw_in_watches "
             "ON CONFLICT(email, ticker) DO UPDATE SET low = excluded.low, high = excluded.high, "
             "move = excluded.move, within_s = excluded.within_s, "
             "direction = excluded.direction");
    } catch (const pqxx::foreign_key_violation&) {
      t.exec("ROLLBACK TO SAVEPOINT sw_put_watches");
      pqxx::result orphan = c_.Run(t, "watches_missing_owner",
                                   "SELECT w.email FROM sw_in_watches w WHERE NOT EXISTS "
                                   "(SELECT 1 FROM users u WHERE u.email = w.email) LIMIT 1");
      if (orphan.empty()) {
        missing->clear();
      } else {
        *missing = orphan[0][0].as<std::string>();
      }
      return false;
    }
    return true;
  }
  void BumpWatchesVersion() override {
    c_.Run(tx(), "bump_watches_version",
           "UPDATE meta SET value = value + 1 WHERE key = 'watches_version'");
  }

  Conn& c_;
};

// Newest per ticker, in ticker order (a fixed lock order on latest_quotes).
void InsertQuotesRowByRow(Conn& c, pqxx::transaction_base& tx,
                          const std::vector<const Quote*>& rows) {
  std::map<std::string_view, const Quote*> newest;
  for (const Quote* q : rows) {
    c.Run(tx, "quote_upsert",
          "INSERT INTO quotes(ticker, ts, price, currency, source, prev_close, volume) "
          "VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(ticker, ts) DO UPDATE SET "
          "price = excluded.price, currency = excluded.currency, source = excluded.source, "
          "prev_close = excluded.prev_close, volume = excluded.volume",
          q->ticker, q->ts, q->price,
          q->currency.empty() ? std::optional<std::string>() : q->currency,
          q->source.empty() ? std::optional<std::string>() : q->source, q->prev_close, q->volume);
    auto [it, inserted] = newest.try_emplace(q->ticker, q);
    if (!inserted && q->ts >= it->second->ts) it->second = q;
  }
  for (const auto& [ticker, q] : newest) {
    c.Run(tx, "latest_upsert",
          "INSERT INTO latest_quotes(ticker, ts, price, currency, source, prev_close, volume) "
          "VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(ticker) DO UPDATE SET "
          "ts = excluded.ts, price = excluded.price, currency = excluded.currency, "
          "source = excluded.source, prev_close = excluded.prev_close, volume = excluded.volume "
          "WHERE excluded.ts >= latest_quotes.ts",
          q->ticker, q->ts, q->price,
          q->currency.empty() ? std::optional<std::string>() : q->currency,
          q->source.empty() ? std::optional<std::string>() : q->source, q->prev_close, q->volume);
  }
}

// COPY into a temporary table, then one set-based upsert per table.
void InsertQuotesByCopy(Conn& c, pqxx::transaction_base& tx,
                        const std::vector<const Quote*>& rows) {
  CopyIntoTemp(
      tx, "sw_in_quotes",
      "CREATE TEMP TABLE IF NOT EXISTS sw_in_quotes(ticker TEXT COLLATE \"C\", ts BIGINT, "
      "price DOUBLE PRECISION, currency TEXT, source TEXT, prev_close DOUBLE PRECISION, "
      "volume BIGINT) ON COMMIT DELETE ROWS",
      {"ticker", "ts", "price", "currency", "source", "prev_close", "volume"}, rows,
      [](const Quote& q) {
        CheckText(q.currency);
        CheckText(q.source);
        return std::make_tuple(
            q.ticker, q.ts, q.price, q.currency.empty() ? std::optional<std::string>() : q.currency,
            q.source.empty() ? std::optional<std::string>() : q.source, q.prev_close, q.volume);
      });
  c.Run(tx, "quotes_upsert_from_temp",
        "INSERT INTO quotes(ticker, ts, price, currency, source, prev_close, volume) "
        "SELECT ticker, ts, price, currency, source, prev_close, volume FROM sw_in_quotes "
        "ON CONFLICT(ticker, ts) DO UPDATE SET price = excluded.price, "
        "currency = excluded.currency, source = excluded.source, "
        "prev_close = excluded.prev_close, volume = excluded.volume");
  c.Run(tx, "latest_upsert_from_temp",
        "INSERT INTO latest_quotes(ticker, ts, price, currency, source, prev_close, volume) "
        "SELECT DISTINCT ON (ticker) ticker, ts, price, currency, source, prev_close, volume "
        "FROM sw_in_quotes ORDER BY ticker, ts DESC "
        "ON CONFLICT(ticker) DO UPDATE SET ts = excluded.ts, price = excluded.price, "
        "currency = excluded.currency, source = excluded.source, "
        "prev_close = excluded.prev_close, volume = excluded.volume "
        "WHERE excluded.ts >= latest_quotes.ts");
}

}  // namespace

void InsertQuotes(Conn& c, pqxx::transaction_base& tx, std::span<const Quote> quotes) {
  if (quotes.empty()) return;
  const std::vector<const Quote*> rows = LastPerKey(quotes, [](const Quote& q) {
    std::string key = q.ticker;
    key.push_back('\0');
    key += std::to_string(q.ts);
    return key;
  });
  if (rows.size() <= kRowByRow) {
    InsertQuotesRowByRow(c, tx, rows);
  } else {
    InsertQuotesByCopy(c, tx, rows);
  }
}

namespace {

/// Runs a command without a request id: committed, unless it throws
/// DataError (an outcome; `w` rolls back).
template <typename Run>
Outcome RunUnclaimed(Conn& conn, pqxx::work& w, Run& run) {
  Outcome out;
  {
    Conn::TxScope scope(conn, &w);
    try {
      out = run();
    } catch (const DataError& e) {
      return Outcome{exitcode::kDataErr, "", e.what()};  // `w` rolls back
    }
  }
  w.commit();
  return out;
}

/// Claims the request id; when another request has it already, its stored
/// outcome (or the refusal of a reused id). A concurrent repeat blocks on
/// the primary key until this transaction ends, then finds the stored outcome.
std::optional<Outcome> ClaimOrRepeat(Conn& conn, pqxx::work& w, std::string_view request_id,
                                     const std::optional<std::string>& fp) {
  const std::string id(request_id);
  pqxx::result claim = conn.Run(
      w, "request_claim",
      "INSERT INTO requests(id, ts, fingerprint) VALUES($1, $2, $3) ON CONFLICT(id) DO NOTHING", id,
      NowMs(), fp);
  if (claim.affected_rows() != 0) return std::nullopt;
  pqxx::result r =
      conn.Run(w, "request_get",
               "SELECT exit_code, output, error, fingerprint FROM requests WHERE id = $1", id);
  if (r.empty() || r[0][0].is_null()) {
    throw Error(exitcode::kSoftware, "request " + id + ": stored without an outcome");
  }
  Outcome stored{r[0][0].as<int>(), r[0][1].as<std::string>(), r[0][2].as<std::string>()};
  if (fp && !r[0][3].is_null() && r[0][3].as<std::string>() != *fp) {
    return store_internal::RequestIdReused(request_id);  // `w` rolls back
  }
  if (fp && r[0][3].is_null()) {
    // Stored before requests had fingerprints: this repeat binds it.
    conn.Run(w, "request_bind", "UPDATE requests SET fingerprint = $2 WHERE id = $1", id, *fp);
  }
  w.commit();
  return stored;
}

/// Runs the command of a claimed request id and stores its outcome with it.
/// A savepoint, so that a DataError undoes the command but keeps the
/// claim. (Plain SQL: libpqxx 6's subtransaction does not issue its
/// SAVEPOINT before exec_prepared.)
template <typename Run>
Outcome RunClaimed(Conn& conn, pqxx::work& w, const std::string& id, Run& run) {
  Outcome out;
  w.exec("SAVEPOINT command");
  try {
    Conn::TxScope scope(conn, &w);
    out = run();
    w.exec("RELEASE SAVEPOINT command");
  } catch (const DataError& e) {
    w.exec("ROLLBACK TO SAVEPOINT command");
    out = Outcome{exitcode::kDataErr, "", e.what()};
  }
  conn.Run(w, "request_set",
           "UPDATE requests SET exit_code = $2, output = $3, error = $4 WHERE id = $1", id,
           out.exit_code, out.output, out.error);
  w.commit();
  return out;
}

}  // namespace

Outcome PgCommands::Execute(std::string_view request_id, std::string_view fingerprint,
                            const std::function<Outcome(CommandTx&)>& fn) {
  return conn_.Guard([&] {
    PgCommandTx ctx(conn_);
    // Integrity and data errors raised by the server inside `fn` become
    // DataError (an outcome), like the command's own validation errors.
    auto run = [&] {
      try {
        return fn(ctx);
      } catch (const pqxx::sql_error& e) {
        conn_.Rethrow(e);
      }
    };
    pqxx::work w(conn_.c());
    if (request_id.empty()) return RunUnclaimed(conn_, w, run);
    const std::optional<std::string> fp =
        fingerprint.empty() ? std::nullopt : std::optional<std::string>(fingerprint);
    if (std::optional<Outcome> stored = ClaimOrRepeat(conn_, w, request_id, fp)) return *stored;
    return RunClaimed(conn_, w, std::string(request_id), run);
  });
}

void PgCommands::StoreQuotes(std::span<const Quote> quotes) {
  if (quotes.empty()) return;
  conn_.Write([&](pqxx::transaction_base& tx) { InsertQuotes(conn_, tx, quotes); });
}

void PgCommands::SaveWatchStates(std::span<const WatchState> states) {
  if (states.empty()) return;
  conn_.Write([&](pqxx::transaction_base& tx) {
    for (const WatchState& st : states) {
      // A state for a watch removed meanwhile is dropped, not an error.
      conn_.Run(tx, "state_upsert",
                "INSERT INTO watch_states(email, ticker, state, ts, move, move_ref) "
                "SELECT $1, $2, $3::smallint, $4::bigint, $5::smallint, $6::double precision "
                "WHERE EXISTS (SELECT 1 FROM watches WHERE email = $1 AND ticker = $2) "
                "ON CONFLICT(email, ticker) DO UPDATE SET state = excluded.state, "
                "ts = excluded.ts, move = excluded.move, move_ref = excluded.move_ref",
                st.email, st.ticker, static_cast<int>(st.state), st.ts, static_cast<int>(st.move),
                st.move_ref);
    }
  });
}

void PgCommands::SaveMoveWindows(std::span<const TickerWindow> windows) {
  if (windows.empty()) return;
  // Two statements whatever the number of tickers: the tickers to delete as
  // a JSON array, the rows to upsert as a JSON array of {"t", "p"} objects
  // (the last of each ticker; an upsert may not touch a row twice).
  const std::vector<const TickerWindow*> rows =
      LastPerKey(windows, [](const TickerWindow& w) { return w.ticker; });
  std::string gone = "[", put = "[";
  for (const TickerWindow* w : rows) {
    CheckText(w->ticker);
    if (w->points.empty()) {
      if (gone.size() > 1) gone.push_back(',');
      AppendJsonString(gone, w->ticker);
      continue;
    }
    if (put.size() > 1) put.push_back(',');
    put += "{\"t\":";
    AppendJsonString(put, w->ticker);
    put += ",\"p\":\"";
    put += store_internal::EncodeWindowPoints(w->points);  // digits, ':', ',', '.', 'e', '-'
    put += "\"}";
  }
  gone.push_back(']');
  put.push_back(']');
  conn_.Write([&](pqxx::transaction_base& tx) {
    if (gone.size() > 2) {
      conn_.Run(tx, "move_windows_delete",
                "DELETE FROM move_windows WHERE ticker IN "
                "(SELECT json_array_elements_text($1::json))",
                gone);
    }
    if (put.size() > 2) {
      conn_.Run(tx, "move_windows_upsert",
                "INSERT INTO move_windows(ticker, points) SELECT t, p FROM "
                "json_to_recordset($1::json) AS x(t TEXT, p TEXT) "
                "ON CONFLICT(ticker) DO UPDATE SET points = excluded.points",
                put);
    }
  });
}

namespace {

pqxx::result InsertDelivery(Conn& conn, pqxx::transaction_base& tx, std::string_view alert_id,
                            std::string_view channel, TimeMs ts, std::string_view email) {
  return conn.Run(tx, "delivery_insert",
                  "INSERT INTO deliveries(alert_id, channel, email, ts) VALUES($1, $2, $3, $4) "
                  "ON CONFLICT(alert_id, channel) DO NOTHING",
                  S(alert_id), S(channel), email.empty() ? std::optional<std::string>() : S(email),
                  ts);
}

void PutKeyValue(Conn& conn, pqxx::transaction_base& tx, std::string_view key,
                 std::string_view value) {
  conn.Run(tx, "kv_put",
           "INSERT INTO kv(key, value) VALUES($1, $2) "
           "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
           S(key), S(value));
}

}  // namespace

bool PgCommands::RecordDelivery(std::string_view alert_id, std::string_view channel, TimeMs ts,
                                std::string_view email) {
  return conn_.Auto([&](pqxx::transaction_base& tx) {
    return InsertDelivery(conn_, tx, alert_id, channel, ts, email).affected_rows() == 1;
  });
}

void PgCommands::RecordDeliveries(std::span<const DeliveryRow> rows,
                                  std::span<const KeyValue> values) {
  if (rows.empty() && values.empty()) return;
  conn_.Write([&](pqxx::transaction_base& tx) {
    for (const DeliveryRow& r : rows)
      InsertDelivery(conn_, tx, r.alert_id, r.channel, r.ts, r.email);
    for (const KeyValue& kv : values) PutKeyValue(conn_, tx, kv.key, kv.value);
  });
}

void PgCommands::RecordDeadLetters(std::span<const DeadLetterRow> rows,
                                   std::span<const int64_t> dequeue) {
  if (rows.empty() && dequeue.empty()) return;
  // An array literal of integers: nothing to escape.
  std::string array = "{";
  for (size_t i = 0; i < dequeue.size(); ++i) {
    if (i > 0) array += ',';
    array += std::to_string(dequeue[i]);
  }
  array += '}';
  conn_.Write([&](pqxx::transaction_base& tx) {
    for (const DeadLetterRow& r : rows) {
      conn_.Run(tx, "dead_letter_insert",
                "INSERT INTO dead_letters(alert_id, channel, email, ts, error) "
                "VALUES($1, $2, $3, $4, $5)",
                r.alert_id, r.channel, r.email.empty() ? std::optional<std::string>() : r.email,
                r.ts, r.error);
    }
    if (!dequeue.empty())
      conn_.Run(tx, "outbox_delete", "DELETE FROM outbox WHERE id = ANY($1::bigint[])", array);
  });
}

void PgCommands::PutValue(std::string_view key, std::string_view value) {
  conn_.Auto([&](pqxx::transaction_base& tx) { PutKeyValue(conn_, tx, key, value); });
}

std::string PgCommands::UpdateValue(
    std::string_view key, const std::function<std::string(const std::optional<std::string>&)>& fn) {
  return conn_.Write([&](pqxx::transaction_base& tx) {
    // A lock on the key itself, held to the commit: it works before the row
    // exists, where SELECT ... FOR UPDATE would lock nothing.
    conn_.Run(tx, "kv_lock", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", S(key));
    pqxx::result r =
        conn_.Run(tx, "kv_get_for_update", "SELECT value FROM kv WHERE key = $1", S(key));
    std::optional<std::string> old;
    if (!r.empty()) old = r[0][0].as<std::string>();
    std::string value = fn(old);
    PutKeyValue(conn_, tx, key, value);
    return value;
  });
}

int64_t PgCommands::Enqueue(const OutboxItem& item) {
  return conn_.Auto([&](pqxx::transaction_base& tx) {
    pqxx::result r = conn_.Run(
        tx, "outbox_insert",
        "INSERT INTO outbox(email, channel, alert_json, due, attempts, first_try) "
        "VALUES($1, $2, $3, $4, $5, $6) RETURNING id",
        item.email, item.channel, item.alert_json, item.due, item.attempts, item.first_try);
    return r[0][0].as<int64_t>();
  });
}

void PgCommands::Dequeue(std::span<const int64_t> ids) {
  if (ids.empty()) return;
  // An array literal of integers: nothing to escape.
  std::string array = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) array += ',';
    array += std::to_string(ids[i]);
  }
  array += '}';
  conn_.Auto([&](pqxx::transaction_base& tx) {
    conn_.Run(tx, "outbox_delete", "DELETE FROM outbox WHERE id = ANY($1::bigint[])", array);
  });
}

}  // namespace stockwatch::pg
