// libFuzzer target: the config-file parser must never crash; it either
// returns entries or throws Error(78).
// layers: core
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "stockwatch/core/config.h"
#include "stockwatch/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto entries = stockwatch::ParseConfig(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
    for (const auto& e : entries)
      if (e.key.empty() || e.line <= 0) abort();
  } catch (const stockwatch::Error& e) {
    if (e.exit_code() != stockwatch::exitcode::kConfig) abort();
  }
  return 0;
}
