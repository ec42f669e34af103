#include "stockwatch/alert/engine.h"

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "alert/band_reference.h"

using namespace stockwatch;

namespace {

Watch W(std::string email, std::string ticker, std::optional<double> low,
        std::optional<double> high, std::optional<int64_t> telegram = std::nullopt) {
  Watch w;
  w.email = std::move(email);
  w.ticker = std::move(ticker);
  w.low = low;
  w.high = high;
  w.telegram_id = telegram;
  return w;
}

Quote Q(std::string ticker, double price, TimeMs ts) {
  Quote q;
  q.ticker = std::move(ticker);
  q.price = price;
  q.ts = ts;
  return q;
}

// "email:above" per fired watch, in order.
std::vector<std::string> Fire(AlertEngine& e, const Quote& q) {
  std::vector<std::string> out;
  if (e.OnQuote(q) != QuoteOutcome::kChecked) return out;
  for (const Fired& f : e.fired()) {
    out.push_back(e.watches()[f.watch].email + ":" + std::string(ToString(f.condition)));
  }
  return out;
}

using V = std::vector<std::string>;
const std::optional<double> kNone;

}  // namespace

TEST_CASE("AlertEngine: edge fires once when the price leaves the band, re-arms inside") {
  AlertEngine e;
  e.SetWatches({W("a@x.io", "AAPL", 150, 200)});
  CHECK(Fire(e, Q("AAPL", 180, 1)) == V{});
  CHECK(Fire(e, Q("AAPL", 201, 2)) == V{"a@x.io:above"});
  CHECK(Fire(e, Q("AAPL", 210, 3)) == V{});  // still out: no repeat
  CHECK(Fire(e, Q("AAPL", 199, 4)) == V{});  // back inside: re-armed
  CHECK(Fire(e, Q("AAPL", 205, 5)) == V{"a@x.io:above"});
  CHECK(Fire(e, Q("AAPL", 149, 6)) == V{"a@x.io:below"});  // jump across the band: one alert
  CHECK(Fire(e, Q("AAPL", 100, 7)) == V{});
  CHECK(Fire(e, Q("AAPL", 201, 8)) == V{"a@x.io:above"});
}

TEST_CASE("AlertEngine: a price equal to a threshold is inside (strict on both sides)") {
  for (AlertMode mode : {AlertMode::kEdge, AlertMode::kLevel}) {
    AlertEngine e({mode, 0});
    e.SetWatches({W("a@x.io", "AAPL", 150, 200)});
    CHECK(Fire(e, Q("AAPL", 200, 1)) == V{});
    CHECK(Fire(e, Q("AAPL", 150, 2)) == V{});
    CHECK(Fire(e, Q("AAPL", 200.01, 3)) == V{"a@x.io:above"});
    CHECK(Fire(e, Q("AAPL", 149.99, 4)) == V{"a@x.io:below"});
  }
  // Equal to the bound re-arms (the price is inside again).
  AlertEngine e;
  e.SetWatches({W("a@x.io", "AAPL", 150, 200)});
  CHECK(Fire(e, Q("AAPL", 201, 1)) == V{"a@x.io:above"});
  CHECK(Fire(e, Q("AAPL", 200, 2)) == V{});
  CHECK(Fire(e, Q("AAPL", 201, 3)) == V{"a@x.io:above"});
}

TEST_CASE("AlertEngine: the first quote outside the band counts as a crossing") {
  AlertEngine e;
  e.SetWatches({W("a@x.io", "AAPL", 150, 200), W("b@x.io", "AAPL", 100, 120),
                W("c@x.io", "AAPL", 100, 140)});
  CHECK(Fire(e, Q("AAPL", 130, 1)) == V{"a@x.io:below", "b@x.io:above"});
  CHECK(Fire(e, Q("AAPL", 131, 2)) == V{});
}

TEST_CASE("AlertEngine: low only and high only") {
  AlertEngine e;
  e.SetWatches({W("lo@x.io", "T", 10, kNone), W("hi@x.io", "T", kNone, 20)});
  CHECK(Fire(e, Q("T", 15, 1)) == V{});
  CHECK(Fire(e, Q("T", 5, 2)) == V{"lo@x.io:below"});
  CHECK(Fire(e, Q("T", 1e9, 3)) == V{"hi@x.io:above"});
  CHECK(Fire(e, Q("T", 0, 4)) == V{"lo@x.io:below"});
}

TEST_CASE("AlertEngine: level mode alerts on every out-of-band quote") {
  AlertEngine e({AlertMode::kLevel, 0});
  e.SetWatches(
      {W("a@x.io", "T", 10, 20), W("b@x.io", "T", kNone, 15), W("c@x.io", "T", 12, kNone)});
  CHECK(Fire(e, Q("T", 13, 1)) == V{});
  CHECK(Fire(e, Q("T", 16, 2)) == V{"b@x.io:above"});
  CHECK(Fire(e, Q("T", 16, 3)) == V{"b@x.io:above"});
  CHECK(Fire(e, Q("T", 25, 4)) == V{"a@x.io:above", "b@x.io:above"});
  CHECK(Fire(e, Q("T", 5, 5)) == V{"a@x.io:below", "c@x.io:below"});
  std::vector<WatchState> st;
  e.TakeChangedStates(st);
  CHECK(st.empty());  // level mode keeps no edge state
}

TEST_CASE("AlertEngine: hysteresis re-arms only once the price is back inside by PCT") {
  AlertEngine e({AlertMode::kEdge, 10});
  e.SetWatches({W("a@x.io", "T", 100, 200)});
  CHECK(Fire(e, Q("T", 201, 1)) == V{"a@x.io:above"});
  CHECK(Fire(e, Q("T", 195, 2)) == V{});  // inside, but not by 10% of 200
  CHECK(Fire(e, Q("T", 202, 3)) == V{});  // so no new alert
  CHECK(Fire(e, Q("T", 180, 4)) == V{});  // 200 - 20: re-armed (inclusive)
  CHECK(Fire(e, Q("T", 201, 5)) == V{"a@x.io:above"});
  CHECK(Fire(e, Q("T", 99, 6)) == V{"a@x.io:below"});  // crossing to the other side always alerts
  CHECK(Fire(e, Q("T", 105, 7)) == V{});
  CHECK(Fire(e, Q("T", 99, 8)) == V{});
  CHECK(Fire(e, Q("T", 110, 9)) == V{});  // 100 + 10: re-armed
  CHECK(Fire(e, Q("T", 99, 10)) == V{"a@x.io:below"});
}

TEST_CASE("AlertEngine: config errors are usage errors") {
  CHECK_THROWS_AS(AlertEngine({AlertMode::kLevel, 5}), Error);
  CHECK_THROWS_AS(AlertEngine({AlertMode::kEdge, -1}), Error);
  CHECK_THROWS_AS(AlertEngine({AlertMode::kEdge, 100}), Error);
  CHECK_THROWS_AS(AlertEngine({AlertMode::kEdge, NAN}), Error);
  try {
    AlertEngine e({AlertMode::kLevel, 5});
  } catch (const Error& err) {
    CHECK(err.exit_code() == exitcode::kUsage);
  }
  CHECK(ParseAlertMode("edge") == AlertMode::kEdge);
  CHECK(ParseAlertMode("level") == AlertMode::kLevel);
  CHECK(!ParseAlertMode("Edge"));
}

TEST_CASE("AlertEngine: unknown tickers and out-of-order quotes") {
  AlertEngine e;
  e.SetWatches({W("a@x.io", "AAPL", 150, 200)});
  CHECK(e.OnQuote(Q("MSFT", 1000, 1)) == QuoteOutcome::kUnknownTicker);
  CHECK(e.fired().empty());
  CHECK(e.OnQuote(Q("AAPL", 201, 10)) == QuoteOutcome::kChecked);
  CHECK(e.fired().size() == 1);
  // Older than the newest seen: ignored for state and alerts.
  CHECK(e.OnQuote(Q("AAPL", 180, 5)) == QuoteOutcome::kOutOfOrder);
  CHECK(e.fired().empty());
  CHECK(Fire(e, Q("AAPL", 202, 11)) == V{});  // state still "above": the old quote did not re-arm
  // The same ts again is checked.
  CHECK(e.OnQuote(Q("AAPL", 170, 11)) == QuoteOutcome::kChecked);
  CHECK(Fire(e, Q("AAPL", 201, 12)) == V{"a@x.io:above"});
}

TEST_CASE("AlertEngine: tickers of every length up to 16 are told apart") {
  // Each prefix of one name, and each with its last character changed: the
  // keys differ in length or in one byte, at every position.
  const std::string name = "ABCDEFGHIJKLMNOP";
  std::vector<Watch> watches;
  std::vector<std::string> tickers;
  for (size_t n = 1; n <= name.size(); ++n) {
    for (char last : {name[n - 1], 'Z'}) {
      std::string t = name.substr(0, n - 1) + last;
      watches.push_back(W(t + "@x.io", t, kNone, 100));
      tickers.push_back(t);
    }
  }
  AlertEngine e;
  e.SetWatches(watches);
  CHECK(e.ticker_count() == tickers.size());
  TimeMs ts = 1;
  for (const std::string& t : tickers) {
    CAPTURE(t);
    CHECK(Fire(e, Q(t, 101, ts++)) == V{t + "@x.io:above"});
  }
  CHECK(e.OnQuote(Q(name + "Q", 101, ts)) == QuoteOutcome::kUnknownTicker);  // 17 characters
  CHECK(e.OnQuote(Q("ABCDEFGHIJKLMNOQ", 101, ts)) == QuoteOutcome::kUnknownTicker);
}

TEST_CASE("AlertEngine: FillAlert builds the alert record") {
  AlertEngine e;
  e.SetWatches({W("a@x.io", "AAPL", 150, 200, 111), W("b@x.io", "AAPL", 100, kNone)});
  Quote q = Q("AAPL", 99.5, 1796817000000);
  REQUIRE(e.OnQuote(q) == QuoteOutcome::kChecked);
  REQUIRE(e.fired().size() == 2);
  Alert a;
  e.FillAlert(e.fired()[0], q, a);
  CHECK(a.email == "a@x.io");
  CHECK(a.telegram_id == 111);
  CHECK(a.ticker == "AAPL");
  CHECK(a.condition == Condition::kBelow);
  CHECK(a.price == 99.5);
  CHECK(a.threshold == 150);
  CHECK(a.low == 150);
  CHECK(a.high == 200);
  CHECK(a.ts == q.ts);
  CHECK(a.id == AlertId("a@x.io", "AAPL", Condition::kBelow, q.ts));
  e.FillAlert(e.fired()[1], q, a);
  CHECK(a.email == "b@x.io");
  CHECK(!a.telegram_id);
  CHECK(a.threshold == 100);
  CHECK(!a.high);
}

TEST_CASE("AlertEngine: FillAlert gives back emails of every length, and a telegram id of 0") {
  // Short emails are kept with the watch's alert facts, longer ones apart.
  std::vector<std::string> emails;
  for (size_t len : {6, 24, 25, 26, 40, 64 + 1 + 188}) {
    std::string local(std::min<size_t>(len - 5, 64), 'a' + static_cast<char>(emails.size()));
    std::string domain(len - 1 - local.size() - 3, 'd');
    emails.push_back(local + "@" + domain + ".io");
    REQUIRE(emails.back().size() == len);
  }
  std::vector<Watch> ws;
  for (const std::string& email : emails) ws.push_back(W(email, "T", 10, 20, 0));
  ws.back().telegram_id.reset();
  AlertEngine e;
  e.SetWatches(ws);
  const Quote q = Q("T", 25, 1000);
  REQUIRE(e.OnQuote(q) == QuoteOutcome::kChecked);
  REQUIRE(e.fired().size() == emails.size());
  Alert a;
  for (size_t k = 0; k < emails.size(); ++k) {
    e.FillAlert(e.fired()[k], q, a);
    CHECK(a.email == emails[k]);
    CHECK(a.id == AlertId(emails[k], "T", Condition::kAbove, q.ts));
    CHECK(a.telegram_id == (k + 1 < emails.size() ? std::optional<int64_t>(0) : std::nullopt));
    CHECK(a.threshold == 20);
  }
}

TEST_CASE("AlertEngine: duplicate watches: the later one wins") {
  AlertEngine e;
  WatchDiff d =
      e.SetWatches({W("a@x.io", "T", 10, 20), W("b@x.io", "T", 1, 2), W("a@x.io", "T", 30, 40)});
  CHECK(d.duplicates == 1);
  CHECK(d.added == 2);
  REQUIRE(e.watches().size() == 2);
  CHECK(e.watches()[0].email == "b@x.io");
  CHECK(e.watches()[1].high == 40);
  CHECK(Fire(e, Q("T", 25, 1)) == V{"b@x.io:above", "a@x.io:below"});
  CHECK(e.Find("a@x.io", "T") == 1u);
  CHECK(!e.Find("a@x.io", "U"));
}

TEST_CASE("AlertEngine: SetWatches keeps the states of unchanged watches") {
  AlertEngine e;
  e.SetWatches({W("a@x.io", "T", 10, 20), W("b@x.io", "T", 10, 20), W("c@x.io", "T", 10, 20),
                W("d@x.io", "T", 10, 20)});
  CHECK(Fire(e, Q("T", 25, 1)) ==
        V{"a@x.io:above", "b@x.io:above", "c@x.io:above", "d@x.io:above"});
  WatchDiff d = e.SetWatches({
      W("a@x.io", "T", 10, 20),  // unchanged: stays above
      W("b@x.io", "T", 10, 22),  // high changed: inside again, 25 > 22 alerts again
      W("c@x.io", "T", 5, 20),   // only low changed: keeps "above"
      W("e@x.io", "T", 10, 20),  // new: alerts at the next quote
      W("f@x.io", "T", 10, 30),  // new, inside
  });                            // d removed
  CHECK(d.kept == 1);
  CHECK(d.changed == 2);
  CHECK(d.added == 2);
  CHECK(d.removed == 1);
  // The same price again: only new and changed watches fire.
  CHECK(Fire(e, Q("T", 25, 2)) == V{"b@x.io:above", "e@x.io:above"});
  CHECK(Fire(e, Q("T", 26, 3)) == V{});
  CHECK(Fire(e, Q("T", 31, 4)) == V{"f@x.io:above"});
}

TEST_CASE("AlertEngine: changed states are reported once; snapshot and restore") {
  AlertEngine e;
  e.SetWatches({W("a@x.io", "T", 10, 20), W("b@x.io", "T", 10, 30), W("c@x.io", "U", kNone, 5)});
  Fire(e, Q("T", 25, 100));
  Fire(e, Q("U", 6, 101));
  std::vector<WatchState> changed;
  e.TakeChangedStates(changed);
  REQUIRE(changed.size() == 2);
  CHECK(changed[0].email == "a@x.io");
  CHECK(changed[0].state == BandState::kAbove);
  CHECK(changed[0].ts == 100);
  CHECK(changed[1].email == "c@x.io");
  changed.clear();
  e.TakeChangedStates(changed);
  CHECK(changed.empty());
  Fire(e, Q("T", 15, 102));  // a re-arms
  e.TakeChangedStates(changed);
  REQUIRE(changed.size() == 1);
  CHECK(changed[0].state == BandState::kInside);
  CHECK(changed[0].ts == 102);

  // A restarted engine restores them: no repeat for c, a fires again after it re-armed.
  Fire(e, Q("T", 21, 103));
  std::vector<WatchState> snap;
  e.SnapshotStates(snap);
  CHECK(snap.size() == 2);
  AlertEngine r;
  r.SetWatches({W("a@x.io", "T", 10, 20), W("b@x.io", "T", 10, 30), W("c@x.io", "U", kNone, 5)});
  CHECK(r.RestoreStates(snap) == 2);
  CHECK(r.state(0) == BandState::kAbove);
  CHECK(r.OnQuote(Q("T", 22, 102)) == QuoteOutcome::kOutOfOrder);  // older than the newest state
  CHECK(Fire(r, Q("T", 22, 104)) == V{});
  CHECK(Fire(r, Q("U", 7, 104)) == V{});
  changed.clear();
  r.TakeChangedStates(changed);
  CHECK(changed.empty());  // restoring is not a change
}

TEST_CASE("AlertEngine: restore drops a state whose bound is gone") {
  AlertEngine e;
  e.SetWatches({W("a@x.io", "T", 10, kNone), W("b@x.io", "T", kNone, 20)});
  std::vector<WatchState> saved = {{"a@x.io", "T", BandState::kAbove, 5},
                                   {"b@x.io", "T", BandState::kAbove, 5},
                                   {"zz@x.io", "T", BandState::kAbove, 5}};
  CHECK(e.RestoreStates(saved) == 2);
  CHECK(e.state(0) == BandState::kInside);
  CHECK(e.state(1) == BandState::kAbove);
  CHECK(Fire(e, Q("T", 25, 6)) == V{});
}

TEST_CASE("AlertEngine: restore into a running engine re-checks those watches") {
  AlertEngine e;
  e.SetWatches({W("a@x.io", "T", 10, 20)});
  CHECK(Fire(e, Q("T", 25, 1)) == V{"a@x.io:above"});
  std::vector<WatchState> saved = {{"a@x.io", "T", BandState::kInside, 1}};
  e.RestoreStates(saved);
  CHECK(Fire(e, Q("T", 25, 2)) == V{"a@x.io:above"});
}

TEST_CASE("AlertEngine: ForgetPrices then RestoreStates takes states saved elsewhere") {
  // Another consumer owned T for a while: it re-armed a and saw b cross.
  AlertEngine e;
  e.SetWatches({W("a@x.io", "T", 10, 20), W("b@x.io", "T", 10, 30)});
  CHECK(Fire(e, Q("T", 25, 1)) == V{"a@x.io:above"});
  e.ForgetPrices();
  std::vector<WatchState> elsewhere = {{"a@x.io", "T", BandState::kInside, 5},
                                       {"b@x.io", "T", BandState::kAbove, 6}};
  CHECK(e.RestoreStates(elsewhere) == 2);
  uint64_t before = e.evaluations();
  CHECK(Fire(e, Q("T", 4, 5)) == V{});                 // older than the states: ignored
  CHECK(Fire(e, Q("T", 31, 7)) == V{"a@x.io:above"});  // a was re-armed; b stays above
  CHECK(e.evaluations() - before == 2);  // the first quote after ForgetPrices checks them all
  CHECK(Fire(e, Q("T", 5, 8)) == V{"a@x.io:below", "b@x.io:below"});
}

TEST_CASE("AlertEngine: a quote visits only the watches whose thresholds it crosses") {
  // 100k watches on one ticker with highs 1000..100999 and lows 0..99999 (step 1):
  // after the first quote, a move across k thresholds checks about k watches.
  std::vector<Watch> ws;
  const int n = 100000;
  for (int i = 0; i < n; ++i)
    ws.push_back(W("u" + std::to_string(i) + "@x.io", "ONE", i, i + 1000));
  AlertEngine e;
  e.SetWatches(std::move(ws));
  REQUIRE(e.OnQuote(Q("ONE", 50000.5, 1)) == QuoteOutcome::kChecked);
  CHECK(e.evaluations() == static_cast<uint64_t>(n));  // the first quote checks every watch
  // Watches 50001..99999 are below (low > price), 0..49000 above (high < price).
  CHECK(e.fired().size() == static_cast<size_t>(n - 50001 + 49000 + 1));
  uint64_t before = e.evaluations();
  REQUIRE(e.OnQuote(Q("ONE", 50000.7, 2)) == QuoteOutcome::kChecked);  // crosses no threshold
  CHECK(e.evaluations() == before);
  CHECK(e.fired().empty());
  before = e.evaluations();
  REQUIRE(e.OnQuote(Q("ONE", 50003.5, 3)) ==
          QuoteOutcome::kChecked);  // lows 50001..50003, highs 49001..49003
  CHECK(e.evaluations() - before == 6);
  CHECK(e.fired().size() == 3);  // the three highs crossed upwards fire; the lows re-arm
  before = e.evaluations();
  REQUIRE(e.OnQuote(Q("ONE", 50003.5, 4)) == QuoteOutcome::kChecked);  // same price
  CHECK(e.evaluations() == before);
}

TEST_CASE("AlertEngine: 1M watches on one ticker; quotes cost O(log n + changes)") {
  std::vector<Watch> ws;
  const int n = 1000000;
  ws.reserve(n);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> band(90, 110);
  for (int i = 0; i < n; ++i) {
    double lo = band(rng), width = 1 + band(rng) / 10;
    ws.push_back(W("u" + std::to_string(i) + "@x.io", "BIG", lo - width, lo + width));
  }
  AlertEngine e;
  e.SetWatches(std::move(ws));
  e.OnQuote(Q("BIG", 100, 1));
  uint64_t before = e.evaluations();
  // Tiny moves cross few thresholds: total work tracks state changes, not n.
  uint64_t changes = 0;
  std::vector<WatchState> changed;
  e.TakeChangedStates(changed);
  for (int k = 0; k < 1000; ++k) {
    e.OnQuote(Q("BIG", 100 + 0.0001 * (k % 7), 2 + k));
    changed.clear();
    e.TakeChangedStates(changed);
    changes += changed.size();
  }
  uint64_t visits = e.evaluations() - before;
  CHECK(visits <= 2 * changes + 10);
  CHECK(visits < 100000);
}

// ---------------------------------------------------------------- randomized

namespace {

/// The specification, one watch at a time, in O(watches) per quote.
class Reference {
 public:
  Reference(AlertMode mode, double pct) : mode_(mode), pct_(pct / 100) {}

  void SetWatches(const std::vector<Watch>& ws) {
    std::map<std::pair<std::string, std::string>, size_t> last;
    for (size_t i = 0; i < ws.size(); ++i) last[{ws[i].email, ws[i].ticker}] = i;
    std::vector<Entry> next;
    for (size_t i = 0; i < ws.size(); ++i) {
      if (last[{ws[i].email, ws[i].ticker}] != i) continue;
      Entry e{ws[i], BandState::kInside};
      for (const Entry& old : entries_) {
        if (old.w.email == e.w.email && old.w.ticker == e.w.ticker)
          e.state = test::CarriedBand(old.w, old.state, e.w);
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
    for (Entry& e : entries_)
      if (e.w.ticker == q.ticker) test::BandStep(e.w, e.state, q.price, mode_, pct_, out);
    return out;
  }

  BandState state(const std::string& email, const std::string& ticker) const {
    for (const Entry& e : entries_)
      if (e.w.email == email && e.w.ticker == ticker) return e.state;
    return BandState::kInside;
  }

 private:
  struct Entry {
    Watch w;
    BandState state;
  };
  AlertMode mode_;
  double pct_;
  std::vector<Entry> entries_;
  std::map<std::string, TimeMs> last_ts_;
};

struct RandomCase {
  AlertMode mode;
  double pct;
  bool out_of_order;  // some quotes go back in time
  bool restarts;      // restart the engine from its snapshot now and then
};

void RunRandom(const RandomCase& rc, uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  // Prices and thresholds on a coarse grid, so equalities happen often.
  auto grid = [&] { return 90 + 0.5 * pick(41); };
  const std::vector<std::string> tickers = {"AAA", "BBB", "CCC"};
  auto random_watches = [&] {
    std::vector<Watch> ws;
    int n = 5 + pick(60);
    for (int i = 0; i < n; ++i) {
      std::string email = "u" + std::to_string(pick(25)) + "@x.io";
      std::string t = tickers[static_cast<size_t>(pick(3))];
      double a = grid(), b = grid();
      if (a == b) b += 0.5;
      std::optional<double> lo = std::min(a, b), hi = std::max(a, b);
      int kind = pick(4);
      if (kind == 1) lo.reset();
      if (kind == 2) hi.reset();
      ws.push_back(W(email, t, lo, hi));
    }
    return ws;
  };

  auto engine = std::make_unique<AlertEngine>(AlertConfig{rc.mode, rc.pct});
  Reference ref(rc.mode, rc.pct);
  std::vector<Watch> ws = random_watches();
  engine->SetWatches(ws);
  ref.SetWatches(ws);
  TimeMs ts = 1000;
  for (int step = 0; step < 3000; ++step) {
    int what = pick(100);
    if (what < 2) {
      // Change some watches mid-stream: edit bands, drop some, add some.
      for (Watch& w : ws) {
        if (pick(4) == 0 && w.high) w.high = *w.high + 0.5;
        if (pick(6) == 0 && w.low) w.low.reset();
      }
      if (!ws.empty()) ws.erase(ws.begin() + pick(static_cast<int>(ws.size())));
      for (Watch& w : random_watches()) {
        if (pick(3) == 0) ws.push_back(w);
      }
      engine->SetWatches(ws);
      ref.SetWatches(ws);
      continue;
    }
    if (what < 4 && rc.restarts) {
      std::vector<WatchState> snap;
      engine->SnapshotStates(snap);
      engine = std::make_unique<AlertEngine>(AlertConfig{rc.mode, rc.pct});
      engine->SetWatches(ws);
      engine->RestoreStates(snap);
      continue;
    }
    ts += (rc.out_of_order && pick(10) == 0) ? -pick(5) : pick(3);
    Quote q = Q(tickers[static_cast<size_t>(pick(3))], grid(), ts);
    std::vector<std::string> expected = ref.OnQuote(q);
    std::vector<std::string> got = Fire(*engine, q);
    // Level mode fires each watch at most once per quote, but the reference
    // lists them in watch order too: the same order is required.
    INFO("seed " << seed << " step " << step << " price " << q.price << " ticker " << q.ticker);
    REQUIRE(got == expected);
    if (rc.mode == AlertMode::kEdge && step % 97 == 0) {
      for (uint32_t i = 0; i < engine->watches().size(); ++i) {
        const Watch& w = engine->watches()[i];
        REQUIRE(engine->state(i) == ref.state(w.email, w.ticker));
      }
    }
  }
}

}  // namespace

TEST_CASE("AlertEngine: randomized against a brute-force reference (edge)") {
  for (uint32_t seed = 1; seed <= 40; ++seed) RunRandom({AlertMode::kEdge, 0, true, false}, seed);
}

TEST_CASE("AlertEngine: randomized against a brute-force reference (edge, restarts)") {
  for (uint32_t seed = 1; seed <= 40; ++seed) RunRandom({AlertMode::kEdge, 0, false, true}, seed);
}

TEST_CASE("AlertEngine: randomized against a brute-force reference (hysteresis)") {
  for (uint32_t seed = 1; seed <= 40; ++seed) RunRandom({AlertMode::kEdge, 3, true, false}, seed);
  for (uint32_t seed = 41; seed <= 60; ++seed)
    RunRandom({AlertMode::kEdge, 1.5, false, true}, seed);
}

TEST_CASE("AlertEngine: randomized against a brute-force reference (level)") {
  for (uint32_t seed = 1; seed <= 40; ++seed) RunRandom({AlertMode::kLevel, 0, true, false}, seed);
}
