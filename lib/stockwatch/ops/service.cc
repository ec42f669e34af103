#include "stockwatch/ops/service.h"

#include <systemd/sd-daemon.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "stockwatch/core/log.h"
#include "stockwatch/core/signals.h"
#include "stockwatch/ops/metrics.h"

namespace stockwatch::service {
namespace {

std::atomic<uint64_t> g_beat{0};
std::atomic<bool> g_waiting{false};
std::atomic<bool> g_active{false};
std::atomic<bool> g_ready_sent{false};
std::atomic<bool> g_stopping_sent{false};

std::mutex g_mu;
std::condition_variable g_cv;
bool g_quit = false;
std::thread g_thread;

void Notify(const char* what) {
  int r = sd_notify(0, what);
  if (r < 0) log::Debug("sd_notify({}): error {}", what, -r);
}

void SendStopping() {
  if (!g_stopping_sent.exchange(true)) Notify("STOPPING=1");
}

void Loop(uint64_t watchdog_usec) {
  using Clock = std::chrono::steady_clock;
  const auto wd_every = std::chrono::microseconds(watchdog_usec / 2);
  const auto status_every = std::chrono::seconds(2);
  auto next_wd = Clock::now() + wd_every;
  auto last_status = Clock::now();
  auto next_status = last_status;
  uint64_t last_beat = g_beat.load(std::memory_order_relaxed);
  double prev_quotes = -1;
  std::string last_line;
  std::unique_lock<std::mutex> lock(g_mu);
  while (!g_quit) {
    g_cv.wait_for(lock, std::chrono::milliseconds(50));
    if (g_quit) break;
    if (StopRequested()) SendStopping();
    auto now = Clock::now();
    if (watchdog_usec > 0 && now >= next_wd) {
      next_wd = now + wd_every;
      uint64_t beat = g_beat.load(std::memory_order_relaxed);
      // Progress since the last ping, or a healthy wait for input.
      if (beat != last_beat || g_waiting.load(std::memory_order_relaxed)) Notify("WATCHDOG=1");
      last_beat = beat;
    }
    if (now >= next_status && g_ready_sent.load()) {
      double secs = std::chrono::duration<double>(now - last_status).count();
      last_status = now;
      next_status = now + status_every;
      std::string line = StatusLine(metrics::Default(), secs, prev_quotes);
      if (!line.empty() && line != last_line) {
        last_line = line;
        Notify(("STATUS=" + line).c_str());
      }
    }
  }
}

std::string Num(double v) {
  return v >= 100 || v == static_cast<double>(static_cast<int64_t>(v)) ? fmt::format("{:.0f}", v)
                                                                       : fmt::format("{:.1f}", v);
}

}  // namespace

void Start() {
  const char* sock = std::getenv("NOTIFY_SOCKET");
  if (sock == nullptr || *sock == '\0' || g_active.exchange(true)) return;
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) usec = 0;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_quit = false;
  }
  g_thread = std::thread(Loop, usec);
}

void Ready() {
  if (!g_active.load() || g_ready_sent.exchange(true)) return;
  Notify("READY=1");
}

void Heartbeat() noexcept {
  g_beat.fetch_add(1, std::memory_order_relaxed);
  g_waiting.store(false, std::memory_order_relaxed);
}

void Waiting() noexcept { g_waiting.store(true, std::memory_order_relaxed); }

void Busy() noexcept { g_waiting.store(false, std::memory_order_relaxed); }

void Stop() {
  if (!g_active.load()) return;
  if (StopRequested()) SendStopping();
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_quit = true;
  }
  g_cv.notify_all();
  if (g_thread.joinable()) g_thread.join();
  g_active.store(false);
}

std::string StatusLine(const metrics::Registry& r, double seconds, double& prev_quotes) {
  std::string line;
  auto add = [&](const std::string& part) {
    if (!line.empty()) line += ", ";
    line += part;
  };
  const metrics::Labels quote{{"type", "quote"}};
  bool in =
      r.Sum("stockwatch_records_in_total", quote) > 0 || !r.Has("stockwatch_records_out_total");
  double quotes = in ? r.Sum("stockwatch_records_in_total", quote)
                     : r.Sum("stockwatch_records_out_total", quote);
  if (r.Has("stockwatch_records_in_total") || r.Has("stockwatch_records_out_total")) {
    double rate = prev_quotes >= 0 && seconds > 0 ? (quotes - prev_quotes) / seconds : 0;
    add(Num(rate) + " quotes/s");
  }
  prev_quotes = quotes;
  if (r.Has("stockwatch_alerts_total")) add(Num(r.Sum("stockwatch_alerts_total")) + " alerts");
  if (r.Has("stockwatch_deliveries_total"))
    add(Num(r.Sum("stockwatch_deliveries_total", {{"outcome", "sent"}})) + " sent");
  if (r.Has("stockwatch_consumer_lag")) add("lag " + Num(r.Sum("stockwatch_consumer_lag")));
  for (const auto& [labels, v] : r.Series("stockwatch_breaker_state")) {
    if (v < 1) continue;
    std::string source, state;
    for (const auto& [k, val] : labels) {
      if (k == "source") source = val;
      if (k == "state") state = val;
    }
    add("breaker " + source + " " + state);
  }
  return line;
}

}  // namespace stockwatch::service
