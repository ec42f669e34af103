#include "stockwatch/core/timeutil.h"

#include <cmath>

#include <doctest/doctest.h>

using namespace stockwatch;

TEST_CASE("Rfc3339: parse and format round trip") {
  auto t = ParseRfc3339("2026-11-27T14:30:00Z");
  REQUIRE(t);
  CHECK(*t == 1'795'789'800'000);
  CHECK(FormatRfc3339(*t) == "2026-11-27T14:30:00Z");
  CHECK(FormatRfc3339(*t + 250) == "2026-11-27T14:30:00.250Z");
  CHECK(FormatRfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(FormatRfc3339(-1000) == "1969-12-31T23:59:59Z");
}

TEST_CASE("Rfc3339: offsets and fractions are normalised to UTC") {
  CHECK(*ParseRfc3339("2026-11-27T15:30:00+01:00") == *ParseRfc3339("2026-11-27T14:30:00Z"));
  CHECK(*ParseRfc3339("2026-11-27T09:30:00-05:00") == *ParseRfc3339("2026-11-27T14:30:00Z"));
  CHECK(*ParseRfc3339("2026-11-27T14:30:00.5Z") - *ParseRfc3339("2026-11-27T14:30:00Z") == 500);
  CHECK(*ParseRfc3339("2024-02-29T00:00:00Z") > 0);
}

TEST_CASE("Rfc3339: rejects malformed timestamps") {
  CHECK_FALSE(ParseRfc3339(""));
  CHECK_FALSE(ParseRfc3339("2026-11-27"));
  CHECK_FALSE(ParseRfc3339("2026-11-27T14:30:00"));  // no zone
  CHECK_FALSE(ParseRfc3339("2026-13-01T00:00:00Z"));
  CHECK_FALSE(ParseRfc3339("2025-02-29T00:00:00Z"));
  CHECK_FALSE(ParseRfc3339("2026-11-27T24:00:00Z"));
  CHECK_FALSE(ParseRfc3339("2026-11-27T14:30:00Zjunk"));
  CHECK_FALSE(ParseRfc3339("2026-11-27T14:30:00.Z"));
}

TEST_CASE("ParseDurationMs: units and plain seconds") {
  CHECK(ParseDurationMs("500ms") == 500);
  CHECK(ParseDurationMs("30s") == 30'000);
  CHECK(ParseDurationMs("5m") == 300'000);
  CHECK(ParseDurationMs("1h") == 3'600'000);
  CHECK(ParseDurationMs("2") == 2'000);
  CHECK(ParseDurationMs("1.5s") == 1'500);
  CHECK_FALSE(ParseDurationMs(""));
  CHECK_FALSE(ParseDurationMs("-1s"));
  CHECK_FALSE(ParseDurationMs("5 minutes"));
  CHECK_FALSE(ParseDurationMs("s"));
}

TEST_CASE("EpochSecondsToMs: in range, or nullopt (regression: fuzzed Yahoo time overflowed)") {
  CHECK(EpochSecondsToMs(1'749'824'137) == 1'749'824'137'000);
  CHECK(EpochSecondsToMs(0.5) == 500);
  CHECK_FALSE(EpochSecondsToMs(-1));
  CHECK_FALSE(EpochSecondsToMs(174982291749824096.0));
  CHECK_FALSE(EpochSecondsToMs(1e300));
  CHECK_FALSE(EpochSecondsToMs(std::nan("")));
}
