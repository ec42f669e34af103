#pragma once
/// --shard I/N: N collectors split a watch list without coordinating; each
/// takes the tickers whose stable hash falls in its shard, so every ticker
/// is collected by exactly one of them.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stockwatch {

struct Shard {
  uint32_t index = 1;  // 1..count
  uint32_t count = 1;  // 1: everything
};

/// Parses "I/N" (1 <= I <= N <= 1000000). Throws Error(64) naming the flag.
Shard ParseShard(std::string_view text);

/// The shard (1..count) a ticker belongs to: FNV-1a 64 of its bytes, mixed
/// by MurmurHash3's fmix64, modulo count, plus 1. Stable across machines,
/// builds and versions.
uint32_t ShardOf(std::string_view ticker, uint32_t count);

/// The tickers of `tickers` that belong to `shard`, in their order.
std::vector<std::string> InShard(const std::vector<std::string>& tickers, Shard shard);

}  // namespace stockwatch
