#include "stockwatch/core/signals.h"

#include <signal.h>
#include <time.h>

#include <atomic>
#include <limits>

namespace stockwatch {
namespace {
std::atomic<int> g_signal{0};
std::atomic<int64_t> g_stop_at_ms{0};  // CLOCK_MONOTONIC of the first request
std::atomic<int64_t> g_stop_timeout_ms{10'000};

int64_t MonotonicMs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}
}  // namespace

void RequestStop(int signo) noexcept {
  if (g_signal.load() != 0) return;   // the first request counts
  g_stop_at_ms.store(MonotonicMs());  // before the flag: readers of the flag see the time
  g_signal.store(signo == 0 ? -1 : signo);
}
bool StopRequested() noexcept { return g_signal.load() != 0; }
int StopSignal() noexcept {
  int s = g_signal.load();
  return s < 0 ? 0 : s;
}
void ResetStop() noexcept {
  g_signal.store(0);
  g_stop_at_ms.store(0);
}

void SetStopTimeoutMs(int64_t ms) noexcept { g_stop_timeout_ms.store(ms < 0 ? 0 : ms); }
int64_t StopTimeoutMs() noexcept { return g_stop_timeout_ms.load(); }

int64_t StopGraceLeftMs() noexcept {
  if (!StopRequested()) return std::numeric_limits<int64_t>::max() / 4;
  int64_t left = g_stop_at_ms.load() + g_stop_timeout_ms.load() - MonotonicMs();
  return left > 0 ? left : 0;
}

std::string SignalName(int signo) {
  switch (signo) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    case 0:
      return "a stop request";
    default:
      return "signal " + std::to_string(signo);
  }
}

std::string StoppedBy() { return "stopped by " + SignalName(StopSignal()); }

int StoppedExitCode() noexcept {
  int s = StopSignal();
  return 128 + (s > 0 ? s : SIGTERM);
}

}  // namespace stockwatch
