#include "stockwatch/alert/engine.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <utility>

#include "stockwatch/alert/new_set.h"

namespace stockwatch {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Orders watches by (email, ticker): the identity of a watch.
int CompareKey(const Watch& w, std::string_view email, std::string_view ticker) {
  if (int c = std::string_view(w.email).compare(email); c != 0) return c;
  return std::string_view(w.ticker).compare(ticker);
}

// Watch sets are numbered from 1, across all engines (Lookahead::set).
uint64_t NewSetId() {
  static std::atomic<uint64_t> last{0};
  return ++last;
}

}  // namespace

std::optional<AlertMode> ParseAlertMode(std::string_view s) {
  if (s == "edge") return AlertMode::kEdge;
  if (s == "level") return AlertMode::kLevel;
  return std::nullopt;
}

AlertEngine::AlertEngine(AlertConfig config) : config_(config), set_id_(NewSetId()) {
  double h = config_.hysteresis_pct;
  if (!std::isfinite(h) || h < 0 || h >= 100) {
    throw Error(exitcode::kUsage, "--hysteresis: must be a percentage from 0 to below 100");
  }
  if (h > 0 && config_.mode == AlertMode::kLevel) {
    throw Error(exitcode::kUsage, "--hysteresis: only applies to --mode edge");
  }
  hysteresis_ = h > 0;
}

namespace {

constexpr size_t kMaxTicker = 16;

// A ticker key (TickerSlot::key: up to kMaxTicker characters, zero-padded)
// as two words.
struct KeyWords {
  uint64_t lo = 0, hi = 0;
};
KeyWords WordsOf(const char* key) {
  KeyWords k;
  std::memcpy(&k.lo, key, 8);
  std::memcpy(&k.hi, key + 8, 8);
  return k;
}
// The words of the key of a ticker of 1 to kMaxTicker characters, read
// without a call to memcpy: loads that overlap, shifted into place.
KeyWords WordsOf(std::string_view t) {
  const char* p = t.data();
  const size_t n = t.size();
  if constexpr (std::endian::native != std::endian::little) {
    char key[kMaxTicker] = {};
    std::memcpy(key, p, n);
    return WordsOf(key);
  }
  KeyWords k;
  if (n >= 8) {
    std::memcpy(&k.lo, p, 8);
    uint64_t last8;  // characters n-8 .. n-1
    std::memcpy(&last8, p + n - 8, 8);
    k.hi = n == 8 ? 0 : last8 >> (8 * (16 - n));
  } else if (n >= 4) {
    uint32_t first4, last4;  // they overlap unless n is 8
    std::memcpy(&first4, p, 4);
    std::memcpy(&last4, p + n - 4, 4);
    k.lo = first4 | static_cast<uint64_t>(last4) << (8 * (n - 4));
  } else {
    const auto c = [&](size_t i) { return static_cast<uint64_t>(static_cast<uint8_t>(p[i])); };
    k.lo = c(0) | c(n / 2) << (8 * (n / 2)) | c(n - 1) << (8 * (n - 1));
  }
  return k;
}

uint64_t HashKey(KeyWords k, uint32_t len) {
  uint64_t h = (k.lo ^ 0x9e3779b97f4a7c15ULL) * 0xbf58476d1ce4e5b9ULL;
  h ^= k.hi + len;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

AlertEngine::TickerSlot* AlertEngine::FindTicker(std::string_view ticker) {
  if (ticker.empty() || ticker.size() > kMaxTicker || table_.empty()) return nullptr;
  const KeyWords k = WordsOf(ticker);
  const auto len = static_cast<uint32_t>(ticker.size());
  const size_t mask = table_.size() - 1;
  const size_t home = HashKey(k, len) & mask;
  if (!ticker_moves_.empty()) {
    // Most tickers sit at their home position: start loading their move
    // data with the slot, not after it.
    PrefetchLine(&ticker_moves_[home]);
    PrefetchLine(reinterpret_cast<const char*>(&ticker_moves_[home]) + 64);
  }
  for (size_t pos = home;; pos = (pos + 1) & mask) {
    TickerSlot& t = table_[pos];
    if (t.len == 0) return nullptr;
    if (t.len != len) continue;
    const KeyWords tk = WordsOf(t.key);
    if (tk.lo == k.lo && tk.hi == k.hi) return &t;
  }
}

namespace {

// Keeps the last of each (email, ticker) in `watches`, counting the others in
// `duplicates`; `by_key` lists the kept ones by (email, ticker).
void KeepLastOfEachKey(std::vector<Watch> watches, std::vector<Watch>& kept,
                       std::vector<uint32_t>& by_key, size_t& duplicates) {
  std::vector<uint32_t> order(watches.size());
  std::iota(order.begin(), order.end(), 0u);
  auto by_key_less = [&](uint32_t a, uint32_t b) {
    return CompareKey(watches[a], watches[b].email, watches[b].ticker) < 0;
  };
  // The store lists watches by (email, ticker) already.
  if (!std::is_sorted(order.begin(), order.end(), by_key_less)) {
    std::stable_sort(order.begin(), order.end(), by_key_less);
  }
  std::vector<bool> keep(watches.size(), true);
  for (size_t k = 0; k + 1 < order.size(); ++k) {
    if (CompareKey(watches[order[k]], watches[order[k + 1]].email, watches[order[k + 1]].ticker) ==
        0) {
      keep[order[k]] = false;
      ++duplicates;
    }
  }
  if (duplicates == 0) {
    // The common case: no copy (a million watches is a lot of memory).
    kept = std::move(watches);
    by_key = std::move(order);
    return;
  }
  std::vector<uint32_t> new_index(watches.size(), 0);
  kept.reserve(watches.size() - duplicates);
  for (size_t i = 0; i < watches.size(); ++i) {
    if (!keep[i]) continue;
    new_index[i] = static_cast<uint32_t>(kept.size());
    kept.push_back(std::move(watches[i]));
  }
  by_key.reserve(kept.size());
  for (uint32_t i : order)
    if (keep[i]) by_key.push_back(new_index[i]);
}

}  // namespace

WatchDiff AlertEngine::SetWatches(std::vector<Watch> watches) {
  WatchDiff diff;
  NewSet n;
  // Identity is (email, ticker); of duplicates the later one wins.
  KeepLastOfEachKey(std::move(watches), n.watches, n.by_key, diff.duplicates);
  for (const Watch& w : n.watches) {
    if (w.ticker.empty() || w.ticker.size() > kMaxTicker) {
      throw DataError("ticker: longer than 16 characters");  // Validate() already refuses these
    }
  }
  CollectTickers(n);
  CarryWatchStates(n, diff);
  GroupByTicker(n);
  BuildMoveGroups(n);
  LayOutThresholds(n);
  PlaceTickers(n);
  GatherAlertFacts(n);
  Adopt(std::move(n));
  return diff;
}

void AlertEngine::GatherAlertFacts(NewSet& n) {
  n.facts.resize(n.watches.size());
  for (size_t i = 0; i < n.watches.size(); ++i) {
    const Watch& w = n.watches[i];
    AlertFacts& a = n.facts[i];
    a.low = w.low.value_or(kNaN);
    a.high = w.high.value_or(kNaN);
    a.move = w.move.value_or(kNaN);
    a.has_telegram = w.telegram_id.has_value();
    a.telegram_id = w.telegram_id.value_or(0);
    a.within = static_cast<int32_t>(w.within);
    if (w.email.size() > std::numeric_limits<uint16_t>::max()) {
      throw DataError("email: longer than 254 characters");  // Validate() already refuses these
    }
    a.email_len = static_cast<uint16_t>(w.email.size());
    if (w.email.size() <= sizeof a.email) {
      std::memcpy(a.email, w.email.data(), w.email.size());
    } else {
      const auto at = static_cast<uint32_t>(n.long_emails.size());
      n.long_emails.insert(n.long_emails.end(), w.email.begin(), w.email.end());
      std::memcpy(a.email, &at, sizeof at);
    }
  }
}

std::string_view AlertEngine::EmailOf(const AlertFacts& a) const {
  if (a.email_len <= sizeof a.email) return {a.email, a.email_len};
  uint32_t at;
  std::memcpy(&at, a.email, sizeof at);
  return {&long_emails_[at], a.email_len};
}

// Tickers of the new set, carrying each ticker's price and time.
void AlertEngine::CollectTickers(NewSet& n) const {
  const bool edge = config_.mode == AlertMode::kEdge;
  n.slots.resize(n.watches.size());
  std::unordered_map<std::string_view, uint32_t> ids;
  for (uint32_t i = 0; i < n.watches.size(); ++i) {
    const std::string& name = n.watches[i].ticker;
    auto [it, inserted] = ids.try_emplace(name, static_cast<uint32_t>(n.proto.size()));
    if (inserted) {
      TickerSlot t;
      std::memcpy(t.key, name.data(), name.size());
      t.len = static_cast<uint8_t>(name.size());
      if (const TickerSlot* old = FindTicker(name)) {
        // The previous price stays (edge mode: the unchanged watches are
        // fixed points of it); the gap is recomputed at the next quote.
        if (edge && (old->flags & kHasPrev)) {
          t.flags |= kHasPrev;
          t.prev = old->prev;
          t.gap_below = t.gap_above = old->prev;
        }
        t.flags |= old->flags & kHasTs;
        t.last_ts = old->last_ts;
      }
      n.proto.push_back(t);
    }
    n.slots[i].ticker = it->second;
  }
  n.tickers.resize(n.proto.size());
}

// Slots, carrying what the old set knew about each watch.
void AlertEngine::CarryWatchStates(NewSet& n, WatchDiff& diff) const {
  const bool edge = config_.mode == AlertMode::kEdge;
  const double pct = config_.hysteresis_pct / 100;
  size_t matched_old = 0;
  const bool any_move = std::any_of(n.watches.begin(), n.watches.end(),
                                    [](const Watch& w) { return w.move.has_value(); });
  if (any_move) n.moves.resize(n.watches.size());
  for (uint32_t i = 0; i < n.watches.size(); ++i) {
    const Watch& w = n.watches[i];
    Slot& s = n.slots[i];
    s.low = w.low.value_or(kNaN);
    s.high = w.high.value_or(kNaN);
    s.rearm_low = w.low ? *w.low + std::fabs(*w.low) * pct : kNaN;
    s.rearm_high = w.high ? *w.high - std::fabs(*w.high) * pct : kNaN;

    std::optional<uint32_t> old = Find(w.email, w.ticker);
    if (any_move) CarryMove(n, i, old);
    if (!old) {
      ++diff.added;
      s.unsettled = true;
      continue;
    }
    ++matched_old;
    const Watch& ow = watches_[*old];
    const Slot& os = slots_[*old];
    bool same_band = ow.low == w.low && ow.high == w.high;
    bool same_move = ow.move == w.move && ow.within == w.within && ow.direction == w.direction;
    if (same_band && same_move && ow.telegram_id == w.telegram_id) {
      ++diff.kept;
    } else {
      ++diff.changed;
    }
    s.state = os.state;
    s.state_ts = os.state_ts;
    s.changed = os.changed || (!same_move && move_bits(*old) != 0);
    s.unsettled = os.unsettled || !same_band || !same_move;
    if (!same_band && edge) {
      bool keeps = (os.state == BandState::kAbove && ow.high == w.high) ||
                   (os.state == BandState::kBelow && ow.low == w.low);
      if (os.state != BandState::kInside && !keeps) {
        s.state = BandState::kInside;
        s.changed = true;
      }
    }
  }
  diff.removed = watches_.size() - matched_old;
}

// Watches grouped by ticker (counting sort keeps them ascending).
void AlertEngine::GroupByTicker(NewSet& n) {
  n.ticker_watches.resize(n.watches.size());
  for (const Slot& s : n.slots) ++n.tickers[s.ticker].watches_count;
  uint32_t at = 0;
  for (TickerCold& t : n.tickers) {
    t.watches_begin = at;
    at += t.watches_count;
    t.watches_count = 0;
  }
  for (uint32_t i = 0; i < n.slots.size(); ++i) {
    TickerCold& t = n.tickers[n.slots[i].ticker];
    n.ticker_watches[t.watches_begin + t.watches_count++] = i;
  }
}

// Each ticker's thresholds, contiguous and sorted per section.
void AlertEngine::LayOutThresholds(NewSet& n) const {
  std::vector<std::pair<double, uint32_t>> section;
  for (uint32_t id = 0; id < n.tickers.size(); ++id) {
    TickerSlot& t = n.proto[id];
    t.begin = static_cast<uint32_t>(n.values.size());
    auto add = [&](double Slot::*field) {
      section.clear();
      for (uint32_t k = 0; k < n.tickers[id].watches_count; ++k) {
        uint32_t i = n.ticker_watches[n.tickers[id].watches_begin + k];
        double v = n.slots[i].*field;
        if (!std::isnan(v)) section.emplace_back(v, i);
      }
      std::sort(section.begin(), section.end());
      for (auto& [v, i] : section) {
        n.values.push_back(v);
        n.owners.push_back(i);
      }
      return static_cast<uint32_t>(section.size());
    };
    t.n_low = add(&Slot::low);
    t.n_high = add(&Slot::high);
    if (hysteresis_) {
      // A watch has a re-arm point exactly when it has the bound.
      add(&Slot::rearm_low);
      add(&Slot::rearm_high);
    }
  }
  if (n.values.size() > std::numeric_limits<uint32_t>::max()) {
    throw Error(exitcode::kSoftware, "too many watches for one engine");
  }
}

// The table: a power of two, at most 80% full (small enough to stay in
// cache; linear probing is still short at that load).
void AlertEngine::PlaceTickers(NewSet& n) {
  size_t cap = 16;
  while (cap * 4 < n.proto.size() * 5) cap *= 2;
  n.table.assign(cap, TickerSlot{});
  n.id_of_pos.assign(cap, 0);
  for (uint32_t id = 0; id < n.proto.size(); ++id) {
    const TickerSlot& t = n.proto[id];
    size_t pos = HashKey(WordsOf(t.key), t.len) & (cap - 1);
    while (n.table[pos].len != 0) pos = (pos + 1) & (cap - 1);
    n.table[pos] = t;
    n.id_of_pos[pos] = id;
    n.tickers[id].slot = static_cast<uint32_t>(pos);
  }
  if (n.ticker_moves.empty()) return;
  PageVector<TickerMoves> by_pos(cap);  // built by id: laid out as the table
  for (uint32_t id = 0; id < n.tickers.size(); ++id)
    by_pos[n.tickers[id].slot] = std::move(n.ticker_moves[id]);
  n.ticker_moves.swap(by_pos);
}

// Makes the new set the engine's, and lists the watches to check again.
void AlertEngine::Adopt(NewSet&& n) {
  set_id_ = NewSetId();  // what Prefetch() found in the old set is of no use now
  watches_ = std::move(n.watches);
  slots_ = std::move(n.slots);
  by_key_ = std::move(n.by_key);
  table_ = std::move(n.table);
  id_of_pos_ = std::move(n.id_of_pos);
  tickers_ = std::move(n.tickers);
  ticker_watches_ = std::move(n.ticker_watches);
  values_ = std::move(n.values);
  owners_ = std::move(n.owners);
  moves_ = std::move(n.moves);
  groups_ = std::move(n.groups);
  group_cold_ = std::move(n.group_cold);
  ticker_moves_ = std::move(n.ticker_moves);
  facts_ = std::move(n.facts);
  long_emails_ = std::move(n.long_emails);
  group_unsettled_.assign(groups_.size(), {});
  move_values_ = std::move(n.move_values);
  move_rearm_ = std::move(n.move_rearm);
  move_owners_ = std::move(n.move_owners);
  dirty_windows_.clear();
  changed_.clear();
  fired_.clear();
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.changed) changed_.push_back(i);
    const bool unsettled = s.unsettled;
    s.unsettled = false;
    // Without a previous price the first quote checks every watch anyway.
    if (unsettled && (table_[tickers_[s.ticker].slot].flags & kHasPrev)) MarkUnsettled(i);
    if (unsettled && !moves_.empty() && !std::isnan(moves_[i].pct)) Unsettle(moves_[i].group, i);
  }
}

void AlertEngine::MarkUnsettled(uint32_t i) {
  Slot& s = slots_[i];
  if (s.unsettled) return;
  s.unsettled = true;
  TickerCold& c = tickers_[s.ticker];
  c.unsettled.push_back(i);
  table_[c.slot].flags |= kUnsettled;
}

std::optional<uint32_t> AlertEngine::Find(std::string_view email, std::string_view ticker) const {
  auto it = std::lower_bound(by_key_.begin(), by_key_.end(), 0, [&](uint32_t i, int) {
    return CompareKey(watches_[i], email, ticker) < 0;
  });
  if (it == by_key_.end() || CompareKey(watches_[*it], email, ticker) != 0) return std::nullopt;
  return *it;
}

size_t AlertEngine::RestoreStates(std::span<const WatchState> states) {
  if (config_.mode != AlertMode::kEdge) return 0;
  size_t applied = 0;
  for (const WatchState& st : states) {
    std::optional<uint32_t> i = Find(st.email, st.ticker);
    if (!i) continue;
    Slot& s = slots_[*i];
    BandState b = st.state;
    if ((b == BandState::kAbove && std::isnan(s.high)) ||
        (b == BandState::kBelow && std::isnan(s.low)) ||
        (b != BandState::kAbove && b != BandState::kBelow)) {
      b = BandState::kInside;
    }
    s.state = b;
    s.state_ts = st.ts;
    if (!moves_.empty() && !std::isnan(moves_[*i].pct)) {
      MoveSlot& m = moves_[*i];
      const uint8_t allowed = m.dir == MoveDirection::kUp     ? kMoveUpFired
                              : m.dir == MoveDirection::kDown ? kMoveDownFired
                                                              : kMoveUpFired | kMoveDownFired;
      m.bits = st.move & allowed;
      m.ref = groups_[m.group].within_ms == 0 ? st.move_ref : 0;
      Unsettle(m.group, *i);
    }
    TickerSlot& t = table_[tickers_[s.ticker].slot];
    if (!(t.flags & kHasTs) || st.ts > t.last_ts) {
      t.flags |= kHasTs;
      t.last_ts = st.ts;
    }
    if (t.flags & kHasPrev) MarkUnsettled(*i);
    ++applied;
  }
  return applied;
}

void AlertEngine::ForgetPrices() {
  for (MoveGroup& g : groups_) g.has_prev = g.unsettled = false;
  for (TickerMoves& c : ticker_moves_) c.quiet = false;
  for (std::vector<uint32_t>& list : group_unsettled_) list.clear();
  for (TickerCold& c : tickers_) {
    for (uint32_t i : c.unsettled) slots_[i].unsettled = false;
    c.unsettled.clear();
    table_[c.slot].flags &= static_cast<uint8_t>(~(kHasPrev | kUnsettled | kQuiet));
  }
}

void AlertEngine::SetState(uint32_t i, BandState b, TimeMs ts) {
  slots_[i].state = b;
  MarkChanged(i, ts);
}

void AlertEngine::MarkChanged(uint32_t i, TimeMs ts) {
  Slot& s = slots_[i];
  s.state_ts = ts;
  if (!s.changed) {
    s.changed = true;
    changed_.push_back(i);
  }
}

// The transition of one watch on a price. It depends only on the state and
// on four predicates of the price (> high, < low, <= re-arm high, >= re-arm
// low), and applying the same price twice changes nothing: so a watch none
// of whose predicates flips between two prices keeps its state, which is
// what lets CheckEdge() visit only the thresholds between them.
void AlertEngine::Evaluate(uint32_t i, double price, TimeMs ts) {
  ++evaluations_;
  const Slot& s = slots_[i];
  BandState next = s.state;
  if (price > s.high) {  // false when the bound is absent (NaN)
    next = BandState::kAbove;
  } else if (price < s.low) {
    next = BandState::kBelow;
  } else if (s.state == BandState::kAbove) {
    if (!(price > s.rearm_high)) next = BandState::kInside;
  } else if (s.state == BandState::kBelow) {
    if (!(price < s.rearm_low)) next = BandState::kInside;
  }
  if (next == s.state) return;
  SetState(i, next, ts);
  if (next == BandState::kAbove) fired_.push_back({i, Condition::kAbove});
  if (next == BandState::kBelow) fired_.push_back({i, Condition::kBelow});
}

void AlertEngine::SetGap(TickerSlot& t, double price) const {
  double below = -std::numeric_limits<double>::infinity();
  double above = std::numeric_limits<double>::infinity();
  const double* v = values_.data() + t.begin;
  const uint32_t sections = hysteresis_ ? 2 : 1;
  for (uint32_t r = 0; r < sections; ++r) {
    for (uint32_t n : {t.n_low, t.n_high}) {
      const double* k = std::lower_bound(v, v + n, price);
      if (k > v) below = std::max(below, k[-1]);
      if (k < v + n) above = std::min(above, *k);
      v += n;
    }
  }
  if (above == price) below = price;  // a threshold at the price: no gap
  t.gap_below = below;
  t.gap_above = above;
}

void AlertEngine::CheckEdge(TickerSlot& t, double price, TimeMs ts) {
  if (!(t.flags & kHasPrev)) {
    const TickerCold& c = tickers_[IdOf(t)];
    for (uint32_t k = 0; k < c.watches_count; ++k)
      Evaluate(ticker_watches_[c.watches_begin + k], price, ts);
  } else if (price != t.prev) {
    const double lo = std::min(price, t.prev), hi = std::max(price, t.prev);
    const double* v = values_.data() + t.begin;
    const uint32_t* w = owners_.data() + t.begin;
    // The candidates' slots are scattered: fetch a few ahead of their turn.
    auto evaluate_range = [&](size_t from, size_t to) {
      constexpr size_t kAhead = 8;
      for (size_t k = from; k < std::min(to, from + kAhead); ++k) __builtin_prefetch(&slots_[w[k]]);
      for (size_t k = from; k < to; ++k) {
        if (k + kAhead < to) __builtin_prefetch(&slots_[w[k + kAhead]]);
        Evaluate(w[k], price, ts);
      }
    };
    // "p < v" (and "p >= v") flips between lo and hi iff lo < v <= hi.
    auto open_closed = [&](uint32_t n) {
      const double* b = std::upper_bound(v, v + n, lo);
      const double* e = std::upper_bound(b, v + n, hi);
      evaluate_range(static_cast<size_t>(b - v), static_cast<size_t>(e - v));
      v += n;
      w += n;
    };
    // "p > v" (and "p <= v") flips iff lo <= v < hi.
    auto closed_open = [&](uint32_t n) {
      const double* b = std::lower_bound(v, v + n, lo);
      const double* e = std::lower_bound(b, v + n, hi);
      evaluate_range(static_cast<size_t>(b - v), static_cast<size_t>(e - v));
      v += n;
      w += n;
    };
    open_closed(t.n_low);
    closed_open(t.n_high);
    if (hysteresis_) {
      open_closed(t.n_low);   // re-arm lows
      closed_open(t.n_high);  // re-arm highs
    }
  }
  if (t.flags & kUnsettled) {
    TickerCold& c = tickers_[IdOf(t)];
    for (uint32_t i : c.unsettled) {
      slots_[i].unsettled = false;
      Evaluate(i, price, ts);  // a second look at a watch checked above changes nothing
    }
    c.unsettled.clear();
    t.flags &= static_cast<uint8_t>(~kUnsettled);
  }
  t.flags |= kHasPrev;
  t.prev = price;
  SetGap(t, price);
}

void AlertEngine::CheckLevel(TickerSlot& t, double price) {
  // Every low above the price (a suffix) and every high below it (a prefix).
  const double* lows = values_.data() + t.begin;
  const double* highs = lows + t.n_low;
  const uint32_t* w = owners_.data() + t.begin;
  const double* lb = std::upper_bound(lows, highs, price);
  const double* he = std::lower_bound(highs, highs + t.n_high, price);
  evaluations_ += static_cast<uint64_t>((highs - lb) + (he - highs));
  for (const double* k = lb; k < highs; ++k) fired_.push_back({w[k - lows], Condition::kBelow});
  for (const double* k = highs; k < he; ++k) fired_.push_back({w[k - lows], Condition::kAbove});
  // Inside the gap the same watches fire: remember when that is none.
  SetGap(t, price);
  t.flags |= kHasPrev;
  if (fired_.empty()) {
    t.flags |= kQuiet;
  } else {
    t.flags &= static_cast<uint8_t>(~kQuiet);
  }
}

void AlertEngine::Prefetch(const Quote& q, int step, Lookahead& ahead) const {
  if (q.ticker.empty() || q.ticker.size() > kMaxTicker || table_.empty()) return;
  if (step == 0) {
    const size_t home =
        HashKey(WordsOf(q.ticker), static_cast<uint32_t>(q.ticker.size())) & (table_.size() - 1);
    PrefetchLine(&table_[home]);
    return;
  }
  if (ticker_moves_.empty()) return;
  if (ahead.set != set_id_) {                    // step 1: found once, for step 2 and OnQuote()
    const TickerSlot* t = FindTicker(q.ticker);  // its line has arrived (step 0)
    ahead.set = set_id_;
    ahead.pos = t == nullptr ? kNoTicker : static_cast<uint32_t>(PosOf(*t));
  }
  if (ahead.pos != kNoTicker && (table_[ahead.pos].flags & kHasMoves))
    PrefetchMoves(ticker_moves_[ahead.pos], q, step);
}

QuoteOutcome AlertEngine::OnQuote(const Quote& q, const Lookahead& ahead) {
  fired_.clear();
  TickerSlot* t = Locate(q.ticker, ahead);
  if (t == nullptr) return QuoteOutcome::kUnknownTicker;
  TickerMoves* moves = nullptr;
  if (t->flags & kHasMoves) {
    moves = &ticker_moves_[PosOf(*t)];  // its lines are on their way (FindTicker, Prefetch)
  }
  if ((t->flags & kHasTs) && q.ts < t->last_ts) return QuoteOutcome::kOutOfOrder;
  t->flags |= kHasTs;
  t->last_ts = q.ts;
  // Fast path: inside the gap around the previous price no state changes
  // (edge) and nothing fires if nothing did (level).
  const double p = q.price;
  if ((t->flags & (kHasPrev | kUnsettled)) == kHasPrev && t->gap_below < p && p < t->gap_above &&
      (config_.mode == AlertMode::kEdge || (t->flags & kQuiet))) {
    t->prev = p;
  } else if (config_.mode == AlertMode::kLevel) {
    CheckLevel(*t, p);
  } else {
    CheckEdge(*t, p, q.ts);
  }
  if (moves != nullptr) CheckMoves(*moves, q);
  if (fired_.size() > 1) {
    std::sort(fired_.begin(), fired_.end(), [](const Fired& a, const Fired& b) {
      return a.watch != b.watch ? a.watch < b.watch : a.condition < b.condition;
    });
  }
  // FillAlert() reads these next: start the cache misses now, together.
  for (const Fired& f : fired_) PrefetchLine(&facts_[f.watch]);
  return QuoteOutcome::kChecked;
}

void AlertEngine::FillAlert(const Fired& f, const Quote& q, Alert& out) const {
  const AlertFacts& a = facts_[f.watch];
  const std::string_view email = EmailOf(a);
  auto present = [](double v) { return std::isnan(v) ? std::nullopt : std::optional<double>(v); };
  out.email.assign(email);
  out.telegram_id = a.has_telegram ? std::optional<int64_t>(a.telegram_id) : std::nullopt;
  out.ticker.assign(q.ticker);
  out.condition = f.condition;
  out.price = q.price;
  out.low = present(a.low);
  out.high = present(a.high);
  out.ts = q.ts;
  if (f.condition == Condition::kUp || f.condition == Condition::kDown) {
    const double pct = a.move;
    const double ref = f.reference;
    // The price at which the move reaches pct, to a millionth (no 204.99999999999997).
    const double delta = f.condition == Condition::kUp ? ref * pct / 100 : -ref * pct / 100;
    out.threshold = std::round((ref + delta) * 1e6) / 1e6;
    out.reference = ref;
    out.change = std::round((q.price - ref) / ref * 10000) / 100;  // percent, 2 decimals
    out.move = pct;
    out.within = a.within;
  } else {
    out.threshold = f.condition == Condition::kAbove ? a.high : a.low;
    out.reference.reset();
    out.change.reset();
    out.move.reset();
    out.within = 0;
  }
  out.id.clear();
  AppendAlertId(out.id, email, q.ticker, f.condition, q.ts);
}

void AlertEngine::TakeChangedStates(std::vector<WatchState>& out) {
  out.resize(changed_.size());
  for (size_t k = 0; k < changed_.size(); ++k) {
    Slot& s = slots_[changed_[k]];
    s.changed = false;
    const Watch& w = watches_[changed_[k]];
    WatchState& st = out[k];
    st.email.assign(w.email);
    st.ticker.assign(w.ticker);
    st.state = s.state;
    st.ts = s.state_ts;
    st.move = move_bits(changed_[k]);
    st.move_ref = move_ref(changed_[k]);
  }
  changed_.clear();
}

void AlertEngine::DiscardChangedStates() {
  for (uint32_t i : changed_) slots_[i].changed = false;
  changed_.clear();
}

void AlertEngine::SnapshotStates(std::vector<WatchState>& out) const {
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.state_ts == 0 && s.state == BandState::kInside && move_bits(i) == 0) continue;
    out.push_back(
        {watches_[i].email, watches_[i].ticker, s.state, s.state_ts, move_bits(i), move_ref(i)});
  }
}

}  // namespace stockwatch
