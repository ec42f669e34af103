#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "stockwatch/source/source.h"

namespace {

std::vector<double> Walk(uint64_t seed, const std::string& ticker, int n) {
  stockwatch::SimWalk w(seed);
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(w.Next(ticker));
  return out;
}

}  // namespace

TEST_CASE("SimWalk: the same seed gives the same walk; another seed another") {
  CHECK(Walk(42, "AAPL", 500) == Walk(42, "AAPL", 500));
  CHECK(Walk(42, "AAPL", 500) != Walk(43, "AAPL", 500));
  CHECK(Walk(42, "AAPL", 50) != Walk(42, "MSFT", 50));
}

TEST_CASE("SimWalk: a ticker's walk does not depend on the other tickers") {
  stockwatch::SimWalk mixed(7);
  std::vector<double> aapl;
  for (int i = 0; i < 200; ++i) {
    aapl.push_back(mixed.Next("AAPL"));
    mixed.Next("MSFT");
    if (i % 3 == 0) mixed.Next("BTC-USD");
  }
  CHECK(aapl == Walk(7, "AAPL", 200));
}

TEST_CASE("SimWalk: plausible prices: in cents, positive, small steps") {
  for (const char* t : {"AAPL", "MSFT", "^GSPC", "X", "BTC-USD", "EURUSD=X"}) {
    auto w = Walk(1, t, 2000);
    CHECK(w[0] >= 5.0);
    CHECK(w[0] <= 1000.0);
    bool moved = false;
    for (size_t i = 0; i < w.size(); ++i) {
      CHECK(w[i] >= 0.01);
      CHECK(std::fabs(w[i] * 100 - std::round(w[i] * 100)) < 1e-6);
      if (i > 0) {
        // 0.5 % steps: a 4 % jump would be an 8-sigma event.
        CHECK(std::fabs(std::log(w[i] / w[i - 1])) < 0.04 + 0.01 / w[i - 1]);
        if (w[i] != w[i - 1]) moved = true;
      }
    }
    CHECK(moved);
  }
}

TEST_CASE("SimWalk: Start continues a walk from a given price, once") {
  stockwatch::SimWalk a(7), b(7);
  a.Start("AAPL", 190.0);
  CHECK(a.Started("AAPL"));
  CHECK_FALSE(b.Started("AAPL"));
  double p = a.Next("AAPL");
  CHECK(p > 190.0 * 0.9);
  CHECK(p < 190.0 * 1.1);
  a.Start("AAPL", 5.0);  // already started: ignored
  double q = a.Next("AAPL");
  CHECK(q > p * 0.9);
  CHECK(q < p * 1.1);
}
