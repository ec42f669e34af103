// stockctl import / quote ingest: JSON lines into the store, with the
// bad-input policy of the stream programs (Rejecter) and a progress bar.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "stockctl.h"
#include "stockwatch/core/records.h"
#include "stockwatch/core/signals.h"
#include "stockwatch/stream/stream.h"

namespace stockwatch::stockctl {
namespace {

constexpr size_t kBatch = 5000;                 // rows per bulk write
constexpr size_t kMaxStoredDiagnostics = 1000;  // per outcome; the count says the rest
constexpr int64_t kProgressMinBytes = 1 << 20;  // a bar for inputs from 1 MiB

/// A progress bar on stderr when it is a terminal and the input is large:
/// "[#####.....]  45%  12,345 lines" (or just a line count for pipes).
class Progress {
 public:
  Progress(const std::string& file, bool quiet) {
    if (quiet || isatty(2) == 0) return;
    struct stat st {};
    const int rc = file == "-" ? fstat(0, &st) : stat(file.c_str(), &st);
    if (rc == 0 && S_ISREG(st.st_mode)) {
      if (st.st_size < kProgressMinBytes) return;
      total_ = st.st_size;
    }
    enabled_ = true;
    start_ = last_ = Clock::now();
  }
  ~Progress() { Clear(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Add(size_t bytes) {
    if (!enabled_) return;
    bytes_ += static_cast<int64_t>(bytes);
    ++lines_;
    if ((lines_ & 1023) != 0) return;
    const auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    // Pipes of unknown size: only once it is taking a while.
    if (total_ == 0 && now - start_ < std::chrono::seconds(1)) return;
    last_ = now;
    Draw();
  }

  void Clear() {
    if (!shown_) return;
    Write("\r\033[K");
    shown_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;

  void Draw() {
    std::string s = "\r";
    if (total_ > 0) {
      constexpr int kBar = 30;
      const double frac = std::min(1.0, static_cast<double>(bytes_) / static_cast<double>(total_));
      const int filled = static_cast<int>(frac * kBar);
      s += "[" + std::string(static_cast<size_t>(filled), '#') +
           std::string(static_cast<size_t>(kBar - filled), '.') + "]";
      s += fmt::format(" {:3.0f}%  ", frac * 100);
    }
    s += fmt::format("{} lines", lines_);
    Write(s);
    shown_ = true;
  }

  static void Write(const std::string& s) {
    // Best effort: a progress bar is not worth an error.
    const ssize_t n = write(2, s.data(), s.size());
    (void)n;
  }

  bool enabled_ = false, shown_ = false;
  int64_t total_ = 0, bytes_ = 0, lines_ = 0;
  Clock::time_point start_, last_;
};

/// Diagnostics of rejected lines, kept for the outcome (printed at the end,
/// and again on a repeat of the request id).
class Diagnostics {
 public:
  void Add(std::string_view line) {
    if (lines_++ < kMaxStoredDiagnostics) {
      text_ += line;
      text_.push_back('\n');
    }
  }
  std::string Text() const {
    std::string t = text_;
    if (lines_ > kMaxStoredDiagnostics) {
      t += fmt::format("... and {} more rejected lines\n", lines_ - kMaxStoredDiagnostics);
    }
    return t;
  }

 private:
  std::string text_;
  size_t lines_ = 0;
};

/// The input and the bad-input policy of one bulk command.
struct BulkInput {
  BulkInput(const Options& opts, const char* what) {
    so.program = "stockctl";
    // 66 when the file is missing; the file (or copy) its bytes were hashed from.
    source =
        opts.input_fd >= 0 ? OpenFdSource(opts.input_fd, opts.file) : OpenSource(so, opts.file);
    if (!opts.dead_letter.empty()) dead_letter = OpenSink(so, opts.dead_letter, /*append=*/true);
    rejecter = std::make_unique<Rejecter>("stockctl", dead_letter.get(), opts.strict,
                                          [this](std::string_view m) { diagnostics.Add(m); });
    outs = dead_letter ? std::vector<Sink*>{dead_letter.get()} : std::vector<Sink*>{};
    progress = std::make_unique<Progress>(opts.file, opts.common.quiet);
    (void)what;
  }

  /// The outcome's stderr text: the rejected lines, then `extra`.
  std::string Errors() const { return diagnostics.Text(); }

  StreamOptions so;
  std::unique_ptr<Source> source;
  std::unique_ptr<Sink> dead_letter;
  Diagnostics diagnostics;
  std::unique_ptr<Rejecter> rejecter;
  std::vector<Sink*> outs;
  std::unique_ptr<Progress> progress;
};

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// 130 after SIGINT, 143 after SIGTERM: a stop that cut an import short is
// never a success for the cron job or unit that started it.
[[noreturn]] void ThrowInterrupted(std::string_view what) {
  throw Error(StoppedExitCode(), StoppedBy() + ": " + std::string(what));
}

// What import keeps in memory until it writes (one transaction).
struct ImportState {
  std::vector<User> users;
  std::vector<Watch> watches;
  std::unordered_set<std::string> known;              // emails in the store or in this input
  std::unordered_map<int64_t, std::string> telegram;  // telegram_id -> email
  std::unordered_map<std::string, std::optional<int64_t>> telegram_of;  // email -> its id
  size_t skipped = 0;

  /// The users the store has already.
  void Seed(Queries& q) {
    for (const User& u : q.Users()) {
      known.insert(u.email);
      telegram_of[u.email] = u.telegram_id;
      if (u.telegram_id) telegram[*u.telegram_id] = u.email;
    }
  }

  void AddUser(const User& u) {
    if (u.telegram_id) {
      auto it = telegram.find(*u.telegram_id);
      if (it != telegram.end() && it->second != u.email) {
        throw DataError("telegram_id: " + std::to_string(*u.telegram_id) +
                        " is already linked to another user");
      }
    }
    // The user's previous id becomes free.
    if (auto prev = telegram_of.find(u.email); prev != telegram_of.end() && prev->second) {
      telegram.erase(*prev->second);
    }
    if (u.telegram_id) telegram[*u.telegram_id] = u.email;
    telegram_of[u.email] = u.telegram_id;
    known.insert(u.email);
    users.push_back(u);
  }

  void AddWatch(const Watch& w) {
    if (known.count(w.email) == 0) {
      throw DataError("email: no such user: " + w.email +
                      " (a user record must come before the user's watches)");
    }
    watches.push_back(w);
  }

  void Write(CommandTx& tx) {
    for (size_t i = 0; i < users.size(); i += kBatch) {
      tx.PutUsers(std::span(users).subspan(i, std::min(kBatch, users.size() - i)));
    }
    for (size_t i = 0; i < watches.size(); i += kBatch) {
      tx.PutWatches(std::span(watches).subspan(i, std::min(kBatch, watches.size() - i)));
    }
  }
};

std::string ImportSummary(bool json, const ImportState& st, size_t rejected) {
  if (json) {
    return fmt::format(R"({{"type":"import","users":{},"watches":{},"skipped":{},"rejected":{}}})",
                       st.users.size(), st.watches.size(), st.skipped, rejected) +
           "\n";
  }
  std::string output = "imported " + Plural(st.users.size(), "user", "users") + " and " +
                       Plural(st.watches.size(), "watch", "watches");
  if (st.skipped > 0)
    output += ", skipped " + Plural(st.skipped, "record", "records") + " of other types";
  if (rejected > 0) output += ", rejected " + Plural(rejected, "line", "lines");
  return output + "\n";
}

Outcome ImportRecords(const Options& opts, Store& store, CommandTx& tx) {
  BulkInput in(opts, "import");
  ImportState st;
  st.Seed(store.queries());
  RecordParser parser;
  AnyRecord rec;
  RunLoop(*in.source, in.outs, *in.rejecter, [&](const InRecord& r) {
    in.progress->Add(r.value.size() + 1);
    switch (parser.Parse(r.value, r.readable, rec)) {
      case RecordType::kUser:
        st.AddUser(rec.user);
        break;
      case RecordType::kWatch:
        st.AddWatch(rec.watch);
        break;
      default:
        ++st.skipped;  // quotes, alerts...: not for import
    }
  });
  in.progress->Clear();
  if (StopRequested()) ThrowInterrupted("nothing was imported");
  st.Write(tx);
  return Outcome{in.rejecter->ExitCode(), ImportSummary(opts.json, st, in.rejecter->count()),
                 in.Errors()};
}

/// Quotes on their way to the store: in `tx`, or without one batch by
/// batch in transactions of their own.
struct QuoteBatches {
  Store& store;
  CommandTx* tx;
  std::vector<Quote> batch;
  std::string batch_start;  // INPUT:LINE of the batch's first quote
  size_t stored = 0;

  void Add(const Quote& q, const InRecord& r) {
    if (batch.empty()) batch_start = *r.input + ":" + std::to_string(r.line);
    batch.push_back(q);
  }

  void Flush() {
    if (batch.empty()) return;
    if (tx != nullptr) {
      tx->StoreQuotes(batch);
    } else {
      try {
        store.commands().StoreQuotes(batch);
      } catch (const Error& e) {
        // Earlier batches were committed: say how far the input got, so
        // that the rest can be ingested again from that line.
        throw Error(e.exit_code(),
                    std::string(e.what()) + "; stored " + Plural(stored, "quote", "quotes") +
                        " before the failure; the first quote not stored is at " + batch_start);
      }
    }
    stored += batch.size();
    batch.clear();
  }
};

std::string IngestSummary(bool json, size_t stored, size_t skipped, size_t rejected) {
  if (json) {
    return fmt::format(R"({{"type":"ingest","stored":{},"skipped":{},"rejected":{}}})", stored,
                       skipped, rejected) +
           "\n";
  }
  std::string output = "stored " + Plural(stored, "quote", "quotes");
  if (skipped > 0)
    output += ", skipped " + Plural(skipped, "record", "records") + " of other types";
  if (rejected > 0) output += ", rejected " + Plural(rejected, "line", "lines");
  return output + "\n";
}

Outcome IngestQuotes(const Options& opts, Store& store, CommandTx* tx) {
  BulkInput in(opts, "quote ingest");
  QuoteBatches batches{store, tx, {}, {}, 0};
  size_t skipped = 0;
  RecordParser parser;
  AnyRecord rec;
  LoopOptions lo;
  lo.checkpoint_records = kBatch;
  lo.pre_commit = [&] { batches.Flush(); };
  RunLoop(
      *in.source, in.outs, *in.rejecter,
      [&](const InRecord& r) {
        in.progress->Add(r.value.size() + 1);
        if (parser.Parse(r.value, r.readable, rec) == RecordType::kQuote) {
          batches.Add(rec.quote, r);
        } else {
          ++skipped;  // other records: not quotes
        }
      },
      lo);
  batches.Flush();
  in.progress->Clear();
  // With --request-id the input is one transaction: a stop stores none of
  // it. In batches every quote read is stored by now: a clean stop (exit 0,
  // 130 after SIGINT, as cli::Run makes every clean stop).
  if (StopRequested() && tx != nullptr) ThrowInterrupted("nothing was stored");
  return Outcome{in.rejecter->ExitCode(),
                 IngestSummary(opts.json, batches.stored, skipped, in.rejecter->count()),
                 in.Errors()};
}

}  // namespace

int Import(const Options& opts, Store& store) {
  // Everything happens inside one transaction, so the outcome (summary and
  // rejected lines) is stored with the effect when a request id is given.
  return Print(store.commands().Execute(opts.request_id, opts.fingerprint, [&](CommandTx& tx) {
    return ImportRecords(opts, store, tx);
  }));
}

int QuoteIngest(const Options& opts, Store& store) {
  // Without a request id, quotes are stored batch by batch as they arrive
  // (so `tail -f quotes | stockctl quote ingest` stays live); with one, the
  // whole input is one transaction whose outcome is stored with it.
  if (!opts.request_id.empty()) {
    return Print(store.commands().Execute(opts.request_id, opts.fingerprint, [&](CommandTx& tx) {
      return IngestQuotes(opts, store, &tx);
    }));
  }
  Outcome out;
  try {
    out = IngestQuotes(opts, store, nullptr);
  } catch (const DataError& e) {  // --strict
    out = Outcome{exitcode::kDataErr, "", e.what()};
  }
  return Print(out);
}

}  // namespace stockwatch::stockctl
