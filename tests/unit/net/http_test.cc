#include "stockwatch/net/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "stockwatch/core/timeutil.h"

namespace {

using stockwatch::HttpClient;
using stockwatch::HttpOptions;
using stockwatch::HttpRequest;
using stockwatch::HttpResponse;

/// A tiny HTTP/1.1 keep-alive server on 127.0.0.1 for these tests. Paths:
/// /ok/X (200 "ok:X"), /429 (Retry-After: 7), /429date (an HTTP date 30 s
/// ahead), /slow (answers after 3 s), /echo (method and body back),
/// /close (200 and closes the connection).
class MiniServer {
 public:
  MiniServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(listen_fd_, 64) == 0);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~MiniServer() {
    stop_ = true;
    accept_thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : conn_threads_) t.join();
    close(listen_fd_);
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return connections_; }
  int requests() const { return requests_; }
  std::string last_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_request_;
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      conn_threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  bool ReadMore(int fd, std::string& buf) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      int r = poll(&p, 1, 20);
      if (r == 0) continue;
      if (r < 0) return false;
      char tmp[4096];
      ssize_t n = read(fd, tmp, sizeof tmp);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
      return true;
    }
    return false;
  }

  void Serve(int fd) {
    std::string buf;
    while (!stop_) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!ReadMore(fd, buf)) {
          close(fd);
          return;
        }
      }
      std::string head = buf.substr(0, end);
      size_t body_len = 0;
      size_t cl = head.find("Content-Length: ");
      if (cl != std::string::npos) body_len = std::stoul(head.substr(cl + 16));
      while (buf.size() < end + 4 + body_len) {
        if (!ReadMore(fd, buf)) {
          close(fd);
          return;
        }
      }
      std::string body = buf.substr(end + 4, body_len);
      buf.erase(0, end + 4 + body_len);
      ++requests_;
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_request_ = head + "\r\n\r\n" + body;
      }
      std::string method = head.substr(0, head.find(' '));
      size_t p1 = head.find(' ') + 1;
      std::string path = head.substr(p1, head.find(' ', p1) - p1);
      std::string status = "200 OK", extra, out;
      bool close_after = false;
      if (path.rfind("/ok/", 0) == 0) {
        out = "ok:" + path.substr(4);
      } else if (path == "/429") {
        status = "429 Too Many Requests";
        extra = "Retry-After: 7\r\n";
        out = "slow down";
      } else if (path == "/429date") {
        status = "429 Too Many Requests";
        time_t t = time(nullptr) + 30;
        char date[64];
        tm g;
        gmtime_r(&t, &g);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &g);
        extra = std::string("Retry-After: ") + date + "\r\n";
      } else if (path == "/slow") {
        for (int i = 0; i < 150 && !stop_; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        out = "late";
      } else if (path == "/echo") {
        out = method + ":" + body;
      } else if (path == "/close") {
        out = "bye";
        close_after = true;
        extra = "Connection: close\r\n";
      } else {
        status = "404 Not Found";
        out = "{\"error\":\"no\"}";
        extra = "Content-Type: application/json\r\n";
      }
      std::string resp = "HTTP/1.1 " + status +
                         "\r\nContent-Length: " + std::to_string(out.size()) + "\r\n" + extra +
                         "\r\n" + out;
      if (write(fd, resp.data(), resp.size()) < 0 || close_after) break;
    }
    close(fd);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::thread> conn_threads_;
  std::string last_request_;
};

HttpRequest Get(const std::string& url, int64_t timeout_ms = 5000) {
  HttpRequest r;
  r.url = url;
  r.timeout_ms = timeout_ms;
  return r;
}

}  // namespace

TEST_CASE("ParseRetryAfter: delay-seconds") {
  CHECK(stockwatch::ParseRetryAfter("120", 0) == 120'000);
  CHECK(stockwatch::ParseRetryAfter(" 0 ", 0) == 0);
  CHECK(stockwatch::ParseRetryAfter("99999999999999999999999", 0) == 365LL * 86400 * 1000);
}

TEST_CASE("ParseRetryAfter: HTTP-date, relative to now") {
  // 2026-11-27T14:30:00Z
  int64_t now = *stockwatch::ParseRfc3339("2026-11-27T14:30:00Z");
  CHECK(stockwatch::ParseRetryAfter("Fri, 27 Nov 2026 14:30:45 GMT", now) == 45'000);
  // Obsolete forms HTTP/1.1 recipients must accept.
  CHECK(stockwatch::ParseRetryAfter("Friday, 27-Nov-26 14:31:00 GMT", now) == 60'000);
  CHECK(stockwatch::ParseRetryAfter("Fri Nov 27 14:30:10 2026", now) == 10'000);
  // In the past: no wait, not a negative one.
  CHECK(stockwatch::ParseRetryAfter("Thu, 26 Nov 2026 14:30:00 GMT", now) == 0);
}

TEST_CASE("ParseRetryAfter: malformed") {
  CHECK_FALSE(stockwatch::ParseRetryAfter("", 0).has_value());
  CHECK_FALSE(stockwatch::ParseRetryAfter("soon", 0).has_value());
  CHECK_FALSE(stockwatch::ParseRetryAfter("1.5", 0).has_value());
  CHECK_FALSE(stockwatch::ParseRetryAfter("-3", 0).has_value());
}

TEST_CASE("UrlEncode: reserved characters are escaped") {
  CHECK(stockwatch::UrlEncode("^GSPC") == "%5EGSPC");
  CHECK(stockwatch::UrlEncode("EURUSD=X") == "EURUSD%3DX");
  CHECK(stockwatch::UrlEncode("BRK-B.x_~") == "BRK-B.x_~");
  CHECK(stockwatch::UrlEncode("a b/c") == "a%20b%2Fc");
}

TEST_CASE("HttpClient: sequential requests reuse one kept-alive connection") {
  MiniServer server;
  HttpClient client(HttpOptions{1, "stockwatch-test/1"});
  std::vector<HttpRequest> reqs;
  for (int i = 0; i < 5; ++i) reqs.push_back(Get(server.Url("/ok/" + std::to_string(i))));
  std::vector<std::string> bodies(5);
  client.PerformAll(reqs, [&](size_t i, HttpResponse&& r) {
    CHECK(r.status == 200);
    CHECK(r.error.empty());
    bodies[i] = r.body;
  });
  for (int i = 0; i < 5; ++i) CHECK(bodies[static_cast<size_t>(i)] == "ok:" + std::to_string(i));
  // And again in a later call: the connection outlives PerformAll.
  HttpResponse again = client.Perform(Get(server.Url("/ok/again")));
  CHECK(again.body == "ok:again");
  CHECK(server.requests() == 6);
  CHECK(server.connections() == 1);
  CHECK(server.last_request().find("User-Agent: stockwatch-test/1") != std::string::npos);
}

TEST_CASE("HttpClient: parallel requests use at most max_parallel connections") {
  MiniServer server;
  HttpClient client(HttpOptions{4, ""});
  std::vector<HttpRequest> reqs;
  for (int i = 0; i < 40; ++i) reqs.push_back(Get(server.Url("/ok/" + std::to_string(i))));
  int done = 0;
  client.PerformAll(reqs, [&](size_t i, HttpResponse&& r) {
    CHECK(r.body == "ok:" + std::to_string(i));
    ++done;
  });
  CHECK(done == 40);
  CHECK(server.connections() <= 4);
  CHECK(server.connections() >= 1);
}

TEST_CASE("HttpClient: 429 with Retry-After in seconds and as a date") {
  MiniServer server;
  HttpClient client;
  HttpResponse r = client.Perform(Get(server.Url("/429")));
  CHECK(r.status == 429);
  CHECK(r.body == "slow down");
  REQUIRE(r.retry_after_ms.has_value());
  CHECK(*r.retry_after_ms == 7000);

  HttpResponse d = client.Perform(Get(server.Url("/429date")));
  CHECK(d.status == 429);
  REQUIRE(d.retry_after_ms.has_value());
  // 30 s ahead at the server, give or take the second boundary.
  CHECK(*d.retry_after_ms > 25'000);
  CHECK(*d.retry_after_ms <= 31'000);

  HttpResponse nf = client.Perform(Get(server.Url("/missing")));
  CHECK(nf.status == 404);
  CHECK(nf.content_type == "application/json");
  CHECK_FALSE(nf.retry_after_ms.has_value());
}

TEST_CASE("HttpClient: total timeout gives timed_out and no status") {
  MiniServer server;
  HttpClient client;
  HttpResponse r = client.Perform(Get(server.Url("/slow"), 200));
  CHECK(r.status == 0);
  CHECK(r.timed_out);
  CHECK_FALSE(r.error.empty());
}

TEST_CASE("HttpClient: connection refused is a transport error") {
  // Bind a port, then close it so nothing listens there.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  HttpClient client;
  HttpResponse r = client.Perform(Get("http://127.0.0.1:" + std::to_string(port) + "/x"));
  CHECK(r.status == 0);
  CHECK_FALSE(r.timed_out);
  CHECK_FALSE(r.error.empty());
}

TEST_CASE("HttpClient: POST sends the body and headers, without Expect") {
  MiniServer server;
  HttpClient client;
  HttpRequest r;
  r.method = "POST";
  r.url = server.Url("/echo");
  r.headers = {"Content-Type: application/json"};
  r.body = std::string(3000, 'x');
  HttpResponse resp = client.Perform(r);
  CHECK(resp.status == 200);
  CHECK(resp.body == "POST:" + r.body);
  std::string seen = server.last_request();
  CHECK(seen.find("Content-Type: application/json") != std::string::npos);
  CHECK(seen.find("Expect:") == std::string::npos);
}

TEST_CASE("HttpClient: a server closing the connection is handled") {
  MiniServer server;
  HttpClient client(HttpOptions{1, ""});
  CHECK(client.Perform(Get(server.Url("/close"))).body == "bye");
  CHECK(client.Perform(Get(server.Url("/ok/1"))).body == "ok:1");
  CHECK(server.connections() == 2);
}

TEST_CASE("HttpClient: PerformEach asks when a slot is free, honours kLater") {
  MiniServer server;
  HttpClient client(HttpOptions{2, ""});
  int asked_later = 0;
  int started = 0;
  std::vector<std::string> got;
  client.PerformEach(
      [&](HttpRequest& r) {
        if (started == 3) return HttpClient::Next::kDone;
        // Say "later" twice before the third request, as a back-off would.
        if (started == 2 && asked_later < 2) {
          ++asked_later;
          return HttpClient::Next::kLater;
        }
        r = Get(server.Url("/ok/" + std::to_string(started++)));
        return HttpClient::Next::kStart;
      },
      [&](size_t i, HttpResponse&& r) {
        CHECK(r.body == "ok:" + std::to_string(i));
        got.push_back(r.body);
      });
  CHECK(asked_later == 2);
  CHECK(got.size() == 3);
}

TEST_CASE("HttpClient: abort cancels transfers in flight") {
  MiniServer server;
  HttpClient client(HttpOptions{4, ""});
  int started = 0;
  std::vector<std::string> errors;
  int polls = 0;
  client.PerformEach(
      [&](HttpRequest& r) {
        if (started == 2) return HttpClient::Next::kDone;
        ++started;
        r = Get(server.Url("/slow"), 10'000);
        return HttpClient::Next::kStart;
      },
      [&](size_t, HttpResponse&& r) {
        CHECK(r.status == 0);
        errors.push_back(r.error);
      },
      [&] { return ++polls > 2; });
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "aborted");
  CHECK(errors[1] == "aborted");
  // The client stays usable afterwards.
  CHECK(client.Perform(Get(server.Url("/ok/after"))).body == "ok:after");
}

TEST_CASE("HttpClient: an exception from on_done leaves the client usable") {
  MiniServer server;
  HttpClient client(HttpOptions{2, ""});
  std::vector<HttpRequest> reqs = {Get(server.Url("/ok/1")), Get(server.Url("/slow"), 10'000)};
  CHECK_THROWS_AS(client.PerformAll(reqs,
                                    [&](size_t, HttpResponse&& r) {
                                      if (r.body == "ok:1") throw std::runtime_error("boom");
                                    }),
                  std::runtime_error);
  CHECK(client.Perform(Get(server.Url("/ok/2"))).body == "ok:2");
}
