#include "format.h"

#include <algorithm>

namespace stockwatch::stockctl {
namespace {

size_t CodePoints(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

Table::Table(std::vector<std::string> headers, std::vector<bool> right_aligned)
    : headers_(std::move(headers)), right_(std::move(right_aligned)) {
  right_.resize(headers_.size(), false);
}

void Table::Add(std::vector<std::string> row) {
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

std::string Table::Render() const {
  std::vector<size_t> width(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) width[i] = CodePoints(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], CodePoints(row[i]));
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t i = 0; i < cells.size(); ++i) {
      const size_t pad = width[i] - CodePoints(cells[i]);
      const bool last = i + 1 == cells.size();
      if (right_[i]) l.append(pad, ' ');
      l += cells[i];
      if (!right_[i] && !last) l.append(pad, ' ');
      if (!last) l += "  ";
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l;
    out.push_back('\n');
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
  return out;
}

std::string Num(const std::optional<double>& v) {
  if (!v) return "-";
  std::string s;
  AppendJsonNumber(s, *v);
  return s;
}

std::string Int(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; }

std::string Interval(int64_t seconds) {
  if (seconds <= 0) return "0 (no limit)";
  std::string out;
  const int64_t h = seconds / 3600, m = seconds % 3600 / 60, s = seconds % 60;
  if (h > 0) out += std::to_string(h) + "h";
  if (m > 0) out += std::to_string(m) + "m";
  if (s > 0) out += std::to_string(s) + "s";
  return out;
}

std::string Band(const std::optional<double>& low, const std::optional<double>& high) {
  if (low && high) return "low " + Num(low) + ", high " + Num(high);
  if (low) return "low " + Num(low) + ", no high";
  if (high) return "no low, high " + Num(high);
  return "no bounds";
}

std::string Move(const Watch& w) {
  if (!w.move) return "-";
  std::string s = Num(w.move) + "% " + (w.within == 0 ? std::string("day") : Interval(w.within));
  if (w.direction != MoveDirection::kBoth) s += " " + std::string(ToString(w.direction));
  return s;
}

std::string WatchWords(const Watch& w) {
  if (!w.move) return Band(w.low, w.high);
  if (!w.low && !w.high) return "move " + Move(w);
  return Band(w.low, w.high) + ", move " + Move(w);
}

}  // namespace stockwatch::stockctl
