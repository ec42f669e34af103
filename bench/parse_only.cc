// parse_only: the ceiling for stock-alert's throughput. Reads a JSON-lines
// file through the same line Source and parses every line with the same
// RecordParser (simdjson on-demand, in place, with validation), and does
// nothing else.
//
//   parse_only FILE      prints "LINES QUOTES SECONDS" on stdout
#include <chrono>
#include <cstdio>
#include <memory>

#include "stockwatch/core/records.h"
#include "stockwatch/stream/stream.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: parse_only FILE\n");
    return 64;
  }
  using namespace stockwatch;
  try {
    StreamOptions opts;
    opts.program = "parse_only";
    auto start = std::chrono::steady_clock::now();
    std::unique_ptr<Source> in = OpenSource(opts, argv[1]);
    RecordParser parser;
    AnyRecord any;
    InRecord rec;
    uint64_t lines = 0, quotes = 0;
    double checksum = 0;
    while (in->Next(rec)) {
      ++lines;
      if (parser.Parse(rec.value, rec.readable, any) == RecordType::kQuote) {
        ++quotes;
        checksum += any.quote.price + static_cast<double>(any.quote.ticker.size());
      }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%llu %llu %.4f %.1f\n", static_cast<unsigned long long>(lines),
                static_cast<unsigned long long>(quotes), secs, checksum);
  } catch (const Error& e) {
    std::fprintf(stderr, "parse_only: %s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
