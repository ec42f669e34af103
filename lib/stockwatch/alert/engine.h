#pragma once
/// The alert engine of stock-alert: watches indexed by ticker with their
/// thresholds in sorted arrays, edge- or level-triggered band checks with
/// optional hysteresis, and the edge states that survive restarts.
/// Pure logic: no I/O, no clock, no logging.
///
/// Cost per quote: one hash probe into a cache-line-per-ticker table, then
/// O(log n + c) for the quote's ticker, where n is the number of watches on
/// that ticker and c the number of watches whose state changes (alerts
/// fired plus re-arms; level mode: alerts fired). Watches that neither fire
/// nor re-arm are never visited, and a quote that crosses no threshold reads
/// nothing beyond its ticker's cache line. The first quote of a ticker with
/// no previous price (fresh engine, ForgetPrices()) visits every watch of
/// that ticker once; SetWatches() costs O(N log N) for N watches.
///
/// Percent-move watches are grouped per ticker by their window (`within`;
/// 0 is the day's change from the quote's prev_close). A windowed group
/// keeps the window's minimum and maximum in two monotonic deques (O(1)
/// amortised per quote); each group turns the quote into two moves (up
/// from the reference low, down from the reference high) and, as for
/// bands, visits only the watches whose thresholds lie between the group's
/// previous and new move: O(g (log n + 1) + c) for g distinct windows on
/// the ticker. A day-change watch fires at most once per direction per
/// trading day (a new prev_close is a new day) and does not re-arm within
/// it; a windowed one re-arms when the move falls back under its threshold
/// (with hysteresis, that much under).
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/alert/pages.h"
#include "stockwatch/alert/window.h"
#include "stockwatch/core/records.h"

namespace stockwatch {

enum class AlertMode {
  kEdge,   // one alert when the price leaves the band; re-armed when it comes back
  kLevel,  // an alert for every quote outside the band
};

/// Parses "edge" / "level"; nullopt otherwise.
std::optional<AlertMode> ParseAlertMode(std::string_view s);

struct AlertConfig {
  AlertMode mode = AlertMode::kEdge;
  /// Edge mode only: a watch that fired `above` re-arms once the price is at
  /// or below high - |high| * pct / 100 (`below`: at or above
  /// low + |low| * pct / 100). 0: re-arms as soon as the price is inside.
  /// A windowed move watch of M% that fired re-arms once the move is below
  /// M * (1 - pct / 100).
  double hysteresis_pct = 0;
};

/// One watch that fires on a quote.
struct Fired {
  uint32_t watch = 0;  // index into AlertEngine::watches()
  Condition condition = Condition::kAbove;
  double reference = 0;  // up/down: the price the move is measured from
};

/// What OnQuote() did with a quote.
enum class QuoteOutcome {
  kChecked,        // checked against the ticker's watches (fired() may be empty)
  kUnknownTicker,  // no watch follows the ticker: nothing to do
  kOutOfOrder,     // older than the newest quote seen for its ticker: ignored
};

/// What SetWatches() changed, for logging.
struct WatchDiff {
  size_t kept = 0;     // same email, ticker, band and move as before: state kept
  size_t changed = 0;  // same email and ticker, other band, move (or telegram id)
  size_t added = 0;
  size_t removed = 0;
  size_t duplicates = 0;  // same email and ticker given twice: the later one is used
};

/// Not thread-safe. Typical use:
///   AlertEngine e({AlertMode::kEdge, 0});
///   e.SetWatches(watches); e.RestoreStates(saved);
///   if (e.OnQuote(q) == QuoteOutcome::kChecked)
///     for (const Fired& f : e.fired()) { e.FillAlert(f, q, alert); ... }
///   e.TakeChangedStates(changed);  // at checkpoints: save them
/// A quote that fires k watches also costs O(k log k) to list them in watch order.
class AlertEngine {
 public:
  /// Throws Error(64) when hysteresis_pct is negative, not finite, >= 100,
  /// or given in level mode.
  explicit AlertEngine(AlertConfig config = {});

  const AlertConfig& config() const { return config_; }

  /// Replaces the watch set (watches must be validated: normalised ticker
  /// and email, low < high). A watch is identified by (email, ticker).
  /// Watches whose band is unchanged keep their edge state; a changed watch
  /// keeps `above` only if its high is unchanged and `below` only if its low
  /// is unchanged, else it is inside again (so a price outside the new band
  /// alerts at the next quote). Each ticker keeps its previous price and
  /// newest timestamp. Order: fired() lists watches in the order given here.
  WatchDiff SetWatches(std::vector<Watch> watches);

  /// Restores saved edge states, matched by (email, ticker); states of
  /// unknown watches are ignored, and `above`/`below` is dropped when the
  /// watch has no such bound. Also restores each ticker's newest timestamp
  /// (the newest state ts), so a replayed older quote is ignored. Does not
  /// mark states changed. Returns how many states were applied.
  size_t RestoreStates(std::span<const WatchState> states);

  /// Forgets every ticker's previous price (not its newest timestamp), so
  /// the next quote of each ticker checks all its watches against their
  /// states. For when the states may have been changed elsewhere (another
  /// consumer owned the ticker's partition): call before RestoreStates().
  void ForgetPrices();

  /// Checks one validated quote. On kChecked, fired() holds the alerts to
  /// emit, in watch order. A quote older than the newest one seen for its
  /// ticker is kOutOfOrder and changes nothing; an equal ts is checked.
  QuoteOutcome OnQuote(const Quote& q) { return OnQuote(q, Lookahead{}); }

  /// What the loading steps of one quote found of its ticker (its table
  /// position), so that the later steps and OnQuote() need not look the
  /// ticker up again. A fresh one ({}) for each quote; only for that quote.
  /// One found before SetWatches() (in this engine or another) is not used.
  struct Lookahead {
    uint64_t set = 0;  // the watch set pos belongs to (0: none)
    uint32_t pos = 0;  // the ticker's table position, or kNoTicker
  };

  /// Loading ahead. With move watches, OnQuote() spends much of its time
  /// waiting for its ticker's cache lines, and each of them can be asked
  /// for only once the line that locates it has arrived. A caller that can
  /// hold a few quotes back calls, for each new quote, Prefetch(held[k], k,
  /// ahead[k]) for k = 0 .. prefetch_steps() - 1 (held[0] the newest,
  /// held[k] the quote k before it), then OnQuote(q, ahead) on the quote
  /// that has had every step: each step starts loading what the next one
  /// (or OnQuote()) reads while the caller parses the next quote.
  /// Prefetch() changes nothing but `ahead`; skipping it costs only time.
  /// Without move watches there is no step: a ticker's one line is found
  /// fast enough (measured: holding quotes back cost band-only runs more
  /// than it saved).
  int prefetch_steps() const { return ticker_moves_.empty() ? 0 : 3; }
  void Prefetch(const Quote& q, int step, Lookahead& ahead) const;
  /// OnQuote(q) with what Prefetch() found of q's ticker.
  QuoteOutcome OnQuote(const Quote& q, const Lookahead& ahead);
  /// The watches that fired on the last OnQuote(); valid until the next call.
  std::span<const Fired> fired() const { return fired_; }

  /// Fills `out` (reusing its strings) with the alert record for `f` on `q`.
  void FillAlert(const Fired& f, const Quote& q, Alert& out) const;

  /// Replaces the content of `out` (reusing its elements' strings) with the
  /// states changed since the last call (by quotes or by SetWatches), and
  /// forgets them. Level mode keeps no states.
  void TakeChangedStates(std::vector<WatchState>& out);
  /// Forgets the changed states without copying them (nowhere to save them).
  void DiscardChangedStates();
  bool has_changed_states() const { return !changed_.empty(); }
  /// Appends every state set by a quote so far (ts != 0), in watch order.
  void SnapshotStates(std::vector<WatchState>& out) const;

  /// Move windows, saved with the states so a restart still sees the prices
  /// of the last `within`. Replaces `out` with the points of each ticker
  /// whose windows took a quote since the last call (all points its windows
  /// hold, oldest first, each once) and forgets the marks.
  void TakeChangedWindows(std::vector<TickerWindow>& out);
  void DiscardChangedWindows();
  bool has_changed_windows() const { return !dirty_windows_.empty(); }
  /// Whether quotes mark the windows they change (the default). Off, when
  /// nothing saves them, a quote does not touch that bookkeeping, and
  /// TakeChangedWindows() returns nothing.
  void TrackChangedWindows(bool on) {
    track_windows_ = on;
    if (!on) DiscardChangedWindows();
  }
  /// Appends the points of every ticker with a non-empty window.
  void SnapshotWindows(std::vector<TickerWindow>& out) const;
  /// Refills the windows of the tickers given (points oldest first; unknown
  /// tickers and tickers without windows are ignored) and raises each
  /// ticker's newest timestamp to its newest point. Their groups check
  /// every watch at the next quote. Returns how many tickers were restored.
  size_t RestoreWindows(std::span<const TickerWindow> windows);

  const std::vector<Watch>& watches() const { return watches_; }
  /// The current edge state of watch `i`.
  BandState state(uint32_t i) const { return slots_[i].state; }
  /// Watch `i`'s move bits (kMoveUpFired, kMoveDownFired) and, for a day
  /// change, the prev_close they belong to.
  uint8_t move_bits(uint32_t i) const { return moves_.empty() ? 0 : moves_[i].bits; }
  double move_ref(uint32_t i) const { return moves_.empty() ? 0 : moves_[i].ref; }
  /// The index of the watch (email, ticker), if any. O(log n).
  std::optional<uint32_t> Find(std::string_view email, std::string_view ticker) const;
  size_t ticker_count() const { return tickers_.size(); }
  /// How many times a watch was checked against a price so far (each
  /// candidate once per threshold found between the previous and the new
  /// price): lets tests verify the cost model.
  uint64_t evaluations() const { return evaluations_; }

 private:
  struct Slot {
    double low, high;              // NaN when absent
    double rearm_low, rearm_high;  // hysteresis re-arm points (NaN when absent)
    TimeMs state_ts = 0;           // ts of the quote that set the state
    uint32_t ticker = 0;
    BandState state = BandState::kInside;
    bool changed = false;    // listed in changed_
    bool unsettled = false;  // state may not be a fixed point of the previous price
  };
  /// A watch's move (moves_ is empty when no watch has one).
  struct MoveSlot {
    double pct = 0;    // NaN: the watch has no move
    double rearm = 0;  // pct * (1 - hysteresis)
    double ref = 0;    // day change: the prev_close `bits` belong to
    uint32_t group = 0;
    uint8_t bits = 0;  // kMoveUpFired | kMoveDownFired
    MoveDirection dir = MoveDirection::kBoth;
  };
  /// The move watches of one ticker with one window: what every quote that
  /// is not quiet reads, in one cache line (the rest is in MoveGroupCold).
  struct alignas(64) MoveGroup {
    // Around the group's move of each direction (MoveGroupCold's m_up and
    // m_down): no threshold (or re-arm point) lies in [gap_lo, gap_hi) but
    // gap_lo itself, so a move that stays in it flips nothing. Floats,
    // rounded inwards: never wider than the exact gap. An empty gap
    // (lo > hi) makes the next quote look.
    float up_gap_lo = kInfF, up_gap_hi = -kInfF, down_gap_lo = kInfF, down_gap_hi = -kInfF;
    double low = 0, high = 0;        // a window's lowest and highest price (has_ext),
    TimeMs low_ts = 0, high_ts = 0;  // kept until they leave the window (or are beaten)
    double day_ref = 0;              // the prev_close of the current trading day (has_ref)
    int32_t within_ms = 0;           // 0: the day's change (at most 7 days)
    bool has_ref = false;
    bool has_prev = false;   // the moves and gaps hold: every settled watch is their fixed point
    bool unsettled = false;  // group_unsettled_ lists watches to check at the next quote
    bool has_ext = false;
  };
  static_assert(sizeof(MoveGroup) == 64, "one cache line");
  /// What a group's quote reads only when a move leaves its gap. Thresholds
  /// are in move_values_ from `begin`: n_up ascending (watches looking up),
  /// then n_down ascending; move_rearm_ holds their re-arm points alongside.
  struct MoveGroupCold {
    double m_up = 0, m_down = 0;  // a move in each gap (has_prev), the last one that left it
    uint32_t ticker = 0;
    uint32_t begin = 0, n_up = 0, n_down = 0;
  };
  /// A ticker's move data (ticker_moves_, at its table position), in two cache lines.
  struct alignas(64) TickerMoves {
    // Edge mode: a quote priced strictly inside (quiet_lo, quiet_hi), no
    // later than quiet_until and with the previous close quiet_ref (NaN:
    // the ticker has no day-change group) moves no
    // group's move across a threshold and no window's low or high: only
    // the window takes it.
    double quiet_lo = 0, quiet_hi = 0, quiet_ref = 0;
    TimeMs quiet_until = 0;
    MinMaxWindow window;                          // the prices of the last window_ms
    int32_t window_ms = 0;                        // the longest window of its groups; 0: none
    uint32_t groups_begin = 0, groups_count = 0;  // in groups_
    bool quiet = false;                           // quiet_* hold
    bool window_dirty = false;                    // listed in dirty_windows_
  };
  static_assert(sizeof(TickerMoves) == 128, "two cache lines");
  /// What a quote needs of its ticker, in one cache line, stored in an
  /// open-addressing table keyed by the ticker itself (tickers have at most
  /// 16 characters). Its thresholds are contiguous in values_/owners_, each
  /// section sorted ascending: lows, highs, then (with hysteresis) the
  /// re-arm points of the same watches: n_low re-arm lows, n_high re-arm highs.
  /// No threshold lies strictly between gap_below and gap_above, and prev
  /// lies strictly between them (or both equal prev when a threshold does):
  /// a quote inside that gap crosses nothing and reads nothing else.
  struct alignas(64) TickerSlot {
    char key[16] = {};
    double prev = 0;                      // the last checked price (kHasPrev)
    TimeMs last_ts = 0;                   // the newest quote ts (kHasTs)
    double gap_below = 0, gap_above = 0;  // (kHasPrev)
    uint32_t begin = 0;
    uint32_t n_low = 0, n_high = 0;
    uint8_t len = 0;  // 0: an empty table slot
    uint8_t flags = 0;
  };
  static_assert(sizeof(TickerSlot) == 64, "one cache line");
  static constexpr uint8_t kHasPrev =
      1;  // edge: every watch not unsettled is a fixed point of prev
  static constexpr uint8_t kHasTs = 2;
  static constexpr uint8_t kUnsettled = 4;  // the ticker's unsettled list is not empty
  static constexpr uint8_t kQuiet = 8;      // level: no watch fires inside the gap
  static constexpr uint8_t kHasMoves = 16;  // the ticker has move watches
  static constexpr double kInf = std::numeric_limits<double>::infinity();
  static constexpr float kInfF = std::numeric_limits<float>::infinity();
  /// The rest of a ticker's data.
  struct TickerCold {
    uint32_t slot = 0;                              // position in table_
    uint32_t watches_begin = 0, watches_count = 0;  // in ticker_watches_
    std::vector<uint32_t> unsettled;                // watches to check at the next quote
  };

  /// What FillAlert() reads of a watch, in one cache line on the engine's
  /// pages: from watches_ it would take a cache and a TLB miss for the
  /// Watch and as many again for its email's heap memory.
  struct alignas(64) AlertFacts {
    double low = 0, high = 0, move = 0;  // NaN when absent
    int64_t telegram_id = 0;             // has_telegram
    int32_t within = 0;                  // seconds (at most 7 days)
    uint16_t email_len = 0;
    bool has_telegram = false;
    // The email when it fits; a longer one is in long_emails_, from the
    // offset (uint32_t) stored here.
    char email[25] = {};
  };
  static_assert(sizeof(AlertFacts) == 64, "one cache line");
  std::string_view EmailOf(const AlertFacts& a) const;

  struct NewSet;
  static void GatherAlertFacts(NewSet& n);
  void CollectTickers(NewSet& n) const;
  void CarryWatchStates(NewSet& n, WatchDiff& diff) const;
  static void GroupByTicker(NewSet& n);
  void LayOutThresholds(NewSet& n) const;
  static void PlaceTickers(NewSet& n);
  void Adopt(NewSet&& n);
  void CarryMove(NewSet& n, uint32_t i, std::optional<uint32_t> old) const;
  void BuildMoveGroups(NewSet& n) const;
  void AddMoveGroup(NewSet& n, uint32_t ticker, std::span<const uint32_t> members) const;

  void CheckMoves(TickerMoves& c, const Quote& q);
  static bool Quiet(const TickerMoves& c, const Quote& q);
  void PrefetchMoves(const TickerMoves& c, const Quote& q, int step) const;
  void PrefetchGroups(const TickerMoves& c) const;
  static void WindowExtremes(const TickerMoves& c, MoveGroup& g, const Quote& q);
  void SetQuiet(TickerMoves& c) const;
  void Unsettle(uint32_t group, uint32_t watch);
  void CheckMoveGroup(uint32_t k, double price, TimeMs ts, double ref_up, double ref_down);
  void VisitMoves(const MoveGroup& g, uint32_t from, uint32_t n, double before, double now);
  void MoveGap(const MoveGroup& g, uint32_t from, uint32_t n, double m, float& lo, float& hi) const;
  void FireMoveLevel(const MoveGroupCold& g, double m_up, double m_down, double ref_up,
                     double ref_down);
  void EvaluateMove(uint32_t i, TimeMs ts);
  void MarkChanged(uint32_t i, TimeMs ts);
  void AppendWindow(const TickerMoves& c, std::vector<WindowPoint>& out) const;

  static constexpr uint32_t kNoTicker = std::numeric_limits<uint32_t>::max();
  TickerSlot* FindTicker(std::string_view ticker);
  // The ticker's slot, from `ahead` when it holds for the current set.
  TickerSlot* Locate(std::string_view ticker, const Lookahead& ahead) {
    if (ahead.set != set_id_) return FindTicker(ticker);
    return ahead.pos == kNoTicker ? nullptr : &table_[ahead.pos];
  }
  const TickerSlot* FindTicker(std::string_view ticker) const {
    return const_cast<AlertEngine*>(this)->FindTicker(ticker);
  }
  void Evaluate(uint32_t i, double price, TimeMs ts);
  void SetState(uint32_t i, BandState s, TimeMs ts);
  void MarkUnsettled(uint32_t i);
  void CheckLevel(TickerSlot& t, double price);
  void CheckEdge(TickerSlot& t, double price, TimeMs ts);
  void SetGap(TickerSlot& t, double price) const;
  size_t PosOf(const TickerSlot& t) const { return static_cast<size_t>(&t - table_.data()); }
  uint32_t IdOf(const TickerSlot& t) const { return id_of_pos_[PosOf(t)]; }
  TickerMoves& MovesOf(uint32_t id) { return ticker_moves_[tickers_[id].slot]; }
  const TickerMoves& MovesOf(uint32_t id) const { return ticker_moves_[tickers_[id].slot]; }

  AlertConfig config_;
  uint64_t set_id_;  // of the current watch set (or of none yet): unique in the process
  bool hysteresis_ = false;
  std::vector<Watch> watches_;
  PageVector<Slot> slots_;
  std::vector<uint32_t> by_key_;     // watch indices sorted by (email, ticker)
  PageVector<TickerSlot> table_;     // power-of-two size, at most 80% full
  std::vector<uint32_t> id_of_pos_;  // the ticker id of each table position
  std::vector<TickerCold> tickers_;
  std::vector<uint32_t> ticker_watches_;  // watch indices grouped by ticker, ascending
  PageVector<double> values_;             // thresholds, see TickerSlot
  PageVector<uint32_t> owners_;           // the watch of each value
  std::vector<Fired> fired_;
  PageVector<AlertFacts> facts_;  // by watch
  PageVector<char> long_emails_;  // see AlertFacts
  std::vector<uint32_t> changed_;
  PageVector<MoveSlot> moves_;  // per watch; empty when no watch has a move
  PageVector<MoveGroup> groups_;
  PageVector<MoveGroupCold> group_cold_;  // by group
  // As table_ (by table position); empty when no watch has a move.
  PageVector<TickerMoves> ticker_moves_;
  std::vector<std::vector<uint32_t>> group_unsettled_;  // by group
  PageVector<double> move_values_;                      // see MoveGroupCold
  PageVector<double> move_rearm_;
  PageVector<uint32_t> move_owners_;
  std::vector<uint32_t> dirty_windows_;  // table positions
  bool track_windows_ = true;
  // What EvaluateMove() compares with: the group and moves being checked.
  const MoveGroup* cur_group_ = nullptr;
  double cur_up_ = 0, cur_down_ = 0, cur_ref_up_ = 0, cur_ref_down_ = 0;
  TimeMs cur_ts_ = 0;
  uint64_t evaluations_ = 0;
};

}  // namespace stockwatch
