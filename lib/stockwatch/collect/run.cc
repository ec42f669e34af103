#include "stockwatch/collect/run.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "stockwatch/collect/breaker.h"
#include "stockwatch/collect/hours.h"
#include "stockwatch/core/log.h"
#include "stockwatch/core/records.h"
#include "stockwatch/core/signals.h"
#include "stockwatch/core/strings.h"
#include "stockwatch/net/http.h"
#include "stockwatch/ops/metrics.h"
#include "stockwatch/ops/service.h"
#include "stockwatch/store/store.h"

namespace stockwatch {
namespace {

// Quotes are stored (one transaction) and emitted in groups this large, or
// after this long, whichever comes first.
constexpr size_t kOutBatch = 256;
constexpr int64_t kOutLatencyMs = 200;
// Longest sleep before looking at StopRequested() again.
constexpr int64_t kSleepSliceMs = 50;

/// Stores quotes through the command side, then writes them: no quote
/// leaves before it is stored. Pass-through records keep their
/// place in the stream.
class StoringSink : public Sink {
 public:
  StoringSink(Store* store, Sink& inner) : store_(store), inner_(inner) {}

  void Add(Quote q) {
    if (buf_.empty()) first_ms_ = NowMs();
    buf_.push_back(std::move(q));
    if (buf_.size() >= kOutBatch) Drain();
  }
  /// Drains when the oldest buffered quote has waited long enough.
  void Tick() {
    if (!buf_.empty() && NowMs() - first_ms_ >= kOutLatencyMs) Drain();
  }
  void Write(std::string_view key, std::string_view value) override {
    Drain();
    inner_.Write(key, value);
  }
  void Flush() override {
    Drain();
    try {
      inner_.Flush();
    } catch (const Error& e) {
      // A stop gave up on acknowledgements (75): nothing is lost from the store.
      if (e.exit_code() != exitcode::kTempFail || store_ == nullptr) throw;
      throw Error(e.exit_code(), std::string(e.what()) + "; they are in the store");
    }
  }
  bool closed() const override { return inner_.closed(); }
  const std::string& name() const override { return inner_.name(); }
  uint64_t emitted() const { return emitted_; }

 private:
  void Drain() {
    if (buf_.empty()) return;
    if (store_ != nullptr) store_->commands().StoreQuotes(buf_);
    for (const Quote& q : buf_) {
      json_.clear();
      AppendJson(json_, q);
      inner_.Write(q.ticker, json_);
    }
    emitted_ += buf_.size();
    quotes_out_.Inc(buf_.size());
    for (const Quote& q : buf_) {
      if (q.ts <= newest_ts_ && q.source == newest_source_) continue;
      newest_ts_ = q.ts;
      newest_source_ = q.source;
      metrics::Default()
          .gauge("stockwatch_newest_quote_age_seconds",
                 "Age of the newest quote written, by source",
                 {{"source", q.source.empty() ? "unknown" : q.source}})
          .SetAgeOf(static_cast<double>(q.ts) / 1000.0);
    }
    buf_.clear();
  }

  Store* store_;
  Sink& inner_;
  metrics::Counter& quotes_out_ = metrics::Default().counter(
      "stockwatch_records_out_total", "Output records by type", {{"type", "quote"}});
  std::vector<Quote> buf_;
  TimeMs newest_ts_ = 0;
  std::string newest_source_;
  TimeMs first_ms_ = 0;
  std::string json_;
  uint64_t emitted_ = 0;
};

/// One call to a price source in the metrics: requests by outcome, latency.
void ObserveCall(const std::string& source, const HttpResponse& resp, bool ok) {
  metrics::Registry& m = metrics::Default();
  const char* outcome = resp.status == 429 ? "rate_limited" : ok ? "ok" : "error";
  m.counter("stockwatch_source_requests_total",
            "Calls to a price source by outcome (ok, error, rate_limited: HTTP 429)",
            {{"source", source}, {"outcome", outcome}})
      .Inc();
  m.histogram("stockwatch_source_request_duration_seconds", "Latency of calls to a price source",
              {{"source", source}})
      .Observe(static_cast<double>(resp.elapsed_ms) / 1000.0);
}

/// The breaker's state as gauges (1 for the current state) and its moves.
void PublishBreaker(const CircuitBreaker& b) {
  metrics::Registry& m = metrics::Default();
  const std::string_view now = ToString(b.state());
  bool known = false, changed = false;
  for (std::string_view s : {"closed", "open", "half-open"}) {
    metrics::Gauge& g =
        m.gauge("stockwatch_breaker_state", "Circuit breaker state by source (1: the current one)",
                {{"source", b.name()}, {"state", std::string(s)}});
    const bool was = g.value() >= 1;
    known = known || was;
    if (s == now && !was) changed = true;
    g.Set(s == now ? 1 : 0);
  }
  if (known && changed) {
    m.counter("stockwatch_breaker_transitions_total", "Circuit breaker state changes by source",
              {{"source", b.name()}, {"to", std::string(now)}})
        .Inc();
  }
}

/// Sleeps until `t` (wall clock); false when a stop was requested first.
bool SleepUntil(TimeMs t) {
  service::Waiting();
  while (!StopRequested()) {
    int64_t left = t - NowMs();
    if (left <= 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, kSleepSliceMs)));
  }
  return false;
}

// ------------------------------------------------------------ HTTP sources

/// One source's calls for a cycle, each behind the breaker, `jobs` at a
/// time, with retries and follow-ups.
class HttpCollector {
 public:
  HttpCollector(const CollectOptions& opts, std::unique_ptr<HttpQuoteSource> source, Store* store,
                SessionBook* sessions)
      : opts_(opts),
        source_(std::move(source)),
        client_(HttpOptions{opts.jobs, source_->user_agent()}),
        breaker_(source_->name(), BreakerOptions{opts.breaker_failures, opts.breaker_cooldown_ms}),
        store_(store),
        sessions_(sessions),
        rng_(static_cast<uint64_t>(NowMs()) | 1) {
    // The breaker outlives a cron run: its state is kept in the store.
    breaker_key_ = fmt::format("stock-collect/breaker/{}@{}", source_->name(),
                               opts.source_url.empty() ? "default" : opts.source_url);
    LoadBreaker();
    PublishBreaker(breaker_);
  }

  /// Fetches `tickers`; reports each one that got no quote through `diag`.
  /// Returns the worst outcome.
  /// `now` is the cycle's calendar time, for the sessions the answers bring.
  FetchOutcome Cycle(const std::vector<std::string>& tickers, TimeMs now, StoringSink& out,
                     const DiagFn& diag) {
    CycleState c;
    c.calendar_now = now;
    for (const auto& t : tickers) c.states.emplace(t, TickerState{});
    for (auto& call : source_->Plan(tickers)) c.pending.push_back(Job{std::move(call), 0, 0});
    c.start = NowMs();
    auto stopping = [&] { return StopRequested() || out.closed(); };
    client_.PerformEach(
        [&](HttpRequest& req) {
          if (stopping()) return HttpClient::Next::kDone;
          return NextCall(c, req);
        },
        [&](size_t index, HttpResponse&& resp) { OnResponse(c, index, std::move(resp), out); },
        [&] { return stopping(); });
    SaveBreaker();
    return Summarize(c, tickers, diag);
  }

 private:
  struct Job {
    SourceCall call;
    int attempt = 0;
    TimeMs not_before = 0;
  };
  struct TickerState {
    bool got = false;
    FetchOutcome worst = FetchOutcome::kOk;
    std::string error;
  };
  /// One cycle's calls and what each ticker got.
  struct CycleState {
    std::unordered_map<std::string, TickerState> states;
    std::deque<Job> pending;
    std::vector<Job> started;
    std::vector<Permit> permits;
    size_t in_flight = 0;
    TimeMs start = 0;
    TimeMs calendar_now = 0;
    // Calls made and calls the open breaker refused, each split into first
    // attempts and retries, for the -v summary.
    uint64_t calls = 0, retries = 0, denied = 0, denied_retries = 0;

    // The most severe outcome wins; among equals the latest, which knows
    // the most ("after 3 attempts").
    void Note(const std::string& t, FetchOutcome o, std::string error) {
      TickerState& s = states[t];
      if (o >= s.worst || s.error.empty()) {
        s.worst = std::max(s.worst, o);
        s.error = std::move(error);
      }
    }
  };

  /// The next call that is due and the breaker lets through, into `req`.
  HttpClient::Next NextCall(CycleState& c, HttpRequest& req) {
    const TimeMs now = NowMs();
    for (auto it = c.pending.begin(); it != c.pending.end();) {
      if (it->not_before > now) {
        ++it;
        continue;
      }
      // Half-open: wait for the probe's verdict rather than fail fast
      // on a source that may just have recovered.
      if (breaker_.probe_pending()) return HttpClient::Next::kLater;
      Permit p = breaker_.Acquire();
      if (p == Permit::kDenied) {
        std::string why = fmt::format("circuit open ({}): not called; next probe after {}",
                                      source_->name(), FormatRfc3339(breaker_.open_until()));
        for (const auto& t : it->call.tickers) c.Note(t, FetchOutcome::kNotCalled, why);
        ++c.denied;
        if (it->attempt > 0) ++c.denied_retries;
        it = c.pending.erase(it);
        continue;
      }
      req = it->call.request;
      if (it->attempt > 0) ++c.retries;
      c.started.push_back(std::move(*it));
      c.permits.push_back(p);
      c.pending.erase(it);
      ++c.in_flight;
      ++c.calls;
      return HttpClient::Next::kStart;
    }
    return c.pending.empty() && c.in_flight == 0 ? HttpClient::Next::kDone
                                                 : HttpClient::Next::kLater;
  }

  void OnResponse(CycleState& c, size_t index, HttpResponse&& resp, StoringSink& out) {
    --c.in_flight;
    const Job& job = c.started.at(index);
    const Permit permit = c.permits.at(index);
    if (resp.status == 0 && resp.error == "aborted") return;  // stopping
    CallResult r = source_->Interpret(job.call, resp);
    log::Debug("{}: {} -> {} in {} ms", source_->name(), Describe(job.call),
               resp.status != 0 ? fmt::format("HTTP {}", resp.status) : resp.error,
               resp.elapsed_ms);
    ObserveCall(source_->name(), resp, r.source_ok);
    if (!r.source_ok) {
      breaker_.OnFailure(permit, r.failure, r.retry_after_ms);
    } else if (opts_.slow_call_ms > 0 && resp.elapsed_ms > opts_.slow_call_ms) {
      breaker_.OnFailure(permit, fmt::format("slow call: {} ms", resp.elapsed_ms));
    } else {
      breaker_.OnSuccess(permit);
    }
    std::unordered_set<std::string> covered;
    for (TickerResult& tr : r.results) {
      covered.insert(tr.ticker);
      if (tr.outcome == FetchOutcome::kOk) {
        c.states[tr.ticker].got = true;
        if (tr.session && sessions_ != nullptr)
          sessions_->Learn(tr.ticker, std::move(*tr.session), c.calendar_now);
        out.Add(std::move(tr.quote));
      } else {
        c.Note(tr.ticker, tr.outcome, std::move(tr.error));
      }
    }
    for (SourceCall& fu : r.follow_up) {
      for (const auto& t : fu.tickers) covered.insert(t);
      c.pending.push_back(Job{std::move(fu), 0, 0});
    }
    RetryOrGiveUp(c, job, r, covered);
    PublishBreaker(breaker_);
    out.Tick();
  }

  /// A failed call is tried again while it may; otherwise its tickers that
  /// no result or follow-up covered get its failure.
  void RetryOrGiveUp(CycleState& c, const Job& job, const CallResult& r,
                     const std::unordered_set<std::string>& covered) {
    if (!r.source_ok && r.retryable && job.attempt < opts_.retries) {
      Job again{job.call, job.attempt + 1, NowMs() + Backoff(job.attempt + 1)};
      metrics::Default()
          .counter("stockwatch_source_retries_total", "Calls to a source tried again",
                   {{"source", source_->name()}})
          .Inc();
      for (const auto& t : again.call.tickers)
        if (!covered.count(t)) c.Note(t, r.outcome, r.failure);
      c.pending.push_back(std::move(again));
      return;
    }
    int attempts = job.attempt + 1;
    std::string why =
        attempts > 1 ? fmt::format("{} (after {} attempts)", r.failure, attempts) : r.failure;
    for (const auto& t : job.call.tickers)
      if (!covered.count(t)) c.Note(t, r.outcome, why);
  }

  /// Reports the tickers that got no quote; returns the worst outcome.
  FetchOutcome Summarize(CycleState& c, const std::vector<std::string>& tickers,
                         const DiagFn& diag) {
    FetchOutcome worst = FetchOutcome::kOk;
    uint64_t ok = 0, bad = 0;
    for (const auto& t : tickers) {
      const TickerState& s = c.states[t];
      if (s.got) {
        ++ok;
        continue;
      }
      if (s.error.empty()) continue;  // never tried: stopped first
      ++bad;
      worst = std::max(worst, s.worst);
      diag(fmt::format("{}: {}", t, s.error));
    }
    log::Info("{}: {} of {} tickers quoted, {} not; {}; {} ms", source_->name(), ok, tickers.size(),
              bad, CallSummary(c.calls, c.retries, c.denied, c.denied_retries), NowMs() - c.start);
    return worst;
  }

  /// "3 calls made (1 retry); circuit open: 2 retries not made"
  static std::string CallSummary(uint64_t calls, uint64_t retries, uint64_t denied,
                                 uint64_t denied_retries) {
    auto n = [](uint64_t k, std::string_view one, std::string_view many) {
      return fmt::format("{} {}", k, k == 1 ? one : many);
    };
    std::string s = n(calls, "call", "calls") + " made";
    if (retries > 0) s += " (" + n(retries, "retry", "retries") + ")";
    if (denied == 0) return s;
    const uint64_t denied_first = denied - denied_retries;
    s += "; circuit open: ";
    if (denied_first > 0) s += n(denied_first, "call", "calls");
    if (denied_first > 0 && denied_retries > 0) s += " and ";
    if (denied_retries > 0) s += n(denied_retries, "retry", "retries");
    return s + " not made";
  }

  static std::string Describe(const SourceCall& c) {
    if (c.tickers.size() == 1) return c.tickers[0];
    return fmt::format("{} tickers ({}...)", c.tickers.size(), c.tickers[0]);
  }

  /// Exponential back-off with jitter: ~250 ms, 500 ms, 1 s ... at most 5 s.
  int64_t Backoff(int attempt) {
    int64_t base = std::min<int64_t>(250LL << std::min(attempt - 1, 10), 5'000);
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return base / 2 + static_cast<int64_t>(rng_ % static_cast<uint64_t>(base));
  }

  void LoadBreaker() {
    if (store_ == nullptr) return;
    std::optional<std::string> v = store_->queries().GetValue(breaker_key_);
    if (!v) return;
    char state[16] = {};
    int failures = 0;
    long long until = 0;
    if (std::sscanf(v->c_str(), "%15s %d %lld", state, &failures, &until) != 3) return;
    std::string_view s(state);
    BreakerState bs = s == "open"        ? BreakerState::kOpen
                      : s == "half-open" ? BreakerState::kHalfOpen
                                         : BreakerState::kClosed;
    breaker_.Restore(bs, failures, until);
    saved_ = *v;
    if (bs != BreakerState::kClosed)
      log::Info("{}: circuit {} (kept from an earlier run) until {}", source_->name(), s,
                FormatRfc3339(until));
  }

  void SaveBreaker() {
    if (store_ == nullptr) return;
    std::string v = fmt::format("{} {} {}", ToString(breaker_.state()), breaker_.failures(),
                                breaker_.open_until());
    if (v == saved_) return;
    store_->commands().PutValue(breaker_key_, v);
    saved_ = std::move(v);
  }

  const CollectOptions& opts_;
  std::unique_ptr<HttpQuoteSource> source_;
  HttpClient client_;
  CircuitBreaker breaker_;
  Store* store_;
  SessionBook* sessions_;
  std::string breaker_key_;
  std::string saved_;
  uint64_t rng_;
};

// ------------------------------------------------------------ sim

FetchOutcome SimCycle(SimWalk& walk, const std::vector<std::string>& tickers, TimeMs ts,
                      Store* store, StoringSink& out) {
  for (const auto& t : tickers) {
    if (StopRequested() || out.closed()) break;
    // A ticker with stored history walks on from its last value, so a demo
    // or a cron-driven simulation looks like the real thing and continues.
    if (store != nullptr && !walk.Started(t)) {
      if (std::optional<Quote> last = store->queries().LastQuote(t)) walk.Start(t, last->price);
    }
    Quote q;
    q.ticker = t;
    q.price = walk.Next(t);
    q.ts = ts;
    q.currency = "USD";
    q.source = "sim";
    out.Add(std::move(q));
  }
  return FetchOutcome::kOk;
}

// ------------------------------------------------------------ replay

int Replay(const CollectOptions& opts, const std::string& input,
           const std::optional<std::unordered_set<std::string>>& only, StoringSink& out,
           const DiagFn& diag) {
  std::unique_ptr<Source> in = OpenSource(opts.stream, input);
  std::unique_ptr<Sink> dead;
  if (!opts.stream.dead_letter.empty()) dead = OpenSink(opts.stream, opts.stream.dead_letter, true);
  Rejecter rejecter(opts.program, dead.get(), opts.stream.strict, diag);
  std::vector<Sink*> outs = {&out};
  if (dead) outs.push_back(dead.get());
  RecordParser parser;
  AnyRecord rec;
  std::optional<TimeMs> prev_ts;
  RunLoop(*in, outs, rejecter, [&](const InRecord& r) {
    RecordType type = parser.Parse(r.value, r.readable, rec);  // DataError: rejected
    if (type != RecordType::kQuote) {
      out.Write(r.key, r.value);  // not ours: passed through unchanged
      return;
    }
    Quote& q = rec.quote;
    if (only && !only->count(q.ticker)) return;
    if (opts.pace > 0 && prev_ts && q.ts > *prev_ts) {
      // Let what came before go out on time, then wait as the recording did.
      out.Flush();
      // A stop cuts the wait short; the quote still goes out (it is marked
      // done once this returns).
      SleepUntil(NowMs() + static_cast<int64_t>(static_cast<double>(q.ts - *prev_ts) / opts.pace));
    }
    prev_ts = q.ts;
    out.Add(q);
  });
  out.Flush();
  return rejecter.ExitCode();
}

}  // namespace

int ExitCodeFor(FetchOutcome worst) {
  switch (worst) {
    case FetchOutcome::kOk:
      return exitcode::kOk;
    case FetchOutcome::kUnknown:
      return exitcode::kDataErr;
    case FetchOutcome::kRateLimited:
    case FetchOutcome::kNotCalled:
      return exitcode::kTempFail;
    case FetchOutcome::kFailed:
      return exitcode::kUnavailable;
  }
  return exitcode::kSoftware;
}

std::vector<std::string> ParseTickerList(std::string_view list) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  size_t i = 0;
  while (i < list.size()) {
    size_t j = list.find_first_of(", \t\n", i);
    if (j == std::string_view::npos) j = list.size();
    if (j > i) {
      std::string t;
      try {
        t = NormalizeTicker(list.substr(i, j - i));
      } catch (const DataError& e) {
        throw Error(exitcode::kUsage, fmt::format("--tickers: {}", e.what()));
      }
      if (seen.insert(t).second) out.push_back(std::move(t));
    }
    i = j + 1;
  }
  return out;
}

std::vector<std::string> ReadTickerLines(std::istream& in, const DiagFn& diag, uint64_t& bad) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string t(Trim(line));
    if (t.empty() || t[0] == '#') continue;
    try {
      t = NormalizeTicker(t);
    } catch (const DataError& e) {
      ++bad;
      diag(fmt::format("stdin:{}: {}", n, e.what()));
      continue;
    }
    if (seen.insert(t).second) out.push_back(std::move(t));
  }
  return out;
}

namespace {

Error Usage(const std::string& msg) { return Error(exitcode::kUsage, msg); }

void CheckNumbers(const CollectOptions& opts) {
  if (opts.jobs < 1) throw Usage("-j: must be at least 1");
  if (opts.batch_size < 1 || opts.batch_size > 100) throw Usage("--batch-size: must be 1 to 100");
  if (opts.retries < 0) throw Usage("--retries: must not be negative");
  if (opts.breaker_failures < 1) throw Usage("--breaker-failures: must be at least 1");
  if (opts.timeout_ms <= 0) throw Usage("--timeout: must be more than 0");
  if (opts.max_response < 1024) throw Usage("--max-response: must be at least 1K");
  if (opts.count < 0) throw Usage("--count: must not be negative");
  if (opts.pace < 0) throw Usage("--pace: must not be negative");
}

/// The replay input when --source is replay (or replay:FILE); checks the
/// other sources' names and the flags that apply to one kind only.
std::optional<std::string> ReplayInput(const CollectOptions& opts) {
  std::optional<std::string> replay_input;
  if (opts.source == "replay" || opts.source.rfind("replay:", 0) == 0) {
    replay_input = opts.source == "replay" ? opts.stream.input : opts.source.substr(7);
    if (replay_input->empty()) throw Usage("--source replay:FILE: the file is missing");
    if (opts.source != "replay" && opts.input_given)
      throw Usage("--source replay:FILE and -i both name the input: give one");
    if (opts.every_ms > 0) throw Usage("--every does not apply to --source replay");
  } else if (opts.source != "yahoo" && opts.source != "stooq" && opts.source != "sim") {
    throw Usage(fmt::format("--source: unknown source \"{}\" (yahoo, stooq, sim, replay:FILE)",
                            opts.source));
  } else if (opts.input_given) {
    throw Usage("-i applies to --source replay only");
  }
  if (opts.pace > 0 && !replay_input) throw Usage("--pace applies to --source replay only");
  if (opts.max_rate && opts.source != "yahoo" && opts.source != "stooq") {
    throw Usage("--max-rate: only for the yahoo and stooq sources");
  }
  if (opts.market_hours && opts.source != "yahoo" && opts.source != "stooq") {
    throw Usage("--market-hours: only for the yahoo and stooq sources");
  }
  return replay_input;
}

/// The tickers fixed for the run (none: the store's watches at each cycle).
std::optional<std::vector<std::string>> FixedTickers(const CollectOptions& opts,
                                                     const std::optional<std::string>& replay_input,
                                                     std::istream& stdin_tickers,
                                                     const DiagFn& diag, uint64_t& bad_lines) {
  if (opts.tickers == "-") {
    if (replay_input && (*replay_input == "-" || replay_input->empty()))
      throw Usage("--tickers - and the replay input cannot both be stdin");
    return ReadTickerLines(stdin_tickers, diag, bad_lines);
  }
  if (!opts.tickers.empty()) return ParseTickerList(opts.tickers);
  if (opts.no_store && !replay_input) {
    throw Usage("no tickers: give --tickers (with --no-store the store's watches are not read)");
  }
  return std::nullopt;
}

std::unique_ptr<HttpCollector> MakeHttpCollector(const CollectOptions& opts, Store* store,
                                                 SessionBook* sessions) {
  HttpSourceOptions so;
  so.base_url = opts.source_url;
  so.timeout_ms = opts.timeout_ms;
  so.connect_timeout_ms = std::min<int64_t>(opts.timeout_ms, 10'000);
  so.batch = opts.batch;
  so.batch_size = opts.batch_size;
  so.max_response = opts.max_response;
  return std::make_unique<HttpCollector>(
      opts, opts.source == "stooq" ? MakeStooqSource(so) : MakeYahooSource(so), store, sessions);
}

/// A cycle's tickers: the fixed ones or the store's watched ones, this shard's share.
std::vector<std::string> CycleTickers(const CollectOptions& opts,
                                      const std::optional<std::vector<std::string>>& fixed,
                                      Store* store) {
  std::vector<std::string> all = fixed ? *fixed : store->queries().WatchedTickers();
  std::vector<std::string> tickers = InShard(all, opts.shard);
  if (opts.shard.count > 1) {
    log::Info("shard {}/{}: {} of {} ticker(s)", opts.shard.index, opts.shard.count, tickers.size(),
              all.size());
  }
  return tickers;
}

/// --market-hours: the cycle's tickers whose market is open, is due its one
/// quote after the close, trades around the clock or is unknown.
std::vector<std::string> WithinMarketHours(SessionBook& sessions, std::vector<std::string> tickers,
                                           TimeMs now) {
  if (tickers.empty()) return tickers;
  size_t skipped = 0;
  const size_t asked = tickers.size();
  tickers = OpenMarkets(sessions, tickers, now, skipped);
  if (skipped > 0) {
    log::Info("--market-hours: {} of {} ticker(s) skipped, their market closed at {}", skipped,
              asked, FormatRfc3339(now));
  }
  return tickers;
}

/// --max-rate's budget: the bucket of this source (and shard) in the store.
std::optional<RequestBudget> MakeBudget(const CollectOptions& opts, Store* store) {
  if (!opts.max_rate) return std::nullopt;
  std::string key = "budget:" + opts.source;
  if (opts.shard.count > 1) key += fmt::format(":shard:{}/{}", opts.shard.index, opts.shard.count);
  return RequestBudget(*opts.max_rate, key, opts.batch ? opts.batch_size : 1, store);
}

/// The tickers of a cycle that fit the budget; warns about the others.
std::vector<std::string> WithinBudget(const CollectOptions& opts, RequestBudget& budget,
                                      std::vector<std::string> tickers) {
  if (tickers.empty()) return tickers;
  size_t deferred = 0;
  const size_t asked = tickers.size();
  tickers = budget.Fit(tickers, NowMs(), deferred);
  if (deferred > 0) {
    log::Warn("--max-rate {}: {} of {} ticker(s) deferred to the next cycle",
              FormatRateLimit(*opts.max_rate), deferred, asked);
  }
  return tickers;
}

/// Waits for the next --every cycle; false when a stop came first.
bool AwaitNextCycle(const CollectOptions& opts, StoringSink& out, TimeMs& next_start) {
  // A cycle's quotes are out (acknowledged, over Kafka) before the wait
  // for the next one; back-to-back cycles (a backfill) do not wait for
  // the acknowledgements in between, only at the end.
  out.Flush();
  next_start += opts.every_ms;
  TimeMs now = NowMs();
  if (next_start < now) {
    log::Warn("a cycle took longer than --every ({} ms): starting the next one now", opts.every_ms);
    next_start = now;
  }
  return SleepUntil(next_start);
}

/// The sim or HTTP cycles: --count of them, one, or one every --every.
/// Returns the exit code of the last one.
int RunCycles(const CollectOptions& opts, const std::optional<std::vector<std::string>>& fixed,
              Store* store, StoringSink& out, const DiagFn& diag) {
  std::unique_ptr<HttpCollector> http;
  std::unique_ptr<SimWalk> walk;
  std::optional<RequestBudget> budget = MakeBudget(opts, store);
  // Every HTTP cycle learns the sessions its answers carry (stockctl shows
  // them); --market-hours also skips the closed markets.
  SessionBook sessions(store);
  if (opts.source == "sim") {
    walk = std::make_unique<SimWalk>(opts.seed);
  } else {
    http = MakeHttpCollector(opts, store, &sessions);
  }
  const int64_t cycles = opts.count > 0 ? opts.count : opts.every_ms > 0 ? 0 : 1;
  // Back-to-back sim cycles end now rather than run into the future.
  const TimeMs sim_base =
      opts.sim_start.value_or(NowMs() - (cycles > 1 ? (cycles - 1) * opts.sim_step_ms : 0));
  TimeMs next_start = NowMs();
  int rc = exitcode::kOk;
  for (int64_t cycle = 0; cycles == 0 || cycle < cycles; ++cycle) {
    if (StopRequested() || out.closed()) break;
    service::Heartbeat();
    std::vector<std::string> tickers = CycleTickers(opts, fixed, store);
    const TimeMs calendar_now = http ? CalendarNowMs() : 0;
    bool all_closed = false;
    if (opts.market_hours) {
      all_closed = !tickers.empty();
      tickers = WithinMarketHours(sessions, std::move(tickers), calendar_now);
      all_closed = all_closed && tickers.empty();
    }
    if (budget) tickers = WithinBudget(opts, *budget, std::move(tickers));
    FetchOutcome worst = FetchOutcome::kOk;
    if (all_closed) {
      log::Info("every ticker's market is closed: no request this cycle");
    } else if (tickers.empty()) {
      log::Info("no tickers to collect{}", fixed ? "" : " (no watches in the store)");
    } else if (walk) {
      // Back-to-back cycles are spread over time like a real feed; with
      // --every each cycle is stamped when it runs (unless --sim-start).
      TimeMs ts =
          opts.every_ms > 0 && !opts.sim_start ? NowMs() : sim_base + cycle * opts.sim_step_ms;
      worst = SimCycle(*walk, tickers, ts, store, out);
    } else {
      worst = http->Cycle(tickers, calendar_now, out, diag);
    }
    rc = ExitCodeFor(worst);
    if (cycles != 0 && cycle + 1 >= cycles) break;
    if (opts.every_ms > 0 && !AwaitNextCycle(opts, out, next_start)) break;
  }
  out.Flush();
  // A service stopped by a signal ends well; a bounded run reports its last cycle.
  if (opts.every_ms > 0 && cycles == 0) rc = exitcode::kOk;
  return rc;
}

}  // namespace

int RunCollect(const CollectOptions& opts, std::istream& stdin_tickers, const DiagFn& diag) {
  CheckNumbers(opts);
  const std::optional<std::string> replay_input = ReplayInput(opts);
  uint64_t bad_lines = 0;
  const std::optional<std::vector<std::string>> fixed =
      FixedTickers(opts, replay_input, stdin_tickers, diag, bad_lines);

  std::unique_ptr<Store> store;
  if (!opts.no_store) store = Store::Open(opts.db_url);
  std::unique_ptr<Sink> sink = OpenSink(opts.stream, opts.stream.output);
  StoringSink out(store.get(), *sink);
  // stockctl status calls a quote stale after three intervals.
  if (store && opts.every_ms > 0 && !replay_input)
    store->commands().PutValue("stock-collect/every", std::to_string(opts.every_ms));
  service::Ready();

  if (replay_input) {
    std::optional<std::unordered_set<std::string>> only;
    if (fixed) only.emplace(fixed->begin(), fixed->end());
    int rc = Replay(opts, *replay_input, only, out, diag);
    return rc != 0 ? rc : bad_lines > 0 ? exitcode::kDataErr : exitcode::kOk;
  }
  int rc = RunCycles(opts, fixed, store.get(), out, diag);
  if (rc == exitcode::kOk && bad_lines > 0) rc = exitcode::kDataErr;
  return rc;
}

}  // namespace stockwatch
