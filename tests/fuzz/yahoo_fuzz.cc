// libFuzzer target: Yahoo chart/spark/error parsers never crash, and what
// they return is a valid quote. Throwing DataError is the expected outcome
// for junk.
// layers: core net source
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "stockwatch/source/source.h"

using namespace stockwatch;

namespace {
void CheckQuote(Quote q) {
  if (q.ticker.empty() || !std::isfinite(q.price)) abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    if (auto q = ParseYahooChart(body, "AAPL")) CheckQuote(*q);
  } catch (const DataError&) {
  }
  try {
    for (auto& [symbol, q] : ParseYahooSpark(body)) {
      if (symbol.empty()) abort();
      CheckQuote(q);
    }
  } catch (const DataError&) {
  }
  (void)ParseYahooError(body);
  return 0;
}
