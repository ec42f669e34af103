#include "stockwatch/collect/shard.h"

#include <charconv>

#include "stockwatch/core/error.h"

namespace stockwatch {
namespace {

constexpr uint32_t kMaxShards = 1'000'000;

bool ParseUint(std::string_view s, uint32_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace

Shard ParseShard(std::string_view text) {
  const size_t slash = text.find('/');
  Shard s;
  if (slash == std::string_view::npos || !ParseUint(text.substr(0, slash), s.index) ||
      !ParseUint(text.substr(slash + 1), s.count)) {
    throw Error(exitcode::kUsage,
                "--shard: not I/N: \"" + std::string(text) + "\" (e.g. 1/3: the first of three)");
  }
  if (s.count < 1 || s.count > kMaxShards || s.index < 1 || s.index > s.count) {
    throw Error(exitcode::kUsage, "--shard: out of range: \"" + std::string(text) +
                                      "\" (I/N needs 1 <= I <= N <= 1000000)");
  }
  return s;
}

uint32_t ShardOf(std::string_view ticker, uint32_t count) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : ticker) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // FNV's low bits are weak: mix them all in (MurmurHash3's fmix64) before
  // the modulo, so shards stay even for any N.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return static_cast<uint32_t>(h % count) + 1;
}

std::vector<std::string> InShard(const std::vector<std::string>& tickers, Shard shard) {
  if (shard.count <= 1) return tickers;
  std::vector<std::string> out;
  for (const std::string& t : tickers) {
    if (ShardOf(t, shard.count) == shard.index) out.push_back(t);
  }
  return out;
}

}  // namespace stockwatch
