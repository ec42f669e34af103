#include "stockwatch/collect/budget.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_map>

#include <fmt/format.h>

#include "stockwatch/core/error.h"
#include "stockwatch/store/store.h"

namespace stockwatch {
namespace {

int64_t PeriodMs(std::string_view p) {
  static const std::unordered_map<std::string_view, int64_t> kUnits = {
      {"s", 1000},       {"sec", 1000},      {"second", 1000}, {"m", 60'000},
      {"min", 60'000},   {"minute", 60'000}, {"h", 3'600'000}, {"hour", 3'600'000},
      {"d", 86'400'000}, {"day", 86'400'000}};
  if (auto it = kUnits.find(p); it != kUnits.end()) return it->second;
  std::optional<int64_t> ms = ParseDurationMs(p);
  return ms ? *ms : 0;
}

}  // namespace

RateLimit ParseRateLimit(std::string_view text) {
  RateLimit r;
  const size_t slash = text.find('/');
  const std::string_view n = text.substr(0, slash);
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), r.requests);
  if (slash == std::string_view::npos || ec != std::errc() || end != n.data() + n.size() ||
      n.empty() || r.requests <= 0 || (r.period_ms = PeriodMs(text.substr(slash + 1))) <= 0) {
    throw Error(exitcode::kUsage, "--max-rate: not N/PERIOD with N and PERIOD above 0: \"" +
                                      std::string(text) + "\" (e.g. 60/min, 2000/h, 5/s)");
  }
  return r;
}

std::string FormatRateLimit(const RateLimit& r) {
  const int64_t p = r.period_ms;
  if (p == 86'400'000) return fmt::format("{}/d", r.requests);
  if (p == 3'600'000) return fmt::format("{}/h", r.requests);
  if (p == 60'000) return fmt::format("{}/min", r.requests);
  if (p % 1000 == 0) return fmt::format("{}/{}s", r.requests, p / 1000);
  return fmt::format("{}/{}ms", r.requests, p);
}

int64_t TakeTokens(std::optional<Bucket>& b, const RateLimit& limit, int64_t want, TimeMs now) {
  const double capacity = static_cast<double>(limit.requests);
  if (!b) b = Bucket{capacity, now};
  if (now > b->ts) {
    const double refill =
        static_cast<double>(now - b->ts) * capacity / static_cast<double>(limit.period_ms);
    b->tokens = std::min(capacity, b->tokens + refill);
  }
  b->ts = std::max(b->ts, now);  // a clock stepped back refills nothing
  const int64_t take = std::min(want, static_cast<int64_t>(std::floor(b->tokens)));
  b->tokens -= static_cast<double>(std::max<int64_t>(take, 0));
  return std::max<int64_t>(take, 0);
}

std::string FormatBucket(const Bucket& b) { return fmt::format("{:.6f} {}", b.tokens, b.ts); }

std::optional<Bucket> ParseBucket(std::string_view s) {
  Bucket b;
  const size_t sp = s.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  auto [e1, ec1] = std::from_chars(s.data(), s.data() + sp, b.tokens);
  auto [e2, ec2] = std::from_chars(s.data() + sp + 1, s.data() + s.size(), b.ts);
  if (ec1 != std::errc() || ec2 != std::errc() || e1 != s.data() + sp ||
      e2 != s.data() + s.size() || !std::isfinite(b.tokens) || b.tokens < 0) {
    return std::nullopt;
  }
  return b;
}

RequestBudget::RequestBudget(RateLimit limit, std::string key, int per_request, Store* store)
    : limit_(limit), key_(std::move(key)), per_request_(std::max(per_request, 1)), store_(store) {}

std::vector<std::string> RequestBudget::OldestFirst(const std::vector<std::string>& tickers) {
  if (store_ == nullptr) return tickers;
  std::vector<std::pair<TimeMs, const std::string*>> order;
  order.reserve(tickers.size());
  for (const std::string& t : tickers) {
    std::optional<Quote> q = store_->queries().LastQuote(t);
    order.emplace_back(q ? q->ts : INT64_MIN, &t);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  out.reserve(order.size());
  for (const auto& [ts, t] : order) out.push_back(*t);
  return out;
}

std::vector<std::string> RequestBudget::Fit(const std::vector<std::string>& tickers, TimeMs now,
                                            size_t& deferred) {
  const int64_t want = (static_cast<int64_t>(tickers.size()) + per_request_ - 1) / per_request_;
  int64_t granted = 0;
  if (store_ == nullptr) {
    granted = TakeTokens(local_, limit_, want, now);
  } else {
    store_->commands().UpdateValue(key_, [&](const std::optional<std::string>& old) {
      std::optional<Bucket> b = old ? ParseBucket(*old) : std::nullopt;
      granted = TakeTokens(b, limit_, want, now);
      return FormatBucket(*b);
    });
  }
  deferred = 0;
  if (granted >= want) return tickers;  // all fit: the usual order
  std::vector<std::string> fit = OldestFirst(tickers);
  const size_t n = std::min(fit.size(), static_cast<size_t>(granted) * per_request_);
  fit.resize(n);
  deferred = tickers.size() - n;
  return fit;
}

}  // namespace stockwatch
