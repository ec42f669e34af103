#include "stockwatch/ops/metrics_export.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "stockwatch/core/error.h"
#include "stockwatch/core/log.h"
#include "stockwatch/ops/metrics.h"

namespace stockwatch::metrics {

struct Exporter::Impl {
  ExportOptions opts;
  std::mutex mu;
  std::condition_variable cv;
  bool quit = false;
  bool stopped = false;
  std::thread writer;
  std::unique_ptr<httplib::Server> server;
  std::thread serving;
  int port = 0;

  void WriteFile() { WriteFileAtomically(opts.file, Default().Render()); }

  void WriterLoop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!quit) {
      cv.wait_for(lock, std::chrono::milliseconds(opts.every_ms));
      if (quit) break;
      lock.unlock();
      try {
        WriteFile();
      } catch (const Error& e) {
        log::Warn("--metrics: {}", e.what());
      }
      lock.lock();
    }
  }
};

Exporter::Exporter(ExportOptions opts) : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(opts);
  Impl& im = *impl_;
  if (!im.opts.listen.empty()) {
    const std::string& l = im.opts.listen;
    size_t colon = l.rfind(':');
    int port = -1;
    if (colon != std::string::npos && colon + 1 < l.size()) {
      try {
        size_t used = 0;
        port = std::stoi(l.substr(colon + 1), &used);
        if (used != l.size() - colon - 1) port = -1;
      } catch (const std::exception&) {
        port = -1;
      }
    }
    std::string host = colon == std::string::npos ? "" : l.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    if (port < 0 || port > 65535 || host.empty())
      throw Error(exitcode::kUsage, "--metrics-listen: expected HOST:PORT, got \"" + l + "\"");
    im.server = std::make_unique<httplib::Server>();
    im.server->Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(Default().Render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    bool ok = port == 0 ? (im.port = im.server->bind_to_any_port(host)) > 0
                        : im.server->bind_to_port(host, port);
    if (!ok) throw Error(exitcode::kUnavailable, "--metrics-listen: cannot listen on " + l);
    if (port != 0) im.port = port;
    im.serving = std::thread([&im] { im.server->listen_after_bind(); });
    log::Info("metrics on http://{}:{}/metrics", host, im.port);
  }
  if (!im.opts.file.empty()) {
    im.WriteFile();  // fails now, at start, when the directory is wrong
    im.writer = std::thread([&im] { im.WriterLoop(); });
  }
}

Exporter::~Exporter() {
  try {
    Stop();
  } catch (...) {
  }
}

void Exporter::Stop() {
  Impl& im = *impl_;
  if (im.stopped) return;
  im.stopped = true;
  {
    std::lock_guard<std::mutex> lock(im.mu);
    im.quit = true;
  }
  im.cv.notify_all();
  if (im.writer.joinable()) im.writer.join();
  if (im.server) {
    im.server->stop();
    if (im.serving.joinable()) im.serving.join();
  }
  if (!im.opts.file.empty()) im.WriteFile();
}

int Exporter::port() const { return impl_->port; }

}  // namespace stockwatch::metrics
