// gen_quotes: writes N quote records (JSON lines) over K tickers, a seeded
// random walk per ticker, for the benchmarks.
//
//   gen_quotes [--lines N] [--tickers K] [--seed S] [--full] [-o FILE]
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "stockwatch/core/records.h"

int main(int argc, char** argv) {
  uint64_t lines = 2'000'000;
  int tickers = 10'000;
  uint64_t seed = 1;
  std::string output = "-";
  bool full = false;
  CLI::App app{"gen_quotes - quote records for benchmarks", "gen_quotes"};
  app.add_option("--lines", lines, "Number of records");
  app.add_option("--tickers", tickers, "Number of distinct tickers")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--seed", seed, "Random seed");
  app.add_flag("--full", full, "Also write currency, prev_close and volume");
  app.add_option("-o,--output", output, "Output file (- for stdout)");
  CLI11_PARSE(app, argc, argv);

  std::FILE* out = output == "-" ? stdout : std::fopen(output.c_str(), "w");
  if (out == nullptr) {
    std::perror(output.c_str());
    return 73;
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> start(5, 500);
  std::normal_distribution<double> step(0, 0.002);
  std::vector<stockwatch::Quote> quotes(static_cast<size_t>(tickers));
  for (int i = 0; i < tickers; ++i) {
    stockwatch::Quote& q = quotes[static_cast<size_t>(i)];
    q.ticker = "TK" + std::to_string(i);
    q.price = static_cast<double>(static_cast<int64_t>(start(rng) * 100)) / 100;
    q.source = "sim";
    if (full) {
      q.currency = "USD";
      q.prev_close = q.price;
    }
  }
  const stockwatch::TimeMs t0 = 1'795'791'000'000;  // 2026-11-27
  std::string buf;
  for (uint64_t n = 0; n < lines; ++n) {
    stockwatch::Quote& q = quotes[n % quotes.size()];
    // Cents, so the records look like real prices.
    q.price =
        static_cast<double>(static_cast<int64_t>(q.price * (1 + step(rng)) * 100 + 0.5)) / 100;
    q.ts = t0 + static_cast<stockwatch::TimeMs>(n / quotes.size()) * 60'000;
    if (full) q.volume = static_cast<int64_t>(n);
    stockwatch::AppendJson(buf, q);
    buf.push_back('\n');
    if (buf.size() > (1 << 20)) {
      std::fwrite(buf.data(), 1, buf.size(), out);
      buf.clear();
    }
  }
  std::fwrite(buf.data(), 1, buf.size(), out);
  if (std::fflush(out) != 0 || (out != stdout && std::fclose(out) != 0)) {
    std::perror(output.c_str());
    return 74;
  }
  return 0;
}
