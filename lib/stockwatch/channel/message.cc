#include "stockwatch/channel/message.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "stockwatch/net/http.h"

namespace stockwatch {

// ---------------------------------------------------------------- targets

Target ParseTarget(std::string_view spec) {
  Target t;
  t.spec.assign(spec);
  auto starts = [&](std::string_view p) { return spec.substr(0, p.size()) == p; };
  if (spec == "telegram:") {
    t.kind = TargetKind::kTelegram;
    t.channel = t.key = "telegram";
    t.per_user = true;
  } else if (spec == "mailto:") {
    t.kind = TargetKind::kEmail;
    t.channel = t.key = "email";
    t.per_user = true;
  } else if (starts("http://") || starts("https://")) {
    if (spec.find_first_of(" \t\r\n") != std::string_view::npos ||
        spec.size() <= (starts("http://") ? 7u : 8u))
      throw Error(exitcode::kUsage, "--to " + t.spec + ": not a valid URL");
    t.kind = TargetKind::kWebhook;
    t.channel = "webhook";
    t.location.assign(spec);
    t.key = "webhook:" + t.location;
    t.shown = RedactUrl(t.location);
  } else if (starts("file:")) {
    t.kind = TargetKind::kFile;
    t.channel = "file";
    t.location.assign(spec.substr(5));
    if (t.location.empty()) throw Error(exitcode::kUsage, "--to file: needs a path (file:PATH)");
    t.key = "file:" + t.location;
    t.shown = t.spec;
  } else if (starts("telegram:") || starts("mailto:")) {
    throw Error(exitcode::kUsage,
                "--to " + t.spec + ": takes no address (each alert goes to its user's " +
                    (starts("telegram:") ? "linked chat" : "e-mail") + "); write just " +
                    (starts("telegram:") ? "telegram:" : "mailto:"));
  } else {
    throw Error(exitcode::kUsage, "--to " + t.spec +
                                      ": unknown target (use telegram:, mailto:, "
                                      "http://URL, https://URL or file:PATH)");
  }
  t.label = t.kind == TargetKind::kWebhook ? t.channel + " " + t.shown
            : t.kind == TargetKind::kFile  ? t.shown
                                           : t.channel;
  return t;
}

// ---------------------------------------------------------------- rendering

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormatPrice(double v) {
  // Through 12 significant digits first: a computed price such as a move's
  // threshold (199.99 * 1.05 = 209.98950000000002) reads 209.9895.
  if (std::isfinite(v) && v != 0) {
    const std::string rounded = fmt::format("{:.12g}", v);
    std::from_chars(rounded.data(), rounded.data() + rounded.size(), v);
  }
  std::string s;
  AppendJsonNumber(s, v);
  return s;
}

std::string FormatBand(const Alert& a) {
  return "[" + (a.low ? FormatPrice(*a.low) : std::string("-")) + ", " +
         (a.high ? FormatPrice(*a.high) : std::string("-")) + "]";
}

namespace {

std::string_view Bound(Condition c) {
  return c == Condition::kAbove ? "above your high of " : "below your low of ";
}

bool IsMove(const Alert& a) {
  return a.condition == Condition::kUp || a.condition == Condition::kDown;
}

/// The observed move in percent, signed: the alert's `change`, else worked
/// out from its reference; nullopt when neither is known.
std::optional<double> Change(const Alert& a) {
  if (a.change) return a.change;
  if (a.reference && *a.reference > 0) return (a.price / *a.reference - 1) * 100;
  return std::nullopt;
}

/// "AAPL up 5.2% to 210.4": the head of every move message.
std::string MoveHead(const Alert& a) {
  std::string s = a.ticker + " " + std::string(ToString(a.condition));
  if (auto change = Change(a))
    s += " " + FormatPercent(std::fabs(*change), a.move.value_or(0)) + "%";
  return s + " to " + FormatPrice(a.price);
}

/// " since the previous close (199.99)" or " within 1h (from 62950)".
std::string MoveSince(const Alert& a) {
  std::string s;
  if (a.within > 0) {
    s = " within " + FormatDurationSeconds(a.within);
    if (a.reference) s += " (from " + FormatPrice(*a.reference) + ")";
  } else {
    s = " since the previous close";
    if (a.reference) s += " (" + FormatPrice(*a.reference) + ")";
  }
  return s;
}

/// "; your move: 5%" (or the threshold price when the alert has no move).
std::string MoveTail(const Alert& a) {
  if (a.move) return "; your move: " + FormatPrice(*a.move) + "%";
  return "; threshold " + FormatPrice(a.threshold);
}

/// "AAPL up 5.2% to 210.4 since the previous close (199.99); your move: 5%".
std::string MoveSentence(const Alert& a) { return MoveHead(a) + MoveSince(a) + MoveTail(a); }

std::string MoveText(const Alert& a) {
  std::string s = MoveHead(a) + MoveSince(a) + " at ";
  AppendRfc3339(s, a.ts);
  s += ".\n";
  if (a.move)
    s += "Your move: " + FormatPrice(*a.move) + "%, reached at " + FormatPrice(a.threshold) + ".\n";
  else
    s += "Threshold: " + FormatPrice(a.threshold) + ".\n";
  if (a.low || a.high) s += "Your band: " + FormatBand(a) + ".\n";
  return s;
}

std::string Tickers(std::span<const Alert> alerts) {
  std::vector<std::string_view> seen;
  for (const Alert& a : alerts)
    if (std::find(seen.begin(), seen.end(), a.ticker) == seen.end()) seen.push_back(a.ticker);
  std::string out;
  for (size_t i = 0; i < seen.size() && i < 5; ++i) {
    if (i > 0) out += ", ";
    out += seen[i];
  }
  if (seen.size() > 5) out += ", ...";
  return out;
}

}  // namespace

std::string FormatPercent(double v, double at_least) {
  // Beyond a million percent (prices near zero), digits say nothing more.
  if (!(std::fabs(v) < 1e6)) return fmt::format("{:.3g}", v);
  std::string s;
  // Two significant digits at least under 1% ("0.52", "0.052").
  const int first = v > 0 && v < 1 ? 1 - static_cast<int>(std::floor(std::log10(v))) : 1;
  for (int decimals = std::min(first, 6); decimals <= 6; ++decimals) {
    s = fmt::format("{:.{}f}", v, decimals);
    double shown = 0;
    std::from_chars(s.data(), s.data() + s.size(), shown);
    if (shown >= at_least) break;
  }
  return s;
}

std::string AlertTitle(const Alert& a) {
  if (IsMove(a)) return MoveHead(a);
  return a.ticker + " " + std::string(ToString(a.condition)) + " " + FormatPrice(a.threshold);
}

std::string AlertText(const Alert& a) {
  if (IsMove(a)) return MoveText(a);
  std::string s = a.ticker + " is " + std::string(Bound(a.condition)) + FormatPrice(a.threshold) +
                  ": price " + FormatPrice(a.price) + " at ";
  AppendRfc3339(s, a.ts);
  s += ".\nYour band: " + FormatBand(a) + ".\n";
  return s;
}

std::string AlertHtml(const Alert& a) {
  if (IsMove(a)) {
    std::string rest = MoveSentence(a).substr(a.ticker.size());
    return "<b>" + HtmlEscape(a.ticker) + "</b>" + HtmlEscape(rest);
  }
  return "<b>" + HtmlEscape(a.ticker) + "</b> " + FormatPrice(a.price) + " is " +
         std::string(Bound(a.condition)) + FormatPrice(a.threshold) + " (band " + FormatBand(a) +
         ")";
}

std::string AlertLine(const Alert& a) {
  std::string s;
  AppendRfc3339(s, a.ts);
  s += ' ';
  s += a.email;
  s += ' ';
  if (IsMove(a)) return s + MoveSentence(a);
  s += AlertTitle(a);
  s += ": price " + FormatPrice(a.price) + ", band " + FormatBand(a);
  return s;
}

std::string WatchSummary(const Watch& w) {
  std::string s;
  if (w.low || w.high || !w.move) {
    s = "[" + (w.low ? FormatPrice(*w.low) : std::string("-")) + ", " +
        (w.high ? FormatPrice(*w.high) : std::string("-")) + "]";
  }
  if (!w.move) return s;
  if (!s.empty()) s += "; ";
  s += w.direction == MoveDirection::kUp     ? "up "
       : w.direction == MoveDirection::kDown ? "down "
                                             : "up or down ";
  s += FormatPrice(*w.move) + "%";
  s += w.within > 0 ? " within " + FormatDurationSeconds(w.within) : " since the previous close";
  return s;
}

std::string DigestTitle(std::span<const Alert> alerts) {
  if (alerts.size() == 1) return AlertTitle(alerts[0]);
  return std::to_string(alerts.size()) + " alerts: " + Tickers(alerts);
}

std::string DigestText(std::span<const Alert> alerts) {
  if (alerts.size() == 1) return AlertText(alerts[0]);
  std::string s = std::to_string(alerts.size()) + " price alerts, oldest first:\n";
  for (const Alert& a : alerts) {
    s += '\n';
    s += AlertText(a);
  }
  return s;
}

std::string DigestHtml(std::span<const Alert> alerts) {
  if (alerts.size() == 1) return AlertHtml(alerts[0]);
  std::string s = "<b>" + std::to_string(alerts.size()) + " alerts</b>";
  for (const Alert& a : alerts) {
    s += '\n';
    s += AlertHtml(a);
  }
  return s;
}

std::string AppriseJson(std::span<const Alert> alerts) {
  std::string s = "{\"version\":\"1.0\",\"title\":";
  AppendJsonString(s, DigestTitle(alerts));
  s += ",\"message\":";
  AppendJsonString(s, DigestText(alerts));
  s += ",\"attachments\":[],\"type\":\"warning\"}";
  return s;
}

// ---------------------------------------------------------------- token bucket

TokenBucket::TokenBucket(double rate_per_s, double burst)
    : rate_per_ms_(rate_per_s / 1000.0), burst_(std::max(1.0, burst)), tokens_(burst_) {}

void TokenBucket::Refill(double now_ms) {
  if (last_ms_ >= 0 && now_ms > last_ms_)
    tokens_ = std::min(burst_, tokens_ + (now_ms - last_ms_) * rate_per_ms_);
  if (now_ms > last_ms_) last_ms_ = now_ms;
}

bool TokenBucket::TryTake(double now_ms) {
  Refill(now_ms);
  if (now_ms < blocked_until_ms_ || tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

double TokenBucket::WaitMs(double now_ms) const {
  if (now_ms < blocked_until_ms_) return blocked_until_ms_ - now_ms;
  double tokens = tokens_;
  if (last_ms_ >= 0 && now_ms > last_ms_)
    tokens = std::min(burst_, tokens + (now_ms - last_ms_) * rate_per_ms_);
  if (tokens >= 1.0) return 0;
  return rate_per_ms_ > 0 ? (1.0 - tokens) / rate_per_ms_ : 1e18;
}

void TokenBucket::BlockUntil(double until_ms) {
  blocked_until_ms_ = std::max(blocked_until_ms_, until_ms);
  // One token becomes available exactly at until_ms, no burst right after.
  tokens_ = 0;
  if (rate_per_ms_ > 0) last_ms_ = std::max(last_ms_, until_ms - 1.0 / rate_per_ms_);
}

// ---------------------------------------------------------------- back-off

int64_t BackoffMs(const BackoffPolicy& p, int retry, double u,
                  std::optional<int64_t> server_hint_ms) {
  double d = static_cast<double>(std::max<int64_t>(p.base_ms, 0));
  for (int i = 1; i < retry && d < static_cast<double>(p.max_ms); ++i) d *= 2;
  d = std::min(d, static_cast<double>(p.max_ms));
  u = std::clamp(u, 0.0, 1.0);
  auto delay = static_cast<int64_t>(std::llround(d / 2 + u * d / 2));
  if (server_hint_ms) delay = std::max(delay, *server_hint_ms);
  return delay;
}

}  // namespace stockwatch
