#include "stockwatch/net/http.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <mutex>

#include <curl/curl.h>

#include "stockwatch/core/strings.h"
#include "stockwatch/core/timeutil.h"

namespace stockwatch {
namespace {

// Longest wait in curl_multi_poll, so `abort` is seen promptly.
constexpr int kPollMs = 100;
// Wait after `next` said kLater.
constexpr int kLaterPollMs = 20;

/// One transfer in flight. Owns everything libcurl points into.
struct Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  size_t index = 0;
  HttpRequest request;
  HttpResponse response;
  bool too_large = false;  // the body passed request.max_body
  char errbuf[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (headers != nullptr) curl_slist_free_all(headers);
  }
};

/// Keeps at most request.max_body bytes: a hostile or broken server (an
/// endless or huge body, chunked or not) costs no more memory than that.
size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  std::string& body = t->response.body;
  const size_t max = t->request.max_body;
  if (body.empty()) {
    // Announced length: one allocation of the right size, not doublings.
    curl_off_t cl = -1;
    if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl > 0)
      body.reserve(std::min(static_cast<size_t>(cl), max));
  }
  if (body.size() + len > max) {
    if (t->request.truncate_body) body.append(data, max - body.size());
    t->too_large = true;
    return 0;  // anything but len makes libcurl stop the transfer
  }
  body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  std::string_view line(data, len);
  if (IStartsWith(line, "HTTP/")) {
    // A new response begins (after a redirect or a 100 Continue): headers
    // of the previous one must not leak into this one.
    t->response.retry_after_ms.reset();
    t->response.content_type.clear();
    return len;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string_view name = Trim(line.substr(0, colon));
  std::string_view value = Trim(line.substr(colon + 1));
  if (IEquals(name, "Retry-After")) {
    t->response.retry_after_ms = ParseRetryAfter(value, NowMs());
  } else if (IEquals(name, "Content-Type")) {
    t->response.content_type = std::string(value);
  }
  return len;
}

}  // namespace

void GlobalCurlInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct HttpClient::Impl {
  HttpOptions opts;
  CURLM* multi = nullptr;
  std::vector<CURL*> idle;  // easy handles ready for reuse
  class Round;

  explicit Impl(HttpOptions o) : opts(std::move(o)) {
    if (opts.max_parallel < 1) opts.max_parallel = 1;
    GlobalCurlInit();
    multi = curl_multi_init();
    // Keep one idle connection per possible transfer (keep-alive between
    // calls and between PerformEach rounds).
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(opts.max_parallel) + 4);
  }

  ~Impl() {
    for (CURL* e : idle) curl_easy_cleanup(e);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }

  CURL* TakeEasy() {
    if (!idle.empty()) {
      CURL* e = idle.back();
      idle.pop_back();
      curl_easy_reset(e);
      return e;
    }
    return curl_easy_init();
  }

  void GiveBack(CURL* e) {
    if (idle.size() < static_cast<size_t>(opts.max_parallel)) {
      idle.push_back(e);
    } else {
      curl_easy_cleanup(e);
    }
  }

  /// Configures and adds the transfer; false (with the response's error
  /// set) when libcurl refused it.
  bool Start(Transfer& t) {
    t.easy = TakeEasy();
    if (t.easy == nullptr) {
      t.response.error = "cannot create a libcurl handle";
      return false;
    }
    SetTransferOptions(t);
    SetMethodAndHeaders(t);
    CURLMcode mc = curl_multi_add_handle(multi, t.easy);
    if (mc != CURLM_OK) {
      t.response.error = curl_multi_strerror(mc);
      curl_easy_cleanup(t.easy);
      t.easy = nullptr;
      return false;
    }
    return true;
  }

  /// What every transfer sets: its URL, callbacks, timeouts and limits.
  void SetTransferOptions(Transfer& t) {
    CURL* e = t.easy;
    const HttpRequest& r = t.request;
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    // Signals belong to the program (SIGTERM handling); timeouts without
    // SIGALRM need the threaded resolver, which Debian's libcurl has.
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    if (r.timeout_ms > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout_ms));
    if (r.connect_timeout_ms > 0)
      curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout_ms));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!opts.user_agent.empty()) curl_easy_setopt(e, CURLOPT_USERAGENT, opts.user_agent.c_str());
    // An announced Content-Length over the limit fails before any body is read.
    if (!r.truncate_body)
      curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.max_body));
  }

  /// The request's method, body and headers.
  static void SetMethodAndHeaders(Transfer& t) {
    CURL* e = t.easy;
    const HttpRequest& r = t.request;
    bool has_expect = false;
    for (const std::string& h : r.headers) {
      if (IStartsWith(h, "Expect:")) has_expect = true;
      t.headers = curl_slist_append(t.headers, h.c_str());
    }
    if (r.method == "GET") {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
      if (r.method == "POST") {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
      } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
      }
      if (r.method == "POST" || !r.body.empty()) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
      }
      // "Expect: 100-continue" costs a round trip (or a 1 s wait on servers
      // that never answer it).
      if (!has_expect) t.headers = curl_slist_append(t.headers, "Expect:");
    }
    if (t.headers != nullptr) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  }

  /// Fills the response of a transfer libcurl finished and releases its handle.
  void Finish(Transfer& t, CURLcode result) {
    HttpResponse& resp = t.response;
    curl_off_t total_us = 0;
    if (curl_easy_getinfo(t.easy, CURLINFO_TOTAL_TIME_T, &total_us) == CURLE_OK)
      resp.elapsed_ms = static_cast<int64_t>(total_us / 1000);
    const bool cut = t.too_large && t.request.truncate_body && result == CURLE_WRITE_ERROR;
    if (result == CURLE_OK || cut) {
      // Cut: the status and headers arrived; the rest of the body does not matter.
      long status = 0;
      curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
      resp.status = status;
      resp.body_truncated = cut;
    } else {
      resp.status = 0;
      resp.body.clear();
      resp.body.shrink_to_fit();
      resp.timed_out = result == CURLE_OPERATION_TIMEDOUT;
      if (t.too_large || result == CURLE_FILESIZE_EXCEEDED) {
        resp.body_too_large = true;
        resp.error = "answer larger than " + FormatBytes(t.request.max_body);
      } else if (t.errbuf[0] != '\0') {
        resp.error = t.errbuf;
      } else {
        resp.error = curl_easy_strerror(result);
      }
    }
    Release(t);
  }

  void Release(Transfer& t) {
    if (t.easy == nullptr) return;
    curl_multi_remove_handle(multi, t.easy);
    GiveBack(t.easy);
    t.easy = nullptr;
  }
};

HttpClient::HttpClient(HttpOptions opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}
HttpClient::~HttpClient() = default;

/// The transfers of one PerformEach: started, running, completed.
/// Whatever happens (a callback throwing included), nothing stays in the
/// multi handle pointing at freed memory.
class HttpClient::Impl::Round {
 public:
  using OnDone = std::function<void(size_t, HttpResponse&&)>;
  Round(Impl& im, const OnDone& on_done) : im_(im), on_done_(on_done) {}
  ~Round() {
    for (auto& t : active_) im_.Release(*t);
  }
  Round(const Round&) = delete;
  Round& operator=(const Round&) = delete;

  bool empty() const { return active_.empty(); }

  /// Completes every running transfer as "aborted".
  void AbortAll() {
    while (!active_.empty()) {
      im_.Release(*active_.back());
      active_.back()->response = HttpResponse{};
      active_.back()->response.error = "aborted";
      Complete(active_.size() - 1);
    }
  }

  /// Starts what `next` gives while there is room; sets `done` when it has
  /// nothing more and `later` when it has nothing yet. True when it started
  /// (or failed to start) a transfer.
  bool StartMore(const std::function<Next(HttpRequest&)>& next, bool& done, bool& later) {
    bool progressed = false;
    while (!done && active_.size() < static_cast<size_t>(im_.opts.max_parallel)) {
      auto t = std::make_unique<Transfer>();
      Next what = next(t->request);
      if (what == Next::kLater) {
        later = true;
        break;
      }
      if (what == Next::kDone) {
        done = true;
        break;
      }
      t->index = next_index_++;
      bool started = im_.Start(*t);
      active_.push_back(std::move(t));
      if (!started) Complete(active_.size() - 1);
      progressed = true;
    }
    return progressed;
  }

  /// Completes the transfers libcurl finished; true when there was one.
  bool CompleteFinished() {
    bool progressed = false;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(im_.multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      CURLcode result = msg->data.result;
      auto it = std::find_if(active_.begin(), active_.end(),
                             [easy](const auto& t) { return t->easy == easy; });
      if (it == active_.end()) continue;
      size_t pos = static_cast<size_t>(it - active_.begin());
      im_.Finish(*active_[pos], result);
      Complete(pos);
      progressed = true;
    }
    return progressed;
  }

 private:
  void Complete(size_t pos) {
    std::unique_ptr<Transfer> t = std::move(active_[pos]);
    active_[pos] = std::move(active_.back());
    active_.pop_back();
    on_done_(t->index, std::move(t->response));
  }

  Impl& im_;
  const OnDone& on_done_;
  std::vector<std::unique_ptr<Transfer>> active_;
  size_t next_index_ = 0;
};

void HttpClient::PerformEach(const std::function<Next(HttpRequest&)>& next,
                             const std::function<void(size_t, HttpResponse&&)>& on_done,
                             const std::function<bool()>& abort) {
  Impl& im = *impl_;
  Impl::Round round(im, on_done);
  bool done = false;
  while (true) {
    if (abort && abort()) {
      round.AbortAll();
      return;
    }
    bool later = false;
    bool progressed = round.StartMore(next, done, later);
    if (done && round.empty()) return;
    int running = 0;
    curl_multi_perform(im.multi, &running);
    progressed = round.CompleteFinished() || progressed;
    if (!progressed) {
      curl_multi_poll(im.multi, nullptr, 0, later ? kLaterPollMs : kPollMs, nullptr);
    }
  }
}

void HttpClient::PerformAll(std::span<const HttpRequest> requests,
                            const std::function<void(size_t, HttpResponse&&)>& on_done) {
  size_t pos = 0;
  PerformEach(
      [&](HttpRequest& r) {
        if (pos == requests.size()) return Next::kDone;
        r = requests[pos++];
        return Next::kStart;
      },
      on_done);
}

HttpResponse HttpClient::Perform(const HttpRequest& request) {
  HttpResponse out;
  PerformAll(std::span<const HttpRequest>(&request, 1),
             [&](size_t, HttpResponse&& r) { out = std::move(r); });
  return out;
}

std::string RedactUrl(std::string_view url) {
  GlobalCurlInit();
  std::string out;
  CURLU* u = curl_url();
  std::string in(url);
  if (u != nullptr &&
      curl_url_set(u, CURLUPART_URL, in.c_str(), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
    curl_url_set(u, CURLUPART_USER, nullptr, 0);
    curl_url_set(u, CURLUPART_PASSWORD, nullptr, 0);
    curl_url_set(u, CURLUPART_OPTIONS, nullptr, 0);
    curl_url_set(u, CURLUPART_FRAGMENT, nullptr, 0);
    char* part = nullptr;
    if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK && part != nullptr) {
      std::string_view q(part);
      std::string masked;
      while (!q.empty()) {
        size_t amp = q.find('&');
        std::string_view kv = q.substr(0, amp);
        size_t eq = kv.find('=');
        if (!masked.empty()) masked += '&';
        masked.append(kv.substr(0, eq));
        if (eq != std::string_view::npos) masked += "=***";
        q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
      }
      curl_free(part);
      curl_url_set(u, CURLUPART_QUERY, masked.c_str(), 0);
    }
    if (curl_url_get(u, CURLUPART_URL, &part, 0) == CURLUE_OK && part != nullptr) {
      out = part;
      curl_free(part);
    }
  }
  if (u != nullptr) curl_url_cleanup(u);
  if (!out.empty()) return out;
  // Not a URL libcurl can parse: show the scheme and host part only.
  size_t scheme = url.find("://");
  size_t begin = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", begin);
  std::string_view auth = url.substr(begin, end == std::string_view::npos ? url.npos : end - begin);
  size_t at = auth.rfind('@');
  if (at != std::string_view::npos) auth.remove_prefix(at + 1);
  return std::string(url.substr(0, begin)) + std::string(auth) + "/...";
}

std::string FormatBytes(size_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_ms) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t secs = 0;
    auto r = std::from_chars(value.data(), value.data() + value.size(), secs);
    // More digits than int64 holds: still "a very long time", not garbage.
    if (r.ec == std::errc::result_out_of_range || secs > 365LL * 86400) secs = 365LL * 86400;
    return secs * 1000;
  }
  // An HTTP-date names a weekday and a month: anything without a letter
  // ("1.5", "-3") is malformed rather than a date for curl_getdate to guess.
  if (!std::any_of(value.begin(), value.end(),
                   [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }))
    return std::nullopt;
  std::string z(value);
  time_t t = curl_getdate(z.c_str(), nullptr);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  int64_t delay = static_cast<int64_t>(t) * 1000 - now_ms;
  return std::max<int64_t>(delay, 0);
}

}  // namespace stockwatch
