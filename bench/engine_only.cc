// engine_only: the alert engine alone, without reading, parsing or writing.
// Parses a quotes file into memory once, then feeds every quote to a fresh
// AlertEngine (edge mode) REPEAT times and keeps the fastest pass: the
// figure that changes of the engine's layout are compared on, with far
// less noise than whole runs of stock-alert. With `ahead`, each quote is
// first given the engine's loading steps (AlertEngine::Prefetch) on the
// quotes before it, as stock-alert gives them while it parses the next
// quotes; here only the checking of one quote lies between two steps.
//
//   engine_only WATCHES QUOTES [REPEAT [ahead]]
//   prints "QUOTES ALERTS BEST_SECONDS MEDIAN_SECONDS" on stdout
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "stockwatch/alert/engine.h"
#include "stockwatch/alert/files.h"
#include "stockwatch/core/records.h"
#include "stockwatch/stream/stream.h"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5 || (argc == 5 && std::string_view(argv[4]) != "ahead")) {
    std::fprintf(stderr, "usage: engine_only WATCHES QUOTES [REPEAT [ahead]]\n");
    return 64;
  }
  using namespace stockwatch;
  const int repeat = argc >= 4 ? std::max(1, std::atoi(argv[3])) : 5;
  const bool ahead = argc == 5;
  try {
    const std::vector<Watch> watches = ReadWatchesFile(argv[1]);
    StreamOptions opts;
    opts.program = "engine_only";
    std::unique_ptr<Source> in = OpenSource(opts, argv[2]);
    RecordParser parser;
    AnyRecord any;
    InRecord rec;
    std::vector<Quote> quotes;
    while (in->Next(rec)) {
      if (parser.Parse(rec.value, rec.readable, any) == RecordType::kQuote) {
        quotes.push_back(any.quote);
      }
    }
    std::vector<double> secs;
    uint64_t alerts = 0;
    for (int r = 0; r < repeat; ++r) {
      AlertEngine engine({AlertMode::kEdge, 0});
      engine.SetWatches(watches);
      alerts = 0;
      const auto start = std::chrono::steady_clock::now();
      const size_t steps = ahead ? static_cast<size_t>(engine.prefetch_steps()) : 0;
      // What the steps found of quote j, at j % 4 (steps <= 3).
      AlertEngine::Lookahead found[4];
      for (size_t i = 0; i < quotes.size(); ++i) {
        // Quote j has step k when i = j - steps + k, and is checked at i = j.
        for (size_t k = 0; k < steps; ++k) {
          const size_t j = i + steps - k;
          if (j >= quotes.size()) continue;
          if (k == 0) found[j % 4] = {};
          engine.Prefetch(quotes[j], static_cast<int>(k), found[j % 4]);
        }
        const AlertEngine::Lookahead none;
        if (engine.OnQuote(quotes[i], steps > 0 ? found[i % 4] : none) == QuoteOutcome::kChecked)
          alerts += engine.fired().size();
      }
      secs.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(secs.begin(), secs.end());
    std::printf("%zu %llu %.4f %.4f\n", quotes.size(), static_cast<unsigned long long>(alerts),
                secs.front(), secs[secs.size() / 2]);
  } catch (const Error& e) {
    std::fprintf(stderr, "engine_only: %s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
