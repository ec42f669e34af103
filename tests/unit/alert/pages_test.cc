// The engine's page allocator: alignment, reuse of freed blocks by size,
// and blocks that do not overlap.
#include "stockwatch/alert/pages.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

using namespace stockwatch;

TEST_CASE("pages: blocks are aligned, disjoint, and reused by size") {
  std::vector<std::pair<char*, size_t>> blocks;
  for (size_t bytes : {1, 64, 65, 256, 1000, 4096, 100000, 262144, 262145, 5000000}) {
    auto* p = static_cast<char*>(AllocatePages(bytes));
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    std::memset(p, static_cast<int>(bytes & 0xff), bytes);  // all of it is ours
    blocks.emplace_back(p, bytes);
  }
  std::vector<std::pair<char*, size_t>> sorted = blocks;
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 1; k < sorted.size(); ++k)
    CHECK(sorted[k - 1].first + sorted[k - 1].second <= sorted[k].first);
  for (auto& [p, bytes] : blocks)  // nothing wrote over another block
    CHECK(std::all_of(p, p + bytes, [&](char c) { return c == static_cast<char>(bytes & 0xff); }));

  // A freed block is the next one of its size (64 B classes: 1000 and 1024 share one).
  char* freed = blocks[4].first;
  FreePages(freed, 1000);
  CHECK(AllocatePages(1024) == freed);
  FreePages(freed, 1024);
  for (size_t k = 0; k < blocks.size(); ++k)
    if (k != 4) FreePages(blocks[k].first, blocks[k].second);
  FreePages(nullptr, 10);  // nothing
}

TEST_CASE("pages: a vector on them") {
  PageVector<double> v;
  for (int k = 0; k < 100000; ++k) v.push_back(k);
  CHECK(v[99999] == 99999);
  PageVector<double> w = v;
  CHECK(w == v);
}
