// libFuzzer target: the Stooq CSV parser never crashes.
// layers: core net source
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stockwatch/source/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)stockwatch::ParseStooqCsv(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const stockwatch::DataError&) {
  }
  return 0;
}
