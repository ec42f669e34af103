#pragma once
/// The running minimum and maximum of a ticker's recent prices, for the
/// move windows of any length up to the longest one: two monotonic deques
/// (a price is dropped from the minimum's deque once a later price is as
/// low, so that deque rises from front to back; the maximum's falls), each
/// a ring buffer. A push is O(1) amortised; the minimum of the last S
/// milliseconds, for any S up to the longest, is a binary search. Pure logic.
#include <cstdint>
#include <vector>

#include "stockwatch/core/records.h"
#include "stockwatch/core/timeutil.h"

namespace stockwatch {

class MinMaxWindow {
 public:
  /// Adds a price; `ts` must not be older than the last one pushed. Then
  /// drops the points more than `keep_ms` older than `ts`.
  void Push(TimeMs ts, double price, int64_t keep_ms) {
    // The newest point and the oldest ts of each deque are kept beside the
    // buffer: a price that pops nothing and expires nothing (most of them)
    // only writes to the buffer.
    if (mins_.size > 0 && mins_.back.price >= price) {
      --mins_.size;
      while (mins_.size > 0 && at(mins_, mins_.size - 1).price >= price) --mins_.size;
    }
    PushBack(mins_, {ts, price});
    if (maxs_.size > 0 && maxs_.back.price <= price) {
      --maxs_.size;
      while (maxs_.size > 0 && at(maxs_, maxs_.size - 1).price <= price) --maxs_.size;
    }
    PushBack(maxs_, {ts, price});
    Expire(mins_, ts - keep_ms);
    Expire(maxs_, ts - keep_ms);
  }
  bool empty() const { return mins_.size == 0; }
  /// The point of the lowest (highest) price with a ts at or after `since`
  /// (the newest of equal prices); only when the last push was at or after it.
  const WindowPoint& MinPointSince(TimeMs since) const {
    return at(mins_, FirstAtOrAfter(mins_, since));
  }
  const WindowPoint& MaxPointSince(TimeMs since) const {
    return at(maxs_, FirstAtOrAfter(maxs_, since));
  }
  void Clear() { mins_.head = mins_.size = maxs_.head = maxs_.size = 0; }
  /// Appends the points either deque holds, oldest first, each once. Pushed
  /// again in that order (with the same keep_ms) they give the same minimum
  /// and maximum for every window at every later push as the original
  /// stream did.
  void AppendPoints(std::vector<WindowPoint>& out) const {
    uint32_t a = 0, b = 0;
    while (a < mins_.size || b < maxs_.size) {
      if (b == maxs_.size || (a < mins_.size && at(mins_, a).ts < at(maxs_, b).ts)) {
        out.push_back(at(mins_, a++));
      } else if (a == mins_.size || at(maxs_, b).ts < at(mins_, a).ts) {
        out.push_back(at(maxs_, b++));
      } else {  // the same ts in both: one point, or two prices at that ts
        if (at(mins_, a).price != at(maxs_, b).price) out.push_back(at(maxs_, b));
        out.push_back(at(mins_, a++));
        ++b;
      }
    }
  }

 private:
  /// A deque of points in a power-of-two ring buffer: one half of buf_.
  struct Ring {
    uint32_t base = 0, head = 0, size = 0;
    TimeMs front_ts = 0;  // of the oldest point (size > 0)
    WindowPoint back;     // the newest point (size > 0)
  };
  const WindowPoint& at(const Ring& r, uint32_t i) const {
    return buf_[r.base + ((r.head + i) & (cap_ - 1))];
  }
  void PushBack(Ring& r, WindowPoint p) {
    if (r.size == cap_) Grow();
    buf_[r.base + ((r.head + r.size) & (cap_ - 1))] = p;
    if (r.size++ == 0) r.front_ts = p.ts;
    r.back = p;
  }
  // Drops the points older than `since` (never the newest).
  void Expire(Ring& r, TimeMs since) {
    if (r.front_ts >= since) return;
    do {
      r.head = (r.head + 1) & (cap_ - 1);
      --r.size;
    } while (at(r, 0).ts < since);
    r.front_ts = at(r, 0).ts;
  }
  void Grow() {
    const uint32_t cap = cap_ == 0 ? 8 : cap_ * 2;
    std::vector<WindowPoint> bigger(2 * static_cast<size_t>(cap));
    for (uint32_t i = 0; i < mins_.size; ++i) bigger[i] = at(mins_, i);
    for (uint32_t i = 0; i < maxs_.size; ++i) bigger[cap + i] = at(maxs_, i);
    buf_.swap(bigger);
    cap_ = cap;
    mins_.base = 0;
    maxs_.base = cap;
    mins_.head = maxs_.head = 0;
  }
  uint32_t FirstAtOrAfter(const Ring& r, TimeMs since) const {
    uint32_t lo = 0, hi = r.size;  // ts ascends from front to back
    while (lo < hi) {
      uint32_t mid = (lo + hi) / 2;
      if (at(r, mid).ts < since) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
  std::vector<WindowPoint> buf_;  // the minimum's ring, then the maximum's
  uint32_t cap_ = 0;              // of each ring
  Ring mins_, maxs_;
};

}  // namespace stockwatch
