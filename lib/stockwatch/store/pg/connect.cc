// PostgreSQL connections that neither hang nor outlive a stop request: the
// connection policy (a bounded, interruptible connect) and the watchdog that
// cuts a statement short once a stop's grace has run out.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include <libpq-fe.h>

#include "stockwatch/core/signals.h"
#include "stockwatch/store/pg/backend.h"

namespace stockwatch::pg {
namespace {

using Clock = std::chrono::steady_clock;

// How often a wait looks at the stop request (a signal also wakes poll()).
constexpr int kSliceMs = 100;

// The connect_timeout in effect for `c` (from the URL, or PGCONNECT_TIMEOUT),
// in seconds; kDefaultConnectTimeoutS when neither gives one.
int ConnectTimeoutS(PGconn* c) {
  int seconds = kDefaultConnectTimeoutS;
  PQconninfoOption* opts = PQconninfo(c);
  if (opts == nullptr) return seconds;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) != "connect_timeout") continue;
    if (o->val != nullptr && o->val[0] != '\0') {
      char* end = nullptr;
      long v = std::strtol(o->val, &end, 10);
      if (end != o->val && *end == '\0')
        seconds = v > 0 ? static_cast<int>(std::min(v, 86400L)) : 0;
    }
    break;
  }
  PQconninfoFree(opts);
  return seconds;
}

// "host:port" of the server being tried (a socket directory for local ones).
std::string Where(PGconn* c) {
  const char* host = PQhost(c);
  const char* port = PQport(c);
  std::string s = host != nullptr && host[0] != '\0' ? host : "localhost";
  if (port != nullptr && port[0] != '\0') s += ":" + std::string(port);
  return s;
}

}  // namespace

Connector::handle Connector::do_startconnect(handle orig) {
  if (orig != nullptr) return orig;
  if (StopRequested()) throw ConnectStopped("before connecting");
  PGconn* c = PQconnectStart(options().c_str());
  if (c == nullptr) throw std::bad_alloc();
  auto fail = [&](auto&& error) {
    PQfinish(c);
    throw error;
  };
  if (PQstatus(c) == CONNECTION_BAD) fail(pqxx::broken_connection(PQerrorMessage(c)));
  const int timeout_s = ConnectTimeoutS(c);
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(timeout_s);
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  for (;;) {
    if (st == PGRES_POLLING_OK) return c;
    if (st == PGRES_POLLING_FAILED) fail(pqxx::broken_connection(PQerrorMessage(c)));
    // libpq's own blocking connect retries its poll() after a signal, so a
    // stop would wait for the server: this loop looks at the request instead.
    pollfd p{PQsocket(c), static_cast<short>(st == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    for (;;) {
      if (StopRequested()) fail(ConnectStopped("while connecting to " + Where(c)));
      int slice = kSliceMs;
      if (timeout_s > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
          fail(pqxx::broken_connection("no answer from " + Where(c) + " within " +
                                       std::to_string(timeout_s) + " s (connect_timeout)"));
        }
        slice = static_cast<int>(std::min<int64_t>(slice, left.count()));
      }
      int rc = poll(&p, 1, slice);
      if (rc > 0) break;
      if (rc < 0 && errno != EINTR) {
        fail(pqxx::broken_connection(std::string("poll: ") + std::strerror(errno)));
      }
    }
    st = PQconnectPoll(c);
  }
}

// ---------------------------------------------------------------- watchdog

Watchdog::Watchdog() : thread_([this] { Loop(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Watchdog::Enter(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  fd_ = fd;
  busy_ = true;
  cut_ = false;
  cv_.notify_all();
}

bool Watchdog::Leave() {
  std::lock_guard<std::mutex> lock(mu_);
  busy_ = false;
  return cut_;
}

void Watchdog::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!quit_) {
    if (!busy_ || cut_) {
      cv_.wait(lock);
      continue;
    }
    if (StopRequested() && StopGraceLeftMs() == 0 && fd_ >= 0) {
      // The server keeps us waiting past the stop's grace: end the
      // connection under libpq's feet. Its wait wakes up with the
      // connection closed and the transaction is rolled back by the server.
      ::shutdown(fd_, SHUT_RDWR);
      cut_ = true;
      continue;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(kSliceMs));
  }
}

}  // namespace stockwatch::pg
