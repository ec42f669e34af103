#include "stockwatch/ops/metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "stockwatch/core/error.h"

namespace stockwatch::metrics {
namespace {

void AddDouble(std::atomic<double>& a, double d) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

void AppendEscaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out += c;
  }
}

void AppendLabels(std::string& out, const Labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    AppendEscaped(out, v, true);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

bool Includes(const Labels& labels, const Labels& match) {
  for (const auto& m : match) {
    if (std::find(labels.begin(), labels.end(), m) == labels.end()) return false;
  }
  return true;
}

}  // namespace

void Gauge::Add(double d) noexcept { AddDouble(v_, d); }

double Gauge::value() const noexcept {
  double v = v_.load(std::memory_order_relaxed);
  if (!age_.load(std::memory_order_relaxed)) return v;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(now).count() - v;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) noexcept {
  size_t i =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AddDouble(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::buckets() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

Registry::Entry& Registry::Find(std::string_view name, std::string_view help, std::string_view type,
                                const Labels& labels) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{std::string(help), std::string(type), {}})
             .first;
  } else if (it->second.type != type) {
    throw std::logic_error(fmt::format("metric {} is a {}, not a {}", name, it->second.type, type));
  }
  for (auto& e : it->second.entries) {
    if (e->labels == labels) return *e;
  }
  it->second.entries.push_back(std::make_unique<Entry>());
  it->second.entries.back()->labels = labels;
  return *it->second.entries.back();
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = Find(name, help, "counter", labels);
  if (!e.counter) e.counter = std::make_unique<Counter>();
  return *e.counter;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = Find(name, help, "gauge", labels);
  if (!e.gauge) e.gauge = std::make_unique<Gauge>();
  return *e.gauge;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, const Labels& labels,
                               std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = Find(name, help, "histogram", labels);
  if (!e.histogram) e.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *e.histogram;
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    AppendEscaped(out, f.help, false);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += f.type;
    out += '\n';
    for (const auto& e : f.entries) {
      if (e->histogram) {
        const Histogram& h = *e->histogram;
        std::vector<uint64_t> b = h.buckets();
        uint64_t cum = 0;
        for (size_t i = 0; i < b.size(); ++i) {
          cum += b[i];
          out += name;
          out += "_bucket";
          AppendLabels(out, e->labels, i < h.bounds().size() ? FormatValue(h.bounds()[i]) : "+Inf");
          out += ' ';
          out += std::to_string(cum);
          out += '\n';
        }
        out += name;
        out += "_sum";
        AppendLabels(out, e->labels);
        out += ' ';
        out += FormatValue(h.sum());
        out += '\n';
        out += name;
        out += "_count";
        AppendLabels(out, e->labels);
        out += ' ';
        // The buckets' total, so that +Inf and _count agree in one scrape.
        out += std::to_string(cum);
        out += '\n';
        continue;
      }
      out += name;
      AppendLabels(out, e->labels);
      out += ' ';
      out += e->counter ? std::to_string(e->counter->value()) : FormatValue(e->gauge->value());
      out += '\n';
    }
  }
  return out;
}

double Registry::Sum(std::string_view name, const Labels& match) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  double sum = 0;
  for (const auto& e : it->second.entries) {
    if (!Includes(e->labels, match)) continue;
    if (e->counter)
      sum += static_cast<double>(e->counter->value());
    else if (e->gauge)
      sum += e->gauge->value();
    else if (e->histogram)
      sum += static_cast<double>(e->histogram->count());
  }
  return sum;
}

bool Registry::Has(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return families_.find(name) != families_.end();
}

std::vector<std::pair<Labels, double>> Registry::Series(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<Labels, double>> out;
  auto it = families_.find(name);
  if (it == families_.end()) return out;
  for (const auto& e : it->second.entries) {
    double v = e->counter ? static_cast<double>(e->counter->value())
               : e->gauge ? e->gauge->value()
                          : static_cast<double>(e->histogram->count());
    out.emplace_back(e->labels, v);
  }
  return out;
}

void Registry::Remove(std::string_view name, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return;
  auto& entries = it->second.entries;
  entries.erase(
      std::remove_if(entries.begin(), entries.end(),
                     [&](const std::unique_ptr<Entry>& e) { return e->labels == labels; }),
      entries.end());
}

void Registry::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  families_.clear();
}

Registry& Default() {
  static Registry* r = new Registry();  // never destroyed: exporter threads may outlive statics
  return *r;
}

void WriteFileAtomically(const std::string& path, std::string_view text) {
  std::string tmp = path + ".XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) throw Error(exitcode::kIoErr, path + ": cannot create: " + std::strerror(errno));
  fchmod(fd, 0644);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      throw Error(exitcode::kIoErr, path + ": cannot write: " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  if (close(fd) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    throw Error(exitcode::kIoErr, path + ": cannot write: " + std::strerror(err));
  }
}

}  // namespace stockwatch::metrics
