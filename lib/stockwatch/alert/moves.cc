// The percent-move half of the alert engine (see engine.h): move groups,
// their windows, and the checks of move watches.
#include <algorithm>
#include <cmath>
#include <limits>

#include "stockwatch/alert/engine.h"
#include "stockwatch/alert/new_set.h"

namespace stockwatch {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

}  // namespace

// Watch i's move, and what the old set knew of it when the move is the same.
void AlertEngine::CarryMove(NewSet& n, uint32_t i, std::optional<uint32_t> old) const {
  const Watch& w = n.watches[i];
  MoveSlot& m = n.moves[i];
  if (!w.move) {
    m.pct = kNaN;
    return;
  }
  m.pct = *w.move;
  m.rearm = m.pct * (1 - config_.hysteresis_pct / 100);
  m.dir = w.direction;
  if (!old || moves_.empty()) return;
  const Watch& ow = watches_[*old];
  if (ow.move == w.move && ow.within == w.within && ow.direction == w.direction) {
    m.bits = moves_[*old].bits;
    m.ref = moves_[*old].ref;
  }
}

// Each ticker's move watches, one group per distinct window.
void AlertEngine::BuildMoveGroups(NewSet& n) const {
  if (n.moves.empty()) return;
  std::vector<uint32_t> members;
  for (uint32_t id = 0; id < n.tickers.size(); ++id) {
    TickerCold& c = n.tickers[id];
    members.clear();
    for (uint32_t k = 0; k < c.watches_count; ++k) {
      uint32_t i = n.ticker_watches[c.watches_begin + k];
      if (!std::isnan(n.moves[i].pct)) members.push_back(i);
    }
    if (members.empty()) continue;
    std::stable_sort(members.begin(), members.end(), [&](uint32_t a, uint32_t b) {
      return n.watches[a].within < n.watches[b].within;
    });
    c.groups_begin = static_cast<uint32_t>(n.groups.size());
    for (size_t from = 0; from < members.size();) {
      size_t to = from + 1;
      while (to < members.size() &&
             n.watches[members[to]].within == n.watches[members[from]].within)
        ++to;
      AddMoveGroup(n, id, std::span<const uint32_t>(members).subspan(from, to - from));
      from = to;
    }
    c.groups_count = static_cast<uint32_t>(n.groups.size()) - c.groups_begin;
    n.proto[id].flags |= kHasMoves;
  }
}

// One group: its thresholds sorted per direction, and what the old group of
// the same ticker and window knew (its window, the day, the last moves).
void AlertEngine::AddMoveGroup(NewSet& n, uint32_t ticker,
                               std::span<const uint32_t> members) const {
  MoveGroup g;
  g.ticker = ticker;
  g.within_ms = n.watches[members.front()].within * 1000;
  const TickerSlot& proto = n.proto[ticker];
  if (const TickerSlot* old = FindTicker(std::string_view(proto.key, proto.len))) {
    const TickerCold& oc = tickers_[IdOf(*old)];
    bool found = false;
    for (uint32_t k = 0; k < oc.groups_count; ++k) {
      const MoveGroup& og = groups_[oc.groups_begin + k];
      if (og.within_ms != g.within_ms) continue;
      found = true;
      g.window = og.window;
      g.day_ref = og.day_ref;
      g.has_ref = og.has_ref;
      // Watches the old group still had to check are checked anew: all.
      g.has_prev = og.has_prev && og.unsettled.empty();
      g.m_up = og.m_up;
      g.m_down = og.m_down;
    }
    if (!found && g.within_ms != 0) {
      // A new window on a ticker that has others starts with what they
      // hold: exact for a window no longer than the longest of them.
      std::vector<WindowPoint> seed;
      AppendWindow(oc, seed);
      for (const WindowPoint& p : seed) g.window.Push(p.ts, p.price, g.within_ms);
    }
  }
  g.begin = static_cast<uint32_t>(n.move_values.size());
  std::vector<std::pair<double, uint32_t>> section;
  auto add = [&](MoveDirection skip) {
    section.clear();
    for (uint32_t i : members)
      if (n.moves[i].dir != skip) section.emplace_back(n.moves[i].pct, i);
    std::sort(section.begin(), section.end());
    for (auto& [pct, i] : section) {
      n.move_values.push_back(pct);
      n.move_rearm.push_back(n.moves[i].rearm);  // ascending too: pct times a constant
      n.move_owners.push_back(i);
    }
    return static_cast<uint32_t>(section.size());
  };
  g.n_up = add(MoveDirection::kDown);
  g.n_down = add(MoveDirection::kUp);
  for (uint32_t i : members) n.moves[i].group = static_cast<uint32_t>(n.groups.size());
  n.groups.push_back(std::move(g));
}

void AlertEngine::CheckMoves(TickerCold& c, const Quote& q) {
  for (uint32_t k = 0; k < c.groups_count; ++k) {
    MoveGroup& g = groups_[c.groups_begin + k];
    double ref_up, ref_down;
    if (g.within_ms == 0) {
      // The day's change needs the previous close; a quote without one
      // cannot move a day-change watch.
      if (!q.prev_close || !(*q.prev_close > 0)) continue;
      const double ref = *q.prev_close;
      if (!g.has_ref || ref != g.day_ref) {
        // A new trading day: both directions armed again, and every
        // threshold up to the new move is crossed.
        g.day_ref = ref;
        g.has_ref = true;
        g.m_up = g.m_down = kMinusInf;
      }
      ref_up = ref_down = ref;
    } else {
      g.window.Push(q.ts, q.price, g.within_ms);
      if (!c.window_dirty) {
        c.window_dirty = true;
        dirty_windows_.push_back(g.ticker);
      }
      ref_up = g.window.min();
      ref_down = g.window.max();
    }
    CheckMoveGroup(g, q.price, q.ts, ref_up, ref_down);
  }
}

void AlertEngine::CheckMoveGroup(MoveGroup& g, double price, TimeMs ts, double ref_up,
                                 double ref_down) {
  // A reference of 0 has no percent move.
  const double m_up = ref_up > 0 ? (price - ref_up) / ref_up * 100 : 0;
  const double m_down = ref_down > 0 ? (ref_down - price) / ref_down * 100 : 0;
  if (config_.mode == AlertMode::kLevel) {
    FireMoveLevel(g, m_up, m_down, ref_up, ref_down);
    return;
  }
  cur_group_ = &g;
  cur_up_ = m_up;
  cur_down_ = m_down;
  cur_ref_up_ = ref_up;
  cur_ref_down_ = ref_down;
  cur_ts_ = ts;
  if (!g.has_prev) {
    for (uint32_t k = g.begin; k < g.begin + g.n_up + g.n_down; ++k)
      EvaluateMove(move_owners_[k], ts);
  } else {
    VisitMoves(g, g.begin, g.n_up, g.m_up, m_up);
    VisitMoves(g, g.begin + g.n_up, g.n_down, g.m_down, m_down);
  }
  for (uint32_t i : g.unsettled) EvaluateMove(i, ts);  // a second look changes nothing
  g.unsettled.clear();
  g.m_up = m_up;
  g.m_down = m_down;
  g.has_prev = true;
  cur_group_ = nullptr;
}

// The watches of one direction whose predicates flip between the move
// `before` and `now`: "m >= pct" flips iff lo < pct <= hi, and "m < re-arm"
// iff lo < re-arm <= hi. Every other watch is a fixed point of both.
void AlertEngine::VisitMoves(const MoveGroup& g, uint32_t from, uint32_t n, double before,
                             double now) {
  const double lo = std::min(before, now), hi = std::max(before, now);
  if (!(lo < hi)) return;
  auto visit = [&](const double* v) {
    const double* b = std::upper_bound(v + from, v + from + n, lo);
    const double* e = std::upper_bound(b, v + from + n, hi);
    for (auto k = static_cast<size_t>(b - v); k < static_cast<size_t>(e - v); ++k)
      EvaluateMove(move_owners_[k], cur_ts_);
  };
  visit(move_values_.data());
  if (hysteresis_ && g.within_ms != 0) visit(move_rearm_.data());
}

void AlertEngine::FireMoveLevel(const MoveGroup& g, double m_up, double m_down, double ref_up,
                                double ref_down) {
  auto fire = [&](uint32_t from, uint32_t n, double m, Condition c, double ref) {
    const double* v = move_values_.data() + from;
    const auto e = static_cast<uint32_t>(std::upper_bound(v, v + n, m) - v);
    evaluations_ += e;
    for (uint32_t k = 0; k < e; ++k) fired_.push_back({move_owners_[from + k], c, ref});
  };
  fire(g.begin, g.n_up, m_up, Condition::kUp, ref_up);
  fire(g.begin + g.n_up, g.n_down, m_down, Condition::kDown, ref_down);
}

// The transition of one move watch on the current group's moves: a bit is
// set (the direction fires) when the move reaches pct, and cleared (re-armed)
// when a windowed move falls under the re-arm point. A day-change watch's
// bits of another day count as clear. Applying the same moves twice changes
// nothing.
void AlertEngine::EvaluateMove(uint32_t i, TimeMs ts) {
  ++evaluations_;
  MoveSlot& s = moves_[i];
  const MoveGroup& g = *cur_group_;
  const bool day = g.within_ms == 0;
  const uint8_t bits = day && s.ref != g.day_ref ? 0 : s.bits;
  auto step = [&](uint8_t b, uint8_t bit, double m) -> uint8_t {
    if (!(b & bit)) return m >= s.pct ? static_cast<uint8_t>(b | bit) : b;
    return !day && m < s.rearm ? static_cast<uint8_t>(b & ~bit) : b;
  };
  uint8_t next = bits;
  if (s.dir != MoveDirection::kDown) next = step(next, kMoveUpFired, cur_up_);
  if (s.dir != MoveDirection::kUp) next = step(next, kMoveDownFired, cur_down_);
  if (next == bits) return;
  s.bits = next;
  if (day) s.ref = g.day_ref;
  MarkChanged(i, ts);
  const uint8_t fired = next & static_cast<uint8_t>(~bits);
  if (fired & kMoveUpFired) fired_.push_back({i, Condition::kUp, cur_ref_up_});
  if (fired & kMoveDownFired) fired_.push_back({i, Condition::kDown, cur_ref_down_});
}

// ---------------------------------------------------------------- windows

void AlertEngine::AppendWindow(const TickerCold& c, std::vector<WindowPoint>& out) const {
  const size_t start = out.size();
  size_t windows = 0;
  for (uint32_t k = 0; k < c.groups_count; ++k) {
    const MoveGroup& g = groups_[c.groups_begin + k];
    if (g.within_ms == 0) continue;
    g.window.AppendPoints(out);
    ++windows;
  }
  if (windows < 2) return;
  auto begin = out.begin() + static_cast<std::ptrdiff_t>(start);
  auto less = [](const WindowPoint& a, const WindowPoint& b) {
    return a.ts != b.ts ? a.ts < b.ts : a.price < b.price;
  };
  std::sort(begin, out.end(), less);
  out.erase(std::unique(begin, out.end(),
                        [](const WindowPoint& a, const WindowPoint& b) {
                          return a.ts == b.ts && a.price == b.price;
                        }),
            out.end());
}

void AlertEngine::TakeChangedWindows(std::vector<TickerWindow>& out) {
  out.resize(dirty_windows_.size());
  for (size_t k = 0; k < dirty_windows_.size(); ++k) {
    TickerCold& c = tickers_[dirty_windows_[k]];
    c.window_dirty = false;
    const TickerSlot& t = table_[c.slot];
    out[k].ticker.assign(t.key, t.len);
    out[k].points.clear();
    AppendWindow(c, out[k].points);
  }
  dirty_windows_.clear();
}

void AlertEngine::DiscardChangedWindows() {
  for (uint32_t id : dirty_windows_) tickers_[id].window_dirty = false;
  dirty_windows_.clear();
}

void AlertEngine::SnapshotWindows(std::vector<TickerWindow>& out) const {
  for (const TickerCold& c : tickers_) {
    if (c.groups_count == 0) continue;
    TickerWindow w;
    AppendWindow(c, w.points);
    if (w.points.empty()) continue;
    const TickerSlot& t = table_[c.slot];
    w.ticker.assign(t.key, t.len);
    out.push_back(std::move(w));
  }
}

size_t AlertEngine::RestoreWindows(std::span<const TickerWindow> windows) {
  size_t restored = 0;
  std::vector<WindowPoint> sorted;
  for (const TickerWindow& w : windows) {
    TickerSlot* t = FindTicker(w.ticker);
    if (t == nullptr || w.points.empty()) continue;
    const TickerCold& c = tickers_[IdOf(*t)];
    sorted = w.points;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const WindowPoint& a, const WindowPoint& b) { return a.ts < b.ts; });
    bool any = false;
    for (uint32_t k = 0; k < c.groups_count; ++k) {
      MoveGroup& g = groups_[c.groups_begin + k];
      if (g.within_ms == 0) continue;
      g.window.Clear();
      for (const WindowPoint& p : sorted) g.window.Push(p.ts, p.price, g.within_ms);
      g.has_prev = false;  // its moves are computed afresh at the next quote
      g.unsettled.clear();
      any = true;
    }
    if (!any) continue;
    if (!(t->flags & kHasTs) || sorted.back().ts > t->last_ts) {
      t->flags |= kHasTs;
      t->last_ts = sorted.back().ts;
    }
    ++restored;
  }
  return restored;
}

}  // namespace stockwatch
