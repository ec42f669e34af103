#pragma once
/// The running minimum and maximum of a ticker's recent prices, for the
/// move windows of any length up to the longest one: two monotonic deques
/// (a price is dropped from the minimum's deque once a later price is as
/// low, so that deque rises from front to back; the maximum's falls), each
/// a ring buffer. A push is O(1) amortised; the minimum of the last S
/// milliseconds, for any S up to the longest, is a binary search. Pure logic.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "stockwatch/alert/pages.h"
#include "stockwatch/core/records.h"
#include "stockwatch/core/timeutil.h"

namespace stockwatch {

static_assert(std::is_trivially_copyable_v<WindowPoint>);

class MinMaxWindow {
 public:
  MinMaxWindow() = default;
  MinMaxWindow(const MinMaxWindow& o) { *this = o; }
  MinMaxWindow& operator=(const MinMaxWindow& o) {
    if (this == &o) return *this;
    WindowPoint* copy = o.cap_ == 0 ? nullptr : Allocate(o.cap_);
    std::copy_n(o.buf_, 2 * static_cast<size_t>(o.cap_), copy);
    Release();
    buf_ = copy;
    mins_ = o.mins_;
    maxs_ = o.maxs_;
    cap_ = o.cap_;
    return *this;
  }
  MinMaxWindow(MinMaxWindow&& o) noexcept { *this = std::move(o); }
  MinMaxWindow& operator=(MinMaxWindow&& o) noexcept {
    if (this == &o) return *this;
    Release();
    buf_ = std::exchange(o.buf_, nullptr);
    cap_ = std::exchange(o.cap_, 0);
    mins_ = std::exchange(o.mins_, Ring{});
    maxs_ = std::exchange(o.maxs_, Ring{});
    return *this;
  }
  ~MinMaxWindow() { Release(); }

  /// Adds a price; `ts` must not be older than the last one pushed. Then
  /// drops the points more than `keep_ms` older than `ts`.
  void Push(TimeMs ts, double price, int64_t keep_ms) {
    PushBack<true>(mins_, 0, {ts, price});
    PushBack<false>(maxs_, cap_, {ts, price});
    Expire(mins_, 0, ts - keep_ms);
    Expire(maxs_, cap_, ts - keep_ms);
  }
  bool empty() const { return mins_.size == 0; }
  /// Starts loading the newest points of both deques: what the next
  /// Push() reads when it drops more than one point.
  void PrefetchNewest() const {
    if (cap_ == 0) return;
    // Points 1 and 4 from the back: the lines of the four newest.
    for (uint32_t k = 1; k <= 4 && k <= mins_.size; k += 3)
      PrefetchLine(&at(mins_, 0, mins_.size - k));
    for (uint32_t k = 1; k <= 4 && k <= maxs_.size; k += 3)
      PrefetchLine(&at(maxs_, cap_, maxs_.size - k));
  }
  /// The point of the lowest (highest) price with a ts at or after `since`
  /// (the newest of equal prices); only when the last push was at or after it.
  const WindowPoint& MinPointSince(TimeMs since) const {
    return at(mins_, 0, FirstAtOrAfter(mins_, 0, since));
  }
  const WindowPoint& MaxPointSince(TimeMs since) const {
    return at(maxs_, cap_, FirstAtOrAfter(maxs_, cap_, since));
  }
  void Clear() { mins_ = maxs_ = Ring{}; }
  /// Appends the points either deque holds, oldest first, each once. Pushed
  /// again in that order (with the same keep_ms) they give the same minimum
  /// and maximum for every window at every later push as the original
  /// stream did.
  void AppendPoints(std::vector<WindowPoint>& out) const {
    uint32_t a = 0, b = 0;
    auto min_at = [&](uint32_t i) -> const WindowPoint& { return at(mins_, 0, i); };
    auto max_at = [&](uint32_t i) -> const WindowPoint& { return at(maxs_, cap_, i); };
    while (a < mins_.size || b < maxs_.size) {
      if (b == maxs_.size || (a < mins_.size && min_at(a).ts < max_at(b).ts)) {
        out.push_back(min_at(a++));
      } else if (a == mins_.size || max_at(b).ts < min_at(a).ts) {
        out.push_back(max_at(b++));
      } else {  // the same ts in both: one point, or two prices at that ts
        if (min_at(a).price != max_at(b).price) out.push_back(max_at(b));
        out.push_back(min_at(a++));
        ++b;
      }
    }
  }

 private:
  /// A deque of points in a power-of-two ring buffer: one half of buf_
  /// (from `base`: 0 for the minimum's, cap_ for the maximum's). The prices
  /// of its two newest points are kept here too, so that a push popping at
  /// most one point (most of them) reads nothing from the buffer.
  struct Ring {
    uint32_t head = 0, size = 0;
    TimeMs front_ts = 0;  // of the oldest point (size > 0)
    double back = 0;      // the newest price (size > 0)
    double below = 0;     // the one before it (size > 1)
  };
  const WindowPoint& at(const Ring& r, uint32_t base, uint32_t i) const {
    return buf_[base + ((r.head + i) & (cap_ - 1))];
  }
  // Pops the points the new one makes useless (a minimum's deque drops
  // prices >= the new one, a maximum's <= it), then appends it.
  template <bool kMin>
  void PushBack(Ring& r, uint32_t base, WindowPoint p) {
    auto useless = [&](double q) { return kMin ? q >= p.price : q <= p.price; };
    double below = r.back;  // the newest price left, once popped
    if (r.size > 0 && useless(r.back)) {
      if (r.size > 1 && !useless(r.below)) {
        below = r.below;
        --r.size;
      } else {
        r.size = r.size > 1 ? r.size - 2 : 0;
        while (r.size > 0 && useless(at(r, base, r.size - 1).price)) --r.size;
        if (r.size > 0) below = at(r, base, r.size - 1).price;
      }
    }
    if (r.size == cap_) {
      Grow();
      base = &r == &mins_ ? 0 : cap_;
    }
    buf_[base + ((r.head + r.size) & (cap_ - 1))] = p;
    if (r.size++ == 0) r.front_ts = p.ts;
    r.below = below;
    r.back = p.price;
  }
  // Drops the points older than `since` (never the newest).
  void Expire(Ring& r, uint32_t base, TimeMs since) {
    if (r.front_ts >= since) return;
    do {
      r.head = (r.head + 1) & (cap_ - 1);
      --r.size;
    } while (at(r, base, 0).ts < since);
    r.front_ts = at(r, base, 0).ts;
  }
  void Grow() {
    const uint32_t cap = cap_ == 0 ? 8 : cap_ * 2;
    WindowPoint* bigger = Allocate(cap);
    for (uint32_t i = 0; i < mins_.size; ++i) bigger[i] = at(mins_, 0, i);
    for (uint32_t i = 0; i < maxs_.size; ++i) bigger[cap + i] = at(maxs_, cap_, i);
    Release();
    buf_ = bigger;
    cap_ = cap;
    mins_.head = maxs_.head = 0;
  }
  // Both rings of `cap` points (WindowPoint is trivial: no constructors).
  static WindowPoint* Allocate(uint32_t cap) {
    return static_cast<WindowPoint*>(AllocatePages(2 * sizeof(WindowPoint) * cap));
  }
  void Release() noexcept {
    FreePages(buf_, 2 * sizeof(WindowPoint) * cap_);
    buf_ = nullptr;
  }
  uint32_t FirstAtOrAfter(const Ring& r, uint32_t base, TimeMs since) const {
    uint32_t lo = 0, hi = r.size;  // ts ascends from front to back
    while (lo < hi) {
      uint32_t mid = (lo + hi) / 2;
      if (at(r, base, mid).ts < since) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
  Ring mins_, maxs_;
  // The minimum's ring, then the maximum's (pages.h). A raw pointer, with
  // the copies and moves written out above: a vector's 24 bytes would not
  // leave a ticker's move data in two cache lines.
  WindowPoint* buf_ = nullptr;
  uint32_t cap_ = 0;  // of each ring
};

}  // namespace stockwatch
