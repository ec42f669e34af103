#pragma once
/// Timestamps (RFC 3339 UTC) and durations ("500ms", "30s", "5m", "1h", "2").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stockwatch {

/// Milliseconds since the Unix epoch, UTC.
using TimeMs = int64_t;

/// Parses RFC 3339 ("2026-11-27T14:30:00Z", fractions and +hh:mm offsets
/// accepted). Returns nullopt when malformed or out of range.
std::optional<TimeMs> ParseRfc3339(std::string_view s);
/// Appends `t` as UTC: "2026-11-27T14:30:00Z", with ".mmm" only when t has milliseconds.
void AppendRfc3339(std::string& out, TimeMs t);
std::string FormatRfc3339(TimeMs t);
/// Seconds since the epoch (as sources send them) to TimeMs; nullopt when
/// not finite or outside 1970..9999 (so the multiplication cannot overflow).
std::optional<TimeMs> EpochSecondsToMs(double seconds);
/// Wall-clock now.
TimeMs NowMs();
/// Now on the calendar, for market hours (is an exchange open?): the time
/// in STOCKWATCH_NOW (RFC 3339) when that variable is set, a test seam so
/// tests can open and close markets, else NowMs(). Read here only; sleeps,
/// timeouts and quote ages keep using NowMs(). Throws Error(78) when the
/// variable is set but not an RFC 3339 time.
TimeMs CalendarNowMs();

/// Parses a duration: a number with unit ms, s, m, h or d, or a plain
/// number of seconds. Returns milliseconds, nullopt when malformed or negative.
std::optional<int64_t> ParseDurationMs(std::string_view s);
/// Whole seconds as the shortest duration ParseDurationMs reads back, in
/// the largest unit that divides them: "1d", "1h", "90m", "45s" ("0s" for 0).
std::string FormatDurationSeconds(int64_t seconds);

}  // namespace stockwatch
