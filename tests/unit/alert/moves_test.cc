// Percent-move watches in the alert engine (lib/stockwatch/alert/moves.cc)
// and the window (window.h): examples, the cost model, restarts, and a
// randomized comparison with a brute-force reference.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "alert/band_reference.h"
#include "stockwatch/alert/engine.h"
#include "stockwatch/alert/window.h"

using namespace stockwatch;

namespace {

Watch M(std::string email, std::string ticker, double move, int64_t within = 0,
        MoveDirection dir = MoveDirection::kBoth) {
  Watch w;
  w.email = std::move(email);
  w.ticker = std::move(ticker);
  w.move = move;
  w.within = within;
  w.direction = dir;
  return w;
}

Quote Q(std::string ticker, double price, TimeMs ts, std::optional<double> prev_close = {}) {
  Quote q;
  q.ticker = std::move(ticker);
  q.price = price;
  q.ts = ts;
  q.prev_close = prev_close;
  return q;
}

std::vector<std::string> Fire(AlertEngine& e, const Quote& q,
                              const AlertEngine::Lookahead& ahead = {}) {
  std::vector<std::string> out;
  if (e.OnQuote(q, ahead) != QuoteOutcome::kChecked) return out;
  for (const Fired& f : e.fired())
    out.push_back(e.watches()[f.watch].email + ":" + std::string(ToString(f.condition)));
  return out;
}

using V = std::vector<std::string>;
constexpr TimeMs kSec = 1000;

}  // namespace

TEST_CASE("MinMaxWindow: min and max of the last span, and its points") {
  MinMaxWindow w;
  w.Push(0, 10, 5000);
  w.Push(1000, 12, 5000);
  w.Push(2000, 9, 5000);
  w.Push(3000, 11, 5000);
  CHECK(w.MinPointSince(-2000).price == 9);
  CHECK(w.MaxPointSince(-2000).price == 12);
  CHECK(w.MinPointSince(3000).price == 11);  // a shorter window: the last second only
  CHECK(w.MaxPointSince(2000).price == 11);
  w.Push(6000, 10.5, 5000);  // 1000 (12) is 5 s old: still in
  CHECK(w.MaxPointSince(1000).price == 12);
  w.Push(6001, 10.5, 5000);  // now it is out
  CHECK(w.MinPointSince(1001).price == 9);
  CHECK(w.MaxPointSince(1001).price == 11);
  w.Push(7001, 10.8, 5000);  // and 2000 (9)
  CHECK(w.MinPointSince(2001).price == 10.5);
  // Many points: the ring buffers grow and wrap.
  for (int k = 0; k < 1000; ++k) w.Push(8000 + k, 100 + k % 7, 50);
  CHECK(w.MinPointSince(8999 - 50).price == 100);
  CHECK(w.MaxPointSince(8999 - 50).price == 106);
  CHECK(w.MinPointSince(8999).price == 100 + 999 % 7);
  std::vector<WindowPoint> pts;
  w.AppendPoints(pts);
  REQUIRE(!pts.empty());
  CHECK(std::is_sorted(pts.begin(), pts.end(),
                       [](const WindowPoint& a, const WindowPoint& b) { return a.ts < b.ts; }));
  MinMaxWindow again;
  for (const WindowPoint& p : pts) again.Push(p.ts, p.price, 50);
  for (TimeMs since = 8949; since <= 8999; ++since) {
    CHECK(again.MinPointSince(since).price == w.MinPointSince(since).price);
    CHECK(again.MaxPointSince(since).price == w.MaxPointSince(since).price);
  }
}

TEST_CASE("MinMaxWindow: the same extremes as every point kept, on random streams") {
  // Prices from a small set, so that equal prices (which pop) are common;
  // streams that fall or rise for a while, so that one push pops many.
  for (unsigned seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    const int64_t keep = 1 + static_cast<int64_t>(rng() % 200);
    MinMaxWindow w;
    std::vector<WindowPoint> all;
    TimeMs ts = 0;
    double trend = 0;
    for (int step = 0; step < 3000; ++step) {
      ts += static_cast<TimeMs>(rng() % 4);  // equal ts too
      if (rng() % 50 == 0) trend = static_cast<double>(static_cast<int>(rng() % 3) - 1);
      const double price = std::max(1.0, 50 + trend * (step % 40) + static_cast<double>(rng() % 9));
      w.Push(ts, price, keep);
      all.push_back({ts, price});
      if (step % 500 == 499) {
        MinMaxWindow copy(w);  // a copy, then the original pushed again, must agree
        w = copy;
      }
      const TimeMs since = ts - static_cast<TimeMs>(rng() % static_cast<uint64_t>(keep + 1));
      double lo = 1e300, hi = -1e300;
      for (const WindowPoint& p : all)
        if (p.ts >= since) {
          lo = std::min(lo, p.price);
          hi = std::max(hi, p.price);
        }
      REQUIRE(w.MinPointSince(since).price == lo);
      REQUIRE(w.MaxPointSince(since).price == hi);
      REQUIRE(w.MinPointSince(since).ts >= since);
      REQUIRE(w.MaxPointSince(since).ts >= since);
    }
  }
}

TEST_CASE("moves: a day change fires once per direction per trading day") {
  AlertEngine e;
  e.SetWatches({M("a@x.io", "AAPL", 5)});
  CHECK(Fire(e, Q("AAPL", 104, 1, 100)) == V{});
  CHECK(Fire(e, Q("AAPL", 105, 2, 100)) == V{"a@x.io:up"});  // 5% or more
  CHECK(Fire(e, Q("AAPL", 107, 3, 100)) == V{});
  CHECK(Fire(e, Q("AAPL", 101, 4, 100)) == V{});
  CHECK(Fire(e, Q("AAPL", 106, 5, 100)) == V{});              // not twice in a day
  CHECK(Fire(e, Q("AAPL", 94, 6, 100)) == V{"a@x.io:down"});  // the other direction, once
  CHECK(Fire(e, Q("AAPL", 90, 7, 100)) == V{});
  CHECK(Fire(e, Q("AAPL", 90, 8)) == V{});  // no prev_close: no day change to measure
  // A new previous close is a new day: a move still over 5% fires again.
  CHECK(Fire(e, Q("AAPL", 85, 9, 94)) == V{"a@x.io:down"});
  CHECK(Fire(e, Q("AAPL", 99, 10, 94)) == V{"a@x.io:up"});
}

TEST_CASE("moves: what Prefetch() found of a ticker serves only the watch set it was found in") {
  auto steps = [](const AlertEngine& e, const Quote& q) {
    AlertEngine::Lookahead ahead;
    for (int k = 0; k < e.prefetch_steps(); ++k) e.Prefetch(q, k, ahead);
    return ahead;
  };
  AlertEngine e;
  e.SetWatches({M("a@x.io", "AAPL", 5)});
  REQUIRE(e.prefetch_steps() == 3);
  const Quote up = Q("AAPL", 106, 1, 100);
  CHECK(Fire(e, up, steps(e, up)) == V{"a@x.io:up"});
  const Quote other = Q("MSFT", 106, 2, 100);
  CHECK(e.OnQuote(other, steps(e, other)) == QuoteOutcome::kUnknownTicker);

  // Found, then the watches change: AAPL is no longer watched.
  const Quote down = Q("AAPL", 94, 3, 100);
  AlertEngine::Lookahead ahead = steps(e, down);
  e.SetWatches({M("b@x.io", "MSFT", 5), M("c@x.io", "IBM", 5)});
  CHECK(e.OnQuote(down, ahead) == QuoteOutcome::kUnknownTicker);
  // Found where AAPL is not watched, in another engine that has had as
  // many watch sets.
  AlertEngine f;
  f.SetWatches({M("a@x.io", "AAPL", 5)});
  f.SetWatches({M("b@x.io", "MSFT", 5), M("c@x.io", "IBM", 5)});
  ahead = steps(f, down);
  AlertEngine g;
  g.SetWatches({M("b@x.io", "MSFT", 5)});
  g.SetWatches({M("a@x.io", "AAPL", 5)});
  CHECK(Fire(g, down, ahead) == V{"a@x.io:down"});
}

TEST_CASE("moves: --up and --down watch one direction") {
  AlertEngine e;
  e.SetWatches(
      {M("u@x.io", "T", 2, 0, MoveDirection::kUp), M("d@x.io", "T", 2, 0, MoveDirection::kDown)});
  CHECK(Fire(e, Q("T", 97, 1, 100)) == V{"d@x.io:down"});
  CHECK(Fire(e, Q("T", 103, 2, 100)) == V{"u@x.io:up"});
}

TEST_CASE("moves: a windowed move fires on the crossing and re-arms under it") {
  AlertEngine e;
  e.SetWatches({M("a@x.io", "BTC-USD", 3, 3600)});
  CHECK(Fire(e, Q("BTC-USD", 100, 0)) == V{});
  CHECK(Fire(e, Q("BTC-USD", 102, 60 * kSec)) == V{});
  CHECK(Fire(e, Q("BTC-USD", 103, 120 * kSec)) == V{"a@x.io:up"});  // 3% over the low (100)
  CHECK(Fire(e, Q("BTC-USD", 104, 180 * kSec)) == V{});
  CHECK(Fire(e, Q("BTC-USD", 102.5, 240 * kSec)) == V{});  // 2.5%: re-armed
  CHECK(Fire(e, Q("BTC-USD", 103.5, 300 * kSec)) == V{"a@x.io:up"});
  // Down from the window's high (104): 3% is 100.88.
  CHECK(Fire(e, Q("BTC-USD", 100.8, 360 * kSec)) == V{"a@x.io:down"});
  // An hour after 100 and 104, the window is 102.5..103.5 and later.
  CHECK(Fire(e, Q("BTC-USD", 101, 3660 * kSec)) == V{});
  CHECK(Fire(e, Q("BTC-USD", 101, 3900 * kSec)) == V{});
}

TEST_CASE("moves: hysteresis re-arms a windowed move only that far under") {
  AlertEngine e({AlertMode::kEdge, 50});
  e.SetWatches({M("a@x.io", "T", 4, 600, MoveDirection::kUp)});
  CHECK(Fire(e, Q("T", 100, 0)) == V{});
  CHECK(Fire(e, Q("T", 104, 1 * kSec)) == V{"a@x.io:up"});
  CHECK(Fire(e, Q("T", 102.5, 2 * kSec)) == V{});  // 2.5% >= 2% (4 * 50%): still fired
  CHECK(Fire(e, Q("T", 104, 3 * kSec)) == V{});
  CHECK(Fire(e, Q("T", 101.9, 4 * kSec)) == V{});  // 1.9%: re-armed
  CHECK(Fire(e, Q("T", 104, 5 * kSec)) == V{"a@x.io:up"});
}

TEST_CASE("moves: level mode fires on every quote past the move") {
  AlertEngine e({AlertMode::kLevel, 0});
  e.SetWatches({M("a@x.io", "T", 5), M("b@x.io", "T", 10)});
  CHECK(Fire(e, Q("T", 106, 1, 100)) == V{"a@x.io:up"});
  CHECK(Fire(e, Q("T", 111, 2, 100)) == V{"a@x.io:up", "b@x.io:up"});
  CHECK(Fire(e, Q("T", 111, 3, 100)) == V{"a@x.io:up", "b@x.io:up"});
  CHECK(Fire(e, Q("T", 94, 4, 100)) == V{"a@x.io:down"});
}

TEST_CASE("moves: one watch with a band and a move gives both alerts") {
  AlertEngine e;
  Watch w = M("a@x.io", "T", 5);
  w.high = 104;
  e.SetWatches({w});
  CHECK(Fire(e, Q("T", 106, 1, 100)) == V{"a@x.io:above", "a@x.io:up"});
  CHECK(Fire(e, Q("T", 103, 2, 100)) == V{});
  CHECK(Fire(e, Q("T", 105, 3, 100)) == V{"a@x.io:above"});  // the move fired today already
}

TEST_CASE("moves: FillAlert carries the reference, the change and the window") {
  AlertEngine e;
  Watch w = M("a@x.io", "T", 3, 3600, MoveDirection::kDown);
  w.telegram_id = 42;
  e.SetWatches({w});
  e.OnQuote(Q("T", 200, 1000));
  REQUIRE(e.OnQuote(Q("T", 193.5, 2000)) == QuoteOutcome::kChecked);
  REQUIRE(e.fired().size() == 1);
  Alert a;
  e.FillAlert(e.fired()[0], Q("T", 193.5, 2000), a);
  CHECK(a.condition == Condition::kDown);
  CHECK(a.reference == 200);
  CHECK(a.change == -3.25);
  CHECK(a.move == 3);
  CHECK(a.within == 3600);
  CHECK(a.threshold == doctest::Approx(194));
  CHECK(a.telegram_id == 42);
  CHECK(a.id == AlertId("a@x.io", "T", Condition::kDown, 2000));
  CHECK(a.id != AlertId("a@x.io", "T", Condition::kBelow, 2000));
  CHECK(ToJson(a).find(R"("condition":"down")") != std::string::npos);
  // A band alert after a move alert has none of the move fields.
  Watch b;
  b.email = "b@x.io";
  b.ticker = "T";
  b.high = 190;
  e.SetWatches({w, b});
  e.OnQuote(Q("T", 195, 3000));
  REQUIRE(e.fired().size() == 1);
  e.FillAlert(e.fired()[0], Q("T", 195, 3000), a);
  CHECK(a.condition == Condition::kAbove);
  CHECK(!a.reference);
  CHECK(!a.change);
  CHECK(a.within == 0);
}

TEST_CASE("moves: states and windows survive a restart") {
  const std::vector<Watch> ws = {M("a@x.io", "T", 3, 3600, MoveDirection::kUp),
                                 M("d@x.io", "T", 5)};
  auto e = std::make_unique<AlertEngine>();
  e->SetWatches(ws);
  CHECK(Fire(*e, Q("T", 100, 1000, 100)) == V{});
  CHECK(Fire(*e, Q("T", 106, 2000, 100)) == V{"a@x.io:up", "d@x.io:up"});
  std::vector<WatchState> states;
  e->TakeChangedStates(states);
  REQUIRE(states.size() == 2);
  std::sort(states.begin(), states.end(),
            [](const WatchState& a, const WatchState& b) { return a.email < b.email; });
  CHECK(states[0].move == kMoveUpFired);
  CHECK(states[0].move_ref == 0);  // a window's bits belong to no day
  CHECK(states[1].move == kMoveUpFired);
  CHECK(states[1].move_ref == 100);
  std::vector<TickerWindow> windows;
  e->TakeChangedWindows(windows);
  REQUIRE(windows.size() == 1);
  CHECK(windows[0].ticker == "T");
  CHECK(windows[0].points.size() == 2);  // 100 (the low) and 106 (the high)
  e->TakeChangedWindows(windows);
  CHECK(windows.empty());  // taken: nothing changed since
  CHECK(Fire(*e, Q("T", 105, 2500, 100)) == V{});
  CHECK(e->has_changed_windows());
  e->TrackChangedWindows(false);  // nothing saves them: forgotten, and not noted
  CHECK(!e->has_changed_windows());
  CHECK(Fire(*e, Q("T", 105.5, 2600, 100)) == V{});
  CHECK(!e->has_changed_windows());
  e->TrackChangedWindows(true);
  CHECK(Fire(*e, Q("T", 105.5, 2700, 100)) == V{});
  e->TakeChangedWindows(windows);
  REQUIRE(windows.size() == 1);
  // 100, 106, 105 and 105.5: each the low or the high of a window ending now.
  CHECK(windows[0].points.size() == 4);

  // A fresh engine: without the window, 100 would be forgotten.
  e = std::make_unique<AlertEngine>();
  e->SetWatches(ws);
  e->RestoreStates(states);
  CHECK(e->RestoreWindows(std::vector<TickerWindow>{{"T", {{1000, 100}, {2000, 106}}}}) == 1);
  CHECK(Fire(*e, Q("T", 107, 3000, 100)) == V{});  // both fired already: no repeat
  CHECK(Fire(*e, Q("T", 102, 4000, 100)) == V{});  // 2% over 100: a re-arms
  CHECK(Fire(*e, Q("T", 103.5, 5000, 100)) == V{"a@x.io:up"});
  CHECK(Fire(*e, Q("T", 1, 500, 100)) == V{});  // older than the restored window: ignored
}

TEST_CASE("moves: a changed move drops its state; an unchanged one keeps it") {
  AlertEngine e;
  e.SetWatches({M("a@x.io", "T", 3, 60), M("b@x.io", "T", 3, 60)});
  CHECK(Fire(e, Q("T", 100, 1000)) == V{});
  CHECK(Fire(e, Q("T", 104, 2000)) == V{"a@x.io:up", "b@x.io:up"});
  WatchDiff d = e.SetWatches({M("a@x.io", "T", 3, 60), M("b@x.io", "T", 3.5, 60)});
  CHECK(d.kept == 1);
  CHECK(d.changed == 1);
  // b's new move is checked at the next quote, from the same window.
  CHECK(Fire(e, Q("T", 104, 3000)) == V{"b@x.io:up"});
}

TEST_CASE("moves: 1M move watches on one ticker; quotes cost O(log n + alerts)") {
  std::vector<Watch> ws;
  const int n = 1000000;
  ws.reserve(n);
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> pct(0.5, 20);
  const int64_t windows[] = {0, 900, 3600};
  for (int i = 0; i < n; ++i) {
    ws.push_back(M("u" + std::to_string(i) + "@x.io", "BIG", pct(rng), windows[i % 3],
                   static_cast<MoveDirection>(i % 3)));
  }
  AlertEngine e;
  e.SetWatches(std::move(ws));
  e.OnQuote(Q("BIG", 100, 1000, 100));  // the first quote checks every watch
  std::vector<WatchState> changed;
  e.TakeChangedStates(changed);
  const uint64_t before = e.evaluations();
  uint64_t alerts = 0, changes = 0;
  std::mt19937 walk(3);
  std::uniform_real_distribution<double> step(-0.001, 0.001);
  double p = 100;
  for (int k = 0; k < 2000; ++k) {
    p *= 1 + step(walk);
    e.OnQuote(Q("BIG", p, 2000 + k * 1000, 100));
    alerts += e.fired().size();
    e.TakeChangedStates(changed);
    changes += changed.size();
  }
  const uint64_t visits = e.evaluations() - before;
  INFO("visits " << visits << " alerts " << alerts << " changes " << changes);
  CHECK(changes > 0);
  // Each visit is a watch whose move predicate flipped (it fired or re-armed),
  // counted once per direction list it is in.
  CHECK(visits <= 2 * changes + 10);
  // On average a quote visits well under 1% of the watches (it checked all
  // 1M on the first quote); the visits follow the state changes instead.
  CHECK(visits / 2000 < static_cast<uint64_t>(n) / 100);
}

// ---------------------------------------------------------------- randomized

namespace {

/// The specification of move (and band) watches, one watch at a time, with
/// every price kept: O(watches x history) per quote. A window is every
/// price of the last `within` seconds; the engine knows them when the
/// ticker had a window at least that long all along (RunMoveRandom keeps
/// one, a watch nobody can trigger: new windows are seeded from it).
class MoveReference {
 public:
  MoveReference(AlertMode mode, double pct) : mode_(mode), h_(pct) {}

  void SetWatches(const std::vector<Watch>& ws) {
    std::map<std::pair<std::string, std::string>, size_t> last;
    for (size_t i = 0; i < ws.size(); ++i) last[{ws[i].email, ws[i].ticker}] = i;
    std::vector<Entry> next;
    for (size_t i = 0; i < ws.size(); ++i) {
      if (last[{ws[i].email, ws[i].ticker}] != i) continue;
      Entry e{ws[i], BandState::kInside, 0, 0};
      for (const Entry& old : entries_) {
        if (old.w.email != e.w.email || old.w.ticker != e.w.ticker) continue;
        e.band = test::CarriedBand(old.w, old.band, e.w);
        if (old.w.move == e.w.move && old.w.within == e.w.within &&
            old.w.direction == e.w.direction) {
          e.bits = old.bits;
          e.ref = old.ref;
        }
      }
      next.push_back(e);
    }
    entries_ = std::move(next);
  }

  std::vector<std::string> OnQuote(const Quote& q) {
    std::vector<std::string> out;
    auto it = last_ts_.find(q.ticker);
    if (it != last_ts_.end() && q.ts < it->second) return out;
    last_ts_[q.ticker] = q.ts;
    auto& hist = history_[q.ticker];
    hist.push_back({q.ts, q.price});
    for (Entry& e : entries_) {
      if (e.w.ticker != q.ticker) continue;
      test::BandStep(e.w, e.band, q.price, mode_, h_ / 100, out);
      if (e.w.move) Move(e, q, out);
    }
    return out;
  }

 private:
  struct Entry {
    Watch w;
    BandState band;
    uint8_t bits;
    double ref;
  };

  void Move(Entry& e, const Quote& q, std::vector<std::string>& out) {
    double ref_up, ref_down;
    const bool day = e.w.within == 0;
    if (day) {
      if (!q.prev_close || !(*q.prev_close > 0)) return;
      ref_up = ref_down = *q.prev_close;
    } else {
      const auto& hist = history_[q.ticker];
      ref_up = INFINITY;
      ref_down = -INFINITY;
      for (size_t k = 0; k < hist.size(); ++k) {
        if (q.ts - hist[k].ts > e.w.within * 1000) continue;
        ref_up = std::min(ref_up, hist[k].price);
        ref_down = std::max(ref_down, hist[k].price);
      }
    }
    const double up = ref_up > 0 ? (q.price - ref_up) / ref_up * 100 : 0;
    const double down = ref_down > 0 ? (ref_down - q.price) / ref_down * 100 : 0;
    const double pct = *e.w.move;
    const bool look_up = e.w.direction != MoveDirection::kDown;
    const bool look_down = e.w.direction != MoveDirection::kUp;
    if (mode_ == AlertMode::kLevel) {
      if (look_up && up >= pct) out.push_back(e.w.email + ":up");
      if (look_down && down >= pct) out.push_back(e.w.email + ":down");
      return;
    }
    uint8_t bits = day && e.ref != ref_up ? 0 : e.bits;
    const uint8_t was = bits;
    const double rearm = pct * (1 - h_ / 100);
    auto step = [&](bool look, uint8_t bit, double m, const char* name) {
      if (!look) return;
      if (!(bits & bit)) {
        if (m >= pct) {
          bits |= bit;
          out.push_back(e.w.email + ":" + name);
        }
      } else if (!day && m < rearm) {
        bits &= static_cast<uint8_t>(~bit);
      }
    };
    step(look_up, kMoveUpFired, up, "up");
    step(look_down, kMoveDownFired, down, "down");
    if (bits != was) {
      e.bits = bits;
      if (day) e.ref = ref_up;
    }
  }

  AlertMode mode_;
  double h_;
  std::vector<Entry> entries_;
  std::map<std::string, TimeMs> last_ts_;
  std::map<std::string, std::vector<WindowPoint>> history_;
};

struct MoveCase {
  AlertMode mode;
  double pct;
  bool out_of_order;
  bool restarts;
};

Watch RandomWatch(std::mt19937& rng, const std::vector<std::string>& tickers) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  Watch w;
  w.email = "u" + std::to_string(pick(25)) + "@x.io";
  w.ticker = tickers[static_cast<size_t>(pick(static_cast<int>(tickers.size())))];
  const int kind = pick(4);  // 0: band, 1: move, 2-3: both
  if (kind != 1) {
    double a = 90 + 0.5 * pick(41), b = 90 + 0.5 * pick(41);
    if (a == b) b += 0.5;
    w.low = std::min(a, b);
    w.high = std::max(a, b);
    if (pick(3) == 0) w.low.reset();
  }
  if (kind != 0) {
    w.move = 0.5 * (1 + pick(12));  // 0.5% .. 6%: prices below move 0.5% apart
    const int64_t windows[] = {0, 0, 5, 20, 60};
    w.within = windows[pick(5)];
    w.direction = static_cast<MoveDirection>(pick(3));
  }
  return w;
}

void RunMoveRandom(const MoveCase& mc, uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  const std::vector<std::string> tickers = {"AAA", "BBB", "CCC"};
  auto random_watches = [&] {
    std::vector<Watch> ws;
    for (int n = 5 + pick(40), i = 0; i < n; ++i) ws.push_back(RandomWatch(rng, tickers));
    return ws;
  };
  std::vector<Watch> anchors;
  for (const std::string& t : tickers) anchors.push_back(M("anchor@x.io", t, 1000, 60));
  auto with_anchors = [&](const std::vector<Watch>& ws) {
    std::vector<Watch> all = anchors;
    all.insert(all.end(), ws.begin(), ws.end());
    return all;
  };
  auto engine = std::make_unique<AlertEngine>(AlertConfig{mc.mode, mc.pct});
  MoveReference ref(mc.mode, mc.pct);
  std::vector<Watch> ws = random_watches();
  engine->SetWatches(with_anchors(ws));
  ref.SetWatches(with_anchors(ws));
  std::map<std::string, double> closes = {{"AAA", 100}, {"BBB", 95}, {"CCC", 105}};
  TimeMs ts = 1000;
  for (int step = 0; step < 3000; ++step) {
    const int what = pick(200);
    if (what < 3) {
      for (Watch& w : ws)
        if (pick(5) == 0 && w.move) w.move = *w.move + 0.5;
      if (!ws.empty()) ws.erase(ws.begin() + pick(static_cast<int>(ws.size())));
      for (Watch& w : random_watches())
        if (pick(3) == 0) ws.push_back(w);
      engine->SetWatches(with_anchors(ws));
      ref.SetWatches(with_anchors(ws));
      continue;
    }
    if (what < 6 && mc.restarts) {
      std::vector<WatchState> states;
      std::vector<TickerWindow> windows;
      engine->SnapshotStates(states);
      engine->SnapshotWindows(windows);
      engine = std::make_unique<AlertEngine>(AlertConfig{mc.mode, mc.pct});
      engine->SetWatches(with_anchors(ws));
      engine->RestoreStates(states);
      engine->RestoreWindows(windows);
      continue;
    }
    if (what < 9) {  // a new trading day for one ticker
      closes[tickers[static_cast<size_t>(pick(3))]] = 90 + 0.5 * pick(41);
      continue;
    }
    ts += (mc.out_of_order && pick(10) == 0) ? -pick(5) * 1000 : pick(4) * 1000;
    const std::string& t = tickers[static_cast<size_t>(pick(3))];
    Quote q = Q(t, 90 + 0.5 * pick(41), ts);
    if (pick(8) != 0) q.prev_close = closes[t];
    // Loading ahead, as stock-alert does (also for a ticker nobody watches),
    // must change nothing, even when the watches change before the check.
    AlertEngine::Lookahead ahead, unwatched;
    for (int k = 0; k < engine->prefetch_steps(); ++k) {
      engine->Prefetch(q, k, ahead);
      engine->Prefetch(Q(pick(2) == 0 ? "ZZZ" : "", 100, ts), k, unwatched);
    }
    if (pick(50) == 0) {
      engine->SetWatches(with_anchors(ws));
      ref.SetWatches(with_anchors(ws));
    }
    std::vector<std::string> expected = ref.OnQuote(q);
    std::vector<std::string> got = Fire(*engine, q, ahead);
    INFO("seed " << seed << " step " << step << " " << t << " " << q.price << " at " << q.ts);
    REQUIRE(got == expected);
  }
}

}  // namespace

TEST_CASE("moves: randomized against a brute-force reference (edge)") {
  for (uint32_t seed = 1; seed <= 40; ++seed)
    RunMoveRandom({AlertMode::kEdge, 0, true, false}, seed);
}

TEST_CASE("moves: randomized against a brute-force reference (edge, restarts)") {
  for (uint32_t seed = 1; seed <= 40; ++seed)
    RunMoveRandom({AlertMode::kEdge, 0, false, true}, seed);
}

TEST_CASE("moves: randomized against a brute-force reference (hysteresis)") {
  for (uint32_t seed = 1; seed <= 30; ++seed)
    RunMoveRandom({AlertMode::kEdge, 40, true, false}, seed);
  for (uint32_t seed = 31; seed <= 50; ++seed)
    RunMoveRandom({AlertMode::kEdge, 25, false, true}, seed);
}

TEST_CASE("moves: randomized against a brute-force reference (level)") {
  for (uint32_t seed = 1; seed <= 40; ++seed)
    RunMoveRandom({AlertMode::kLevel, 0, true, false}, seed);
}
