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

// The float nearest to x on the side of the gap's inside: the smallest
// float >= x, and the largest float <= x.
float FloatAtOrAbove(double x) {
  if (!(x <= std::numeric_limits<float>::max())) return std::numeric_limits<float>::infinity();
  auto f = static_cast<float>(x);
  return f < x ? std::nextafter(f, std::numeric_limits<float>::infinity()) : f;
}
float FloatAtOrBelow(double x) {
  if (!(x >= std::numeric_limits<float>::lowest())) return -std::numeric_limits<float>::infinity();
  auto f = static_cast<float>(x);
  return f > x ? std::nextafter(f, -std::numeric_limits<float>::infinity()) : f;
}

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

// Each ticker's move watches, one group per distinct window; the ticker's
// window (prices of the longest one) is carried over from the old set.
void AlertEngine::BuildMoveGroups(NewSet& n) const {
  if (n.moves.empty()) return;
  n.ticker_moves.resize(n.tickers.size());
  std::vector<uint32_t> members;
  for (uint32_t id = 0; id < n.tickers.size(); ++id) {
    const TickerCold& tc = n.tickers[id];
    TickerMoves& c = n.ticker_moves[id];
    members.clear();
    for (uint32_t k = 0; k < tc.watches_count; ++k) {
      uint32_t i = n.ticker_watches[tc.watches_begin + k];
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
    // Sorted: the longest is last (at most 7 days: fits in 32 bits).
    c.window_ms = static_cast<int32_t>(n.groups.back().within_ms);
    n.proto[id].flags |= kHasMoves;
    // A window added to a ticker starts with the prices the ticker's other
    // windows hold: exact for one no longer than the longest of them.
    const TickerSlot& proto = n.proto[id];
    const TickerSlot* old = FindTicker(std::string_view(proto.key, proto.len));
    if (old != nullptr && c.window_ms > 0 && !ticker_moves_.empty())
      c.window = ticker_moves_[PosOf(*old)].window;
  }
}

// One group: its thresholds sorted per direction, and what the old group of
// the same ticker and window knew (the day, the last moves).
void AlertEngine::AddMoveGroup(NewSet& n, uint32_t ticker,
                               std::span<const uint32_t> members) const {
  MoveGroup g;
  MoveGroupCold cold;
  cold.ticker = ticker;
  g.within_ms = static_cast<int32_t>(n.watches[members.front()].within * 1000);
  const TickerSlot& proto = n.proto[ticker];
  const TickerSlot* old = FindTicker(std::string_view(proto.key, proto.len));
  if (old != nullptr && !ticker_moves_.empty()) {
    const TickerMoves& oc = ticker_moves_[PosOf(*old)];
    for (uint32_t k = 0; k < oc.groups_count; ++k) {
      const MoveGroup& og = groups_[oc.groups_begin + k];
      if (og.within_ms != g.within_ms) continue;
      g.day_ref = og.day_ref;
      g.has_ref = og.has_ref;
      // Watches the old group still had to check are checked anew: all.
      g.has_prev = og.has_prev && !og.unsettled;
      cold.m_up = group_cold_[oc.groups_begin + k].m_up;
      cold.m_down = group_cold_[oc.groups_begin + k].m_down;
    }
  }
  cold.begin = static_cast<uint32_t>(n.move_values.size());
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
  cold.n_up = add(MoveDirection::kDown);
  cold.n_down = add(MoveDirection::kUp);
  for (uint32_t i : members) n.moves[i].group = static_cast<uint32_t>(n.groups.size());
  n.groups.push_back(g);
  n.group_cold.push_back(cold);
}

void AlertEngine::Unsettle(uint32_t group, uint32_t watch) {
  MoveGroup& g = groups_[group];
  MovesOf(group_cold_[group].ticker).quiet = false;
  if (!g.has_prev) return;  // its next quote checks every watch anyway
  g.unsettled = true;
  group_unsettled_[group].push_back(watch);
}

// Every group's watches are fixed points of a quiet price too.
bool AlertEngine::Quiet(const TickerMoves& c, const Quote& q) {
  return c.quiet && c.quiet_lo < q.price && q.price < c.quiet_hi && q.ts <= c.quiet_until &&
         (std::isnan(c.quiet_ref) || !q.prev_close || *q.prev_close == c.quiet_ref);
}

void AlertEngine::PrefetchGroups(const TickerMoves& c) const {
  const auto* lines = reinterpret_cast<const char*>(&groups_[c.groups_begin]);
  for (size_t b = 0; b < c.groups_count * sizeof(MoveGroup); b += 64) PrefetchLine(lines + b);
}

// Steps 1 and 2 of Prefetch(): the ticker's move data (as FindTicker() does
// for a ticker at its home position), then what CheckMoves() reads from it.
void AlertEngine::PrefetchMoves(const TickerMoves& c, const Quote& q, int step) const {
  if (step == 1) {
    PrefetchLine(&c);
    PrefetchLine(reinterpret_cast<const char*>(&c) + 64);
    return;
  }
  if (!Quiet(c, q)) PrefetchGroups(c);
  if (c.window_ms > 0) c.window.PrefetchNewest();
}

void AlertEngine::CheckMoves(TickerMoves& c, const Quote& q) {
  const bool quiet = Quiet(c, q);
  // The cache misses of the groups' lines, together, while the window takes the price.
  if (!quiet) PrefetchGroups(c);
  if (c.window_ms > 0) {
    c.window.Push(q.ts, q.price, c.window_ms);
    if (track_windows_ && !c.window_dirty) {
      c.window_dirty = true;
      dirty_windows_.push_back(static_cast<uint32_t>(&c - ticker_moves_.data()));
    }
  }
  if (quiet) return;
  for (uint32_t k = c.groups_begin; k < c.groups_begin + c.groups_count; ++k) {
    MoveGroup& g = groups_[k];
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
        group_cold_[k].m_up = group_cold_[k].m_down = kMinusInf;
        g.up_gap_lo = g.down_gap_lo = kInfF;  // look at the next move, whatever it is
      }
      ref_up = ref_down = ref;
    } else {
      WindowExtremes(c, g, q);
      ref_up = g.low;
      ref_down = g.high;
    }
    CheckMoveGroup(k, q.price, q.ts, ref_up, ref_down);
  }
  SetQuiet(c);
}

// The prices around the last quote that leave every group of the ticker in
// its gaps and every window's low and high in place (see TickerMoves), made
// a billionth narrower so that rounding cannot let a crossing through.
void AlertEngine::SetQuiet(TickerMoves& c) const {
  c.quiet = false;
  if (config_.mode != AlertMode::kEdge) return;
  double lo = -kInf, hi = kInf;
  TimeMs until = std::numeric_limits<TimeMs>::max();
  c.quiet_ref = std::numeric_limits<double>::quiet_NaN();  // no day-change group
  for (uint32_t k = 0; k < c.groups_count; ++k) {
    const MoveGroup& g = groups_[c.groups_begin + k];
    if (!g.has_prev || g.unsettled) return;
    double ref_up = g.day_ref, ref_down = g.day_ref;
    if (g.within_ms == 0) {
      if (!g.has_ref) return;
      c.quiet_ref = g.day_ref;
    } else {
      if (!g.has_ext) return;
      ref_up = g.low;
      ref_down = g.high;
      lo = std::max(lo, g.low);
      hi = std::min(hi, g.high);
      until = std::min(until, std::min(g.low_ts, g.high_ts) + g.within_ms);
    }
    if (!(ref_up > 0) || !(ref_down > 0)) return;
    auto pct = [](float gap) { return static_cast<double>(gap) / 100; };  // in double
    lo = std::max({lo, ref_up * (1 + pct(g.up_gap_lo)), ref_down * (1 - pct(g.down_gap_hi))});
    hi = std::min({hi, ref_up * (1 + pct(g.up_gap_hi)), ref_down * (1 - pct(g.down_gap_lo))});
  }
  if (std::isfinite(lo)) lo += std::fabs(lo) * 1e-9;
  if (std::isfinite(hi)) hi -= std::fabs(hi) * 1e-9;
  if (!(lo < hi)) return;
  c.quiet_lo = lo;
  c.quiet_hi = hi;
  c.quiet_until = until;
  c.quiet = true;
}

// The lowest and highest price of g's window after the quote q (pushed
// already). The group keeps them: a new price can only beat them, and the
// window is searched only when one of them has left it.
void AlertEngine::WindowExtremes(const TickerMoves& c, MoveGroup& g, const Quote& q) {
  const TimeMs since = q.ts - g.within_ms;
  if (!g.has_ext || g.low_ts < since) {
    const WindowPoint& p = c.window.MinPointSince(since);
    g.low = p.price;
    g.low_ts = p.ts;
  } else if (q.price <= g.low) {
    g.low = q.price;
    g.low_ts = q.ts;
  }
  if (!g.has_ext || g.high_ts < since) {
    const WindowPoint& p = c.window.MaxPointSince(since);
    g.high = p.price;
    g.high_ts = p.ts;
  } else if (q.price >= g.high) {
    g.high = q.price;
    g.high_ts = q.ts;
  }
  g.has_ext = true;
}

void AlertEngine::CheckMoveGroup(uint32_t k, double price, TimeMs ts, double ref_up,
                                 double ref_down) {
  MoveGroup& g = groups_[k];
  // A reference of 0 has no percent move.
  const double m_up = ref_up > 0 ? (price - ref_up) / ref_up * 100 : 0;
  const double m_down = ref_down > 0 ? (ref_down - price) / ref_down * 100 : 0;
  if (config_.mode == AlertMode::kLevel) {
    FireMoveLevel(group_cold_[k], m_up, m_down, ref_up, ref_down);
    return;
  }
  // A move that stays in its gap flips nothing, whatever it was before.
  const bool up_stays = g.has_prev && g.up_gap_lo <= m_up && m_up < g.up_gap_hi;
  const bool down_stays = g.has_prev && g.down_gap_lo <= m_down && m_down < g.down_gap_hi;
  if (up_stays && down_stays && !g.unsettled) return;
  MoveGroupCold& c = group_cold_[k];
  cur_group_ = &g;
  cur_up_ = m_up;
  cur_down_ = m_down;
  cur_ref_up_ = ref_up;
  cur_ref_down_ = ref_down;
  cur_ts_ = ts;
  const uint32_t down = c.begin + c.n_up;
  if (!g.has_prev) {
    for (uint32_t j = c.begin; j < down + c.n_down; ++j) EvaluateMove(move_owners_[j], ts);
    MoveGap(g, c.begin, c.n_up, m_up, g.up_gap_lo, g.up_gap_hi);
    MoveGap(g, down, c.n_down, m_down, g.down_gap_lo, g.down_gap_hi);
    c.m_up = m_up;
    c.m_down = m_down;
  } else {
    if (!up_stays) {
      VisitMoves(g, c.begin, c.n_up, c.m_up, m_up);
      MoveGap(g, c.begin, c.n_up, m_up, g.up_gap_lo, g.up_gap_hi);
      c.m_up = m_up;
    }
    if (!down_stays) {
      VisitMoves(g, down, c.n_down, c.m_down, m_down);
      MoveGap(g, down, c.n_down, m_down, g.down_gap_lo, g.down_gap_hi);
      c.m_down = m_down;
    }
  }
  if (g.unsettled) {
    std::vector<uint32_t>& list = group_unsettled_[k];
    for (uint32_t i : list) EvaluateMove(i, ts);  // a second look changes nothing
    list.clear();
    g.unsettled = false;
  }
  g.has_prev = true;
  cur_group_ = nullptr;
}

// The gap around the move m among one direction's thresholds (and re-arm
// points, which windowed watches have with hysteresis).
void AlertEngine::MoveGap(const MoveGroup& g, uint32_t from, uint32_t n, double m, float& lo,
                          float& hi) const {
  double l = -kInf, h = kInf;
  auto narrow = [&](const double* v) {
    const double* k = std::upper_bound(v + from, v + from + n, m);  // the first above m
    if (k > v + from) l = std::max(l, k[-1]);
    if (k < v + from + n) h = std::min(h, *k);
  };
  narrow(move_values_.data());
  if (hysteresis_ && g.within_ms != 0) narrow(move_rearm_.data());
  lo = FloatAtOrAbove(l);
  hi = FloatAtOrBelow(h);
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

void AlertEngine::FireMoveLevel(const MoveGroupCold& g, double m_up, double m_down, double ref_up,
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

void AlertEngine::AppendWindow(const TickerMoves& c, std::vector<WindowPoint>& out) const {
  if (c.window_ms > 0) c.window.AppendPoints(out);
}

void AlertEngine::TakeChangedWindows(std::vector<TickerWindow>& out) {
  out.resize(dirty_windows_.size());
  for (size_t k = 0; k < dirty_windows_.size(); ++k) {
    TickerMoves& c = ticker_moves_[dirty_windows_[k]];
    c.window_dirty = false;
    const TickerSlot& t = table_[dirty_windows_[k]];
    out[k].ticker.assign(t.key, t.len);
    out[k].points.clear();
    AppendWindow(c, out[k].points);
  }
  dirty_windows_.clear();
}

void AlertEngine::DiscardChangedWindows() {
  for (uint32_t pos : dirty_windows_) ticker_moves_[pos].window_dirty = false;
  dirty_windows_.clear();
}

void AlertEngine::SnapshotWindows(std::vector<TickerWindow>& out) const {
  if (ticker_moves_.empty()) return;
  for (uint32_t id = 0; id < tickers_.size(); ++id) {
    if (MovesOf(id).window_ms == 0) continue;
    TickerWindow w;
    AppendWindow(MovesOf(id), w.points);
    if (w.points.empty()) continue;
    const TickerSlot& t = table_[tickers_[id].slot];
    w.ticker.assign(t.key, t.len);
    out.push_back(std::move(w));
  }
}

size_t AlertEngine::RestoreWindows(std::span<const TickerWindow> windows) {
  size_t restored = 0;
  std::vector<WindowPoint> sorted;
  for (const TickerWindow& w : windows) {
    TickerSlot* t = FindTicker(w.ticker);
    if (t == nullptr || w.points.empty() || ticker_moves_.empty()) continue;
    TickerMoves& c = ticker_moves_[PosOf(*t)];
    if (c.window_ms == 0) continue;
    sorted = w.points;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const WindowPoint& a, const WindowPoint& b) { return a.ts < b.ts; });
    c.window.Clear();
    c.quiet = false;
    for (const WindowPoint& p : sorted) c.window.Push(p.ts, p.price, c.window_ms);
    for (uint32_t k = 0; k < c.groups_count; ++k) {
      MoveGroup& g = groups_[c.groups_begin + k];
      if (g.within_ms == 0) continue;
      g.has_prev = false;  // its moves are computed afresh at the next quote
      g.has_ext = false;
      g.unsettled = false;
      group_unsettled_[c.groups_begin + k].clear();
    }
    if (!(t->flags & kHasTs) || sorted.back().ts > t->last_ts) {
      t->flags |= kHasTs;
      t->last_ts = sorted.back().ts;
    }
    ++restored;
  }
  return restored;
}

}  // namespace stockwatch
