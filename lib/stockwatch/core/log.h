#pragma once
/// Diagnostics from lib/ go through one process-wide sink that main installs
/// (lib/ never writes to stderr itself). Without a sink, messages are dropped.
#include <functional>
#include <string_view>

#include <fmt/format.h>

namespace stockwatch::log {

enum class Level { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

using Sink = std::function<void(Level, std::string_view)>;

/// Installs the sink and the most verbose level that reaches it.
void SetSink(Sink sink, Level max_level);
/// True when a message at `level` would reach the sink (skip formatting otherwise).
bool Enabled(Level level);
void Write(Level level, std::string_view message);

template <typename... Args>
void Error(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kError)) Write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Warn(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Info(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Debug(fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace stockwatch::log
