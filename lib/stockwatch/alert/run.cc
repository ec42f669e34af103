#include "stockwatch/alert/run.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stockwatch/alert/engine.h"
#include "stockwatch/alert/files.h"
#include "stockwatch/core/log.h"
#include "stockwatch/core/records.h"
#include "stockwatch/core/timeutil.h"
#include "stockwatch/ops/metrics.h"
#include "stockwatch/store/store.h"

namespace stockwatch {
namespace {

// ---------------------------------------------------------------- watches

/// Where the watches come from, and how a change is noticed.
class WatchProvider {
 public:
  virtual ~WatchProvider() = default;
  virtual std::vector<Watch> Load() = 0;
  /// True when the watches may have changed since the last Load().
  virtual bool Changed() = 0;
  virtual std::string name() const = 0;
};

/// `--watches FILE`: reloaded when the file is replaced or modified.
class FileWatches final : public WatchProvider {
 public:
  explicit FileWatches(std::string path) : path_(std::move(path)) {}
  std::vector<Watch> Load() override {
    stamp_ = Stamp();
    return ReadWatchesFile(path_);
  }
  bool Changed() override {
    std::optional<std::string> now = Stamp();
    return now && now != stamp_;  // a vanished file keeps the watches we have
  }
  std::string name() const override { return path_; }

 private:
  std::optional<std::string> Stamp() const {
    struct stat st;
    if (stat(path_.c_str(), &st) != 0) return std::nullopt;
    return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }
  std::string path_;
  std::optional<std::string> stamp_;
};

/// The store's watches, reloaded when Queries::WatchesVersion() moves.
class StoreWatches final : public WatchProvider {
 public:
  StoreWatches(Store& store, std::string url) : store_(store), url_(std::move(url)) {}
  std::vector<Watch> Load() override {
    // The version first: a change made during the read shows up as a newer
    // version at the next poll, so it is never missed.
    version_ = store_.queries().WatchesVersion();
    return store_.queries().Watches(std::nullopt, std::nullopt);
  }
  bool Changed() override { return store_.queries().WatchesVersion() != version_; }
  std::string name() const override { return MaskUrl(url_); }

 private:
  Store& store_;
  std::string url_;
  int64_t version_ = std::numeric_limits<int64_t>::min();
};

// ---------------------------------------------------------------- states

/// Where the edge states are kept between runs.
class StateKeeper {
 public:
  virtual ~StateKeeper() = default;
  /// The saved states that apply to the engine's watches, and the saved
  /// move windows (read by the same Load(): call windows() after it).
  virtual std::vector<WatchState> Load(const AlertEngine& engine) = 0;
  virtual std::vector<TickerWindow> windows() { return {}; }
  /// Persists what changed; called at every checkpoint (before offsets are
  /// committed) and at the end (`final`).
  virtual void Save(AlertEngine& engine, bool final) = 0;
  /// True when other processes (consumers of the same group) save here too.
  virtual bool shared() const { return false; }
  /// False when nothing is kept: the engine need not note what changed.
  virtual bool keeps() const { return true; }
};

/// No persistence (`--watches` without `--state`).
class NoStates final : public StateKeeper {
 public:
  std::vector<WatchState> Load(const AlertEngine&) override { return {}; }
  void Save(AlertEngine& engine, bool) override {
    engine.DiscardChangedStates();
    engine.DiscardChangedWindows();
  }
  bool keeps() const override { return false; }
};

/// The store's watch_states (Commands::SaveWatchStates): only what changed;
/// and its move_windows. Level mode keeps no states: it reads only windows.
class StoreStates final : public StateKeeper {
 public:
  StoreStates(Store& store, bool edge) : store_(store), edge_(edge) {}
  std::vector<WatchState> Load(const AlertEngine&) override {
    if (!edge_) return {};
    return store_.queries().WatchStates();
  }
  std::vector<TickerWindow> windows() override { return store_.queries().MoveWindows(); }
  void Save(AlertEngine& engine, bool) override {
    engine.TakeChangedStates(changed_);
    engine.TakeChangedWindows(windows_);
    if (!changed_.empty()) {
      store_.commands().SaveWatchStates(changed_);
      log::Debug("saved {} watch state(s) to the store", changed_.size());
    }
    if (!windows_.empty()) store_.commands().SaveMoveWindows(windows_);
  }
  bool shared() const override { return true; }

 private:
  Store& store_;
  bool edge_;
  std::vector<WatchState> changed_;
  std::vector<TickerWindow> windows_;
};

/// `--state FILE`: a snapshot of every state followed by a journal of the
/// states changed since (alert/files.h). Each save appends only what
/// changed (fsynced at exit, as the SQLite store syncs at checkpoints); once the journal has grown
/// as large as the snapshot (and past 1 MB), the whole state is rewritten atomically instead. Over
/// Kafka a save happens at every checkpoint (offsets are committed right after); otherwise at most
/// once a second, and at the end.
class FileStates final : public StateKeeper {
 public:
  FileStates(std::string path, bool every_checkpoint)
      : path_(std::move(path)), every_checkpoint_(every_checkpoint) {}
  std::vector<WatchState> Load(const AlertEngine& engine) override {
    bool torn = false;
    windows_.clear();
    std::vector<SavedState> saved = ReadStateFile(path_, &snapshot_bytes_, &torn, &windows_);
    if (torn) log::Warn("{}: its last line was cut short (an interrupted save): ignored", path_);
    journal_bytes_ = 0;
    return ApplicableStates(saved, engine);
  }
  std::vector<TickerWindow> windows() override { return std::move(windows_); }
  void Save(AlertEngine& engine, bool final) override {
    if (!engine.has_changed_states() && !engine.has_changed_windows()) return;
    TimeMs now = NowMs();
    if (!final && !every_checkpoint_ && now - last_write_ < 1000) return;
    if (journal_bytes_ >= std::max<size_t>(snapshot_bytes_, kMinCompactBytes)) {
      engine.DiscardChangedStates();  // the whole state is written
      engine.DiscardChangedWindows();
      snapshot_bytes_ = WriteStateFile(path_, engine);
      journal_bytes_ = 0;
      log::Debug("rewrote the watch states in {}", path_);
    } else {
      engine.TakeChangedStates(changed_);
      engine.TakeChangedWindows(windows_);
      journal_bytes_ += AppendStateFile(path_, changed_, windows_, engine, /*sync=*/final);
      log::Debug("appended {} watch state(s) and {} window(s) to {}", changed_.size(),
                 windows_.size(), path_);
    }
    last_write_ = now;
  }

 private:
  static constexpr size_t kMinCompactBytes = 1 << 20;
  std::string path_;
  bool every_checkpoint_;
  std::vector<WatchState> changed_;
  std::vector<TickerWindow> windows_;
  size_t snapshot_bytes_ = 0;  // the file's size when last read or rewritten
  size_t journal_bytes_ = 0;   // appended since
  TimeMs last_write_ = 0;
};

// ---------------------------------------------------------------- the loop

struct Counts {
  uint64_t quotes = 0, alerts = 0, unknown = 0, out_of_order = 0, passed = 0, reloads = 0;
  uint64_t by_condition[4] = {0, 0, 0, 0};  // Condition::kAbove, kBelow, kUp, kDown
};

/// The run's counts as metrics, published at each checkpoint (the hot path
/// only increments the plain counters above).
class AlertMetrics {
 public:
  AlertMetrics()
      : quotes_in_(In("quote")),
        other_in_(In("other")),
        alerts_out_(Out("alert")),
        other_out_(Out("other")),
        above_(Alerts("above")),
        below_(Alerts("below")),
        up_(Alerts("up")),
        down_(Alerts("down")),
        rejected_(metrics::Default().counter("stockwatch_records_rejected_total",
                                             "Input records rejected (bad JSON or fields)")),
        unwatched_(metrics::Default().counter("stockwatch_quotes_unwatched_total",
                                              "Quotes for tickers nobody watches")),
        out_of_order_(metrics::Default().counter(
            "stockwatch_quotes_out_of_order_total",
            "Quotes older than the newest one seen for their ticker (ignored)")),
        reloads_(metrics::Default().counter("stockwatch_watch_reloads_total",
                                            "Times the watches were reloaded")) {}
  void Publish(const Counts& c, uint64_t rejected) {
    quotes_in_.Set(c.quotes);
    other_in_.Set(c.passed);
    other_out_.Set(c.passed);
    alerts_out_.Set(c.alerts);
    above_.Set(c.by_condition[0]);
    below_.Set(c.by_condition[1]);
    up_.Set(c.by_condition[2]);
    down_.Set(c.by_condition[3]);
    rejected_.Set(rejected);
    unwatched_.Set(c.unknown);
    out_of_order_.Set(c.out_of_order);
    reloads_.Set(c.reloads);
  }

 private:
  static metrics::Counter& In(const char* type) {
    return metrics::Default().counter("stockwatch_records_in_total", "Input records by type",
                                      {{"type", type}});
  }
  static metrics::Counter& Out(const char* type) {
    return metrics::Default().counter("stockwatch_records_out_total", "Output records by type",
                                      {{"type", type}});
  }
  static metrics::Counter& Alerts(const char* condition) {
    return metrics::Default().counter("stockwatch_alerts_total", "Alerts emitted by condition",
                                      {{"condition", condition}});
  }
  metrics::Counter &quotes_in_, &other_in_, &alerts_out_, &other_out_, &above_, &below_, &up_,
      &down_, &rejected_, &unwatched_, &out_of_order_, &reloads_;
};

void LogDiff(const WatchDiff& d, size_t tickers, const std::string& from, bool initial) {
  if (d.duplicates > 0) {
    log::Warn("{}: {} duplicate watch(es) (same email and ticker): the later one is used", from,
              d.duplicates);
  }
  if (initial) {
    log::Info("{} watch(es) on {} ticker(s) from {}", d.added, tickers, from);
  } else {
    log::Info("watches reloaded from {}: {} kept, {} changed, {} added, {} removed", from, d.kept,
              d.changed, d.added, d.removed);
  }
}

/// Watches: the store's unless --watches names a file (`store` is opened then).
std::unique_ptr<WatchProvider> OpenWatches(const AlertRunOptions& o,
                                           std::unique_ptr<Store>& store) {
  if (!o.watches_file.empty()) return std::make_unique<FileWatches>(o.watches_file);
  store = Store::Open(o.db_url);
  return std::make_unique<StoreWatches>(*store, o.db_url);
}

/// States: --state, else the store's. Level mode keeps no edge states, only
/// the move windows.
std::unique_ptr<StateKeeper> OpenStates(const AlertRunOptions& o, Store* store) {
  if (!o.state_file.empty())
    return std::make_unique<FileStates>(o.state_file, IsKafka(o.stream.input));
  if (store) return std::make_unique<StoreStates>(*store, o.mode == AlertMode::kEdge);
  log::Info("no --state file: edge states last for this run only");
  return std::make_unique<NoStates>();
}

void LoadWatchesAndStates(AlertEngine& engine, WatchProvider& watches, StateKeeper& states,
                          bool edge) {
  WatchDiff initial = engine.SetWatches(watches.Load());
  LogDiff(initial, engine.ticker_count(), watches.name(), true);
  if (engine.watches().empty()) log::Warn("no watches in {}: no quote can alert", watches.name());
  std::vector<WatchState> saved = states.Load(engine);
  if (edge) {
    size_t n = engine.RestoreStates(saved);
    log::Info("restored {} watch state(s)", n);
  }
  size_t w = engine.RestoreWindows(states.windows());
  if (w > 0) log::Info("restored the move windows of {} ticker(s)", w);
}

/// Kafka: partitions (tickers) that another consumer of the group owned
/// until now come with the states it saved before its offsets were
/// committed; ours were saved by the pre-commit hook just before. `drain`
/// first checks the quotes read before the change, as if they had been
/// checked before it.
void ReloadStatesOnAssign(Source& in, AlertEngine& engine, StateKeeper& states,
                          std::function<void()> drain) {
  in.set_on_assign([&in, &engine, &states, drain = std::move(drain)] {
    drain();
    // Changes not yet saved belong to partitions we may no longer own (a
    // lost assignment saves nothing on revoke): saving them later would
    // overwrite what the new owner saved. The store is the truth now.
    engine.DiscardChangedStates();
    engine.DiscardChangedWindows();
    engine.ForgetPrices();
    size_t n = engine.RestoreStates(states.Load(engine));
    engine.RestoreWindows(states.windows());
    log::Info("{}: partitions assigned: reloaded {} watch state(s)", in.name(), n);
  });
}

/// The per-record work of the loop: quotes go to the engine and its alerts
/// out; other records pass through.
class AlertLoop {
 public:
  AlertLoop(AlertEngine& engine, WatchProvider& watches, Sink& out, TimeMs reload_ms)
      : engine_(engine), watches_(watches), out_(out), reload_ms_(reload_ms) {}

  void Handle(const InRecord& rec) {
    if (!first_record_) first_record_ = std::chrono::steady_clock::now();
    // Parsed into the next free place of the quotes held back (below).
    Held& h = held_[(head_ + held_count_) % kMaxHeld];
    AnyRecord& any = h.record;
    any.type_name.clear();
    RecordType type;
    try {
      type = parser_.Parse(rec.value, rec.readable, any);
    } catch (const DataError&) {
      // Well-formed JSON of a type we do not handle passes through unchecked;
      // only bad quotes (and lines that are not records) are rejected.
      if (any.type_name.empty() || any.type_name == "quote") throw;
      type = RecordType::kOther;
    }
    if (type != RecordType::kQuote) {
      Drain();  // the alerts of the quotes before it come first
      out_.Write(rec.key, rec.value);
      ++counts_.passed;
      return;
    }
    // Held back for a few records while the engine loads what checking
    // it reads (AlertEngine::Prefetch), then checked.
    h.input = rec.input;
    h.line = rec.line;
    h.ahead = {};
    ++held_count_;
    const size_t steps = static_cast<size_t>(engine_.prefetch_steps());
    for (size_t k = 0; k < steps && k < held_count_; ++k) {
      Held& older = held_[(head_ + held_count_ - 1 - k) % kMaxHeld];
      engine_.Prefetch(older.record.quote, static_cast<int>(k), older.ahead);
    }
    while (held_count_ > steps) CheckOldest();
  }
  /// Checks the quotes held back: before a checkpoint (flushed outputs,
  /// saved states), a partition change, and at the end.
  void Drain() {
    while (held_count_ > 0) CheckOldest();
  }
  /// After a checkpoint: look for changed watches at the next quote.
  void CheckWatchesSoon() { check_now_ = true; }
  const Counts& counts() const { return counts_; }
  const std::optional<std::chrono::steady_clock::time_point>& first_record() const {
    return first_record_;
  }

 private:
  // At most prefetch_steps() + 1 quotes are held.
  static constexpr size_t kMaxHeld = 4;
  struct Held {
    AnyRecord record;
    const std::string* input = nullptr;
    uint64_t line = 0;
    AlertEngine::Lookahead ahead;  // what the steps found
  };

  void CheckOldest() {
    const Held& h = held_[head_];
    head_ = (head_ + 1) % kMaxHeld;
    --held_count_;
    ++counts_.quotes;
    MaybeReload();
    const Quote& q = h.record.quote;
    switch (engine_.OnQuote(q, h.ahead)) {
      case QuoteOutcome::kUnknownTicker:
        ++counts_.unknown;
        return;
      case QuoteOutcome::kOutOfOrder:
        ++counts_.out_of_order;
        log::Info("{}:{}: {} quote at {} is older than the newest one seen for it: ignored",
                  *h.input, h.line, q.ticker, FormatRfc3339(q.ts));
        return;
      case QuoteOutcome::kChecked:
        break;
    }
    WriteAlerts(q);
  }
  void WriteAlerts(const Quote& q) {
    for (const Fired& f : engine_.fired()) {
      engine_.FillAlert(f, q, alert_);
      buf_.clear();
      AppendJson(buf_, alert_);
      out_.Write(alert_.email, buf_);
      ++counts_.alerts;
      ++counts_.by_condition[static_cast<int>(f.condition)];
    }
  }
  // Watch changes: checked after every checkpoint (so also right after the
  // input was idle) and every 1024 quotes, at most once per --reload.
  void MaybeReload() {
    if (!check_now_ && ++since_check_ < 1024) return;
    check_now_ = false;
    since_check_ = 0;
    TimeMs now = NowMs();
    if (now - last_check_ < reload_ms_) return;
    last_check_ = now;
    try {
      if (!watches_.Changed()) return;
      WatchDiff diff = engine_.SetWatches(watches_.Load());
      LogDiff(diff, engine_.ticker_count(), watches_.name(), false);
      ++counts_.reloads;
    } catch (const Error& e) {
      // Keep alerting on the watches we have; try again at the next poll.
      log::Warn("cannot reload the watches: {}", e.what());
    }
  }

  AlertEngine& engine_;
  WatchProvider& watches_;
  Sink& out_;
  const TimeMs reload_ms_;
  Counts counts_;
  bool check_now_ = true;
  unsigned since_check_ = 0;
  TimeMs last_check_ = NowMs();
  RecordParser parser_;
  Held held_[kMaxHeld];
  size_t head_ = 0, held_count_ = 0;
  Alert alert_;
  std::string buf_;
  std::optional<std::chrono::steady_clock::time_point> first_record_;
};

void LogSummary(const AlertLoop& loop, uint64_t rejected,
                std::chrono::steady_clock::time_point started) {
  const Counts& counts = loop.counts();
  const auto ended = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(ended - started).count();
  // Over Kafka the time before the first record is mostly the group join.
  const double busy = loop.first_record()
                          ? std::chrono::duration<double>(ended - *loop.first_record()).count()
                          : 0.0;
  log::Info(
      "{} quote(s), {} alert(s), {} for unwatched tickers, {} out of order, {} passed through, "
      "{} rejected, {} watch reload(s)",
      counts.quotes, counts.alerts, counts.unknown, counts.out_of_order, counts.passed, rejected,
      counts.reloads);
  log::Info("read for {:.3f} s, {:.3f} s of it from the first record: {:.0f} quote(s)/s", secs,
            busy, busy > 0 ? static_cast<double>(counts.quotes) / busy : 0.0);
}

}  // namespace

int RunAlert(const AlertRunOptions& o, const std::function<void(std::string_view)>& diag) {
  AlertEngine engine({o.mode, o.hysteresis});
  const bool edge = o.mode == AlertMode::kEdge;
  std::unique_ptr<Store> store;
  std::unique_ptr<WatchProvider> watches = OpenWatches(o, store);
  std::unique_ptr<StateKeeper> states = OpenStates(o, store.get());
  engine.TrackChangedWindows(states->keeps());
  LoadWatchesAndStates(engine, *watches, *states, edge);

  std::unique_ptr<Sink> out = OpenSink(o.stream, o.stream.output);
  std::unique_ptr<Sink> dead_letter;
  std::vector<Sink*> outs{out.get()};
  if (!o.stream.dead_letter.empty()) {
    dead_letter = OpenSink(o.stream, o.stream.dead_letter, /*append=*/true);
    outs.push_back(dead_letter.get());
  }
  std::unique_ptr<Source> in = OpenSource(o.stream, o.stream.input);
  Rejecter rejecter(o.stream.program, dead_letter.get(), o.stream.strict, diag);

  AlertLoop loop(engine, *watches, *out, o.reload_ms);
  if (states->shared()) ReloadStatesOnAssign(*in, engine, *states, [&] { loop.Drain(); });
  AlertMetrics published;
  LoopOptions lo;
  lo.drain = [&] { loop.Drain(); };
  lo.pre_commit = [&] {
    // The outputs are flushed (acknowledged) by now; the states go next,
    // and only then are the input offsets committed.
    states->Save(engine, false);
    loop.CheckWatchesSoon();
    published.Publish(loop.counts(), rejecter.count());
  };
  const auto started = std::chrono::steady_clock::now();
  RunLoop(
      *in, outs, rejecter, [&](const InRecord& rec) { loop.Handle(rec); }, lo);
  states->Save(engine, true);
  published.Publish(loop.counts(), rejecter.count());
  LogSummary(loop, rejecter.count(), started);
  return rejecter.ExitCode();
}

}  // namespace stockwatch
