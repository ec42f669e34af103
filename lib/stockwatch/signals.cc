#include "stockwatch/signals.h"

#include <atomic>

namespace stockwatch {
namespace {
std::atomic<int> g_signal{0};
}

void RequestStop(int signo) noexcept { g_signal.store(signo == 0 ? -1 : signo); }
bool StopRequested() noexcept { return g_signal.load() != 0; }
int StopSignal() noexcept {
  int s = g_signal.load();
  return s < 0 ? 0 : s;
}
void ResetStop() noexcept { g_signal.store(0); }

}  // namespace stockwatch
