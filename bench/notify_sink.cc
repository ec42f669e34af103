// notify_sink: a minimal HTTP/1.1 keep-alive sink for the stock-notify
// webhook benchmark (a Python ThreadingHTTPServer tops out near 1,000
// requests/s on these machines, below what is measured).
//
//   notify_sink PORT_FILE [COUNT_FILE]
//
// Listens on 127.0.0.1 (a free port, written to PORT_FILE), answers every
// request with 200 {"ok":true}, and on SIGTERM writes the number of POST
// requests and the number of distinct Idempotency-Key values to COUNT_FILE
// ("posts keys"). Single-threaded epoll.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "stockwatch/core/files.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct Conn {
  std::string in;
};

/// Case-insensitive search for "\r\nName:" in the header block; returns the value.
std::string Header(const std::string& head, const char* name) {
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string key = std::string("\r\n") + name + ":";
  size_t p = lower.find(key);
  if (p == std::string::npos) return {};
  p += key.size();
  size_t e = head.find("\r\n", p);
  std::string v = head.substr(p, e - p);
  size_t b = v.find_first_not_of(' ');
  return b == std::string::npos ? std::string() : v.substr(b);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: notify_sink PORT_FILE [COUNT_FILE]\n");
    return 64;
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 512) != 0) {
    std::perror("notify_sink: bind/listen");
    return 69;
  }
  socklen_t len = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  try {
    stockwatch::WriteFileAtomically(argv[1], std::to_string(ntohs(addr.sin_port)), 0644);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "notify_sink: %s\n", e.what());
    return 73;
  }
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::unordered_map<int, Conn> conns;
  std::unordered_set<std::string> keys;
  long posts = 0;
  static const char kAnswer[] =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
      "11\r\n\r\n{\"ok\":true}";
  epoll_event events[64];
  char buf[65536];
  while (!g_stop) {
    int n = epoll_wait(ep, events, 64, 200);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) break;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          conns[c];
        }
        continue;
      }
      Conn& conn = conns[fd];
      bool closed = false;
      for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r > 0) {
          conn.in.append(buf, static_cast<size_t>(r));
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) closed = true;
        break;
      }
      // Answer every complete request in the buffer.
      for (;;) {
        size_t end = conn.in.find("\r\n\r\n");
        if (end == std::string::npos) break;
        std::string head = conn.in.substr(0, end + 2);
        long body = std::atol(Header(head, "content-length").c_str());
        if (conn.in.size() < end + 4 + static_cast<size_t>(body)) break;
        if (head.compare(0, 5, "POST ") == 0) {
          ++posts;
          std::string key = Header(head, "idempotency-key");
          if (!key.empty()) keys.insert(key);
        }
        conn.in.erase(0, end + 4 + static_cast<size_t>(body));
        if (write(fd, kAnswer, sizeof kAnswer - 1) < 0) closed = true;
      }
      if (closed) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        conns.erase(fd);
      }
    }
  }
  if (argc > 2) {
    FILE* f = std::fopen(argv[2], "w");
    if (f != nullptr) {
      std::fprintf(f, "%ld %zu\n", posts, keys.size());
      std::fclose(f);
    }
  }
  return 0;
}
