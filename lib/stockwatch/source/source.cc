#include "stockwatch/source/source.h"

#include <fmt/format.h>

namespace stockwatch {

namespace {

// No answer to read: one too large, or none at all.
CallResult Unanswered(const HttpResponse& resp) {
  CallResult r;
  r.source_ok = false;
  r.outcome = FetchOutcome::kFailed;
  if (resp.body_too_large) {
    // Not a quote answer (no chart or spark answer is that large): a
    // failure of the source for the breaker, and asking again would only
    // fetch it again.
    r.failure = fmt::format("unexpected answer from the source: {} (--max-response)", resp.error);
    return r;
  }
  r.retryable = true;
  r.failure = resp.timed_out ? fmt::format("timed out after {} ms", resp.elapsed_ms)
                             : fmt::format("cannot reach the source: {}", resp.error);
  return r;
}

// HTTP 429, or a server error (5xx).
CallResult Overloaded(const HttpResponse& resp, const std::string& suffix) {
  CallResult r;
  r.source_ok = false;
  r.retry_after_ms = resp.retry_after_ms;
  if (resp.status == 429) {
    r.outcome = FetchOutcome::kRateLimited;
    r.failure = resp.retry_after_ms ? fmt::format("rate limited (HTTP 429, Retry-After {} s)",
                                                  (*resp.retry_after_ms + 999) / 1000)
                                    : std::string("rate limited (HTTP 429)");
    return r;
  }
  if (resp.retry_after_ms) {
    // "Down for a while, come back then": a temporary failure, and no
    // point in retrying before then.
    r.outcome = FetchOutcome::kRateLimited;
    r.failure = fmt::format("HTTP {}{} (Retry-After {} s)", resp.status, suffix,
                            (*resp.retry_after_ms + 999) / 1000);
  } else {
    r.outcome = FetchOutcome::kFailed;
    r.retryable = true;
    r.failure = fmt::format("HTTP {}{}", resp.status, suffix);
  }
  return r;
}

}  // namespace

std::optional<CallResult> ClassifyHttpFailure(const HttpResponse& resp, std::string_view detail) {
  std::string suffix = detail.empty() ? std::string() : fmt::format(": {}", detail);
  if (resp.body_too_large || resp.status == 0) return Unanswered(resp);
  if (resp.status == 429 || resp.status >= 500) return Overloaded(resp, suffix);
  CallResult r;
  if (resp.status == 408) {
    r.source_ok = false;
    r.retryable = true;
    r.outcome = FetchOutcome::kFailed;
    r.failure = fmt::format("HTTP 408 (request timeout){}", suffix);
    return r;
  }
  if (resp.status == 401 || resp.status == 403 || resp.status == 407) {
    // Refused as a client (blocked, needs a login): the source is not
    // usable for us, which is what the breaker is for.
    r.source_ok = false;
    r.outcome = FetchOutcome::kFailed;
    r.failure = fmt::format("refused (HTTP {}){}", resp.status, suffix);
    return r;
  }
  return std::nullopt;
}

std::vector<std::vector<std::string>> Chunk(const std::vector<std::string>& tickers, int size) {
  if (size < 1) size = 1;
  std::vector<std::vector<std::string>> out;
  for (size_t i = 0; i < tickers.size(); i += static_cast<size_t>(size)) {
    size_t end = std::min(tickers.size(), i + static_cast<size_t>(size));
    out.emplace_back(tickers.begin() + static_cast<std::ptrdiff_t>(i),
                     tickers.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return out;
}

}  // namespace stockwatch
