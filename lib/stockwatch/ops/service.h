#pragma once
/// Talking to the service manager (systemd's notify protocol, through
/// libsystemd): READY=1 once the program's inputs, outputs and store are
/// open, WATCHDOG=1 while the main loop makes progress, a one-line STATUS=
/// built from the metrics, STOPPING=1 once a stop is requested. Without
/// NOTIFY_SOCKET in the environment every call here does nothing.
#include <cstdint>
#include <string>

namespace stockwatch::metrics {
class Registry;
}

namespace stockwatch::service {

/// Starts the notifier thread when NOTIFY_SOCKET is set (the watchdog
/// interval comes from WATCHDOG_USEC). Idempotent.
void Start();
/// Sends READY=1 (once). Programs call it once everything is open; a Kafka
/// consumer calls it when its group first assigns it partitions.
void Ready();
/// The main loop made progress (a record, a checkpoint, a cycle).
void Heartbeat() noexcept;
/// The main loop waits for input, which is healthy; the next Heartbeat()
/// or Busy() ends the wait.
void Waiting() noexcept;
/// The main loop has work again (cheap: one relaxed store).
void Busy() noexcept;
/// Sends STOPPING=1 if a stop was requested and it was not sent yet, then
/// ends the thread.
void Stop();

/// The status line from the metrics: quotes/s (over `seconds` since the
/// previous call with the same `prev_quotes`), alerts, deliveries, consumer
/// lag, breaker states. Empty when there is nothing to say.
std::string StatusLine(const metrics::Registry& r, double seconds, double& prev_quotes);

}  // namespace stockwatch::service
