#pragma once
/// The alert engine of stock-alert: watches indexed by ticker with their
/// thresholds in sorted arrays, edge- or level-triggered band checks with
/// optional hysteresis, and the edge states that survive restarts.
/// Pure logic: no I/O, no clock, no logging.
///
/// Cost per quote: O(log n + c) for the quote's ticker, where n is the
/// number of watches on that ticker and c the number of watches whose state
/// changes (alerts fired plus re-arms); watches that neither fire nor re-arm
/// are never visited. The first quote of a ticker after SetWatches() on a
/// fresh engine (no previous price) visits every watch of that ticker once.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stockwatch/records.h"
#include "stockwatch/store.h"

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
  double hysteresis_pct = 0;
};

/// One watch that fires on a quote.
struct Fired {
  uint32_t watch = 0;  // index into AlertEngine::watches()
  Condition condition = Condition::kAbove;
};

/// What OnQuote() did with a quote.
enum class QuoteOutcome {
  kChecked,        // checked against the ticker's watches (fired() may be empty)
  kUnknownTicker,  // no watch follows the ticker: nothing to do
  kOutOfOrder,     // older than the newest quote seen for its ticker: ignored
};

/// What SetWatches() changed, for logging.
struct WatchDiff {
  size_t kept = 0;        // same email, ticker, low and high as before: state kept
  size_t changed = 0;     // same email and ticker, other band (or telegram id)
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

  /// Checks one validated quote. On kChecked, fired() holds the alerts to
  /// emit, in watch order. A quote older than the newest one seen for its
  /// ticker is kOutOfOrder and changes nothing; an equal ts is checked.
  QuoteOutcome OnQuote(const Quote& q);
  /// The watches that fired on the last OnQuote(); valid until the next call.
  std::span<const Fired> fired() const { return fired_; }

  /// Fills `out` (reusing its strings) with the alert record for `f` on `q`.
  void FillAlert(const Fired& f, const Quote& q, Alert& out) const;

  /// Appends the states changed since the last call (by quotes or by
  /// SetWatches) and forgets them. Level mode keeps no states.
  void TakeChangedStates(std::vector<WatchState>& out);
  bool has_changed_states() const { return !changed_.empty(); }
  /// Appends every state set by a quote so far (ts != 0), in watch order.
  void SnapshotStates(std::vector<WatchState>& out) const;

  const std::vector<Watch>& watches() const { return watches_; }
  /// The current edge state of watch `i`.
  BandState state(uint32_t i) const { return slots_[i].state; }
  /// The index of the watch (email, ticker), if any. O(log n).
  std::optional<uint32_t> Find(std::string_view email, std::string_view ticker) const;
  size_t ticker_count() const { return tickers_.size(); }
  /// How many times a watch was checked against a price so far (each
  /// candidate once per threshold found between the previous and the new
  /// price): lets tests verify the cost model.
  uint64_t evaluations() const { return evaluations_; }

 private:
  struct Slot {
    double low, high;                // NaN when absent
    double rearm_low, rearm_high;    // hysteresis re-arm points (NaN when absent)
    TimeMs state_ts = 0;             // ts of the quote that set the state
    uint32_t ticker = 0;
    BandState state = BandState::kInside;
    bool changed = false;            // listed in changed_
    bool unsettled = false;          // state may not be a fixed point of the previous price
  };
  /// Threshold values sorted ascending, with the watch each belongs to.
  struct Sorted {
    std::vector<double> value;
    std::vector<uint32_t> watch;
    void Sort();
  };
  struct TickerIndex {
    std::vector<uint32_t> watches;  // every watch on the ticker, ascending
    Sorted low, high, rearm_low, rearm_high;
    std::vector<uint32_t> unsettled;  // watches to check at the next quote
    bool has_prev = false;  // prev is the last checked price; every watch not unsettled is settled
    double prev = 0;
    bool has_ts = false;
    TimeMs last_ts = 0;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  void Evaluate(uint32_t i, double price, TimeMs ts);
  void SetState(uint32_t i, BandState s, TimeMs ts);
  void CheckLevel(const TickerIndex& t, double price);
  void CheckEdge(TickerIndex& t, double price, TimeMs ts);
  void BuildTicker(TickerIndex& t);

  AlertConfig config_;
  bool hysteresis_ = false;
  std::vector<Watch> watches_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> by_key_;  // watch indices sorted by (email, ticker)
  std::vector<TickerIndex> tickers_;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> ticker_ids_;
  std::vector<Fired> fired_;
  std::vector<uint32_t> changed_;
  uint64_t evaluations_ = 0;
};

}  // namespace stockwatch
