#pragma once
/// The store, split as CQRS: Commands (writes) and Queries (reads) over
/// one schema, with two backends: SQLite (default) and PostgreSQL.
/// Open() creates or migrates the schema on first use.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/core/records.h"

namespace stockwatch {

/// What a command printed and how it ended: stored with its request id so a
/// repeat returns the same (at-most-once).
struct Outcome {
  int exit_code = 0;
  std::string output;  // stdout text
  std::string error;   // stderr text (without "stockctl: ")
};

/// A queued message held for a user's interval (stock-notify digests), or
/// waiting for its next attempt after a temporary failure.
struct OutboxItem {
  int64_t id = 0;
  std::string email;
  std::string channel;
  std::string alert_json;
  TimeMs due = 0;
  int attempts = 0;      // attempts made so far (0: never tried)
  TimeMs first_try = 0;  // when the first failed attempt was made (0: none failed)
};

/// One delivery to record (Commands::RecordDeliveries).
struct DeliveryRow {
  std::string alert_id;
  std::string channel;  // the target key ("telegram", "webhook:URL", "file:PATH", ...)
  TimeMs ts = 0;
  std::string email;  // the alert's user; empty: none
};

/// One alert that could not be delivered to a target and went to the dead
/// letter (Commands::RecordDeadLetters).
struct DeadLetterRow {
  std::string alert_id;
  std::string channel;  // the target key, as in DeliveryRow
  TimeMs ts = 0;        // when it was given up
  std::string email;    // the alert's user; empty: none
  std::string error;    // why
};

/// A small persistent value (Commands::PutValue).
struct KeyValue {
  std::string key;
  std::string value;
};

/// A change of a watch (CommandTx::SetWatch): what is nullopt stays as it
/// is. For low, high and move an inner nullopt removes the value; removing
/// the move also resets its window and direction.
struct WatchEdit {
  std::optional<std::optional<double>> low, high;
  std::optional<std::optional<double>> move;  // percent
  std::optional<int64_t> within;              // seconds; 0: the day's change
  std::optional<MoveDirection> direction;
};

/// Write side of user management, valid inside one transaction.
class CommandTx {
 public:
  virtual ~CommandTx() = default;
  /// Throws DataError("email: already registered").
  virtual void AddUser(const User& u) = 0;
  /// Changes only what is given; telegram_id = optional(nullopt) unlinks.
  /// Throws DataError("email: no such user").
  virtual void SetUser(std::string_view email, std::optional<std::optional<int64_t>> telegram_id,
                       std::optional<int64_t> interval) = 0;
  /// Removes the user and all related data (watches, states, deliveries,
  /// dead letters, outbox, values whose key ends in ":EMAIL").
  /// Throws DataError("email: no such user").
  virtual void RemoveUser(std::string_view email) = 0;
  /// Throws DataError when the user is missing or the watch exists.
  virtual void AddWatch(const Watch& w) = 0;
  /// Changes what `edit` gives (see WatchEdit) and validates the result
  /// (the band, the move). A saved edge state about what changed is
  /// dropped: "above" when high changed, "below" when low changed, the
  /// move bits when the move, its window or its direction changed.
  /// Throws DataError("ticker: no such watch").
  virtual void SetWatch(std::string_view email, std::string_view ticker, const WatchEdit& edit) = 0;
  /// Sets/clears bounds: outer nullopt = unchanged, inner nullopt = remove.
  void SetWatch(std::string_view email, std::string_view ticker,
                std::optional<std::optional<double>> low,
                std::optional<std::optional<double>> high) {
    WatchEdit edit;
    edit.low = low;
    edit.high = high;
    SetWatch(email, ticker, edit);
  }
  virtual void RemoveWatch(std::string_view email, std::string_view ticker) = 0;

  // ---- bulk (stockctl import / quote ingest); added by issue 3 ----

  /// Upserts users as given (validated by the caller): an existing user's
  /// telegram_id and interval are replaced. Throws DataError on a conflict
  /// (a telegram_id linked to another user).
  virtual void PutUsers(std::span<const User> users) = 0;
  /// Upserts watches (validated by the caller; an existing band and move
  /// are replaced, and the saved move bits of a watch whose move changed
  /// are dropped).
  /// Throws DataError("email: no such user") when an owner is missing.
  virtual void PutWatches(std::span<const Watch> watches) = 0;
  /// Commands::StoreQuotes inside this transaction.
  virtual void StoreQuotes(std::span<const Quote> quotes) = 0;
};

class Commands {
 public:
  virtual ~Commands() = default;
  /// Runs `fn` in one transaction. With a non-empty request id: if the id
  /// has an outcome already, returns it without running `fn`; otherwise the
  /// outcome `fn` returns is stored in the same transaction as its effects.
  /// A DataError thrown by `fn` rolls the effects back and is stored (and
  /// returned) as an outcome with exit code 65. Safe across processes.
  ///
  /// `fingerprint` identifies the request the id was given with (a hash of
  /// the command, its arguments and its input) and is stored with the
  /// outcome. When the id is stored with a different fingerprint, nothing
  /// runs and nothing changes: the result is exit code 65, "request id ID
  /// was used for a different request". An empty fingerprint is not
  /// checked; an outcome stored without one (by an older version) is
  /// returned and takes the fingerprint of that repeat.
  virtual Outcome Execute(std::string_view request_id, std::string_view fingerprint,
                          const std::function<Outcome(CommandTx&)>& fn) = 0;
  /// Execute() without a fingerprint (ids that name one request by
  /// construction, like a Telegram update id).
  Outcome Execute(std::string_view request_id, const std::function<Outcome(CommandTx&)>& fn) {
    return Execute(request_id, {}, fn);
  }
  /// Stores quotes (one transaction) and updates the latest-quote read model.
  /// (ticker, ts) is unique: a quote with the ts of a stored one replaces it,
  /// so replaying a stream stores nothing twice; an older quote never
  /// replaces the latest one in the read model.
  virtual void StoreQuotes(std::span<const Quote> quotes) = 0;
  /// Upserts edge-trigger states (band state, move bits and move_ref).
  virtual void SaveWatchStates(std::span<const WatchState> states) = 0;
  /// For each ticker given, replaces its stored window points with these
  /// (an empty list deletes them), in one transaction. A ticker given twice:
  /// the last wins. Windows belong to tickers, not users (removing a user
  /// leaves them). Throws DataError for a price that is not finite.
  virtual void SaveMoveWindows(std::span<const TickerWindow> windows) = 0;
  /// Records that alert_id (of user `email`) was delivered on channel; false
  /// when it already was. RemoveUser deletes the user's records.
  virtual bool RecordDelivery(std::string_view alert_id, std::string_view channel, TimeMs ts,
                              std::string_view email) = 0;
  /// RecordDelivery for each row (one already recorded is left as it is)
  /// and PutValue for each value, all in one transaction: what stock-notify
  /// sent in one batch is recorded together, with the target's checkpoint.
  virtual void RecordDeliveries(std::span<const DeliveryRow> rows,
                                std::span<const KeyValue> values) = 0;
  /// Records alerts given up on (stock-notify's dead letters, counted by
  /// stockctl status) and removes the outbox items `dequeue` in the same
  /// transaction. A dead letter does not count as a delivery (Delivered()
  /// stays false) and is recorded each time one happens.
  virtual void RecordDeadLetters(std::span<const DeadLetterRow> rows,
                                 std::span<const int64_t> dequeue) = 0;
  /// Small persistent values (bot update offset, per-user last-sent times).
  /// A key ending in ":EMAIL" belongs to that user: RemoveUser deletes it.
  virtual void PutValue(std::string_view key, std::string_view value) = 0;
  /// Reads the value of `key` (nullopt: none), stores what `fn` makes of it
  /// and returns that, atomically: another process updating the same key
  /// waits (a request budget shared by a cron job and a service).
  virtual std::string UpdateValue(
      std::string_view key,
      const std::function<std::string(const std::optional<std::string>&)>& fn) = 0;
  virtual int64_t Enqueue(const OutboxItem& item) = 0;
  virtual void Dequeue(std::span<const int64_t> ids) = 0;
};

class Queries {
 public:
  virtual ~Queries() = default;
  virtual std::vector<User> Users() = 0;
  virtual std::optional<User> FindUser(std::string_view email) = 0;
  virtual std::optional<User> FindUserByTelegram(int64_t telegram_id) = 0;
  /// Watches (with the owner's telegram_id), optionally filtered; sorted by email, ticker.
  virtual std::vector<Watch> Watches(std::optional<std::string_view> email,
                                     std::optional<std::string_view> ticker) = 0;
  /// Distinct tickers that some watch follows, sorted.
  virtual std::vector<std::string> WatchedTickers() = 0;
  /// A number that changes whenever users or watches change (cheap: poll it).
  virtual int64_t WatchesVersion() = 0;
  /// The latest stored quote (read model, O(1)).
  virtual std::optional<Quote> LastQuote(std::string_view ticker) = 0;
  /// Average of the last n stored prices and how many there were (0: no data).
  virtual std::pair<double, int64_t> AverageLast(std::string_view ticker, int64_t n) = 0;
  /// Newest first, at most `limit`.
  virtual std::vector<Quote> History(std::string_view ticker, int64_t limit) = 0;
  virtual std::vector<WatchState> WatchStates() = 0;
  /// Every stored move window (SaveMoveWindows), sorted by ticker, points
  /// oldest first.
  virtual std::vector<TickerWindow> MoveWindows() = 0;
  virtual bool Delivered(std::string_view alert_id, std::string_view channel) = 0;
  /// The ids among `ids` that Delivered() would say yes to, with one query
  /// per few hundred ids (stock-notify checks what it was handed in bulk).
  virtual std::vector<std::string> DeliveredAmong(std::span<const std::string> ids,
                                                  std::string_view channel) = 0;
  virtual std::optional<std::string> GetValue(std::string_view key) = 0;
  /// Outbox items due at or before `now`, oldest first.
  virtual std::vector<OutboxItem> DueOutbox(TimeMs now) = 0;
  virtual std::vector<OutboxItem> Outbox(std::string_view email) = 0;
  /// The schema version of the open database. Added by issue 3.
  virtual int SchemaVersion() = 0;
  /// The values whose key starts with `prefix`, sorted by key (stockctl
  /// status reads the circuit breakers' states).
  virtual std::vector<KeyValue> ValuesWithPrefix(std::string_view prefix) = 0;
  /// Recorded deliveries at or after `since`, counted per channel (sorted).
  virtual std::vector<std::pair<std::string, int64_t>> DeliveriesSince(TimeMs since) = 0;
  /// Recorded dead letters at or after `since`, counted per channel (sorted).
  virtual std::vector<std::pair<std::string, int64_t>> DeadLettersSince(TimeMs since) = 0;
};

/// How Store::Open opens a store.
enum class Access {
  /// Creates the store when missing (SQLite: its directory 0700, the file
  /// 0600) and migrates an older schema.
  kReadWrite,
  /// For reading only (SQLite; a PostgreSQL store opens as with kReadWrite):
  /// creates nothing and writes nothing. A missing database is Error(66)
  /// "no store at PATH"; one the user may not read is Error(77) naming the
  /// file. A database whose directory the user may not write and that no
  /// program has open (no -wal file) is read as it is (SQLite's immutable
  /// mode). A schema older than the program's is upgraded as kReadWrite
  /// would, when the user may write the file, else Error(77).
  kReadOnly,
};

/// One connection. Calls are serialised by an internal lock, so one Store may
/// be shared by threads; use one Store per thread for parallel reads.
class Store {
 public:
  virtual ~Store() = default;
  /// "sqlite:PATH" or "postgresql://..." / "postgres://...". Creates or
  /// migrates the schema. Throws Error(69) naming the URL (password masked)
  /// when unreachable, Error(78) for a malformed URL.
  static std::unique_ptr<Store> Open(const std::string& url, Access access = Access::kReadWrite);
  virtual Commands& commands() = 0;
  virtual Queries& queries() = 0;
  /// The URL it was opened with, password masked. Added by issue 3.
  virtual const std::string& url() const = 0;
};

/// `url` with any password replaced by "***" (for messages).
std::string MaskUrl(std::string_view url);
/// The default URL: sqlite:$XDG_DATA_HOME/stockwatch/stockwatch.db (or ~/.local/share/...).
std::string DefaultDbUrl();

/// For how long an operation on a PostgreSQL store that finds the database
/// unavailable (a restart, a network blip: exit 69) is tried again, with
/// back-off, before the error stands: --db-retry of the long-running
/// programs. 0 (the default) fails at once. Process-wide; set before
/// Store::Open (connecting is retried too). Only whole operations are
/// retried, never a statement inside a transaction the caller holds open
/// (stockctl's request-id commands), and a stop request ends the wait.
void SetDbRetryMs(int64_t ms) noexcept;
int64_t DbRetryMs() noexcept;

}  // namespace stockwatch
