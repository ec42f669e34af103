// libFuzzer target: the Stooq CSV parser never crashes.
// sources: lib/stockwatch/source_stooq.cc lib/stockwatch/source.cc lib/stockwatch/http.cc lib/stockwatch/records.cc lib/stockwatch/timeutil.cc lib/stockwatch/log.cc
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stockwatch/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)stockwatch::ParseStooqCsv(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const stockwatch::DataError&) {
  }
  return 0;
}
