#pragma once
/// Publishing the process's metrics (metrics::Default()) in the Prometheus
/// text format: a .prom file rewritten atomically every few seconds and at
/// the end (node_exporter's textfile collector), and/or GET /metrics on
/// HOST:PORT (cpp-httplib) for a scraper.
#include <cstdint>
#include <memory>
#include <string>

namespace stockwatch::metrics {

struct ExportOptions {
  std::string file;         // empty: no file
  std::string listen;       // "HOST:PORT"; empty: no HTTP endpoint
  int64_t every_ms = 5000;  // how often the file is rewritten
};

class Exporter {
 public:
  /// Binds the listener (throws Error 64 for a malformed HOST:PORT, 69 when
  /// it cannot bind) and starts the writer and server threads.
  explicit Exporter(ExportOptions opts);
  /// Stop() if not yet stopped (errors are swallowed here).
  ~Exporter();
  /// Writes the file one last time and stops the threads. Throws Error when
  /// the last write fails.
  void Stop();
  /// The port actually bound (for --metrics-listen HOST:0).
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockwatch::metrics
