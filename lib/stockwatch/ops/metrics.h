#pragma once
/// Process-wide metrics in the Prometheus text exposition format (0.0.4).
///
/// Series are created once (registration takes a lock and allocates) and
/// then updated without locks: counters and gauges are relaxed atomics. Hot
/// paths keep plain counters of their own and publish the totals with
/// Counter::Set() at their checkpoints; the exporters (a .prom file, an HTTP
/// endpoint, the service manager's status line) read from another thread.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stockwatch::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  /// Publishes a total counted elsewhere (by one thread, never decreasing).
  void Set(uint64_t total) noexcept { v_.store(total, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void Add(double d) noexcept;
  /// Makes the gauge read as the seconds elapsed since `unix_seconds`
  /// (the age of the newest quote).
  void SetAgeOf(double unix_seconds) noexcept {
    v_.store(unix_seconds, std::memory_order_relaxed);
    age_.store(true, std::memory_order_relaxed);
  }
  double value() const noexcept;

 private:
  std::atomic<double> v_{0};
  std::atomic<bool> age_{false};
};

/// Cumulative buckets with fixed upper bounds (seconds, for latencies).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v) noexcept;
  const std::vector<double>& bounds() const { return bounds_; }
  /// Per-bucket counts (not cumulative; the last one is +Inf), sum, count.
  std::vector<uint64_t> buckets() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

/// Request latencies: 5 ms to 30 s.
std::vector<double> LatencyBuckets();

class Registry {
 public:
  /// Finds or creates the series `name{labels}`. The reference stays valid
  /// for the registry's life. Throws std::logic_error when `name` was
  /// registered with another type.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels = {},
                       std::vector<double> bounds = LatencyBuckets());

  /// Every family in the text exposition format 0.0.4, sorted by name.
  std::string Render() const;

  /// Reading back (the status line, tests): the sum of a family's series
  /// whose labels include `match` (0 when there is no such family).
  double Sum(std::string_view name, const Labels& match = {}) const;
  bool Has(std::string_view name) const;
  /// The label sets and values of a counter or gauge family.
  std::vector<std::pair<Labels, double>> Series(std::string_view name) const;

  /// Drops the series `name{labels}` (a Kafka partition this process no
  /// longer reads), if there is one. A reference to it must not be used
  /// afterwards; the family stays (with its HELP and TYPE).
  void Remove(std::string_view name, const Labels& labels);

  /// Forgets everything (tests).
  void Clear();

 private:
  struct Entry {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string help;
    std::string type;  // counter, gauge, histogram
    std::vector<std::unique_ptr<Entry>> entries;
  };
  Entry& Find(std::string_view name, std::string_view help, std::string_view type,
              const Labels& labels);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

/// The process-wide registry (never destroyed).
Registry& Default();

/// Writes `text` to `path` atomically (a temporary file in the same
/// directory, then rename). Throws Error (73) on failure.
void WriteFileAtomically(const std::string& path, std::string_view text);

}  // namespace stockwatch::metrics
