#pragma once
/// Process-wide stop request, set from a signal handler (installed by the
/// tools) and polled by loops in lib/. Async-signal-safe.
namespace stockwatch {

/// Records that `signo` asked the process to stop (callable from a handler).
void RequestStop(int signo) noexcept;
/// True once a stop was requested.
bool StopRequested() noexcept;
/// The signal that asked to stop, 0 if none.
int StopSignal() noexcept;
/// Clears the request (tests).
void ResetStop() noexcept;

}  // namespace stockwatch
