#pragma once
/// Terminal line charts of price series in Unicode braille (2x4 dots per
/// character cell). Pure logic: returns text, writes nothing.
#include <span>
#include <string>
#include <string_view>

#include "stockwatch/core/timeutil.h"

namespace stockwatch {

struct PlotOptions {
  int width = 80;   // whole chart, labels included (terminal columns)
  int height = 12;  // rows of braille cells (each 4 dots high)
};

/// Renders `prices` (oldest first; points spaced evenly by order, so gaps
/// such as closed markets take no room) as a braille line chart: a title
/// line, `height` chart rows with a price axis on the left, an x axis, and
/// the first and last timestamps below it. `ts` has one entry per price.
/// Every line ends with '\n'. An empty series gives just the title line.
/// Widths below 24 columns are treated as 24.
std::string PlotBraille(std::span<const double> prices, std::span<const TimeMs> ts,
                        std::string_view title, const PlotOptions& opts);

/// A price label with as many decimals as the range [lo, hi] needs to show
/// about three significant digits across it (0 for spans of thousands, 2 for
/// spans of 1 to 10, up to 6 for tiny ranges).
std::string FormatPriceLabel(double v, double lo, double hi);

}  // namespace stockwatch
