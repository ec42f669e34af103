// sim: a seeded random walk per ticker.
#include <cmath>

#include "stockwatch/source/source.h"

namespace stockwatch {
namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// Uniform in [0, 1).
double Uniform(uint64_t& state) { return static_cast<double>(SplitMix64(state) >> 11) * 0x1.0p-53; }

/// Standard normal (Box-Muller).
double Gaussian(uint64_t& state) {
  double u1 = 1.0 - Uniform(state);  // (0, 1]: log() stays finite
  double u2 = Uniform(state);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

double Cents(double v) { return std::max(0.01, std::round(v * 100.0) / 100.0); }

}  // namespace

void SimWalk::Start(const std::string& ticker, double price) {
  auto [it, fresh] = walks_.try_emplace(ticker);
  if (!fresh) return;
  it->second.state = seed_ ^ (Fnv1a(ticker) * 0x9E3779B97F4A7C15ULL);
  it->second.price = Cents(price);
}

double SimWalk::Next(const std::string& ticker) {
  auto [it, fresh] = walks_.try_emplace(ticker);
  Walk& w = it->second;
  if (fresh) {
    w.state = seed_ ^ (Fnv1a(ticker) * 0x9E3779B97F4A7C15ULL);
    // Log-uniform between 5 and 1000: penny stocks are as rare as giants.
    w.price = Cents(5.0 * std::pow(200.0, Uniform(w.state)));
    return w.price;
  }
  w.price = Cents(w.price * std::exp(0.005 * Gaussian(w.state)));
  return w.price;
}

}  // namespace stockwatch
