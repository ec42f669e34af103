// See pages.h.
#include "stockwatch/alert/pages.h"

#include <sys/mman.h>

#include <array>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace stockwatch {
namespace {

constexpr std::size_t kHuge = std::size_t{2} << 20;       // one huge page
constexpr std::size_t kLargest = std::size_t{256} << 10;  // the largest block carved from a chunk
constexpr std::size_t kSmallest = 64;

// 2 MiB-aligned memory, advised to the kernel as huge-page material.
void* MapHuge(std::size_t bytes) {
  void* p = std::aligned_alloc(kHuge, bytes);
  if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE);  // a hint: without it, 4 KiB pages do
#endif
  return p;
}

class Chunks {
 public:
  void* Take(std::size_t size) {
    const int k = Class(size);
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<void*>& list = free_[static_cast<std::size_t>(k)];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      return p;
    }
    const std::size_t block = kSmallest << k;
    if (left_ < block) {
      chunks_.reserve(chunks_.size() + 1);         // before: a throw leaks nothing
      next_ = static_cast<char*>(MapHuge(kHuge));  // the rest of the old chunk is left unused
      chunks_.push_back(next_);
      left_ = kHuge;
    }
    void* p = next_;
    next_ += block;
    left_ -= block;
    return p;
  }
  void Give(void* p, std::size_t size) {
    const int k = Class(size);
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      free_[static_cast<std::size_t>(k)].push_back(p);
    } catch (const std::bad_alloc&) {
      // Not kept for reuse: a block lost, nothing worse.
    }
  }

 private:
  // Blocks of 64 << k bytes.
  static int Class(std::size_t size) {
    const std::size_t block = std::bit_ceil(size < kSmallest ? kSmallest : size);
    return std::countr_zero(block) - std::countr_zero(kSmallest);
  }
  std::mutex mutex_;
  std::array<std::vector<void*>, 13> free_;  // 64 B .. 256 KiB
  std::vector<void*> chunks_;                // all of them, for leak checkers
  char* next_ = nullptr;
  std::size_t left_ = 0;
};

Chunks& TheChunks() {
  static auto* chunks = new Chunks;  // never destroyed: blocks may be freed at exit
  return *chunks;
}

std::size_t RoundedHuge(std::size_t bytes) { return (bytes + kHuge - 1) / kHuge * kHuge; }

}  // namespace

void* AllocatePages(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= kLargest) return TheChunks().Take(bytes);
  return MapHuge(RoundedHuge(bytes));
}

void FreePages(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  if (bytes == 0) bytes = 1;
  if (bytes <= kLargest) {
    TheChunks().Give(p, bytes);
  } else {
    std::free(p);
  }
}

}  // namespace stockwatch
