// Latency of the query side inside one process: `quote last` (the
// latest_quotes read model) and `quote avg -n N` (the last N quotes through
// the (ticker, ts) index), called through Queries directly on a store that
// bench/store-latency.sh has filled. Prints markdown table rows.
//
//   store_latency --db URL [--tickers 1000] [--queries 20000] [-n 100] [--label NAME]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "stockwatch/store/store.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double p50_us, p99_us, max_us, qps;
};

template <typename F>
Stats Measure(int queries, F&& query) {
  std::vector<double> us;
  us.reserve(static_cast<size_t>(queries));
  const auto start = Clock::now();
  for (int i = 0; i < queries; ++i) {
    const auto t0 = Clock::now();
    query(i);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) {
    return us[std::min(us.size() - 1, static_cast<size_t>(p * static_cast<double>(us.size())))];
  };
  return Stats{pct(0.50), pct(0.99), us.back(), queries / total_s};
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, label = "store";
  int tickers = 1000, queries = 20000;
  int64_t n = 100;
  CLI::App app{"store_latency - p50/p99 of quote last and quote avg through Queries"};
  app.add_option("--db", url, "Store URL")->required();
  app.add_option("--tickers", tickers, "Tickers T0000..T(N-1) to pick from at random");
  app.add_option("--queries", queries, "Queries per kind (after 1000 warm-up queries)");
  app.add_option("-n", n, "N of quote avg");
  app.add_option("--label", label, "Backend name for the table");
  CLI11_PARSE(app, argc, argv);

  try {
    auto store = stockwatch::Store::Open(url);
    auto& q = store->queries();
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> pick(0, tickers - 1);
    char name[16];
    auto ticker = [&] {
      std::snprintf(name, sizeof name, "T%04d", pick(rng));
      return std::string_view(name);
    };
    int missing = 0;
    auto last = [&](int) {
      if (!q.LastQuote(ticker())) ++missing;
    };
    auto avg = [&](int) {
      if (q.AverageLast(ticker(), n).second != n) ++missing;
    };
    Measure(1000, last);
    Measure(1000, avg);
    missing = 0;
    const Stats l = Measure(queries, last);
    const Stats a = Measure(queries, avg);
    if (missing > 0) {
      std::fprintf(stderr,
                   "store_latency: %d queries found less data than expected (not loaded?)\n",
                   missing);
      return 1;
    }
    auto row = [&](const char* what, const Stats& s) {
      std::printf("| %s | %s | %.0f | %.0f | %.0f | %.0f |\n", label.c_str(), what, s.p50_us,
                  s.p99_us, s.max_us, s.qps);
    };
    row("`quote last`", l);
    const std::string avg_name = "`quote avg -n " + std::to_string(n) + "`";
    row(avg_name.c_str(), a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store_latency: %s\n", e.what());
    return 1;
  }
  return 0;
}
