// The braille chart behind `stockctl quote history --plot` (lib/stockwatch/chart/plot.h).
#include "stockwatch/chart/plot.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace sw = stockwatch;

namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    out.push_back(s.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The braille cells of one chart row (after "label ┤" / "label │").
std::u32string Cells(const std::string& row) {
  std::u32string out;
  for (size_t i = 0; i < row.size();) {
    auto c = static_cast<unsigned char>(row[i]);
    char32_t cp;
    int len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else {
      cp = c & 0x0F;
      len = 3;
    }
    for (int k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(row[i + static_cast<size_t>(k)]) & 0x3F);
    if (cp >= 0x2800 && cp <= 0x28FF) out.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return out;
}

constexpr sw::TimeMs kT0 = 1'795'000'000'000;

}  // namespace

TEST_CASE("Plot: layout: title, rows as wide as asked, axis and timestamps") {
  std::vector<double> prices{100, 101, 102, 103, 104, 105};
  std::vector<sw::TimeMs> ts;
  for (size_t i = 0; i < prices.size(); ++i)
    ts.push_back(kT0 + static_cast<sw::TimeMs>(i) * 60'000);
  const std::string chart = sw::PlotBraille(prices, ts, "TITLE", sw::PlotOptions{60, 6});
  auto lines = Lines(chart);
  REQUIRE(lines.size() == 1 + 6 + 1 + 1);
  CHECK(lines[0] == "TITLE");
  for (int r = 1; r <= 6; ++r) CHECK(CodePoints(lines[static_cast<size_t>(r)]) == 60);
  CHECK(lines[1].rfind("105.00 \u2524", 0) == 0);  // max on the top row
  CHECK(lines[6].rfind("100.00 \u2524", 0) == 0);  // min on the bottom row
  CHECK(lines[7].find("\u2514\u2500") != std::string::npos);
  CHECK(lines[8].find(sw::FormatRfc3339(ts.front())) != std::string::npos);
  CHECK(lines[8].find(sw::FormatRfc3339(ts.back())) != std::string::npos);
}

TEST_CASE("Plot: a rising series goes from the bottom left to the top right") {
  std::vector<double> prices;
  for (int i = 0; i < 50; ++i) prices.push_back(10.0 + i);
  const std::string chart = sw::PlotBraille(prices, {}, "up", sw::PlotOptions{40, 4});
  auto lines = Lines(chart);
  const std::u32string top = Cells(lines[1]), bottom = Cells(lines[4]);
  REQUIRE(!top.empty());
  REQUIRE(top.size() == bottom.size());
  // Bottom-left cell has dots, top-left none; top-right has dots, bottom-right none.
  CHECK(bottom.front() != U'\u2800');
  CHECK(top.front() == U'\u2800');
  CHECK(top.back() != U'\u2800');
  CHECK(bottom.back() == U'\u2800');
  // The lowest dot of the bottom-left cell is its bottom-left dot (dot 7: 0x40).
  CHECK(((bottom.front() - 0x2800) & 0x40) != 0);
  // The top-right cell has its top-right dot (dot 4: 0x08).
  CHECK(((top.back() - 0x2800) & 0x08) != 0);
  // The line is continuous: every column has at least one dot in some row.
  for (size_t c = 0; c < top.size(); ++c) {
    bool any = false;
    for (int r = 1; r <= 4; ++r) any = any || Cells(lines[static_cast<size_t>(r)])[c] != U'\u2800';
    CHECK(any);
  }
}

TEST_CASE("Plot: flat, single-value and empty series") {
  std::vector<double> flat(10, 42.0);
  auto lines = Lines(sw::PlotBraille(flat, {}, "flat", sw::PlotOptions{30, 4}));
  // A flat series is drawn across the middle, not lost.
  int rows_with_dots = 0;
  for (int r = 1; r <= 4; ++r) {
    for (char32_t c : Cells(lines[static_cast<size_t>(r)])) {
      if (c != U'\u2800') {
        ++rows_with_dots;
        break;
      }
    }
  }
  CHECK(rows_with_dots == 1);

  std::vector<double> one{197.48};
  std::vector<sw::TimeMs> one_ts{kT0};
  auto single = Lines(sw::PlotBraille(one, one_ts, "one", sw::PlotOptions{30, 3}));
  REQUIRE(single.size() == 1 + 3 + 1 + 1);
  CHECK(single.back().find(sw::FormatRfc3339(kT0)) != std::string::npos);

  CHECK(sw::PlotBraille({}, {}, "nothing", sw::PlotOptions{}) == "nothing\n");
}

TEST_CASE("Plot: many more points than dots still fit the width") {
  std::vector<double> prices;
  for (int i = 0; i < 10'000; ++i) prices.push_back(100 + (i % 7));
  auto lines = Lines(sw::PlotBraille(prices, {}, "dense", sw::PlotOptions{50, 5}));
  for (int r = 1; r <= 5; ++r) CHECK(CodePoints(lines[static_cast<size_t>(r)]) == 50);
  // Tiny widths are widened to a usable minimum.
  auto tiny = Lines(sw::PlotBraille(prices, {}, "tiny", sw::PlotOptions{5, 2}));
  CHECK(CodePoints(tiny[1]) == 24);
}

TEST_CASE("Plot: price labels use the decimals the range needs") {
  CHECK(sw::FormatPriceLabel(68675.62, 66282.73, 68675.62) == "68676");
  CHECK(sw::FormatPriceLabel(229.43, 226.94, 229.43) == "229.43");
  CHECK(sw::FormatPriceLabel(1.0843, 1.0821, 1.0843) == "1.08430");
  CHECK(sw::FormatPriceLabel(5, 5, 5) == "5.00");
}
