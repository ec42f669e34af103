#pragma once
/// Terminal line charts of price series in Unicode braille (2x4 dots per
/// character cell). Pure logic: returns text, writes nothing.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/core/records.h"
#include "stockwatch/core/timeutil.h"

namespace stockwatch {

struct PlotOptions {
  int width = 80;   // whole chart, labels included (terminal columns)
  int height = 12;  // rows of braille cells (each 4 dots high)
};

/// A price marked on the chart: a dotted line across it at `price`, the
/// price on the axis at its row, and a legend line under the chart
/// ("┈ 199.99  LABEL"). Without a price, just the legend line ("┈ LABEL").
struct PlotMark {
  std::optional<double> price;
  std::string label;
};

/// Renders `prices` (oldest first; points spaced evenly by order, so gaps
/// such as closed markets take no room) as a braille line chart: a title
/// line, `height` chart rows with a price axis on the left, an x axis, and
/// the first and last timestamps below it. `ts` has one entry per price.
/// Every line ends with '\n'. An empty series gives just the title line.
/// Widths below 24 columns are treated as 24. `marks` widen the price
/// range to take them in and are listed, in order, after the time axis.
std::string PlotBraille(std::span<const double> prices, std::span<const TimeMs> ts,
                        std::string_view title, const PlotOptions& opts,
                        std::span<const PlotMark> marks = {});

/// The references of the percent-move watches among `watches` (those on
/// other tickers or without a move are skipped), as seen in `quotes`
/// (oldest first, one ticker): a day-change watch's is the previous close
/// (the newest quote's that carries one), a windowed watch's the lowest
/// (up moves) and the highest (down moves) price of the quotes of the last
/// `within` seconds up to the newest quote. Watches with the same reference
/// share one mark; a day-change watch with no prev_close in the quotes
/// gets a mark without a price that says so. Highest price first (the
/// legend reads top to bottom, as the chart), marks without a price last.
std::vector<PlotMark> MoveReferenceMarks(std::span<const Quote> quotes,
                                         std::span<const Watch> watches);

/// A price label with as many decimals as the range [lo, hi] needs to show
/// about three significant digits across it (0 for spans of thousands, 2 for
/// spans of 1 to 10, up to 6 for tiny ranges).
std::string FormatPriceLabel(double v, double lo, double hi);

}  // namespace stockwatch
