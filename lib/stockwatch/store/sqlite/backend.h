#pragma once
/// SQLite backend internals: a connection with a prepared-statement cache,
/// and the command and query sides (sqlite/commands.cc,
/// sqlite/queries.cc) over it.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sqlite3.h>

#include "stockwatch/store/store.h"

namespace stockwatch::sqlite {

class Db;

/// A cached prepared statement in use. Bind* take 1-based indexes; the
/// statement is reset and its bindings cleared on destruction.
class Stmt {
 public:
  Stmt(Db& db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Text(int i, std::string_view v);
  Stmt& Int(int i, int64_t v);
  Stmt& Double(int i, double v);
  Stmt& OptText(int i, std::string_view v);  // empty: NULL
  Stmt& OptInt(int i, const std::optional<int64_t>& v);
  Stmt& OptDouble(int i, const std::optional<double>& v);

  /// Steps once: true when a row is ready. Throws Error on failure.
  bool Step();
  /// Steps to the end (statements without rows).
  void Run();

  bool IsNull(int col) const;
  int64_t ColInt(int col) const;
  double ColDouble(int col) const;
  std::string ColText(int col) const;
  std::optional<int64_t> ColOptInt(int col) const;
  std::optional<double> ColOptDouble(int col) const;

 private:
  Db& db_;
  sqlite3_stmt* stmt_;
};

/// One SQLite connection (WAL, busy timeout, foreign keys on).
class Db {
 public:
  /// Opens or creates the file and migrates the schema (Access::kReadOnly:
  /// see there). Throws Error (69 unusable, 77 permission, 66 missing).
  Db(std::string masked_url, const std::string& path, Access access);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  /// A statement from the cache; `sql` must have static storage duration
  /// (its address is the cache key).
  Stmt Prepare(const char* sql);
  /// Runs SQL without results.
  void Exec(const char* sql);
  /// Maps an SQLite result code to an Error (75 busy, 74 I/O, 69 unusable
  /// file, 70 otherwise) and throws it.
  [[noreturn]] void Fail(int rc, std::string_view what) const;
  int Changes() const { return sqlite3_changes(db_); }
  int SchemaVersion() const { return schema_version_; }
  const std::string& url() const { return url_; }
  /// Guards the connection; recursive so queries may run inside Execute().
  std::recursive_mutex& mu() { return mu_; }

 private:
  void Migrate();
  int ReadSchemaVersion();
  void OpenReadWrite(const std::string& path, bool create);
  void OpenReadOnly(const std::string& path);
  /// sqlite3_open_v2, an error naming the path (77 on EACCES/EPERM, else 69).
  void OpenHandle(const std::string& name, const std::string& path, int flags);
  void Close() noexcept;

  std::string url_;
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
  std::recursive_mutex mu_;
  int schema_version_ = 0;
};

/// BEGIN IMMEDIATE (the write lock, waiting up to the busy timeout) ...
/// COMMIT; rolls back on destruction unless committed.
class WriteTx {
 public:
  explicit WriteTx(Db& db);
  ~WriteTx();
  WriteTx(const WriteTx&) = delete;
  WriteTx& operator=(const WriteTx&) = delete;
  void Commit();

 private:
  Db& db_;
  bool open_ = true;
};

/// The command side: every write.
class SqliteCommands : public Commands {
 public:
  explicit SqliteCommands(Db& db) : db_(db) {}
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
  Db& db_;
};

/// The query side: every read.
class SqliteQueries : public Queries {
 public:
  explicit SqliteQueries(Db& db) : db_(db) {}
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
  int SchemaVersion() override { return db_.SchemaVersion(); }

 private:
  Db& db_;
};

/// Quotes and the latest-quote read model, shared by Commands::StoreQuotes
/// and CommandTx::StoreQuotes (the caller holds the write transaction).
void InsertQuotes(Db& db, std::span<const Quote> quotes);

}  // namespace stockwatch::sqlite
