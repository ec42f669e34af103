#include "stockwatch/chart/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

namespace stockwatch {
namespace {

constexpr int kMinWidth = 24;

// Bit of the dot at (column 0..1, row 0..3 from the top) in a braille cell.
constexpr uint8_t kDotBits[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int Decimals(double lo, double hi) {
  const double range = hi - lo;
  const double scale = range > 0 ? range : std::max(std::fabs(hi), 1e-9);
  // About three significant digits across the range.
  const int d = 2 - static_cast<int>(std::floor(std::log10(scale)));
  return std::clamp(d, 0, 6);
}

/// A canvas of dots, (0, 0) at the bottom left.
class Canvas {
 public:
  Canvas(int cols, int rows)
      : cols_(cols), rows_(rows), cells_(static_cast<size_t>(cols * rows), 0) {}
  int dot_width() const { return cols_ * 2; }
  int dot_height() const { return rows_ * 4; }

  void Set(int x, int y) {
    if (x < 0 || y < 0 || x >= dot_width() || y >= dot_height()) return;
    const int row_from_top = dot_height() - 1 - y;
    cells_[static_cast<size_t>((row_from_top / 4) * cols_ + x / 2)] |=
        kDotBits[x % 2][row_from_top % 4];
  }

  // Bresenham between two dots.
  void Line(int x0, int y0, int x1, int y1) {
    const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
      Set(x0, y0);
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  void AppendRow(std::string& out, int row) const {
    for (int c = 0; c < cols_; ++c)
      AppendUtf8(out, 0x2800 + cells_[static_cast<size_t>(row * cols_ + c)]);
  }

 private:
  int cols_, rows_;
  std::vector<uint8_t> cells_;
};

}  // namespace

std::string FormatPriceLabel(double v, double lo, double hi) {
  return fmt::format("{:.{}f}", v, Decimals(lo, hi));
}

namespace {

/// The dot row of price `v` on a canvas `h` dots high spanning [lo, hi].
int DotY(double v, double lo, double hi, int h) {
  if (hi == lo) return h / 2;
  return static_cast<int>(std::lround((v - lo) / (hi - lo) * (h - 1)));
}

/// The price line, scaled to the canvas between `lo` and `hi`.
void DrawPrices(Canvas& canvas, std::span<const double> prices, double lo, double hi) {
  const int w = canvas.dot_width(), h = canvas.dot_height();
  auto dot_y = [&](double v) { return DotY(v, lo, hi, h); };
  auto dot_x = [&](size_t i) {
    if (prices.size() == 1) return 0;
    return static_cast<int>(
        std::lround(static_cast<double>(i) * (w - 1) / static_cast<double>(prices.size() - 1)));
  };
  if (prices.size() == 1) {
    // One value: a flat line across, so it can be seen.
    canvas.Line(0, dot_y(prices[0]), w - 1, dot_y(prices[0]));
    return;
  }
  for (size_t i = 0; i + 1 < prices.size(); ++i) {
    canvas.Line(dot_x(i), dot_y(prices[i]), dot_x(i + 1), dot_y(prices[i + 1]));
  }
}

/// The marks' dotted lines (a dot in every other dot column) and their
/// prices as the labels of their rows, where a row has none yet.
void DrawMarks(Canvas& canvas, std::vector<std::string>& labels, std::span<const PlotMark> marks,
               double lo, double hi) {
  const int h = canvas.dot_height();
  for (const PlotMark& m : marks) {
    if (!m.price) continue;
    const int y = DotY(*m.price, lo, hi, h);
    for (int x = 0; x < canvas.dot_width(); x += 2) canvas.Set(x, y);
    std::string& label = labels[static_cast<size_t>((h - 1 - y) / 4)];
    if (label.empty()) label = FormatPriceLabel(*m.price, lo, hi);
  }
}

/// The chart's rows, each with its label (empty: none), and the axis line
/// under them.
void AppendRows(std::string& out, const Canvas& canvas, int rows, int cols,
                const std::vector<std::string>& labels, size_t label_w) {
  for (int r = 0; r < rows; ++r) {
    const std::string& label = labels[static_cast<size_t>(r)];
    out.append(label_w - label.size(), ' ');
    out += label;
    out += label.empty() ? " \u2502" : " \u2524";  // │ or ┤
    canvas.AppendRow(out, r);
    out.push_back('\n');
  }
  out.append(label_w + 1, ' ');
  out += "\u2514";                                 // └
  for (int c = 0; c < cols; ++c) out += "\u2500";  // ─
  out.push_back('\n');
}

/// The first time under the chart's left end, the last under its right
/// end when both fit.
void AppendTimeAxis(std::string& out, std::span<const TimeMs> ts, size_t label_w, int cols) {
  if (ts.empty()) return;
  const std::string first = FormatRfc3339(ts.front());
  const std::string last = FormatRfc3339(ts.back());
  std::string axis(label_w + 2, ' ');
  axis += first;
  const size_t total = label_w + 2 + static_cast<size_t>(cols);
  if (ts.size() > 1 && axis.size() + 2 + last.size() <= total) {
    axis.append(total - axis.size() - last.size(), ' ');
    axis += last;
  }
  out += axis;
  out.push_back('\n');
}

/// One line per mark: "┈ 199.99  LABEL" ("┈ LABEL" without a price).
void AppendLegend(std::string& out, std::span<const PlotMark> marks, double lo, double hi) {
  for (const PlotMark& m : marks) {
    out += "\u2508 ";  // ┈
    if (m.price) out += FormatPriceLabel(*m.price, lo, hi) + "  ";
    out += m.label;
    out.push_back('\n');
  }
}

}  // namespace

std::string PlotBraille(std::span<const double> prices, std::span<const TimeMs> ts,
                        std::string_view title, const PlotOptions& opts,
                        std::span<const PlotMark> marks) {
  std::string out(title);
  out.push_back('\n');
  if (prices.empty()) return out;
  const int width = std::max(opts.width, kMinWidth);
  const int rows = std::max(opts.height, 2);
  const auto [min_it, max_it] = std::minmax_element(prices.begin(), prices.end());
  double lo = *min_it, hi = *max_it;
  for (const PlotMark& m : marks) {
    if (m.price) lo = std::min(lo, *m.price), hi = std::max(hi, *m.price);
  }

  // Labels on the top, middle and bottom rows, and on the marks' rows.
  std::vector<std::string> labels(static_cast<size_t>(rows));
  labels.front() = FormatPriceLabel(hi, lo, hi);
  labels.back() = FormatPriceLabel(lo, lo, hi);
  if (rows >= 5) labels[static_cast<size_t>(rows / 2)] = FormatPriceLabel((lo + hi) / 2, lo, hi);
  size_t label_w = 0;
  for (const PlotMark& m : marks)
    if (m.price) label_w = std::max(label_w, FormatPriceLabel(*m.price, lo, hi).size());
  for (const std::string& l : labels) label_w = std::max(label_w, l.size());
  const int cols = width - static_cast<int>(label_w) - 2;  // "label ┤chart"

  Canvas canvas(cols, rows);
  DrawPrices(canvas, prices, lo, hi);
  DrawMarks(canvas, labels, marks, lo, hi);
  AppendRows(out, canvas, rows, cols, labels, label_w);
  AppendTimeAxis(out, ts, label_w, cols);
  AppendLegend(out, marks, lo, hi);
  return out;
}

namespace {

enum class RefKind { kPrevClose, kWindowLow, kWindowHigh };

/// The watches that share one reference, and their moves ("±5%", "up 3%").
struct RefGroup {
  RefKind kind;
  int64_t within;
  std::optional<double> price;
  std::vector<std::string> moves;
};

std::string Percent(double v) {
  std::string s;
  AppendJsonNumber(s, v);
  return s + "%";
}

void AddToGroup(std::vector<RefGroup>& groups, RefKind kind, int64_t within,
                std::optional<double> price, std::string move) {
  auto it = std::find_if(groups.begin(), groups.end(), [&](const RefGroup& g) {
    return g.kind == kind && g.within == within && g.price == price;
  });
  if (it == groups.end()) it = groups.insert(groups.end(), RefGroup{kind, within, price, {}});
  if (std::find(it->moves.begin(), it->moves.end(), move) == it->moves.end())
    it->moves.push_back(std::move(move));
}

std::string GroupLabel(const RefGroup& g) {
  std::string moves;
  for (const std::string& m : g.moves) moves += (moves.empty() ? "" : ", ") + m;
  const std::string w = FormatDurationSeconds(g.within);
  switch (g.kind) {
    case RefKind::kPrevClose:
      return g.price ? "previous close: the reference of day-change watches (" + moves + ")"
                     : "no previous close in these quotes: day-change watches (" + moves +
                           ") have no reference";
    case RefKind::kWindowLow:
      return "lowest of the last " + w + ": the reference of up moves within " + w + " (" + moves +
             ")";
    case RefKind::kWindowHigh:
      return "highest of the last " + w + ": the reference of down moves within " + w + " (" +
             moves + ")";
  }
  return {};
}

}  // namespace

std::vector<PlotMark> MoveReferenceMarks(std::span<const Quote> quotes,
                                         std::span<const Watch> watches) {
  if (quotes.empty()) return {};
  std::optional<double> prev_close;
  for (auto q = quotes.rbegin(); q != quotes.rend() && !prev_close; ++q) prev_close = q->prev_close;
  std::vector<RefGroup> groups;
  for (const Watch& w : watches) {
    if (!w.move || w.ticker != quotes.back().ticker) continue;
    if (w.within <= 0) {
      const std::string_view dir = w.direction == MoveDirection::kUp     ? "up "
                                   : w.direction == MoveDirection::kDown ? "down "
                                                                         : "\u00b1";
      AddToGroup(groups, RefKind::kPrevClose, 0, prev_close, std::string(dir) + Percent(*w.move));
      continue;
    }
    const TimeMs from = quotes.back().ts - w.within * 1000;
    double low = quotes.back().price, high = low;
    for (const Quote& q : quotes) {
      if (q.ts < from) continue;
      low = std::min(low, q.price);
      high = std::max(high, q.price);
    }
    if (w.direction != MoveDirection::kDown)
      AddToGroup(groups, RefKind::kWindowLow, w.within, low, Percent(*w.move));
    if (w.direction != MoveDirection::kUp)
      AddToGroup(groups, RefKind::kWindowHigh, w.within, high, Percent(*w.move));
  }
  // Top to bottom, as on the chart; notes without a price last.
  std::stable_sort(groups.begin(), groups.end(), [](const RefGroup& a, const RefGroup& b) {
    return a.price.value_or(-HUGE_VAL) > b.price.value_or(-HUGE_VAL);
  });
  std::vector<PlotMark> marks;
  for (const RefGroup& g : groups) marks.push_back(PlotMark{g.price, GroupLabel(g)});
  return marks;
}

}  // namespace stockwatch
