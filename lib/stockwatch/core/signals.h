#pragma once
/// Process-wide stop request, set from a signal handler (installed by the
/// tools) and polled by loops in lib/. Async-signal-safe.
#include <cstdint>
#include <string>

namespace stockwatch {

/// Records that `signo` asked the process to stop (callable from a handler),
/// and when (the first request only).
void RequestStop(int signo) noexcept;
/// True once a stop was requested.
bool StopRequested() noexcept;
/// The signal that asked to stop, 0 if none.
int StopSignal() noexcept;
/// Clears the request (tests).
void ResetStop() noexcept;

/// How long a stop may wait for work in flight (Kafka acknowledgements, a
/// database statement) before it gives up on it: --stop-timeout, 10 s by
/// default.
void SetStopTimeoutMs(int64_t ms) noexcept;
int64_t StopTimeoutMs() noexcept;
/// Milliseconds left until the stop timeout runs out (0 once it has); a
/// very large value while no stop was requested.
int64_t StopGraceLeftMs() noexcept;

/// "SIGTERM", "SIGINT", ... for messages ("signal N" when unknown).
std::string SignalName(int signo);
/// The exit code of a program whose stop cut work short: 128 + the signal
/// (143 after SIGTERM, 130 after SIGINT).
int StoppedExitCode() noexcept;
/// "stopped by SIGTERM" (the signal that asked for the stop), for messages.
std::string StoppedBy();

}  // namespace stockwatch
