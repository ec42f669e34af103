#pragma once
/// Record streams over `-` (stdin/stdout), files and `kafka:TOPIC`, and the
/// bad-input policy shared by the stream programs (docs/design.md, "Bad input").
///
/// At-least-once over Kafka: a Source's Commit() first runs its pre-commit
/// hook (which flushes every Sink the program writes to: produced *and* acked,
/// or written out), then commits the offsets of the records marked Done().
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/core/error.h"

namespace stockwatch {

/// The options every stream program shares (docs/design.md, "Streams").
struct StreamOptions {
  std::string program;      // for diagnostics and rejected records
  std::string input = "-";  // "-", a path, or "kafka:TOPIC"
  std::string output = "-";
  std::string dead_letter;               // empty: none
  std::string brokers;                   // -b
  std::string group;                     // -G (default: program)
  std::vector<std::string> kafka_props;  // -X key=value
  std::string kafka_config_file;         // -F
  bool strict = false;                   // first bad record is fatal
  bool exit_at_eof = false;  // Kafka input: stop once every assigned partition is at its end
  /// Kafka input: give up (69) when no broker has answered this long after
  /// the start; 0: wait as long as it takes.
  int64_t broker_wait_ms = 60'000;
};

/// One input record. Views stay valid until the next Source::Next().
struct InRecord {
  std::string_view value;              // the JSON text, no newline
  size_t readable = 0;                 // bytes readable from value.data() (>= value.size())
  std::string_view key;                // Kafka key ("" for lines)
  const std::string* input = nullptr;  // "stdin", the path, or "kafka:TOPIC/PARTITION"
  uint64_t line = 0;                   // 1-based line number, or the Kafka offset
};

class Source {
 public:
  virtual ~Source() = default;
  /// Reads the next record; false at end of input or once StopRequested().
  /// From files and pipes, blank lines (nothing but spaces, tabs, CR) are
  /// skipped, as jq does; line numbers still count them.
  /// Throws Error (66 missing file, 74 I/O, 69 broker) on failure.
  virtual bool Next(InRecord& rec) = 0;
  /// Marks the last record returned by Next() as fully processed.
  virtual void Done() {}
  /// Runs the pre-commit hook, then commits every record marked Done()
  /// (Kafka; no-op elsewhere). `sync` waits for the broker's answer.
  /// The base version only runs the pre-commit hook.
  virtual void Commit(bool sync) {
    (void)sync;
    if (pre_commit_) pre_commit_();
  }
  /// The input's name for diagnostics ("stdin", a path, "kafka:TOPIC").
  virtual const std::string& name() const = 0;
  /// True for a consumer group member: it is ready (service::Ready()) once
  /// the group first assigns it partitions, not when it is opened.
  virtual bool WaitsForAssignment() const { return false; }

  /// Called before Commit() sends offsets: flush every output here.
  void set_pre_commit(std::function<void()> f) { pre_commit_ = std::move(f); }
  /// Called before the source blocks waiting for input (flush pipes here).
  void set_idle(std::function<void()> f) { idle_ = std::move(f); }
  /// Kafka: called each time partitions are newly assigned to this consumer
  /// (eager and cooperative rebalancing), before Next() returns any record
  /// of them, from inside Next(). When the consumer still owns other
  /// partitions (cooperative), the pre-commit hook runs just before, so what
  /// the program saved is current for every partition: it may then reload
  /// per-key state (alert edge states) that the previous owner saved. An
  /// exception thrown here is rethrown by Next(). Never called elsewhere.
  void set_on_assign(std::function<void()> f) { on_assign_ = std::move(f); }

 protected:
  std::function<void()> pre_commit_;
  std::function<void()> idle_;
  std::function<void()> on_assign_;
};

class Sink {
 public:
  virtual ~Sink() = default;
  /// Queues one record (`value` without newline; `key` used by Kafka only).
  /// May block when buffers are full. Throws Error on failure.
  virtual void Write(std::string_view key, std::string_view value) = 0;
  /// Returns once everything written is durable: written to the fd, or
  /// produced and acknowledged by the brokers. Throws Error (74 / 69).
  virtual void Flush() = 0;
  /// True when the reader went away (EPIPE on stdout): callers stop quietly.
  virtual bool closed() const { return false; }
  virtual const std::string& name() const = 0;
};

/// Opens `spec` ("-", a path, "kafka:TOPIC") for reading / writing.
/// Throws Error: 66 missing file, 64 kafka: without brokers, 78 bad -X/-F.
std::unique_ptr<Source> OpenSource(const StreamOptions& opts, const std::string& spec);
/// JSON lines from `fd` (owned: closed with the source), named `name` in
/// messages: for input that was read once already and kept (a copy of a pipe).
std::unique_ptr<Source> OpenFdSource(int fd, std::string name);
/// Files are truncated unless `append` (dead letters append: nothing lost,
/// and a new dead letter is created 0600). Output files are opened with
/// OpenOutputFile (files.h): a symbolic link owned by another user is refused.
std::unique_ptr<Sink> OpenSink(const StreamOptions& opts, const std::string& spec,
                               bool append = false);

/// True when `spec` names a Kafka topic ("kafka:TOPIC") rather than a file or pipe.
bool IsKafka(std::string_view spec);

/// Kafka-specific factories (kafka.cc); OpenSource/OpenSink call these for "kafka:".
std::unique_ptr<Source> OpenKafkaSource(const StreamOptions& opts, const std::string& topic);
std::unique_ptr<Sink> OpenKafkaSink(const StreamOptions& opts, const std::string& topic);

/// The bad-input policy: a diagnostic line per bad record
/// ("PROGRAM: INPUT:LINE: what is wrong", handed to `diag` without the
/// "PROGRAM: " prefix), a rejected record in the dead letter (if any), a
/// count, and with strict a DataError at the first one.
class Rejecter {
 public:
  using Diag = std::function<void(std::string_view)>;
  Rejecter(std::string program, Sink* dead_letter, bool strict, Diag diag);

  /// Reports one bad record. Throws DataError when strict.
  void Reject(std::string_view input, uint64_t line, std::string_view error, std::string_view raw);
  uint64_t count() const { return count_; }
  /// 65 when something was rejected and there is no dead letter, else 0.
  int ExitCode() const;

 private:
  std::string program_;
  Sink* dead_letter_;
  bool strict_;
  Diag diag_;
  uint64_t count_ = 0;
  std::string buf_;
};

/// The read loop shared by the stream programs: reads every record, hands it
/// to `handle` (which writes outputs and may throw DataError to reject the
/// record), marks it done, and checkpoints (flush outputs, commit input)
/// every `checkpoint_records` records or `checkpoint_ms`, and at the end.
/// Stops at end of input, on StopRequested(), or when `out` is closed.
struct LoopOptions {
  uint64_t checkpoint_records = 5000;
  int64_t checkpoint_ms = 200;
  /// Extra work at each checkpoint, after the outputs are flushed and before
  /// offsets are committed (e.g. saving alert state).
  std::function<void()> pre_commit;
  /// Work held back by `handle` (records read but not yet acted on), done
  /// at each checkpoint before the outputs are flushed, and at the end.
  std::function<void()> drain;
};
void RunLoop(Source& in, const std::vector<Sink*>& outs, Rejecter& rejecter,
             const std::function<void(const InRecord&)>& handle, LoopOptions lo = {});

}  // namespace stockwatch
