#pragma once
/// HTTP over libcurl: many requests at once through the multi interface
/// (keep-alive connection reuse, connect and total timeouts). CURL handles
/// stay inside http.cc.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/core/strings.h"

namespace stockwatch {

struct HttpRequest {
  std::string method = "GET";  // GET, POST
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // POST body
  int64_t timeout_ms = 10'000;       // whole transfer
  int64_t connect_timeout_ms = 5'000;
  /// The most of the answer's body kept in memory (decoded bytes). Beyond
  /// it the transfer stops: with truncate_body, the answer counts (status
  /// and headers as received, the body cut, HttpResponse::body_truncated);
  /// otherwise it fails (status 0, HttpResponse::body_too_large).
  size_t max_body = kDefaultMaxBody;
  bool truncate_body = false;
  static constexpr size_t kDefaultMaxBody = 1u << 20;
};

struct HttpResponse {
  long status = 0;  // 0 when no HTTP response arrived
  std::string body;
  std::string error;  // transport error (timeout, refused, reset); empty when a response arrived
  bool timed_out = false;
  int64_t elapsed_ms = 0;
  std::optional<int64_t> retry_after_ms;  // from a Retry-After header (seconds or HTTP date)
  std::string content_type;
  bool body_truncated = false;  // truncate_body: the body was cut at max_body
  bool body_too_large = false;  // not truncate_body: the transfer failed at max_body
};

/// "4 MiB", "16 KiB" or "1000 bytes": for messages about body limits.
std::string FormatBytes(size_t n);

struct HttpOptions {
  int max_parallel = 8;    // transfers in flight at once
  std::string user_agent;  // empty: libcurl's default
};

/// Not thread-safe; one per thread. Connections are kept alive between calls.
class HttpClient {
 public:
  explicit HttpClient(HttpOptions opts = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Runs every request, at most max_parallel at once, and calls
  /// on_done(index, response) as each completes (in completion order).
  /// Never throws for HTTP or transport failures: they are in the response.
  void PerformAll(std::span<const HttpRequest> requests,
                  const std::function<void(size_t, HttpResponse&&)>& on_done);
  /// One request.
  HttpResponse Perform(const HttpRequest& request);

  /// What PerformEach's `next` says when asked for a request.
  enum class Next {
    kStart,  // `request` was filled: start it now
    kLater,  // nothing to start now (e.g. waiting for a back-off); ask again soon
    kDone,   // nothing more will be started
  };
  /// Pull-based PerformAll: whenever a transfer slot is free, asks
  /// next(request) for the next request, so the caller decides at that very
  /// moment whether to make the call (a circuit breaker, back-off, stop).
  /// After kLater it asks again within ~20 ms or when a transfer completes.
  /// on_done(index, response) gets the index in start order (0, 1, ...).
  /// `abort` (optional) is polled at least every 100 ms; once it returns
  /// true, transfers in flight are cancelled (on_done gets error "aborted")
  /// and the call returns. Otherwise returns after kDone once every started
  /// transfer has completed. Never throws for HTTP or transport failures.
  void PerformEach(const std::function<Next(HttpRequest&)>& next,
                   const std::function<void(size_t, HttpResponse&&)>& on_done,
                   const std::function<bool()>& abort = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// curl_global_init, once per process (every libcurl user calls this first).
void GlobalCurlInit();

/// `url` as it may be shown (records, logs): without user name, password and
/// fragment, each query value replaced by "***"
/// ("https://u:p@h/x?token=s#f" -> "https://h/x?token=***").
std::string RedactUrl(std::string_view url);

/// Percent-encodes for a URL path segment or query value.
std::string UrlEncode(std::string_view s);

/// Parses a Retry-After header value: delay-seconds ("120") or an HTTP-date
/// ("Fri, 27 Nov 2026 14:30:00 GMT", also the obsolete RFC 850 and asctime
/// forms), relative to `now_ms`. Returns the delay in ms (0 for a date in
/// the past), nullopt when malformed.
std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_ms);

}  // namespace stockwatch
