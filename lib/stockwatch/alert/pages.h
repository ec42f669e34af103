#pragma once
/// Memory for the alert engine's per-ticker data, on 2 MiB pages where the
/// kernel allows them (transparent huge pages asked for with madvise). With
/// thousands of tickers every quote reads lines of its ticker that left the
/// caches since its last quote; on 4 KiB pages each of them also misses the
/// TLB, and a page walk (two levels of tables deep in a virtual machine)
/// costs as much again. Pure memory management: no I/O.
#include <cstddef>
#include <vector>

namespace stockwatch {

/// At least `bytes`, aligned to 64. Blocks of up to 256 KiB are carved from
/// 2 MiB chunks and kept by size for reuse when freed (chunks are never
/// returned to the system: the engine's working set is stable); larger ones
/// get pages of their own. Thread-safe. Throws std::bad_alloc.
void* AllocatePages(std::size_t bytes);
/// Frees what AllocatePages(bytes) returned (the same `bytes`).
void FreePages(void* p, std::size_t bytes) noexcept;

/// Starts loading the cache line of `p` (for writing). A bare
/// __builtin_prefetch in a small inline function that does nothing else can
/// be deleted with it by GCC 12 at -O2; the empty asm statement keeps it.
inline void PrefetchLine(const void* p) {
  __builtin_prefetch(p, 1);
  asm volatile("" ::"r"(p));
}

/// A std::allocator for the engine's arrays.
template <class T>
struct PageAllocator {
  using value_type = T;
  PageAllocator() = default;
  template <class U>
  explicit PageAllocator(const PageAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(AllocatePages(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { FreePages(p, n * sizeof(T)); }
  friend bool operator==(const PageAllocator&, const PageAllocator&) { return true; }
};
template <class T>
using PageVector = std::vector<T, PageAllocator<T>>;

}  // namespace stockwatch
