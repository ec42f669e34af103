// PostgreSQL backend, query side: every read from the store. Outside a
// command each read is one autocommit statement (one round trip).
#include <algorithm>
#include <string>

#include "stockwatch/store/internal.h"
#include "stockwatch/store/pg/backend.h"

namespace stockwatch::pg {
namespace {

using Tx = pqxx::transaction_base;

// Columns: email, telegram_id, interval_s.
User ReadUser(const pqxx::row& r) {
  User u;
  u.email = r[0].as<std::string>();
  u.telegram_id = Opt<int64_t>(r[1]);
  u.interval = r[2].as<int64_t>();
  return u;
}

// Columns: email, ticker, low, high, telegram_id, move, within_s, direction.
Watch ReadWatch(const pqxx::row& r) {
  Watch w;
  w.email = r[0].as<std::string>();
  w.ticker = r[1].as<std::string>();
  w.low = Opt<double>(r[2]);
  w.high = Opt<double>(r[3]);
  w.telegram_id = Opt<int64_t>(r[4]);
  w.move = Opt<double>(r[5]);
  w.within = r[6].as<int64_t>();
  w.direction = store_internal::DirectionFromColumn(r[7].is_null() ? "" : r[7].c_str());
  return w;
}

// Columns: ticker, ts, price, currency, source, prev_close, volume.
Quote ReadQuote(const pqxx::row& r) {
  Quote q;
  q.ticker = r[0].as<std::string>();
  q.ts = r[1].as<int64_t>();
  q.price = r[2].as<double>();
  q.currency = r[3].is_null() ? std::string() : r[3].as<std::string>();
  q.source = r[4].is_null() ? std::string() : r[4].as<std::string>();
  q.prev_close = Opt<double>(r[5]);
  q.volume = Opt<int64_t>(r[6]);
  return q;
}

// Columns: id, email, channel, alert_json, due.
OutboxItem ReadOutboxItem(const pqxx::row& r) {
  return OutboxItem{r[0].as<int64_t>(),     r[1].as<std::string>(), r[2].as<std::string>(),
                    r[3].as<std::string>(), r[4].as<int64_t>(),     r[5].as<int>(),
                    r[6].as<int64_t>()};
}

template <typename T, typename F>
std::vector<T> All(const pqxx::result& res, F read) {
  std::vector<T> out;
  out.reserve(res.size());
  for (const pqxx::row& r : res) out.push_back(read(r));
  return out;
}

constexpr const char* kWatchColumns =
    "SELECT w.email, w.ticker, w.low, w.high, u.telegram_id, w.move, w.within_s, w.direction "
    "FROM watches w JOIN users u ON u.email = w.email ";

}  // namespace

std::vector<User> PgQueries::Users() {
  return conn_.Auto([&](Tx& tx) {
    return All<User>(conn_.Run(tx, "users_all",
                               "SELECT email, telegram_id, interval_s FROM users ORDER BY email"),
                     ReadUser);
  });
}

std::optional<User> PgQueries::FindUser(std::string_view email) {
  return conn_.Auto([&](Tx& tx) -> std::optional<User> {
    pqxx::result r =
        conn_.Run(tx, "user_get",
                  "SELECT email, telegram_id, interval_s FROM users WHERE email = $1", S(email));
    if (r.empty()) return std::nullopt;
    return ReadUser(r[0]);
  });
}

std::optional<User> PgQueries::FindUserByTelegram(int64_t telegram_id) {
  return conn_.Auto([&](Tx& tx) -> std::optional<User> {
    pqxx::result r = conn_.Run(
        tx, "user_get_by_telegram",
        "SELECT email, telegram_id, interval_s FROM users WHERE telegram_id = $1", telegram_id);
    if (r.empty()) return std::nullopt;
    return ReadUser(r[0]);
  });
}

std::vector<Watch> PgQueries::Watches(std::optional<std::string_view> email,
                                      std::optional<std::string_view> ticker) {
  // One statement per filter combination, so each can use its index.
  static const std::string kBoth =
      std::string(kWatchColumns) + "WHERE w.email = $1 AND w.ticker = $2";
  static const std::string kByEmail =
      std::string(kWatchColumns) + "WHERE w.email = $1 ORDER BY w.ticker";
  static const std::string kByTicker =
      std::string(kWatchColumns) + "WHERE w.ticker = $1 ORDER BY w.email";
  static const std::string kAll = std::string(kWatchColumns) + "ORDER BY w.email, w.ticker";
  return conn_.Auto([&](Tx& tx) {
    pqxx::result r;
    if (email && ticker) {
      r = conn_.Run(tx, "watches_one", kBoth.c_str(), S(*email), S(*ticker));
    } else if (email) {
      r = conn_.Run(tx, "watches_by_email", kByEmail.c_str(), S(*email));
    } else if (ticker) {
      r = conn_.Run(tx, "watches_by_ticker", kByTicker.c_str(), S(*ticker));
    } else {
      r = conn_.Run(tx, "watches_all", kAll.c_str());
    }
    return All<Watch>(r, ReadWatch);
  });
}

std::vector<std::string> PgQueries::WatchedTickers() {
  return conn_.Auto([&](Tx& tx) {
    return All<std::string>(
        conn_.Run(tx, "watched_tickers", "SELECT DISTINCT ticker FROM watches ORDER BY ticker"),
        [](const pqxx::row& r) { return r[0].as<std::string>(); });
  });
}

int64_t PgQueries::WatchesVersion() {
  return conn_.Auto([&](Tx& tx) -> int64_t {
    pqxx::result r =
        conn_.Run(tx, "watches_version", "SELECT value FROM meta WHERE key = 'watches_version'");
    return r.empty() ? 0 : r[0][0].as<int64_t>();
  });
}

std::optional<Quote> PgQueries::LastQuote(std::string_view ticker) {
  return conn_.Auto([&](Tx& tx) -> std::optional<Quote> {
    pqxx::result r = conn_.Run(
        tx, "latest_get",
        "SELECT ticker, ts, price, currency, source, prev_close, volume FROM latest_quotes "
        "WHERE ticker = $1",
        S(ticker));
    if (r.empty()) return std::nullopt;
    return ReadQuote(r[0]);
  });
}

std::pair<double, int64_t> PgQueries::AverageLast(std::string_view ticker, int64_t n) {
  if (n <= 0) return {0.0, 0};
  return conn_.Auto([&](Tx& tx) -> std::pair<double, int64_t> {
    // Summed here, oldest first (as in the SQLite backend): the same numbers
    // give the same double on both backends.
    pqxx::result r = conn_.Run(
        tx, "quotes_last_prices",
        "SELECT price FROM quotes WHERE ticker = $1 ORDER BY ts DESC LIMIT $2", S(ticker), n);
    double sum = 0;
    for (auto i = r.size(); i > 0; --i)
      sum += r[static_cast<pqxx::result::size_type>(i - 1)][0].as<double>();
    const auto count = static_cast<int64_t>(r.size());
    return {count == 0 ? 0.0 : sum / static_cast<double>(count), count};
  });
}

std::vector<Quote> PgQueries::History(std::string_view ticker, int64_t limit) {
  if (limit <= 0) return {};
  return conn_.Auto([&](Tx& tx) {
    return All<Quote>(
        conn_.Run(tx, "quotes_history",
                  "SELECT ticker, ts, price, currency, source, prev_close, volume FROM quotes "
                  "WHERE ticker = $1 ORDER BY ts DESC LIMIT $2",
                  S(ticker), limit),
        ReadQuote);
  });
}

std::vector<WatchState> PgQueries::WatchStates() {
  return conn_.Auto([&](Tx& tx) {
    return All<WatchState>(
        conn_.Run(tx, "states_all",
                  "SELECT email, ticker, state, ts, move, move_ref FROM watch_states "
                  "ORDER BY email, ticker"),
        [](const pqxx::row& r) {
          return WatchState{r[0].as<std::string>(),
                            r[1].as<std::string>(),
                            static_cast<BandState>(r[2].as<int>()),
                            r[3].as<int64_t>(),
                            static_cast<uint8_t>(r[4].as<int>()),
                            r[5].as<double>()};
        });
  });
}

std::vector<TickerWindow> PgQueries::MoveWindows() {
  return conn_.Auto([&](Tx& tx) {
    return All<TickerWindow>(conn_.Run(tx, "move_windows_all",
                                       "SELECT ticker, points FROM move_windows ORDER BY ticker"),
                             [&](const pqxx::row& r) {
                               TickerWindow w{r[0].as<std::string>(), {}};
                               std::optional<std::vector<WindowPoint>> points =
                                   store_internal::DecodeWindowPoints(r[1].c_str());
                               if (!points) {
                                 throw Error(exitcode::kSoftware,
                                             conn_.url() + ": move_windows: the points of " +
                                                 w.ticker + " are malformed");
                               }
                               w.points = std::move(*points);
                               return w;
                             });
  });
}

bool PgQueries::Delivered(std::string_view alert_id, std::string_view channel) {
  return conn_.Auto([&](Tx& tx) {
    return !conn_
                .Run(tx, "delivered",
                     "SELECT 1 FROM deliveries WHERE alert_id = $1 AND channel = $2", S(alert_id),
                     S(channel))
                .empty();
  });
}

std::vector<std::string> PgQueries::DeliveredAmong(std::span<const std::string> ids,
                                                   std::string_view channel) {
  std::vector<std::string> found;
  for (size_t at = 0; at < ids.size(); at += store_internal::kDeliveredChunk) {
    std::string array = store_internal::JsonArray(
        ids.subspan(at, std::min(store_internal::kDeliveredChunk, ids.size() - at)));
    conn_.Auto([&](Tx& tx) {
      pqxx::result r =
          conn_.Run(tx, "delivered_among",
                    "SELECT alert_id FROM deliveries WHERE channel = $1 AND alert_id IN "
                    "(SELECT json_array_elements_text($2::json))",
                    S(channel), array);
      for (const auto& row : r) found.push_back(row[0].as<std::string>());
    });
  }
  return found;
}

std::optional<std::string> PgQueries::GetValue(std::string_view key) {
  return conn_.Auto([&](Tx& tx) -> std::optional<std::string> {
    pqxx::result r = conn_.Run(tx, "kv_get", "SELECT value FROM kv WHERE key = $1", S(key));
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::string>();
  });
}

std::vector<KeyValue> PgQueries::ValuesWithPrefix(std::string_view prefix) {
  return conn_.Auto([&](Tx& tx) {
    std::vector<KeyValue> out;
    pqxx::result r =
        conn_.Run(tx, "kv_prefix",
                  "SELECT key, value FROM kv WHERE starts_with(key, $1) ORDER BY key", S(prefix));
    for (const auto& row : r) out.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
    return out;
  });
}

std::vector<std::pair<std::string, int64_t>> PgQueries::DeliveriesSince(TimeMs since) {
  return conn_.Auto([&](Tx& tx) {
    std::vector<std::pair<std::string, int64_t>> out;
    pqxx::result r = conn_.Run(tx, "deliveries_since",
                               "SELECT channel, count(*) FROM deliveries WHERE ts >= $1 "
                               "GROUP BY channel ORDER BY channel",
                               since);
    for (const auto& row : r) out.emplace_back(row[0].as<std::string>(), row[1].as<int64_t>());
    return out;
  });
}

std::vector<std::pair<std::string, int64_t>> PgQueries::DeadLettersSince(TimeMs since) {
  return conn_.Auto([&](Tx& tx) {
    std::vector<std::pair<std::string, int64_t>> out;
    pqxx::result r = conn_.Run(tx, "dead_letters_since",
                               "SELECT channel, count(*) FROM dead_letters WHERE ts >= $1 "
                               "GROUP BY channel ORDER BY channel",
                               since);
    for (const auto& row : r) out.emplace_back(row[0].as<std::string>(), row[1].as<int64_t>());
    return out;
  });
}

std::vector<OutboxItem> PgQueries::DueOutbox(TimeMs now) {
  return conn_.Auto([&](Tx& tx) {
    return All<OutboxItem>(conn_.Run(tx, "outbox_due",
                                     "SELECT id, email, channel, alert_json, due, attempts, "
                                     "first_try FROM outbox WHERE due <= $1 "
                                     "ORDER BY due, id",
                                     now),
                           ReadOutboxItem);
  });
}

std::vector<OutboxItem> PgQueries::Outbox(std::string_view email) {
  return conn_.Auto([&](Tx& tx) {
    return All<OutboxItem>(conn_.Run(tx, "outbox_by_email",
                                     "SELECT id, email, channel, alert_json, due, attempts, "
                                     "first_try FROM outbox WHERE email = $1 "
                                     "ORDER BY due, id",
                                     S(email)),
                           ReadOutboxItem);
  });
}

}  // namespace stockwatch::pg
