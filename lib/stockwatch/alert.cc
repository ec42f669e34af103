#include "stockwatch/alert.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace stockwatch {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Orders watches by (email, ticker): the identity of a watch.
int CompareKey(const Watch& w, std::string_view email, std::string_view ticker) {
  if (int c = std::string_view(w.email).compare(email); c != 0) return c;
  return std::string_view(w.ticker).compare(ticker);
}

}  // namespace

std::optional<AlertMode> ParseAlertMode(std::string_view s) {
  if (s == "edge") return AlertMode::kEdge;
  if (s == "level") return AlertMode::kLevel;
  return std::nullopt;
}

AlertEngine::AlertEngine(AlertConfig config) : config_(config) {
  double h = config_.hysteresis_pct;
  if (!std::isfinite(h) || h < 0 || h >= 100) {
    throw Error(exitcode::kUsage, "--hysteresis: must be a percentage from 0 to below 100");
  }
  if (h > 0 && config_.mode == AlertMode::kLevel) {
    throw Error(exitcode::kUsage, "--hysteresis: only applies to --mode edge");
  }
  hysteresis_ = h > 0;
}

void AlertEngine::Sorted::Sort() {
  std::vector<std::pair<double, uint32_t>> pairs(value.size());
  for (size_t i = 0; i < value.size(); ++i) pairs[i] = {value[i], watch[i]};
  std::sort(pairs.begin(), pairs.end());
  for (size_t i = 0; i < pairs.size(); ++i) {
    value[i] = pairs[i].first;
    watch[i] = pairs[i].second;
  }
}

void AlertEngine::BuildTicker(TickerIndex& t) {
  auto add = [](Sorted& s, double v, uint32_t w) {
    if (std::isnan(v)) return;
    s.value.push_back(v);
    s.watch.push_back(w);
  };
  for (uint32_t i : t.watches) {
    const Slot& s = slots_[i];
    add(t.low, s.low, i);
    add(t.high, s.high, i);
    if (hysteresis_) {
      add(t.rearm_low, s.rearm_low, i);
      add(t.rearm_high, s.rearm_high, i);
    }
  }
  for (Sorted* s : {&t.low, &t.high, &t.rearm_low, &t.rearm_high}) {
    s->Sort();
    s->value.shrink_to_fit();
    s->watch.shrink_to_fit();
  }
}

WatchDiff AlertEngine::SetWatches(std::vector<Watch> watches) {
  WatchDiff diff;
  const bool edge = config_.mode == AlertMode::kEdge;

  // Identity is (email, ticker); of duplicates the later one wins.
  std::vector<uint32_t> order(watches.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return CompareKey(watches[a], watches[b].email, watches[b].ticker) < 0;
  });
  std::vector<bool> keep(watches.size(), true);
  for (size_t k = 0; k + 1 < order.size(); ++k) {
    if (CompareKey(watches[order[k]], watches[order[k + 1]].email, watches[order[k + 1]].ticker) == 0) {
      keep[order[k]] = false;
      ++diff.duplicates;
    }
  }
  std::vector<uint32_t> new_index(watches.size(), 0);
  std::vector<Watch> kept_watches;
  kept_watches.reserve(watches.size() - diff.duplicates);
  for (size_t i = 0; i < watches.size(); ++i) {
    if (!keep[i]) continue;
    new_index[i] = static_cast<uint32_t>(kept_watches.size());
    kept_watches.push_back(std::move(watches[i]));
  }
  std::vector<uint32_t> by_key;
  by_key.reserve(kept_watches.size());
  for (uint32_t i : order)
    if (keep[i]) by_key.push_back(new_index[i]);
  watches = {};
  order = {};

  // Slots and tickers of the new set, carrying what the old set knew.
  std::vector<Slot> slots(kept_watches.size());
  std::vector<TickerIndex> tickers;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> ids;
  const double pct = config_.hysteresis_pct / 100;
  size_t matched_old = 0;
  for (uint32_t i = 0; i < kept_watches.size(); ++i) {
    const Watch& w = kept_watches[i];
    Slot& s = slots[i];
    s.low = w.low.value_or(kNaN);
    s.high = w.high.value_or(kNaN);
    s.rearm_low = w.low ? *w.low + std::fabs(*w.low) * pct : kNaN;
    s.rearm_high = w.high ? *w.high - std::fabs(*w.high) * pct : kNaN;

    auto [it, inserted] = ids.try_emplace(w.ticker, static_cast<uint32_t>(tickers.size()));
    if (inserted) {
      tickers.emplace_back();
      auto old = ticker_ids_.find(std::string_view(w.ticker));
      if (old != ticker_ids_.end()) {
        const TickerIndex& ot = tickers_[old->second];
        TickerIndex& nt = tickers.back();
        nt.has_prev = ot.has_prev && edge;
        nt.prev = ot.prev;
        nt.has_ts = ot.has_ts;
        nt.last_ts = ot.last_ts;
      }
    }
    s.ticker = it->second;
    tickers[s.ticker].watches.push_back(i);

    std::optional<uint32_t> old = Find(w.email, w.ticker);
    if (!old) {
      ++diff.added;
      s.unsettled = true;
      continue;
    }
    ++matched_old;
    const Watch& ow = watches_[*old];
    const Slot& os = slots_[*old];
    bool same_band = ow.low == w.low && ow.high == w.high;
    if (same_band && ow.telegram_id == w.telegram_id) {
      ++diff.kept;
    } else {
      ++diff.changed;
    }
    s.state = os.state;
    s.state_ts = os.state_ts;
    s.changed = os.changed;
    s.unsettled = os.unsettled || !same_band;
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

  watches_ = std::move(kept_watches);
  slots_ = std::move(slots);
  by_key_ = std::move(by_key);
  tickers_ = std::move(tickers);
  ticker_ids_ = std::move(ids);
  changed_.clear();
  fired_.clear();
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.changed) changed_.push_back(i);
    TickerIndex& t = tickers_[s.ticker];
    if (!t.has_prev) {
      s.unsettled = false;  // the first quote checks every watch of the ticker anyway
    } else if (s.unsettled) {
      t.unsettled.push_back(i);
    }
  }
  for (TickerIndex& t : tickers_) BuildTicker(t);
  return diff;
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
    if ((b == BandState::kAbove && std::isnan(s.high)) || (b == BandState::kBelow && std::isnan(s.low)) ||
        (b != BandState::kAbove && b != BandState::kBelow)) {
      b = BandState::kInside;
    }
    s.state = b;
    s.state_ts = st.ts;
    TickerIndex& t = tickers_[s.ticker];
    if (!t.has_ts || st.ts > t.last_ts) {
      t.has_ts = true;
      t.last_ts = st.ts;
    }
    if (t.has_prev && !s.unsettled) {
      s.unsettled = true;
      t.unsettled.push_back(*i);
    }
    ++applied;
  }
  return applied;
}

void AlertEngine::SetState(uint32_t i, BandState b, TimeMs ts) {
  Slot& s = slots_[i];
  s.state = b;
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

void AlertEngine::CheckEdge(TickerIndex& t, double price, TimeMs ts) {
  if (!t.has_prev) {
    for (uint32_t i : t.watches) Evaluate(i, price, ts);
  } else {
    for (uint32_t i : t.unsettled) {
      slots_[i].unsettled = false;
      Evaluate(i, price, ts);
    }
    if (price != t.prev) {
      const double lo = std::min(price, t.prev), hi = std::max(price, t.prev);
      // "p > v" (and "p <= v") flips between lo and hi iff lo <= v < hi.
      auto closed_open = [&](const Sorted& s) {
        auto b = std::lower_bound(s.value.begin(), s.value.end(), lo);
        auto e = std::lower_bound(b, s.value.end(), hi);
        for (auto k = b - s.value.begin(); k < e - s.value.begin(); ++k) Evaluate(s.watch[k], price, ts);
      };
      // "p < v" (and "p >= v") flips iff lo < v <= hi.
      auto open_closed = [&](const Sorted& s) {
        auto b = std::upper_bound(s.value.begin(), s.value.end(), lo);
        auto e = std::upper_bound(b, s.value.end(), hi);
        for (auto k = b - s.value.begin(); k < e - s.value.begin(); ++k) Evaluate(s.watch[k], price, ts);
      };
      closed_open(t.high);
      open_closed(t.low);
      if (hysteresis_) {
        closed_open(t.rearm_high);
        open_closed(t.rearm_low);
      }
    }
  }
  t.unsettled.clear();
  t.has_prev = true;
  t.prev = price;
}

void AlertEngine::CheckLevel(const TickerIndex& t, double price) {
  // Every high below the price (a prefix) and every low above it (a suffix).
  auto he = std::lower_bound(t.high.value.begin(), t.high.value.end(), price) - t.high.value.begin();
  for (ptrdiff_t k = 0; k < he; ++k) fired_.push_back({t.high.watch[k], Condition::kAbove});
  auto lb = std::upper_bound(t.low.value.begin(), t.low.value.end(), price) - t.low.value.begin();
  evaluations_ += static_cast<uint64_t>(he) + (t.low.value.size() - static_cast<size_t>(lb));
  for (auto k = static_cast<size_t>(lb); k < t.low.value.size(); ++k) {
    fired_.push_back({t.low.watch[k], Condition::kBelow});
  }
}

QuoteOutcome AlertEngine::OnQuote(const Quote& q) {
  fired_.clear();
  auto it = ticker_ids_.find(std::string_view(q.ticker));
  if (it == ticker_ids_.end()) return QuoteOutcome::kUnknownTicker;
  TickerIndex& t = tickers_[it->second];
  if (t.has_ts && q.ts < t.last_ts) return QuoteOutcome::kOutOfOrder;
  t.has_ts = true;
  t.last_ts = q.ts;
  if (config_.mode == AlertMode::kLevel) {
    CheckLevel(t, q.price);
  } else {
    CheckEdge(t, q.price, q.ts);
  }
  if (fired_.size() > 1) {
    std::sort(fired_.begin(), fired_.end(), [](const Fired& a, const Fired& b) { return a.watch < b.watch; });
  }
  return QuoteOutcome::kChecked;
}

void AlertEngine::FillAlert(const Fired& f, const Quote& q, Alert& out) const {
  const Watch& w = watches_[f.watch];
  out.email.assign(w.email);
  out.telegram_id = w.telegram_id;
  out.ticker.assign(q.ticker);
  out.condition = f.condition;
  out.price = q.price;
  out.threshold = f.condition == Condition::kAbove ? w.high.value_or(kNaN) : w.low.value_or(kNaN);
  out.low = w.low;
  out.high = w.high;
  out.ts = q.ts;
  out.id = AlertId(w.email, q.ticker, f.condition, q.ts);
}

void AlertEngine::TakeChangedStates(std::vector<WatchState>& out) {
  for (uint32_t i : changed_) {
    Slot& s = slots_[i];
    s.changed = false;
    const Watch& w = watches_[i];
    out.push_back({w.email, w.ticker, s.state, s.state_ts});
  }
  changed_.clear();
}

void AlertEngine::SnapshotStates(std::vector<WatchState>& out) const {
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.state_ts == 0 && s.state == BandState::kInside) continue;
    out.push_back({watches_[i].email, watches_[i].ticker, s.state, s.state_ts});
  }
}

}  // namespace stockwatch
