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

TEST_CASE("Plot: a mark under the prices widens the range; its row is dotted and labelled") {
  std::vector<double> prices{100, 102, 104, 106, 108, 110};
  std::vector<sw::PlotMark> marks{{90.0, "previous close: the reference of ..."}};
  auto lines = Lines(sw::PlotBraille(prices, {}, "T", sw::PlotOptions{40, 6}, marks));
  REQUIRE(lines.size() == 1 + 6 + 1 + 1);
  CHECK(lines[1].rfind("110.0 \u2524", 0) == 0);
  CHECK(lines[6].rfind(" 90.0 \u2524", 0) == 0);  // the range reaches down to the mark
  for (int r = 1; r <= 6; ++r) CHECK(CodePoints(lines[static_cast<size_t>(r)]) == 40);
  // The mark's dotted line: the bottom dot of every cell's left column in the last row.
  for (char32_t c : Cells(lines[6])) CHECK(((c - 0x2800) & 0x40) != 0);
  CHECK(lines[8] == "\u2508 90.0  previous close: the reference of ...");
}

TEST_CASE("Plot: a mark inside the range labels its own row; a mark without a price is a note") {
  std::vector<double> prices;
  for (int i = 0; i <= 40; ++i) prices.push_back(100 + i);
  std::vector<sw::PlotMark> marks{{113.0, "lowest of the last 1h"}, {std::nullopt, "a note"}};
  auto lines = Lines(sw::PlotBraille(prices, {}, "T", sw::PlotOptions{40, 10}, marks));
  REQUIRE(lines.size() == 1 + 10 + 1 + 2);
  // 113 is dot 13 of 40 from the bottom: the 7th row from the top (the middle label is on the 6th).
  size_t row = 0;
  for (size_t r = 1; r <= 10; ++r)
    if (lines[r].rfind("113.0 \u2524", 0) == 0) row = r;
  CHECK(row == 7);
  // Every cell of that row has a dot (the dotted line), unlike the row under it.
  size_t dotted = 0;
  for (char32_t c : Cells(lines[row])) dotted += c != U'\u2800';
  CHECK(dotted == Cells(lines[row]).size());
  CHECK(lines[12] == "\u2508 113.0  lowest of the last 1h");
  CHECK(lines[13] == "\u2508 a note");
  // Without marks, nothing after the time axis and no labels but three.
  auto plain = Lines(sw::PlotBraille(prices, {}, "T", sw::PlotOptions{40, 10}));
  CHECK(plain.size() == 1 + 10 + 1);
  CHECK(plain[row].find("113.0") == std::string::npos);
}

namespace {

sw::Quote Q(double price, int minute, std::optional<double> prev_close = std::nullopt) {
  sw::Quote q;
  q.ticker = "AAPL";
  q.price = price;
  q.ts = kT0 + minute * 60'000;
  q.prev_close = prev_close;
  return q;
}

sw::Watch MoveWatch(std::string ticker, double move, int64_t within,
                    sw::MoveDirection dir = sw::MoveDirection::kBoth) {
  sw::Watch w;
  w.email = "alice@example.com";
  w.ticker = std::move(ticker);
  w.move = move;
  w.within = within;
  w.direction = dir;
  return w;
}

}  // namespace

TEST_CASE("MoveReferenceMarks: previous close for day changes, the window's low and high") {
  // Two hours of quotes; the newest prev_close is 195 (the older 190 is another day's).
  std::vector<sw::Quote> quotes{Q(180, 0, 190), Q(200, 30, 195), Q(205, 70),
                                Q(198, 90),     Q(212, 100),     Q(207, 120)};
  sw::Watch band;
  band.ticker = "AAPL";
  band.high = 250;
  std::vector<sw::Watch> watches{
      MoveWatch("AAPL", 5, 0),
      MoveWatch("AAPL", 3, 0, sw::MoveDirection::kUp),
      MoveWatch("AAPL", 5, 0),  // another user's: nothing new
      MoveWatch("MSFT", 5, 0),  // another ticker
      band,                     // no move
      MoveWatch("AAPL", 2, 3600),
      MoveWatch("AAPL", 4, 3600, sw::MoveDirection::kDown),
      MoveWatch("AAPL", 1, 600, sw::MoveDirection::kUp),
  };
  auto marks = sw::MoveReferenceMarks(quotes, watches);
  // Highest first, as the legend lists them.
  REQUIRE(marks.size() == 4);
  // The last hour: from minute 60 on (205, 198, 212, 207).
  CHECK(marks[0].price == 212.0);
  CHECK(marks[0].label == "highest of the last 1h: the reference of down moves within 1h (2%, 4%)");
  // The last 10 minutes: minutes 110..120, only the newest quote.
  CHECK(marks[1].price == 207.0);
  CHECK(marks[1].label == "lowest of the last 10m: the reference of up moves within 10m (1%)");
  CHECK(marks[2].price == 198.0);
  CHECK(marks[2].label == "lowest of the last 1h: the reference of up moves within 1h (2%)");
  CHECK(marks[3].price == 195.0);
  CHECK(marks[3].label == "previous close: the reference of day-change watches (\u00b15%, up 3%)");

  // No prev_close anywhere: the day-change watches are named without a mark.
  std::vector<sw::Quote> bare{Q(180, 0), Q(181, 1)};
  std::vector<sw::Watch> day{MoveWatch("AAPL", 5, 0)};
  auto none = sw::MoveReferenceMarks(bare, day);
  REQUIRE(none.size() == 1);
  CHECK_FALSE(none[0].price.has_value());
  CHECK(none[0].label ==
        "no previous close in these quotes: day-change watches (\u00b15%) have no reference");
  CHECK(sw::MoveReferenceMarks({}, day).empty());
}
