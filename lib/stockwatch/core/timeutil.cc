#include "stockwatch/core/timeutil.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "stockwatch/core/error.h"

namespace stockwatch {
namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

void Put2(std::string& out, unsigned v) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

std::optional<TimeMs> ParseRfc3339(std::string_view s) {
  int year, mon, day, hh, mm, ss;
  if (!Digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, mon) ||
      s[7] != '-' || !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, hh) || s[13] != ':' || !Digits(s, 14, 2, mm) || s[16] != ':' ||
      !Digits(s, 17, 2, ss))
    return std::nullopt;
  static constexpr int kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mon < 1 || mon > 12 || day < 1 || day > kMonthDays[mon - 1] || hh > 23 || mm > 59 || ss > 60)
    return std::nullopt;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (mon == 2 && day == 29 && !leap) return std::nullopt;
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int64_t offset_min = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  if (ss == 60) ss = 59;  // leap second: clamp rather than reject
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
  int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss - offset_min * 60;
  return secs * 1000 + ms;
}

static void AppendRfc3339Uncached(std::string& out, TimeMs t);

void AppendRfc3339(std::string& out, TimeMs t) {
  // Records written together mostly share their time (a collection cycle).
  thread_local TimeMs cached = 0;
  thread_local char text[32];
  thread_local size_t text_len = 0;
  if (text_len != 0 && t == cached) {
    out.append(text, text_len);
    return;
  }
  size_t start = out.size();
  AppendRfc3339Uncached(out, t);
  if (out.size() - start <= sizeof text) {
    cached = t;
    text_len = out.size() - start;
    std::memcpy(text, out.data() + start, text_len);
  }
}

static void AppendRfc3339Uncached(std::string& out, TimeMs t) {
  int64_t secs = t >= 0 ? t / 1000 : (t - 999) / 1000;
  int64_t ms = t - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[8];
  auto r = std::to_chars(buf, buf + sizeof buf, y);
  for (auto n = r.ptr - buf; n < 4; ++n) out.push_back('0');
  out.append(buf, r.ptr);
  out.push_back('-');
  Put2(out, m);
  out.push_back('-');
  Put2(out, d);
  out.push_back('T');
  Put2(out, static_cast<unsigned>(rem / 3600));
  out.push_back(':');
  Put2(out, static_cast<unsigned>(rem / 60 % 60));
  out.push_back(':');
  Put2(out, static_cast<unsigned>(rem % 60));
  if (ms != 0) {
    out.push_back('.');
    out.push_back(static_cast<char>('0' + ms / 100));
    Put2(out, static_cast<unsigned>(ms % 100));
  }
  out.push_back('Z');
}

std::string FormatRfc3339(TimeMs t) {
  std::string s;
  AppendRfc3339(s, t);
  return s;
}

std::optional<TimeMs> EpochSecondsToMs(double seconds) {
  constexpr double kMax = 253'402'300'799.0;  // 9999-12-31T23:59:59Z
  if (!std::isfinite(seconds) || seconds < 0 || seconds > kMax) return std::nullopt;
  return static_cast<TimeMs>(std::llround(seconds * 1000.0));
}

TimeMs NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

TimeMs CalendarNowMs() {
  const char* fake = std::getenv("STOCKWATCH_NOW");
  if (fake == nullptr || fake[0] == '\0') return NowMs();
  std::optional<TimeMs> t = ParseRfc3339(fake);
  if (!t) throw Error(exitcode::kConfig, "STOCKWATCH_NOW: not an RFC 3339 time");
  return *t;
}

std::optional<int64_t> ParseDurationMs(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || !std::isfinite(v) || v < 0) return std::nullopt;
  std::string_view unit(r.ptr, static_cast<size_t>(s.data() + s.size() - r.ptr));
  double scale;
  if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit == "d")
    scale = 86'400'000;
  else
    return std::nullopt;
  double ms = v * scale;
  if (ms > 9e15) return std::nullopt;
  return static_cast<int64_t>(std::llround(ms));
}

std::string FormatDurationSeconds(int64_t seconds) {
  if (seconds != 0) {
    for (auto [unit, size] : {std::pair{"d", 86'400}, {"h", 3'600}, {"m", 60}})
      if (seconds % size == 0) return std::to_string(seconds / size) + unit;
  }
  return std::to_string(seconds) + "s";
}

}  // namespace stockwatch
