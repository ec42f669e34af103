#pragma once
// The band rules of stock-alert, one watch at a time: the brute-force side of
// the randomized engine tests (unit/alert/engine_test, moves_test).
#include <cmath>
#include <string>
#include <vector>

#include "stockwatch/alert/engine.h"

namespace stockwatch::test {

/// The state a watch keeps when its band changes from `old_w`'s to `w`'s: all
/// of it when the band is the same; `above` only while the high is, `below`
/// only while the low is; else inside.
inline BandState CarriedBand(const Watch& old_w, BandState old, const Watch& w) {
  if (old_w.low == w.low && old_w.high == w.high) return old;
  if ((old == BandState::kAbove && old_w.high == w.high) ||
      (old == BandState::kBelow && old_w.low == w.low))
    return old;
  return BandState::kInside;
}

/// One quote at price p against watch w in state `state`; appends
/// "email:above"/"email:below" for each alert. `rearm` is the hysteresis as
/// a fraction (PCT / 100).
inline void BandStep(const Watch& w, BandState& state, double p, AlertMode mode, double rearm,
                     std::vector<std::string>& out) {
  const auto& lo = w.low;
  const auto& hi = w.high;
  if (mode == AlertMode::kLevel) {
    if (hi && p > *hi) out.push_back(w.email + ":above");
    if (lo && p < *lo) out.push_back(w.email + ":below");
    return;
  }
  if (hi && p > *hi) {
    if (state != BandState::kAbove) out.push_back(w.email + ":above");
    state = BandState::kAbove;
  } else if (lo && p < *lo) {
    if (state != BandState::kBelow) out.push_back(w.email + ":below");
    state = BandState::kBelow;
  } else if (state == BandState::kAbove && (!hi || p <= *hi - std::fabs(*hi) * rearm)) {
    state = BandState::kInside;
  } else if (state == BandState::kBelow && (!lo || p >= *lo + std::fabs(*lo) * rearm)) {
    state = BandState::kInside;
  }
}

}  // namespace stockwatch::test
