// Store::Open (URL dispatch), MaskUrl and DefaultDbUrl; the backends are in
// sqlite/*.cc and pg/*.cc.
#include "stockwatch/store/store.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "stockwatch/core/records.h"
#include "stockwatch/store/internal.h"

namespace stockwatch {
namespace {

// Masks the value of every "password=" parameter (URI query or key=value
// conninfo) up to the next '&' or blank.
void MaskPasswordParams(std::string& s) {
  static constexpr std::string_view kKey = "password=";
  size_t pos = 0;
  while ((pos = s.find(kKey, pos)) != std::string::npos) {
    const bool at_start = pos == 0 || s[pos - 1] == '?' || s[pos - 1] == '&' || s[pos - 1] == ' ' ||
                          s[pos - 1] == '\t';
    size_t begin = pos + kKey.size();
    if (!at_start) {
      pos = begin;
      continue;
    }
    size_t end = begin;
    if (end < s.size() && s[end] == '\'') {  // conninfo quoting: password='a b'
      ++end;
      while (end < s.size() && s[end] != '\'') end += s[end] == '\\' ? 2u : 1u;
      end = std::min(end + 1, s.size());
    } else {
      while (end < s.size() && s[end] != '&' && s[end] != ' ' && s[end] != '\t') ++end;
    }
    s.replace(begin, end - begin, "***");
    pos = begin + 3;
  }
}

}  // namespace

std::string MaskUrl(std::string_view url) {
  std::string s(url);
  const size_t scheme = s.find("://");
  if (scheme != std::string::npos) {
    const size_t auth_begin = scheme + 3;
    size_t auth_end = s.find_first_of("/?#", auth_begin);
    if (auth_end == std::string::npos) auth_end = s.size();
    // The userinfo ends at the last '@' of the authority (a password may hold '@').
    const size_t at = s.rfind('@', auth_end == 0 ? 0 : auth_end - 1);
    if (at != std::string::npos && at >= auth_begin) {
      const size_t colon = s.find(':', auth_begin);
      if (colon != std::string::npos && colon < at) s.replace(colon + 1, at - colon - 1, "***");
    }
  }
  MaskPasswordParams(s);
  return s;
}

std::string DefaultDbUrl() {
  std::string base;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && xdg[0] == '/') {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    if (home == nullptr || home[0] == '\0') {
      const passwd* pw = getpwuid(getuid());
      home = pw != nullptr ? pw->pw_dir : ".";
    }
    base = std::string(home) + "/.local/share";
  }
  return "sqlite:" + base + "/stockwatch/stockwatch.db";
}

std::unique_ptr<Store> Store::Open(const std::string& url, Access access) {
  const std::string masked = MaskUrl(url);
  if (url.starts_with("sqlite:")) {
    std::string path = url.substr(7);
    // "sqlite:///abs/path" and "sqlite://rel" are accepted as well.
    if (path.starts_with("//")) path = path.substr(2);
    if (path.empty()) throw Error(exitcode::kConfig, "database URL without a path: " + masked);
    return store_internal::OpenSqlite(masked, path, access);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return store_internal::OpenPostgres(masked, url);
  }
  throw Error(exitcode::kConfig,
              "unsupported database URL (want sqlite:PATH or postgresql://...): " + masked);
}

namespace store_internal {

std::string UnavailableMessage(std::string_view masked_url, std::string_view why) {
  std::string msg = "database unavailable: ";
  msg += masked_url;
  // libpq messages end with a newline and sometimes span lines (the next
  // one indented by a tab): one line, parts joined by "; ".
  std::string reason;
  size_t pos = 0;
  while (pos < why.size()) {
    size_t nl = why.find('\n', pos);
    if (nl == std::string_view::npos) nl = why.size();
    std::string_view part = why.substr(pos, nl - pos);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t' || part.back() == '\r'))
      part.remove_suffix(1);
    if (!part.empty()) {
      if (!reason.empty()) reason += "; ";
      reason += part;
    }
    pos = nl + 1;
  }
  if (!reason.empty()) msg += ": " + reason;
  return msg;
}

Outcome RequestIdReused(std::string_view request_id) {
  return Outcome{exitcode::kDataErr, "",
                 "request id " + std::string(request_id) + " was used for a different request"};
}

std::string JsonArray(std::span<const std::string> ids) {
  std::string out = "[";
  for (const std::string& id : ids) {
    if (out.size() > 1) out.push_back(',');
    AppendJsonString(out, id);
  }
  out.push_back(']');
  return out;
}

std::string EncodeWindowPoints(std::span<const WindowPoint> given) {
  std::vector<WindowPoint> points(given.begin(), given.end());
  std::stable_sort(points.begin(), points.end(),
                   [](const WindowPoint& a, const WindowPoint& b) { return a.ts < b.ts; });
  std::string out;
  out.reserve(points.size() * 12);
  TimeMs prev = 0;
  for (const WindowPoint& p : points) {
    if (!std::isfinite(p.price)) throw DataError("price: not a finite number");
    if (!out.empty()) out.push_back(',');
    out += std::to_string(p.ts - prev);  // sorted: no overflow for real times
    out.push_back(':');
    AppendJsonNumber(out, p.price);
    prev = p.ts;
  }
  return out;
}

std::optional<std::vector<WindowPoint>> DecodeWindowPoints(std::string_view text) {
  std::vector<WindowPoint> out;
  TimeMs prev = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p != end) {
    int64_t delta = 0;
    double price = 0;
    auto [ts_end, ts_ec] = std::from_chars(p, end, delta);
    if (ts_ec != std::errc() || ts_end == end || *ts_end != ':') return std::nullopt;
    auto [price_end, price_ec] = std::from_chars(ts_end + 1, end, price);
    if (price_ec != std::errc() || !std::isfinite(price)) return std::nullopt;
    if (__builtin_add_overflow(prev, delta, &prev)) return std::nullopt;
    out.push_back(WindowPoint{prev, price});
    p = price_end;
    if (p != end && (*p != ',' || ++p == end)) return std::nullopt;
  }
  return out;
}

}  // namespace store_internal
namespace {
std::atomic<int64_t> g_db_retry_ms{0};
}  // namespace

void SetDbRetryMs(int64_t ms) noexcept { g_db_retry_ms.store(ms < 0 ? 0 : ms); }
int64_t DbRetryMs() noexcept { return g_db_retry_ms.load(); }

}  // namespace stockwatch
