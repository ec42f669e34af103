// SQLite backend: the connection, statement cache, transactions and schema
// migrations. The command side is in sqlite/commands.cc, the query
// side in sqlite/queries.cc.
#include "stockwatch/store/sqlite/backend.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "stockwatch/core/error.h"
#include "stockwatch/core/files.h"
#include "stockwatch/store/internal.h"

namespace stockwatch::sqlite {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// Migration i takes the schema from version i to i + 1. Never edit a
// released entry: append a new one and bump kSchemaVersion.
constexpr const char* kMigrations[] = {
    // 0 -> 1: the initial schema.
    R"sql(
CREATE TABLE users(
  email TEXT PRIMARY KEY NOT NULL,
  telegram_id INTEGER UNIQUE,
  interval_s INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE watches(
  email TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE ON UPDATE CASCADE,
  ticker TEXT NOT NULL,
  low REAL,
  high REAL,
  PRIMARY KEY(email, ticker)
) WITHOUT ROWID;
CREATE INDEX watches_by_ticker ON watches(ticker, email);
CREATE TABLE quotes(
  ticker TEXT NOT NULL,
  ts INTEGER NOT NULL,
  price REAL NOT NULL,
  currency TEXT,
  source TEXT,
  prev_close REAL,
  volume INTEGER,
  PRIMARY KEY(ticker, ts)
) WITHOUT ROWID;
CREATE TABLE latest_quotes(
  ticker TEXT PRIMARY KEY NOT NULL,
  ts INTEGER NOT NULL,
  price REAL NOT NULL,
  currency TEXT,
  source TEXT,
  prev_close REAL,
  volume INTEGER
) WITHOUT ROWID;
CREATE TABLE watch_states(
  email TEXT NOT NULL,
  ticker TEXT NOT NULL,
  state INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY(email, ticker),
  FOREIGN KEY(email, ticker) REFERENCES watches(email, ticker)
    ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
CREATE TABLE deliveries(
  alert_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  email TEXT,
  ts INTEGER NOT NULL,
  PRIMARY KEY(alert_id, channel)
) WITHOUT ROWID;
CREATE INDEX deliveries_by_email ON deliveries(email);
CREATE TABLE requests(
  id TEXT PRIMARY KEY NOT NULL,
  exit_code INTEGER NOT NULL,
  output TEXT NOT NULL,
  error TEXT NOT NULL,
  ts INTEGER NOT NULL
);
CREATE TABLE kv(
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE outbox(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL,
  channel TEXT NOT NULL,
  alert_json TEXT NOT NULL,
  due INTEGER NOT NULL
);
CREATE INDEX outbox_by_due ON outbox(due, id);
CREATE INDEX outbox_by_email ON outbox(email);
CREATE TABLE meta(
  key TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES('watches_version', 0);
)sql",
    // 1 -> 2: a request id is bound to the request it was given with.
    R"sql(
ALTER TABLE requests ADD COLUMN fingerprint TEXT;
)sql",
    // 2 -> 3: an outbox item's attempts and the time of its first failure
    // (a temporary failure is retried from the outbox, up to an age).
    R"sql(
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN first_try INTEGER NOT NULL DEFAULT 0;
)sql",
    // 3 -> 4: the delivery log appends. Its rows were kept in the order of
    // their (random) alert ids, so each delivery wrote a random page of a
    // large table, and another of the index by email. Now the rows go in
    // insertion (time) order under a rowid; only the unique index that
    // de-duplication needs (alert id, channel) takes a random page. The
    // index by email is gone (removing a user scans the log). Dead letters
    // are recorded too (stockctl status counts them).
    R"sql(
CREATE TABLE deliveries_v4(
  id INTEGER PRIMARY KEY,
  alert_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  email TEXT,
  ts INTEGER NOT NULL
);
INSERT INTO deliveries_v4(alert_id, channel, email, ts)
  SELECT alert_id, channel, email, ts FROM deliveries ORDER BY ts, alert_id, channel;
DROP TABLE deliveries;
ALTER TABLE deliveries_v4 RENAME TO deliveries;
CREATE UNIQUE INDEX deliveries_once ON deliveries(alert_id, channel);
CREATE TABLE dead_letters(
  id INTEGER PRIMARY KEY,
  alert_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  email TEXT,
  ts INTEGER NOT NULL,
  error TEXT NOT NULL
);
CREATE INDEX dead_letters_by_ts ON dead_letters(ts);
)sql",
    // 4 -> 5: percent-move watches. A watch's move (percent), its window
    // (seconds; 0: the day's change) and direction ('up', 'down'; NULL:
    // both); a state's fired move bits and the prev_close they belong to.
    // move_windows keeps the prices of each ticker's move windows, so a
    // restarted stock-alert still sees the last hour: one row per ticker,
    // the points encoded in one text (store_internal::EncodeWindowPoints).
    // stock-alert replaces a ticker's window as a whole at each checkpoint,
    // so a row per ticker makes that one upsert instead of a delete and an
    // insert per point (thousands of rows a minute over many tickers).
    R"sql(
ALTER TABLE watches ADD COLUMN move REAL;
ALTER TABLE watches ADD COLUMN within_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE watches ADD COLUMN direction TEXT;
ALTER TABLE watch_states ADD COLUMN move INTEGER NOT NULL DEFAULT 0;
ALTER TABLE watch_states ADD COLUMN move_ref REAL NOT NULL DEFAULT 0;
CREATE TABLE move_windows(
  ticker TEXT PRIMARY KEY NOT NULL,
  points TEXT NOT NULL
) WITHOUT ROWID;
)sql",
};
static_assert(std::size(kMigrations) == store_internal::kSchemaVersion);

class SqliteStore : public Store {
 public:
  SqliteStore(const std::string& masked_url, const std::string& path, Access access)
      : db_(masked_url, path, access), commands_(db_), queries_(db_) {}
  Commands& commands() override { return commands_; }
  Queries& queries() override { return queries_; }
  const std::string& url() const override { return db_.url(); }

 private:
  Db db_;
  SqliteCommands commands_;
  SqliteQueries queries_;
};

}  // namespace

// ---- Stmt ----

Stmt::~Stmt() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Stmt& Stmt::Text(int i, std::string_view v) {
  // A null data pointer would bind NULL, not "".
  sqlite3_bind_text64(stmt_, i, v.data() != nullptr ? v.data() : "", v.size(), SQLITE_TRANSIENT,
                      SQLITE_UTF8);
  return *this;
}
Stmt& Stmt::Int(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Stmt& Stmt::Double(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}
Stmt& Stmt::OptText(int i, std::string_view v) {
  if (v.empty()) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  return Text(i, v);
}
Stmt& Stmt::OptInt(int i, const std::optional<int64_t>& v) {
  if (v) return Int(i, *v);
  sqlite3_bind_null(stmt_, i);
  return *this;
}
Stmt& Stmt::OptDouble(int i, const std::optional<double>& v) {
  if (v) return Double(i, *v);
  sqlite3_bind_null(stmt_, i);
  return *this;
}

bool Stmt::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.Fail(rc, sqlite3_sql(stmt_));
}

void Stmt::Run() {
  while (Step()) {
  }
}

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
int64_t Stmt::ColInt(int col) const { return sqlite3_column_int64(stmt_, col); }
double Stmt::ColDouble(int col) const { return sqlite3_column_double(stmt_, col); }
std::string Stmt::ColText(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}
std::optional<int64_t> Stmt::ColOptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return ColInt(col);
}
std::optional<double> Stmt::ColOptDouble(int col) const {
  if (IsNull(col)) return std::nullopt;
  return ColDouble(col);
}

// ---- Db ----

Db::Db(std::string masked_url, const std::string& path, Access access)
    : url_(std::move(masked_url)) {
  try {
    if (access == Access::kReadOnly && path != ":memory:") {
      OpenReadOnly(path);
    } else {
      OpenReadWrite(path, true);
    }
  } catch (const Error&) {
    Close();
    throw;  // the messages name the URL or the path already
  }
}

Db::~Db() { Close(); }

void Db::Close() noexcept {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  cache_.clear();
  if (db_ != nullptr) sqlite3_close(db_);
  db_ = nullptr;
}

void Db::OpenHandle(const std::string& name, const std::string& path, int flags) {
  const int rc = sqlite3_open_v2(name.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    return;
  }
  const int err = db_ != nullptr ? sqlite3_system_errno(db_) : 0;
  std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  Close();
  if (err == EACCES || err == EPERM) {
    throw Error(exitcode::kNoPerm, path + ": permission denied (" + url_ + ")");
  }
  throw Error(exitcode::kUnavailable, store_internal::UnavailableMessage(url_, why));
}

void Db::OpenReadWrite(const std::string& path, bool create) {
  int flags = SQLITE_OPEN_READWRITE;
  // The default location (~/.local/share/stockwatch) usually does not exist
  // yet: made 0700, the database 0600 (SQLite gives its -wal and -shm files
  // the database's mode), whatever the umask. Failures show up in open below.
  if (create) {
    flags |= SQLITE_OPEN_CREATE;
    if (path != ":memory:") {
      MakePrivateDirs(std::filesystem::path(path).parent_path().string());
      CreatePrivateFile(path);
    }
  }
  OpenHandle(path, path, flags);
  // journal_mode=WAL lets the programs read while one of them writes; it
  // is persistent, so only the first open of a new file changes it.
  Exec("PRAGMA journal_mode=WAL");
  Exec("PRAGMA synchronous=NORMAL");
  Exec("PRAGMA foreign_keys=ON");
  Migrate();
}

namespace {

// `path` as a "file:" URI path (RFC 3986: what is not unreserved or '/' is
// percent-encoded).
std::string FileUri(const std::string& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "file:";
  for (const unsigned char ch : path) {
    if (std::isalnum(ch) != 0 || ch == '/' || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 15]);
    }
  }
  return out;
}

// Error(77) when `file` exists and this user may not read it.
void RequireReadable(const std::string& file, const std::string& url) {
  if (access(file.c_str(), R_OK) == 0 || errno == ENOENT) return;
  if (errno == EACCES || errno == EPERM) {
    throw Error(exitcode::kNoPerm, file + ": permission denied (" + url + ")");
  }
}

}  // namespace

void Db::OpenReadOnly(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      throw Error(exitcode::kNoInput,
                  "no store at " + path + ": run a command first, e.g. stockctl init");
    }
    if (err == EACCES || err == EPERM) {
      throw Error(exitcode::kNoPerm, path + ": permission denied (" + url_ + ")");
    }
    throw Error(exitcode::kUnavailable,
                store_internal::UnavailableMessage(url_, std::strerror(err)));
  }
  // A WAL database is read with its -wal and -shm files.
  for (const char* suffix : {"", "-wal", "-shm"}) RequireReadable(path + suffix, url_);
  OpenHandle(path, path, SQLITE_OPEN_READONLY);
  // The first read maps the -shm file, which SQLite creates when missing: it
  // cannot when the directory is not writable. No -wal file then means no
  // program has the database open and the file holds every change: it is
  // read as it is (no locks, no -shm). A program that starts writing while
  // this runs may make a read fail (run it again); it changes nothing.
  int rc = sqlite3_exec(db_, "SELECT 1 FROM sqlite_master LIMIT 1", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    struct stat wal {};
    const bool no_wal = stat((path + "-wal").c_str(), &wal) != 0 && errno == ENOENT;
    if (no_wal && (rc == SQLITE_READONLY_DIRECTORY || (rc & 0xff) == SQLITE_CANTOPEN)) {
      Close();
      OpenHandle(FileUri(path) + "?immutable=1", path, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    } else if ((rc & 0xff) == SQLITE_CANTOPEN || rc == SQLITE_READONLY_DIRECTORY) {
      throw Error(exitcode::kNoPerm, path + ": cannot read the database: " + sqlite3_errmsg(db_) +
                                         " (SQLite needs to write " + path +
                                         "-shm or its directory)");
    } else {
      Fail(rc, "open");
    }
  }
  Exec("PRAGMA foreign_keys=ON");
  schema_version_ = ReadSchemaVersion();
  if (schema_version_ > store_internal::kSchemaVersion) Migrate();  // says "upgrade stockwatch"
  if (schema_version_ == store_internal::kSchemaVersion) return;
  // An older schema cannot be read by this program: upgrade it, as any
  // program that opens the store for writing would, when allowed to.
  const int old = schema_version_;
  Close();
  if (access(path.c_str(), W_OK) != 0) {
    throw Error(exitcode::kNoPerm,
                path + ": database schema version " + std::to_string(old) +
                    " is older than this program's (" +
                    std::to_string(store_internal::kSchemaVersion) +
                    ") and this user may not upgrade it: run stockctl init as its owner");
  }
  OpenReadWrite(path, false);
}

Stmt Db::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) Fail(rc, sql);
    it = cache_.emplace(sql, stmt).first;
  }
  return Stmt(*this, it->second);
}

void Db::Exec(const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    sqlite3_free(err);
    Fail(rc, sql);
  }
}

void Db::Fail(int rc, std::string_view what) const {
  std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  (void)what;  // the SQL text is not for users; the SQLite message says enough
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw Error(exitcode::kTempFail,
                  url_ + ": database is busy (locked by another process): " + detail);
    case SQLITE_IOERR:
    case SQLITE_FULL:
      throw Error(exitcode::kIoErr, url_ + ": " + detail);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      throw Error(exitcode::kNoPerm, url_ + ": " + detail);
    case SQLITE_CANTOPEN:
      if (db_ != nullptr &&
          (sqlite3_system_errno(db_) == EACCES || sqlite3_system_errno(db_) == EPERM))
        throw Error(exitcode::kNoPerm, url_ + ": permission denied: " + detail);
      [[fallthrough]];
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      throw Error(exitcode::kUnavailable, store_internal::UnavailableMessage(url_, detail));
    case SQLITE_CONSTRAINT:
      throw DataError(detail);
    default:
      throw Error(exitcode::kSoftware, url_ + ": " + detail);
  }
}

int Db::ReadSchemaVersion() {
  {
    Stmt s = Prepare(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
    if (!s.Step() || s.ColInt(0) == 0) return 0;
  }
  Stmt s = Prepare("SELECT max(version) FROM schema_version");
  return s.Step() && !s.IsNull(0) ? static_cast<int>(s.ColInt(0)) : 0;
}

void Db::Migrate() {
  schema_version_ = ReadSchemaVersion();
  if (schema_version_ == store_internal::kSchemaVersion) return;
  if (schema_version_ > store_internal::kSchemaVersion) {
    throw Error(exitcode::kConfig,
                url_ + ": database schema version " + std::to_string(schema_version_) +
                    " is newer than this program's (" +
                    std::to_string(store_internal::kSchemaVersion) + "); upgrade stockwatch");
  }
  // Several programs may open a new database at once: the write lock
  // serialises them and the version is read again under it.
  WriteTx tx(*this);
  schema_version_ = ReadSchemaVersion();
  if (schema_version_ == 0)
    Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
  for (; schema_version_ < store_internal::kSchemaVersion; ++schema_version_) {
    Exec(kMigrations[schema_version_]);
  }
  Exec("DELETE FROM schema_version");
  Prepare("INSERT INTO schema_version(version) VALUES(?)").Int(1, schema_version_).Run();
  tx.Commit();
}

// ---- WriteTx ----

WriteTx::WriteTx(Db& db) : db_(db) { db_.Exec("BEGIN IMMEDIATE"); }

WriteTx::~WriteTx() {
  if (!open_) return;
  try {
    db_.Exec("ROLLBACK");
  } catch (const Error&) {  // SQLite may have rolled back already (e.g. SQLITE_FULL)
  }
}

void WriteTx::Commit() {
  db_.Exec("COMMIT");
  open_ = false;
}

}  // namespace stockwatch::sqlite

namespace stockwatch::store_internal {

std::unique_ptr<Store> OpenSqlite(const std::string& masked_url, const std::string& path,
                                  Access access) {
  return std::make_unique<sqlite::SqliteStore>(masked_url, path, access);
}

}  // namespace stockwatch::store_internal
