#pragma once
/// PostgreSQL backend internals (libpqxx 6.4): one connection with prepared
/// statements, and the command and query sides (pg/commands.cc,
/// pg/queries.cc) over it.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <utility>

#include <pqxx/pqxx>

#include "stockwatch/core/error.h"
#include "stockwatch/store/store.h"

namespace stockwatch::pg {

/// libpqxx converts std::string, not std::string_view.
inline std::string S(std::string_view v) { return std::string(v); }

/// PostgreSQL text cannot hold a NUL byte (libpq would cut the string
/// there): throws DataError rather than store something else.
inline void CheckText(std::string_view s) {
  if (s.find('\0') != std::string_view::npos) {
    throw DataError("value: contains a NUL byte, which PostgreSQL cannot store");
  }
}
inline void CheckParam(const std::string& s) { CheckText(s); }
inline void CheckParam(const std::optional<std::string>& s) {
  if (s) CheckText(*s);
}
template <typename T>
void CheckParam(const T&) {}

/// A nullable column.
template <typename T>
std::optional<T> Opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

/// connect_timeout when neither the URL nor PGCONNECT_TIMEOUT sets one.
inline constexpr int kDefaultConnectTimeoutS = 5;

/// Thrown by Connector when a stop request ends a connection attempt.
class ConnectStopped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// libpqxx connection policy (pg/connect.cc): connects without
/// blocking, so that a stop request (SIGTERM) ends the attempt at once, and
/// gives up after connect_timeout seconds (kDefaultConnectTimeoutS unless
/// the URL says otherwise; 0 waits as long as it takes).
class Connector : public pqxx::connectionpolicy {
 public:
  explicit Connector(const std::string& opts) : pqxx::connectionpolicy(opts) {}
  handle do_startconnect(handle orig) override;
};
using Connection = pqxx::basic_connection_base<Connector>;

/// Watches the calls a Conn makes: once a stop was requested and its grace
/// (StopGraceLeftMs) has run out while a call still waits on the server,
/// shuts the connection's socket down, so that libpq's wait (which retries
/// after signals) ends with a broken connection.
class Watchdog {
 public:
  Watchdog();
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  /// A call on the socket `fd` starts.
  void Enter(int fd);
  /// The call ended; true when the watchdog cut it short.
  bool Leave();

 private:
  void Loop();
  std::mutex mu_;
  std::condition_variable cv_;
  int fd_ = -1;
  bool busy_ = false;
  bool cut_ = false;
  bool quit_ = false;
  std::thread thread_;  // last: started once the rest is set up
};

/// One connection. Every public entry point of the backend locks mu() and
/// runs through Guard(), which turns libpqxx exceptions into Error.
class Conn {
 public:
  /// Connects and migrates the schema. Throws Error(69) when unreachable.
  Conn(std::string masked_url, const std::string& url);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  pqxx::connection_base& c() { return *conn_; }
  std::recursive_mutex& mu() { return mu_; }
  const std::string& url() const { return url_; }
  int SchemaVersion() const { return schema_version_; }

  /// The transaction of the running Execute() (its subtransaction while the
  /// command runs), or nullptr.
  pqxx::transaction_base* tx() const { return tx_; }

  /// Sets tx() for a scope.
  class TxScope {
   public:
    TxScope(Conn& conn, pqxx::transaction_base* tx) : conn_(conn), saved_(conn.tx_) {
      conn_.tx_ = tx;
    }
    ~TxScope() { conn_.tx_ = saved_; }
    TxScope(const TxScope&) = delete;
    TxScope& operator=(const TxScope&) = delete;

   private:
    Conn& conn_;
    pqxx::transaction_base* saved_;
  };

  /// Runs f() under the lock, mapping libpqxx exceptions to Error:
  /// connection trouble 69, integrity or data errors DataError (65),
  /// serialisation failures and server overload 75, anything else 70.
  /// A stop request whose grace ran out while the server kept the call
  /// waiting ends it: Error(128 + the signal).
  /// An outermost call outside a caller's transaction that finds the
  /// database unavailable is run again for up to DbRetryMs() (store.h).
  template <typename F>
  auto Guard(F&& f) -> decltype(f()) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (depth_ > 0 || tx_ != nullptr) return GuardOnce(f);
    Retry retry;
    for (;;) {
      try {
        return GuardOnce(f);
      } catch (const Error& e) {
        if (!retry.Again(e, url_)) throw;
        Disconnect();  // the next try connects afresh
      }
    }
  }

  /// Guard() without the retry.
  template <typename F>
  auto GuardOnce(F&& f) -> decltype(f()) {
    std::optional<Outer> outer;
    if (depth_ == 0) outer.emplace(*this);
    try {
      return f();
    } catch (const Error&) {
      if (outer && outer->Leave()) ThrowStopped("waiting for");
      throw;
    } catch (const std::exception& e) {
      if (outer && outer->Leave()) ThrowStopped("waiting for");
      Rethrow(e);
    }
  }

  /// Guard() around f(tx): the running transaction, or else a
  /// nontransaction (autocommit: one round trip per statement).
  template <typename F>
  auto Auto(F&& f) {
    return Guard([&] {
      if (tx_ != nullptr) return f(*tx_);
      pqxx::nontransaction n(*conn_);
      return f(static_cast<pqxx::transaction_base&>(n));
    });
  }

  /// Guard() around f(tx) in the running transaction, or else in a new one
  /// that is committed when f returns.
  template <typename F>
  auto Write(F&& f) {
    return Guard([&] {
      if (tx_ != nullptr) return f(*tx_);
      pqxx::work w(*conn_);
      TxScope scope(*this, &w);
      if constexpr (std::is_void_v<decltype(f(w))>) {
        f(static_cast<pqxx::transaction_base&>(w));
        w.commit();
      } else {
        auto r = f(static_cast<pqxx::transaction_base&>(w));
        w.commit();
        return r;
      }
    });
  }

  /// Runs the prepared statement `name` (defined as `sql` on first use) in `tx`.
  template <typename... Args>
  pqxx::result Run(pqxx::transaction_base& tx, const char* name, const char* sql, Args&&... args) {
    (CheckParam(args), ...);
    if (prepared_.insert(name).second) conn_->prepare(name, sql);
    return tx.exec_prepared(name, std::forward<Args>(args)...);
  }

  [[noreturn]] void Rethrow(const std::exception& e) const;

 private:
  /// The retry window of one operation (DbRetryMs()).
  class Retry {
   public:
    /// After `e`: true when the operation should run again (having waited
    /// its back-off), false when `e` stands (not an outage, no retry
    /// configured, the window has passed, or a stop was requested).
    bool Again(const Error& e, const std::string& url);

   private:
    int64_t deadline_ms_ = -1;  // steady clock; -1 until the first failure
    int64_t backoff_ms_ = 100;
  };

  /// The outermost Guard: reconnects a connection found broken, and lets
  /// the watchdog see the call.
  class Outer {
   public:
    explicit Outer(Conn& conn);
    ~Outer() { Leave(); }
    Outer(const Outer&) = delete;
    Outer& operator=(const Outer&) = delete;
    /// Ends the watch; true when the watchdog cut the call short.
    bool Leave();

   private:
    Conn& conn_;
    bool left_ = false;
  };

  /// (Re)opens the connection.
  void Connect();
  void Disconnect() noexcept;
  void Migrate();
  /// Error(128 + the signal): "stopped by SIGTERM while DOING URL".
  [[noreturn]] void ThrowStopped(const char* doing) const;

  std::string url_;
  std::string conninfo_;  // the unmasked URL, for reconnecting
  std::unique_ptr<Connection> conn_;
  int sock_ = -1;  // a duplicate of the connection's socket, for the watchdog
  std::unique_ptr<Watchdog> watchdog_;
  int depth_ = 0;  // nested Guard() calls
  std::unique_ptr<pqxx::errorhandler> notices_;
  std::recursive_mutex mu_;
  pqxx::transaction_base* tx_ = nullptr;
  int schema_version_ = 0;
  std::unordered_set<std::string> prepared_;
};

class PgCommands : public Commands {
 public:
  explicit PgCommands(Conn& conn) : conn_(conn) {}
  using Commands::Execute;
  Outcome Execute(std::string_view request_id, std::string_view fingerprint,
                  const std::function<Outcome(CommandTx&)>& fn) override;
  void StoreQuotes(std::span<const Quote> quotes) override;
  void SaveWatchStates(std::span<const WatchState> states) override;
  void SaveMoveWindows(std::span<const TickerWindow> windows) override;
  bool RecordDelivery(std::string_view alert_id, std::string_view channel, TimeMs ts,
                      std::string_view email) override;
  void RecordDeliveries(std::span<const DeliveryRow> rows,
                        std::span<const KeyValue> values) override;
  void RecordDeadLetters(std::span<const DeadLetterRow> rows,
                         std::span<const int64_t> dequeue) override;
  void PutValue(std::string_view key, std::string_view value) override;
  std::string UpdateValue(
      std::string_view key,
      const std::function<std::string(const std::optional<std::string>&)>& fn) override;
  int64_t Enqueue(const OutboxItem& item) override;
  void Dequeue(std::span<const int64_t> ids) override;

 private:
  Conn& conn_;
};

class PgQueries : public Queries {
 public:
  explicit PgQueries(Conn& conn) : conn_(conn) {}
  std::vector<User> Users() override;
  std::optional<User> FindUser(std::string_view email) override;
  std::optional<User> FindUserByTelegram(int64_t telegram_id) override;
  std::vector<Watch> Watches(std::optional<std::string_view> email,
                             std::optional<std::string_view> ticker) override;
  std::vector<std::string> WatchedTickers() override;
  int64_t WatchesVersion() override;
  std::optional<Quote> LastQuote(std::string_view ticker) override;
  std::pair<double, int64_t> AverageLast(std::string_view ticker, int64_t n) override;
  std::vector<Quote> History(std::string_view ticker, int64_t limit) override;
  std::vector<WatchState> WatchStates() override;
  std::vector<TickerWindow> MoveWindows() override;
  bool Delivered(std::string_view alert_id, std::string_view channel) override;
  std::vector<std::string> DeliveredAmong(std::span<const std::string> ids,
                                          std::string_view channel) override;
  std::optional<std::string> GetValue(std::string_view key) override;
  std::vector<OutboxItem> DueOutbox(TimeMs now) override;
  std::vector<KeyValue> ValuesWithPrefix(std::string_view prefix) override;
  std::vector<std::pair<std::string, int64_t>> DeliveriesSince(TimeMs since) override;
  std::vector<std::pair<std::string, int64_t>> DeadLettersSince(TimeMs since) override;
  std::vector<OutboxItem> Outbox(std::string_view email) override;
  int SchemaVersion() override { return conn_.SchemaVersion(); }

 private:
  Conn& conn_;
};

/// Stores quotes in `tx` (COPY into a temporary table, then one upsert).
void InsertQuotes(Conn& conn, pqxx::transaction_base& tx, std::span<const Quote> quotes);

}  // namespace stockwatch::pg
