// gen_alert_data: synthetic quotes and watches for the stock-alert benchmarks.
//
//   gen_alert_data spread DIR [QUOTES TICKERS WATCHES SEED]
//       QUOTES quotes (random walks) over TICKERS tickers and WATCHES watches
//       with bands a few percent around each ticker's start price.
//   gen_alert_data one DIR [QUOTES WATCHES SEED STEP JUMP]
//       one ticker with WATCHES watches (lows in [60,100), highs in (100,140],
//       a tenth of them low-only or high-only) and QUOTES quotes: a random
//       walk around 100 with steps of about STEP (default 0.00002: most
//       quotes cross no threshold, some cross one), and every 1000th quote
//       a jump of about JUMP (default 0.05: across a thousand thresholds).
//       Prices stay inside the band of most watches.
//   gen_alert_data moves DIR [QUOTES TICKERS BANDS MOVES SEED]
//       as spread (QUOTES quotes over TICKERS tickers, BANDS band watches),
//       the quotes carrying prev_close (each ticker's start price), plus
//       MOVES percent-move watches (1-8%; half the day's change, the rest
//       windows of 5 min, 15 min and 1 h; a third up only, a third down
//       only). DIR/watches.jsonl has both kinds, DIR/watches-band.jsonl the
//       band watches alone.
//   gen_alert_data one-moves DIR [QUOTES WATCHES SEED]
//       one ticker with WATCHES percent-move watches (2-20%, a third each
//       of the day's change, 15 min and 1 h windows; directions mixed) and
//       QUOTES quotes one second apart: a random walk around 100 with steps
//       of about 0.002%, and every 1000th quote a jump of about 0.5%.
//
// Writes DIR/quotes.jsonl, DIR/watches.jsonl (watch records, as `stockctl
// watch ls --json` prints them) and DIR/watches-jq.json ({ticker:
// [[low,high,email],...]}, the lookup object of the jq comparison).
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

struct W {
  std::string email;
  std::string ticker;
  double low = 0, high = 0;
  bool has_low = true, has_high = true;
  double move = 0;  // 0: none
  long within = 0;
  int direction = 0;  // 0 both, 1 up, 2 down
};

FILE* Open(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::perror(path.c_str());
    std::exit(74);
  }
  return f;
}

// "2026-11-27T14:30:00.123Z"-style timestamps, one millisecond apart... per
// quote, so every ticker sees increasing times.
void AppendTs(std::string& out, int64_t ms_since_base) {
  int64_t s = 14 * 3600 + 30 * 60 + ms_since_base / 1000, ms = ms_since_base % 1000;
  int64_t day = 27 + s / 86400;
  s %= 86400;
  char buf[40];
  if (ms == 0) {
    std::snprintf(buf, sizeof buf,
                  "2026-11-%02" PRId64 "T%02" PRId64 ":%02" PRId64 ":%02" PRId64 "Z", day, s / 3600,
                  s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf,
                  "2026-11-%02" PRId64 "T%02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%03" PRId64 "Z",
                  day, s / 3600, s / 60 % 60, s % 60, ms);
  }
  out += buf;
}

void WriteWatchLines(const std::string& path, const std::vector<W>& ws) {
  FILE* f = Open(path);
  for (const W& w : ws) {
    std::fprintf(f, "{\"type\":\"watch\",\"email\":\"%s\",\"ticker\":\"%s\"", w.email.c_str(),
                 w.ticker.c_str());
    if (w.has_low) std::fprintf(f, ",\"low\":%.4f", w.low);
    if (w.has_high) std::fprintf(f, ",\"high\":%.4f", w.high);
    if (w.move > 0) {
      std::fprintf(f, ",\"move\":%.2f", w.move);
      if (w.within > 0) std::fprintf(f, ",\"within\":%ld", w.within);
      if (w.direction > 0)
        std::fprintf(f, ",\"direction\":\"%s\"", w.direction == 1 ? "up" : "down");
    }
    std::fprintf(f, "}\n");
  }
  std::fclose(f);
}

void WriteWatches(const std::string& dir, const std::vector<W>& ws) {
  WriteWatchLines(dir + "/watches.jsonl", ws);
  std::map<std::string, std::vector<const W*>> by_ticker;
  for (const W& w : ws) by_ticker[w.ticker].push_back(&w);
  FILE* f = Open(dir + "/watches-jq.json");
  std::fputc('{', f);
  bool first = true;
  for (auto& [t, list] : by_ticker) {
    std::fprintf(f, "%s\"%s\":[", first ? "" : ",", t.c_str());
    first = false;
    for (size_t i = 0; i < list.size(); ++i) {
      const W& w = *list[i];
      std::fprintf(f, "%s[", i ? "," : "");
      if (w.has_low)
        std::fprintf(f, "%.4f", w.low);
      else
        std::fprintf(f, "null");
      if (w.has_high)
        std::fprintf(f, ",%.4f", w.high);
      else
        std::fprintf(f, ",null");
      std::fprintf(f, ",\"%s\"]", w.email.c_str());
    }
    std::fputc(']', f);
  }
  std::fprintf(f, "}\n");
  std::fclose(f);
}

void WriteQuote(FILE* f, std::string& line, const std::string& ticker, double price, int64_t ms,
                int decimals, double prev_close = 0) {
  line.assign("{\"type\":\"quote\",\"ticker\":\"");
  line += ticker;
  char buf[96];
  std::snprintf(buf, sizeof buf, "\",\"price\":%.*f,\"currency\":\"USD\",", decimals, price);
  line += buf;
  if (prev_close > 0) {
    std::snprintf(buf, sizeof buf, "\"prev_close\":%.2f,", prev_close);
    line += buf;
  }
  line += "\"ts\":\"";
  AppendTs(line, ms);
  line += "\",\"source\":\"sim\"}\n";
  std::fwrite(line.data(), 1, line.size(), f);
}

int Spread(const std::string& dir, long quotes, int tickers, long watches, unsigned seed,
           long moves = -1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> base_d(10, 500), pct(0.01, 0.08), u(0, 1);
  std::normal_distribution<double> step(0, 0.002);
  std::vector<std::string> names(static_cast<size_t>(tickers));
  std::vector<double> price(static_cast<size_t>(tickers));
  for (int i = 0; i < tickers; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "T%05d", i);
    names[static_cast<size_t>(i)] = buf;
    price[static_cast<size_t>(i)] = base_d(rng);
  }
  std::vector<W> ws(static_cast<size_t>(watches));
  for (long i = 0; i < watches; ++i) {
    W& w = ws[static_cast<size_t>(i)];
    size_t t = rng() % static_cast<size_t>(tickers);
    w.email = "user" + std::to_string(i / 5) + "@example.com";  // 5 watches per user
    w.ticker = names[t];
    double p = price[t];
    w.low = p * (1 - pct(rng));
    w.high = p * (1 + pct(rng));
    double k = u(rng);
    if (k < 0.1)
      w.has_low = false;
    else if (k < 0.2)
      w.has_high = false;
  }
  const std::vector<double> close = price;
  if (moves >= 0) {
    WriteWatchLines(dir + "/watches-band.jsonl", ws);
    std::uniform_real_distribution<double> move_pct(1, 8);
    const long windows[] = {0, 0, 0, 300, 900, 3600};
    for (long i = 0; i < moves; ++i) {
      W w;
      w.email = "mover" + std::to_string(i / 5) + "@example.com";
      w.ticker = names[rng() % static_cast<size_t>(tickers)];
      w.has_low = w.has_high = false;
      w.move = move_pct(rng);
      w.within = windows[rng() % 6];
      w.direction = static_cast<int>(rng() % 3);
      ws.push_back(w);
    }
    WriteWatchLines(dir + "/watches.jsonl", ws);
  } else {
    WriteWatches(dir, ws);
  }
  FILE* f = Open(dir + "/quotes.jsonl");
  std::string line;
  for (long i = 0; i < quotes; ++i) {
    size_t t = rng() % static_cast<size_t>(tickers);
    price[t] *= 1 + step(rng);
    WriteQuote(f, line, names[t], price[t], i, 2, moves >= 0 ? close[t] : 0);
  }
  std::fclose(f);
  return 0;
}

int One(const std::string& dir, long quotes, long watches, unsigned seed, double step_size,
        double jump_size) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> low_d(60, 100), high_d(100, 140), u(0, 1);
  std::normal_distribution<double> step(0, step_size), jump(0, jump_size);
  std::vector<W> ws(static_cast<size_t>(watches));
  for (long i = 0; i < watches; ++i) {
    W& w = ws[static_cast<size_t>(i)];
    w.email = "user" + std::to_string(i) + "@example.com";
    w.ticker = "ONE";
    w.low = low_d(rng);
    w.high = high_d(rng);
    double k = u(rng);
    if (k < 0.05)
      w.has_low = false;
    else if (k < 0.1)
      w.has_high = false;
  }
  WriteWatches(dir, ws);
  FILE* f = Open(dir + "/quotes.jsonl");
  std::string line;
  double p = 100;
  for (long i = 0; i < quotes; ++i) {
    p += (i % 1000 == 999) ? jump(rng) : step(rng);
    if (p < 95 || p > 105) p = 100;
    WriteQuote(f, line, "ONE", p, i, 6);
  }
  std::fclose(f);
  return 0;
}

int OneMoves(const std::string& dir, long quotes, long watches, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> pct(2, 20);
  std::normal_distribution<double> step(0, 0.00002), jump(0, 0.005);
  std::vector<W> ws(static_cast<size_t>(watches));
  const long windows[] = {0, 900, 3600};
  for (long i = 0; i < watches; ++i) {
    W& w = ws[static_cast<size_t>(i)];
    w.email = "user" + std::to_string(i) + "@example.com";
    w.ticker = "ONE";
    w.has_low = w.has_high = false;
    w.move = pct(rng);
    w.within = windows[i % 3];
    w.direction = static_cast<int>(rng() % 3);
  }
  WriteWatchLines(dir + "/watches.jsonl", ws);
  FILE* f = Open(dir + "/quotes.jsonl");
  std::string line;
  double p = 100;
  for (long i = 0; i < quotes; ++i) {
    p *= 1 + ((i % 1000 == 999) ? jump(rng) : step(rng));
    if (p < 80 || p > 120) p = 100;
    WriteQuote(f, line, "ONE", p, i * 1000, 4, 100);
  }
  std::fclose(f);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: gen_alert_data spread|one|moves|one-moves DIR [...]\n");
    return 64;
  }
  std::string mode = argv[1], dir = argv[2];
  auto arg = [&](int i, long dflt) { return argc > i ? std::strtol(argv[i], nullptr, 10) : dflt; };
  if (mode == "spread") {
    return Spread(dir, arg(3, 2000000), static_cast<int>(arg(4, 10000)), arg(5, 100000),
                  static_cast<unsigned>(arg(6, 1)));
  }
  if (mode == "one-moves") {
    return OneMoves(dir, arg(3, 100000), arg(4, 1000000), static_cast<unsigned>(arg(5, 1)));
  }
  if (mode == "moves") {
    return Spread(dir, arg(3, 2000000), static_cast<int>(arg(4, 10000)), arg(5, 100000),
                  static_cast<unsigned>(arg(7, 1)), arg(6, 100000));
  }
  auto real = [&](int i, double dflt) { return argc > i ? std::strtod(argv[i], nullptr) : dflt; };
  if (mode == "one") {
    return One(dir, arg(3, 100000), arg(4, 1000000), static_cast<unsigned>(arg(5, 1)),
               real(6, 0.00002), real(7, 0.05));
  }
  std::fprintf(stderr, "gen_alert_data: unknown mode %s\n", mode.c_str());
  return 64;
}
