#include "stockwatch/core/session.h"

#include <nlohmann/json.hpp>

namespace stockwatch {
namespace {
constexpr TimeMs kDayMs = 86'400'000;

TimeMs FloorDiv(TimeMs a, TimeMs b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
}  // namespace

std::string SessionKey(std::string_view ticker) {
  return std::string(kSessionPrefix) + std::string(ticker);
}

bool AroundTheClock(std::string_view ticker, const std::optional<MarketSession>& s) {
  if (s && s->crypto) return true;
  constexpr std::string_view kUsd = "-USD";
  return ticker.size() > kUsd.size() && ticker.substr(ticker.size() - kUsd.size()) == kUsd;
}

MarketStatus MarketAt(std::string_view ticker, const std::optional<MarketSession>& s, TimeMs now) {
  MarketStatus m;
  if (AroundTheClock(ticker, s)) {
    m.state = MarketState::kAroundTheClock;
    return m;
  }
  if (!s || s->end <= s->start) return m;  // kUnknown
  const TimeMs start = s->start * 1000, end = s->end * 1000;
  if (now < start) {
    m.state = MarketState::kClosed;
    m.opens_at = start;
    return m;
  }
  // The last (rolled) period that started at or before now.
  const TimeMs k = FloorDiv(now - start, kDayMs);
  const TimeMs open = start + k * kDayMs, close = end + k * kDayMs;
  if (now < close) {
    m.state = MarketState::kOpen;
    return m;
  }
  m.closed_at = close;
  m.opens_at = open + kDayMs;
  m.state = s->updated < close ? MarketState::kAfterClose : MarketState::kClosed;
  return m;
}

std::string_view ToString(MarketState s) {
  switch (s) {
    case MarketState::kUnknown:
      return "unknown";
    case MarketState::kAroundTheClock:
      return "24h";
    case MarketState::kOpen:
      return "open";
    case MarketState::kAfterClose:
      return "after-close";
    case MarketState::kClosed:
      return "closed";
  }
  return "unknown";
}

std::string FormatSession(const MarketSession& s) {
  nlohmann::json j = {{"start", s.start},         {"end", s.end},       {"tz", s.tz},
                      {"gmtoffset", s.gmtoffset}, {"crypto", s.crypto}, {"updated", s.updated}};
  return j.dump();
}

std::optional<MarketSession> ParseSession(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto num = [&](const char* k) -> std::optional<int64_t> {
    auto it = j.find(k);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  MarketSession s;
  auto start = num("start"), end = num("end");
  // Seconds within 1970..9999, so that milliseconds cannot overflow.
  auto in_range = [](std::optional<int64_t> v) { return v && *v >= 0 && *v < 253'402'300'800; };
  if (!in_range(start) || !in_range(end)) return std::nullopt;
  s.start = *start;
  s.end = *end;
  s.gmtoffset = num("gmtoffset").value_or(0);
  s.updated = num("updated").value_or(0);
  if (auto it = j.find("tz"); it != j.end() && it->is_string()) s.tz = it->get<std::string>();
  if (auto it = j.find("crypto"); it != j.end() && it->is_boolean()) s.crypto = it->get<bool>();
  return s;
}

bool SamePeriod(const MarketSession& a, const MarketSession& b) {
  return a.start == b.start && a.end == b.end && a.tz == b.tz && a.gmtoffset == b.gmtoffset &&
         a.crypto == b.crypto;
}

}  // namespace stockwatch
