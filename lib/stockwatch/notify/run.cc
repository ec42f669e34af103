#include "stockwatch/notify/run.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "stockwatch/core/log.h"
#include "stockwatch/core/signals.h"
#include "stockwatch/net/http.h"
#include "stockwatch/notify/bot.h"
#include "stockwatch/notify/engine.h"
#include "stockwatch/ops/metrics.h"
#include "stockwatch/ops/service.h"
#include "stockwatch/store/store.h"

namespace stockwatch {

namespace {

/// Deliveries by channel and outcome, the retries they took, the HTTP 429
/// answers and the outbox's size by channel, as metrics.
class DeliveryMetrics {
 public:
  /// Every series of these targets exists from the start (at 0).
  explicit DeliveryMetrics(const std::vector<Target>& targets) {
    for (const Target& t : targets) {
      OutboxGauge(t.channel);
      if (t.kind == TargetKind::kTelegram || t.kind == TargetKind::kWebhook) RateLimited(t.channel);
    }
  }

  /// One answer to a send attempt.
  void Answer(const Target& t, const SendResult& r) {
    if (r.rate_limited) RateLimited(t.channel).Inc();
  }

  /// The outbox's size as the engine knows it (worker thread).
  void Outbox(const Notifier& n) {
    for (const auto& [channel, held] : n.HeldByChannel())
      OutboxGauge(channel).Set(static_cast<double>(held));
  }

  void Count(const Delivery& d) {
    std::lock_guard<std::mutex> lock(mu_);
    auto key = std::make_pair(d.channel, static_cast<int>(d.status));
    auto it = by_outcome_.find(key);
    if (it == by_outcome_.end()) {
      it = by_outcome_
               .emplace(key,
                        &metrics::Default().counter(
                            "stockwatch_deliveries_total",
                            "Delivery records by channel and outcome (sent, duplicate, "
                            "batched, failed)",
                            {{"channel", d.channel}, {"outcome", std::string(ToString(d.status))}}))
               .first;
    }
    it->second->Inc();
    if (d.attempts > 1) {
      metrics::Default()
          .counter("stockwatch_delivery_retries_total", "Delivery attempts that were retried",
                   {{"channel", d.channel}})
          .Inc(static_cast<uint64_t>(d.attempts - 1));
    }
  }

 private:
  metrics::Counter& RateLimited(const std::string& channel) {
    return metrics::Default().counter(
        "stockwatch_rate_limited_total",
        "Send attempts answered HTTP 429 Too Many Requests, by channel", {{"channel", channel}});
  }

  metrics::Gauge& OutboxGauge(const std::string& channel) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = outbox_.find(channel);
    if (it == outbox_.end()) {
      it = outbox_
               .emplace(channel, &metrics::Default().gauge(
                                     "stockwatch_outbox_size",
                                     "Alerts held in the outbox (for a retry, a digest interval "
                                     "or a paused user), by channel",
                                     {{"channel", channel}}))
               .first;
    }
    return *it->second;
  }

  std::mutex mu_;
  std::map<std::pair<std::string, int>, metrics::Counter*> by_outcome_;
  std::map<std::string, metrics::Gauge*> outbox_;
};

constexpr size_t kMaxInbox = 1024;       // alerts handed over, not yet taken by the worker
constexpr size_t kMaxInMemory = 20'000;  // messages the engine may hold in memory
constexpr int64_t kMaxSleepMs = 250;     // the worker re-checks its flags at least this often
// An idle worker handed a few alerts waits this long for more (up to
// kCoalesce), so that they go out and are recorded together: one write and
// one transaction instead of one each.
constexpr size_t kCoalesce = 256;
constexpr int64_t kCoalesceMs = 5;
constexpr int64_t kForeverMs = 365LL * 24 * 3600 * 1000;  // "no budget" (fits steady_clock)

/// A Sink shared by the reading thread and the delivery worker.
class LockedSink : public Sink {
 public:
  LockedSink(Sink& inner, std::mutex& mu) : inner_(inner), mu_(mu) {}
  void Write(std::string_view key, std::string_view value) override {
    std::lock_guard<std::mutex> lock(mu_);
    inner_.Write(key, value);
  }
  void Flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    inner_.Flush();
  }
  bool closed() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_.closed();
  }
  const std::string& name() const override { return inner_.name(); }

 private:
  Sink& inner_;
  std::mutex& mu_;
};

struct Job {
  Alert alert;
  std::string raw;
  std::string input;
  uint64_t line = 0;
};

/// Runs the Notifier on its own thread, so that held digests go out on
/// time while the reading thread blocks on its input, and so that the
/// store and HTTP client are used from one thread only.
class Worker {
 public:
  /// `after_step` runs on the worker thread after each round of work.
  Worker(Notifier& n, std::function<void()> after_step)
      : notifier_(n),
        after_step_(std::move(after_step)),
        held_(n.Held()),
        retrying_(n.Retrying()) {}
  ~Worker() { Stop(); }

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }

  /// Hands one alert over (blocks while the worker is far behind).
  void Submit(Job job) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [&] { return inbox_.size() < kMaxInbox || error_; });
    Rethrow();
    inbox_.push_back(std::move(job));
    ++submitted_;
    wake_.notify_one();
  }

  /// Returns once every alert handed over is sent, failed or batched, and
  /// with `retries` also once no parked retry is left and the outbox was
  /// read after the call began (what is due there is sent too, so that
  /// every run delivers the digests that came due). After `budget_ms`
  /// (or at once on a stop request) what still waits in memory (rate
  /// limits, retries) is moved to the outbox instead: held, not lost.
  void Flush(int64_t budget_ms, bool retries = false) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);
    std::unique_lock<std::mutex> lock(mu_);
    ++flushing_;  // the worker does not wait for more alerts meanwhile
    uint64_t outbox_read = retries ? ++outbox_wanted_ : 0;
    wake_.notify_one();
    struct Done {
      size_t& n;
      ~Done() { --n; }
    } done{flushing_};
    for (;;) {
      Rethrow();
      bool parking = StopRequested() || std::chrono::steady_clock::now() >= deadline;
      if (inbox_.empty() && processed_ == submitted_ && quiescent_ &&
          (!retries || parking || (retrying_ == 0 && outbox_read_ >= outbox_read)))
        return;
      if (parking) {
        if (!park_) log::Info("moving messages still waiting to the outbox");
        park_ = true;
        wake_.notify_one();
      }
      done_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }

  /// After the input ended: keeps delivering digests that come due until
  /// `linger_ms` passed or nothing is held any more.
  void Linger(int64_t linger_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(linger_ms);
    std::unique_lock<std::mutex> lock(mu_);
    while (!StopRequested() && std::chrono::steady_clock::now() < deadline) {
      Rethrow();
      if (held_ == 0 && quiescent_ && inbox_.empty()) return;
      done_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }

  /// Stops the thread (after Flush). Rethrows what the worker threw.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      wake_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

  void Rethrow() {
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

 private:
  /// What the worker took from the reading thread for one step.
  struct Round {
    std::deque<Job> jobs;
    bool park = false;
    bool sync = false;
    uint64_t read_outbox = 0;
  };

  void Loop() {
    try {
      for (;;) {
        Round step;
        if (!Take(step)) return;
        space_.notify_all();
        Work(step);
        Report(step);
        done_.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      error_ = std::current_exception();
      done_.notify_all();
      space_.notify_all();
    }
  }

  /// Waits for work (alerts, a flush, a park, a due digest) unless the last
  /// step did something; false on Stop().
  bool Take(Round& step) {
    std::unique_lock<std::mutex> lock(mu_);
    TimeMs wake_at = notifier_.NextWake();
    TimeMs now = NowMs();
    int64_t sleep = wake_at <= now ? 0 : std::min<int64_t>(wake_at - now, kMaxSleepMs);
    if (!did_ && sleep > 0) {
      wake_.wait_for(lock, std::chrono::milliseconds(sleep), [&] {
        return (!inbox_.empty() && notifier_.InMemory() < kMaxInMemory) || stop_ || park_ ||
               (flushing_ > 0 && notifier_.Unrecorded()) || outbox_wanted_ > outbox_read_;
      });
      if (!inbox_.empty() && inbox_.size() < kCoalesce) {
        wake_.wait_for(lock, std::chrono::milliseconds(kCoalesceMs), [&] {
          return inbox_.size() >= kCoalesce || flushing_ > 0 || stop_ || park_;
        });
      }
    }
    if (stop_) return false;
    if (notifier_.InMemory() < kMaxInMemory) step.jobs.swap(inbox_);
    step.park = park_;
    step.sync = flushing_ > 0 && inbox_.empty();
    if (outbox_wanted_ > outbox_read_) step.read_outbox = outbox_wanted_;
    return true;
  }

  /// Hands the alerts to the Notifier and lets it send what is due.
  void Work(const Round& step) {
    if (!step.jobs.empty()) {
      std::vector<Notifier::Incoming> batch;
      batch.reserve(step.jobs.size());
      for (const Job& j : step.jobs) batch.push_back({&j.alert, j.raw, j.input, j.line});
      notifier_.SubmitAll(batch);
    }
    if (step.read_outbox != 0) notifier_.ReadOutboxNow();
    did_ = notifier_.Step() || !step.jobs.empty();
    // Someone waits for everything to be settled (a checkpoint) and the
    // last alerts are out: what was sent is recorded now, not when its
    // batch would be due.
    if (step.sync && notifier_.InMemory() == 0) notifier_.Sync();
    if (step.park) {
      notifier_.Park();
      did_ = false;
    }
    if (after_step_) after_step_();
  }

  /// Tells the waiting threads what the step did.
  void Report(const Round& step) {
    std::lock_guard<std::mutex> lock(mu_);
    processed_ += step.jobs.size();
    outbox_read_ = std::max(outbox_read_, step.read_outbox);
    quiescent_ = notifier_.Quiescent();
    held_ = notifier_.Held();
    retrying_ = notifier_.Retrying();
    if (step.park && quiescent_ && inbox_.empty()) park_ = false;
  }

  Notifier& notifier_;
  std::function<void()> after_step_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable wake_, done_, space_;
  std::deque<Job> inbox_;
  uint64_t submitted_ = 0, processed_ = 0;
  bool quiescent_ = true;
  size_t held_;  // what the outbox holds for us (an earlier run's items too)
  size_t retrying_;
  bool park_ = false;
  bool stop_ = false;
  size_t flushing_ = 0;  // callers waiting in Flush()
  // Flush(retries) asks for the outbox to be read (outbox_wanted_); the
  // worker says which request its last Step() served (outbox_read_).
  uint64_t outbox_wanted_ = 0, outbox_read_ = 0;
  bool did_ = false;  // worker thread only
  std::exception_ptr error_;
};

/// The --to targets, each once.
std::vector<Target> ParseTargets(const NotifyOptions& opts) {
  if (opts.targets.empty())
    throw Error(exitcode::kUsage,
                "no target: give --to telegram:, mailto:, http(s)://URL or file:PATH");
  std::vector<Target> targets;
  for (const std::string& spec : opts.targets) {
    Target t = ParseTarget(spec);
    bool again = std::any_of(targets.begin(), targets.end(),
                             [&](const Target& o) { return o.key == t.key; });
    if (again) throw Error(exitcode::kUsage, "--to " + spec + ": given twice");
    targets.push_back(std::move(t));
  }
  return targets;
}

NotifierOptions MakeNotifierOptions(const NotifyOptions& opts) {
  NotifierOptions no;
  no.program = opts.stream.program.empty() ? "stock-notify" : opts.stream.program;
  no.retries = opts.retries;
  no.backoff.base_ms = opts.retry_delay_ms;
  no.backoff.max_ms = std::max(opts.retry_delay_ms, opts.retry_max_delay_ms);
  no.retry_for_ms = opts.retry_for_ms;
  // Over Kafka an alert's offset is committed only once the alert is sent,
  // batched or dead-lettered: a checkpoint waits for the deliveries (and
  // parks what takes too long), and what a crash left unrecorded comes
  // again, so a target may undo its copy. Files and pipes have nothing to
  // commit, and what they gave is not given again.
  no.rollback_unrecorded = IsKafka(opts.stream.input);
  return no;
}

/// The output and the dead letter, written by both threads (one lock).
struct Outputs {
  explicit Outputs(const NotifyOptions& opts)
      : out(OpenSink(opts.stream, opts.stream.output)), locked_out(*out, mu) {
    if (opts.stream.dead_letter.empty()) return;
    dl = OpenSink(opts.stream, opts.stream.dead_letter, true);
    locked_dl = std::make_unique<LockedSink>(*dl, mu);
  }
  void Flush() {
    locked_out.Flush();
    if (locked_dl) locked_dl->Flush();
  }

  std::mutex mu;
  std::unique_ptr<Sink> out;
  LockedSink locked_out;
  std::unique_ptr<Sink> dl;
  std::unique_ptr<LockedSink> locked_dl;
};

/// Deliveries go to the output; alerts given up on to the dead letter, or
/// without one to `diag`.
NotifierHooks MakeHooks(Outputs& o, DeliveryMetrics& metrics, std::string& buf,
                        const std::function<void(std::string_view)>& diag) {
  NotifierHooks hooks;
  hooks.on_delivery = [&o, &metrics, &buf](const Delivery& d) {
    metrics.Count(d);
    buf.clear();
    AppendJson(buf, d);
    o.locked_out.Write(d.alert_id, buf);
  };
  hooks.on_dead_letter = [&o, &buf, &diag](const Rejected& r) {
    if (o.locked_dl) {
      buf.clear();
      AppendJson(buf, r);
      o.locked_dl->Write(r.input, buf);
    } else {
      // Without a dead letter the alert itself goes to stderr: not lost.
      diag(r.input + ":" + std::to_string(r.line) + ": not delivered: " + r.error +
           "; alert: " + r.raw);
    }
  };
  hooks.on_answer = [&metrics](const Target& t, const SendResult& r) { metrics.Answer(t, r); };
  return hooks;
}

/// Reads the input to its end, handing alerts to the worker and passing
/// other records on; then settles everything. On an error what waits in
/// memory goes to the outbox before it is rethrown.
void DeliverInput(const NotifyOptions& opts, Source& in, Outputs& o, Rejecter& rejecter,
                  Worker& worker) {
  const bool commits = IsKafka(opts.stream.input);
  RecordParser parser;
  AnyRecord rec;
  std::vector<Sink*> outs{&o.locked_out};
  if (o.locked_dl) outs.push_back(o.locked_dl.get());
  LoopOptions lo;
  // A checkpoint waits for deliveries; keep each one small so Kafka
  // offsets move steadily even at Telegram's pace.
  lo.checkpoint_records = 1000;
  lo.checkpoint_ms = 1000;
  lo.pre_commit = [&] {
    if (commits) worker.Flush(opts.flush_budget_ms);
    o.Flush();
  };
  try {
    RunLoop(
        in, outs, rejecter,
        [&](const InRecord& r) {
          RecordType type = parser.Parse(r.value, r.readable, rec);
          if (type != RecordType::kAlert) {
            o.locked_out.Write(r.key, r.value);  // not ours: pass it on unchanged
            return;
          }
          Job job;
          job.alert = rec.alert;
          job.raw.assign(r.value);
          job.input = *r.input;
          job.line = r.line;
          worker.Submit(std::move(job));
        },
        lo);
    // The input ended: settle everything, retries included (a stop request
    // parks what waits instead).
    worker.Flush(StopRequested() ? 0 : kForeverMs, true);
    if (opts.linger_ms > 0 && !StopRequested()) {
      worker.Linger(opts.linger_ms);
      worker.Flush(StopRequested() ? 0 : kForeverMs, true);
    }
    worker.Stop();
    worker.Rethrow();
  } catch (...) {
    // Whatever waits in memory goes to the outbox before we give up.
    try {
      worker.Flush(0);
    } catch (...) {
    }
    worker.Stop();
    throw;
  }
}

/// Logs the run's counts and returns its exit code.
int Conclude(const Notifier& notifier, const Rejecter& rejecter, bool dead_letter,
             const std::function<void(std::string_view)>& diag) {
  const NotifierStats& st = notifier.stats();
  log::Info("{} alerts: {} sent, {} duplicate, {} batched, {} failed ({} messages, {} retries)",
            st.alerts, st.sent, st.duplicate, st.batched, st.failed, st.messages, st.retries);
  const size_t deferred = notifier.Deferred();
  if (st.fatal_exit_code != 0) return st.fatal_exit_code;  // the error was logged when it happened
  if (int rc = rejecter.ExitCode(); rc != 0) return rc;
  if (st.failed > 0 && !dead_letter) return exitcode::kUnavailable;
  if (deferred > 0) {
    // Cron and systemd see that this run did not get everything through.
    diag(std::to_string(deferred) +
         " alert(s) kept in the outbox after temporary failures outlived the retries; a later "
         "run (or this service, had it gone on) tries them again");
    return exitcode::kTempFail;
  }
  return exitcode::kOk;
}

}  // namespace

int RunNotify(const NotifyOptions& opts, const std::function<void(std::string_view)>& diag) {
  std::vector<Target> targets = ParseTargets(opts);
  if (opts.retries < 0) throw Error(exitcode::kUsage, "--retries: must be 0 or more");

  HttpOptions ho;
  ho.max_parallel = std::max(1, opts.channels.parallel);
  ho.user_agent = std::string("stockwatch/") + STOCKWATCH_VERSION;
  HttpClient http(ho);
  std::vector<std::unique_ptr<Channel>> channels;
  std::vector<Channel*> raw_channels;
  for (const Target& t : targets) {
    channels.push_back(MakeChannel(t, opts.channels, http));
    raw_channels.push_back(channels.back().get());
  }

  std::unique_ptr<Store> store = Store::Open(opts.db_url);
  std::unique_ptr<Source> in = OpenSource(opts.stream, opts.stream.input);
  Outputs o(opts);
  const NotifierOptions no = MakeNotifierOptions(opts);
  std::string buf;
  DeliveryMetrics delivery_metrics(targets);
  Notifier notifier(raw_channels, store->commands(), store->queries(), no,
                    MakeHooks(o, delivery_metrics, buf, diag));
  delivery_metrics.Outbox(notifier);  // what earlier runs left there
  Worker worker(notifier, [&] { delivery_metrics.Outbox(notifier); });
  worker.Start();

  Rejecter rejecter(no.program, o.locked_dl.get(), opts.stream.strict, diag);
  DeliverInput(opts, *in, o, rejecter, worker);
  o.Flush();
  return Conclude(notifier, rejecter, o.locked_dl != nullptr, diag);
}

int RunBotMain(const std::string& db_url, const BotOptions& bot) {
  std::unique_ptr<Store> store = Store::Open(db_url);
  HttpOptions ho;
  ho.user_agent = std::string("stockwatch/") + STOCKWATCH_VERSION;
  HttpClient http(ho);
  service::Ready();
  RunBot(bot, store->commands(), store->queries(), http);
  return exitcode::kOk;
}

}  // namespace stockwatch
