#include "stockwatch/core/log.h"

#include <mutex>

namespace stockwatch::log {
namespace {
std::mutex g_mu;
Sink g_sink;
Level g_level = Level::kWarn;
}  // namespace

void SetSink(Sink sink, Level max_level) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_sink = std::move(sink);
  g_level = max_level;
}

bool Enabled(Level level) { return level <= g_level && g_sink; }

void Write(Level level, std::string_view message) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_sink && level <= g_level) g_sink(level, message);
}

}  // namespace stockwatch::log
