#pragma once
/// Human output of stockctl: aligned tables and value formatting.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stockwatch/core/records.h"

namespace stockwatch::stockctl {

/// A table with a header row; columns are padded to their widest cell
/// (counted in code points), right-aligned where asked (numbers).
class Table {
 public:
  Table(std::vector<std::string> headers, std::vector<bool> right_aligned);
  void Add(std::vector<std::string> row);
  bool empty() const { return rows_.empty(); }
  /// The rendered table, one line per row, each ending in '\n'.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

/// A price or threshold ("197.48", "200"); "-" when absent.
std::string Num(const std::optional<double>& v);
/// An optional integer; "-" when absent.
std::string Int(const std::optional<int64_t>& v);
/// Seconds as "0 (no limit)", "30s", "5m", "1h30m".
std::string Interval(int64_t seconds);
/// A band in words: "low 150, high 200", "above 200 only"...
std::string Band(const std::optional<double>& low, const std::optional<double>& high);
/// A watch's move: "5% day", "3% 1h up", "2.5% 15m down"; "-" when none.
std::string Move(const Watch& w);
/// A watch's band and move in words: "low 150, high 200, move 5% day",
/// "move 3% 1h up", "no bounds".
std::string WatchWords(const Watch& w);

}  // namespace stockwatch::stockctl
