#pragma once
/// The minimum and maximum of the prices of a sliding time window, in
/// O(1) amortised per price: two monotonic deques (a price is dropped from
/// the minimum's deque once a later price is as low, so that deque rises
/// from front to back; the maximum's falls). Pure logic.
#include <cstdint>
#include <deque>
#include <vector>

#include "stockwatch/core/records.h"
#include "stockwatch/core/timeutil.h"

namespace stockwatch {

class MinMaxWindow {
 public:
  /// Adds a price; `ts` must not be older than the last one pushed. Then
  /// drops the points more than `span_ms` older than `ts`: the window is
  /// every price with ts - span_ms <= its ts <= ts.
  void Push(TimeMs ts, double price, int64_t span_ms) {
    while (!mins_.empty() && mins_.back().price >= price) mins_.pop_back();
    mins_.push_back({ts, price});
    while (!maxs_.empty() && maxs_.back().price <= price) maxs_.pop_back();
    maxs_.push_back({ts, price});
    while (ts - mins_.front().ts > span_ms) mins_.pop_front();
    while (ts - maxs_.front().ts > span_ms) maxs_.pop_front();
  }
  bool empty() const { return mins_.empty(); }
  /// Only when not empty.
  double min() const { return mins_.front().price; }
  double max() const { return maxs_.front().price; }
  void Clear() {
    mins_.clear();
    maxs_.clear();
  }
  /// Appends the points either deque holds, oldest first, each once. Pushed
  /// again in that order (with the same span) they give the same minimum and
  /// maximum at every later push as the original stream did.
  void AppendPoints(std::vector<WindowPoint>& out) const {
    auto a = mins_.begin(), b = maxs_.begin();
    while (a != mins_.end() || b != maxs_.end()) {
      if (b == maxs_.end() || (a != mins_.end() && a->ts < b->ts)) {
        out.push_back(*a++);
      } else if (a == mins_.end() || b->ts < a->ts) {
        out.push_back(*b++);
      } else {  // the same ts in both: one point, or two prices at that ts
        if (a->price != b->price) out.push_back(*b);
        out.push_back(*a++);
        ++b;
      }
    }
  }

 private:
  std::deque<WindowPoint> mins_, maxs_;
};

}  // namespace stockwatch
