// shard.h: --shard I/N splits any ticker list into N disjoint parts that
// cover it, by a hash that does not change between runs or machines.
#include "stockwatch/collect/shard.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "stockwatch/core/error.h"

namespace sw = stockwatch;

TEST_CASE("Shard: N shards cover every ticker exactly once") {
  std::vector<std::string> tickers;
  for (int i = 0; i < 10000; ++i) tickers.push_back("T" + std::to_string(i) + ".X");
  for (uint32_t n : {1u, 2u, 3u, 7u, 64u}) {
    std::map<std::string, int> seen;
    size_t smallest = tickers.size(), largest = 0;
    for (uint32_t i = 1; i <= n; ++i) {
      std::vector<std::string> part = sw::InShard(tickers, {i, n});
      for (const std::string& t : part) ++seen[t];
      smallest = std::min(smallest, part.size());
      largest = std::max(largest, part.size());
    }
    INFO("N = " << n);
    CHECK(seen.size() == tickers.size());
    bool once = true;
    for (const auto& [t, count] : seen) once = once && count == 1;
    CHECK(once);
    // Balanced within 25 % of the mean on 10k tickers.
    const double mean = static_cast<double>(tickers.size()) / n;
    CHECK(static_cast<double>(smallest) > 0.75 * mean);
    CHECK(static_cast<double>(largest) < 1.25 * mean);
  }
}

namespace {
uint64_t Fmix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}
}  // namespace

TEST_CASE("Shard: the hash is stable (FNV-1a 64 of the ticker's bytes, fmix64)") {
  // Fixed values (FNV-1a 64 of "" and of "a" are its published test
  // vectors): changing them would move tickers between collectors.
  CHECK(sw::ShardOf("AAPL", 1) == 1);
  CHECK(sw::ShardOf("", 1000000) == Fmix64(0xcbf29ce484222325ULL) % 1000000 + 1);
  CHECK(sw::ShardOf("a", 1000000) == Fmix64(0xaf63dc4c8601ec8cULL) % 1000000 + 1);
  CHECK(sw::ShardOf("AAPL", 3) == sw::ShardOf(std::string("AAPL"), 3));
  // Order is kept.
  std::vector<std::string> in{"A", "B", "C", "D", "E", "F"};
  std::vector<std::string> out = sw::InShard(in, {1, 1});
  CHECK(out == in);
}

TEST_CASE("Shard: I/N is parsed strictly") {
  CHECK(sw::ParseShard("2/3").index == 2);
  CHECK(sw::ParseShard("2/3").count == 3);
  CHECK(sw::ParseShard("1/1").count == 1);
  for (const char* bad :
       {"", "3", "0/3", "4/3", "1/0", "-1/3", "1/3/4", "a/b", " 1/3", "1/1000001"}) {
    INFO(bad);
    CHECK_THROWS_AS(sw::ParseShard(bad), sw::Error);
  }
}
