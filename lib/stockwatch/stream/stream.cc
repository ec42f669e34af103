#include "stockwatch/stream/stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "stockwatch/core/files.h"
#include "stockwatch/core/log.h"
#include "stockwatch/core/records.h"
#include "stockwatch/core/signals.h"
#include "stockwatch/core/timeutil.h"
#include "stockwatch/ops/service.h"

namespace stockwatch {
namespace {

constexpr size_t kPadding = 64;           // slack after data for in-place JSON parsing
constexpr size_t kReadChunk = 1 << 20;    // bytes per read()
constexpr size_t kMaxLine = 64u << 20;    // longer lines are rejected, not buffered
constexpr size_t kWriteBuffer = 1 << 20;  // flush threshold for files

std::string ErrnoText(int err) { return std::strerror(err); }

bool IsBlank(std::string_view s) { return s.find_first_not_of(" \t\r") == std::string_view::npos; }

/// Reads '\n'-terminated lines from a file descriptor into one growing buffer,
/// leaving kPadding readable bytes after every line.
class FdSource : public Source {
 public:
  FdSource(int fd, std::string name, bool owns) : fd_(fd), owns_(owns), name_(std::move(name)) {
    struct stat st;
    interactive_ = fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode);
    buf_.resize(kReadChunk + kPadding);
  }
  ~FdSource() override {
    if (owns_) close(fd_);
  }

  bool Next(InRecord& rec) override {
    for (;;) {
      if (StopRequested()) return false;
      if (skipping_) {
        // Inside an over-long line: drop bytes until its end.
        const char* nl =
            static_cast<const char*>(std::memchr(buf_.data() + begin_, '\n', end_ - begin_));
        if (nl || eof_) {
          begin_ = nl ? static_cast<size_t>(nl - buf_.data()) + 1 : end_;
          skipping_ = false;
          ++line_;
          rec = {};
          rec.value = std::string_view(long_prefix_);
          rec.readable = rec.value.size();
          rec.input = &name_;
          rec.line = line_;
          return true;
        }
        begin_ = end_ = 0;
      } else if (end_ > begin_) {
        const char* start = buf_.data() + begin_;
        const char* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
        if (nl || eof_) {
          size_t len = nl ? static_cast<size_t>(nl - start) : end_ - begin_;
          ++line_;
          if (IsBlank(std::string_view(start, len))) {
            // Blank lines separate nothing and carry nothing: skipped, as jq does.
            begin_ += len + (nl ? 1 : 0);
            continue;
          }
          rec.value = std::string_view(start, len);
          rec.readable = buf_.size() - begin_;
          rec.key = {};
          rec.input = &name_;
          rec.line = line_;
          begin_ += len + (nl ? 1 : 0);
          return true;
        }
      }
      if (eof_) return false;
      Fill();
    }
  }

  const std::string& name() const override { return name_; }

 private:
  void Fill() {
    // Make room: move the partial line to the front, grow when it fills the buffer.
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ >= kMaxLine) {
      // Keep a prefix for the diagnostic; skip the rest of the line.
      long_prefix_ = "(line longer than " + std::to_string(kMaxLine >> 20) + " MiB, first bytes: ";
      long_prefix_.append(buf_.data(), 256);
      long_prefix_ += ")";
      skipping_ = true;
      begin_ = end_ = 0;
    }
    if (buf_.size() - end_ < kReadChunk / 2 + kPadding) buf_.resize(buf_.size() * 2);
    if (interactive_ && idle_) idle_();
    for (;;) {
      ssize_t n = read(fd_, buf_.data() + end_, buf_.size() - end_ - kPadding);
      if (n > 0) {
        end_ += static_cast<size_t>(n);
        return;
      }
      if (n == 0) {
        eof_ = true;
        return;
      }
      if (errno == EINTR) {
        if (StopRequested()) {
          eof_ = true;
          return;
        }
        continue;
      }
      throw Error(exitcode::kIoErr, name_ + ": " + ErrnoText(errno));
    }
  }

  int fd_;
  bool owns_;
  std::string name_;
  bool interactive_ = false;
  std::string buf_;
  size_t begin_ = 0, end_ = 0;
  uint64_t line_ = 0;
  bool eof_ = false;
  bool skipping_ = false;
  std::string long_prefix_;
};

/// Writes lines to a file descriptor: per record to pipes and terminals
/// (so `tail -f` pipelines stay live), in large blocks to files (and to
/// /dev/null, which nobody watches).
class FdSink : public Sink {
 public:
  FdSink(int fd, std::string name, bool owns) : fd_(fd), owns_(owns), name_(std::move(name)) {
    struct stat st;
    struct stat null_st;
    if (fstat(fd_, &st) != 0) {
      per_record_ = true;
    } else if (S_ISCHR(st.st_mode)) {
      per_record_ = stat("/dev/null", &null_st) != 0 || st.st_rdev != null_st.st_rdev;
    } else {
      per_record_ = !S_ISREG(st.st_mode);
    }
    buf_.reserve(kWriteBuffer + 4096);
  }
  ~FdSink() override {
    try {
      Flush();
    } catch (const std::exception& e) {
      log::Error("{}", e.what());
    }
    if (owns_) close(fd_);
  }

  void Write(std::string_view, std::string_view value) override {
    if (closed_) return;
    buf_.append(value);
    buf_.push_back('\n');
    if (per_record_ || buf_.size() >= kWriteBuffer) Flush();
  }

  void Flush() override {
    size_t off = 0;
    while (off < buf_.size() && !closed_) {
      ssize_t n = write(fd_, buf_.data() + off, buf_.size() - off);
      if (n >= 0) {
        off += static_cast<size_t>(n);
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EPIPE) {
        closed_ = true;  // the reader went away: not an error (like ripgrep)
      } else {
        buf_.clear();
        throw Error(exitcode::kIoErr, name_ + ": " + ErrnoText(errno));
      }
    }
    buf_.clear();
  }

  bool closed() const override { return closed_; }
  const std::string& name() const override { return name_; }

 private:
  int fd_;
  bool owns_;
  std::string name_;
  bool per_record_ = false;
  bool closed_ = false;
  std::string buf_;
};

}  // namespace

bool IsKafka(std::string_view spec) { return spec.starts_with("kafka:"); }

std::unique_ptr<Source> OpenSource(const StreamOptions& opts, const std::string& spec) {
  if (IsKafka(spec)) {
    std::string topic = spec.substr(6);
    if (topic.empty()) throw Error(exitcode::kUsage, "kafka: needs a topic (kafka:TOPIC)");
    return OpenKafkaSource(opts, topic);
  }
  if (spec.empty() || spec == "-") return std::make_unique<FdSource>(0, "stdin", false);
  int fd = open(spec.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw Error(err == ENOENT   ? exitcode::kNoInput
                : err == EACCES ? exitcode::kNoPerm
                                : exitcode::kIoErr,
                spec + ": " + ErrnoText(err));
  }
  return std::make_unique<FdSource>(fd, spec, true);
}

std::unique_ptr<Source> OpenFdSource(int fd, std::string name) {
  return std::make_unique<FdSource>(fd, std::move(name), true);
}

std::unique_ptr<Sink> OpenSink(const StreamOptions& opts, const std::string& spec, bool append) {
  if (IsKafka(spec)) {
    std::string topic = spec.substr(6);
    if (topic.empty()) throw Error(exitcode::kUsage, "kafka: needs a topic (kafka:TOPIC)");
    return OpenKafkaSink(opts, topic);
  }
  if (spec.empty() || spec == "-") return std::make_unique<FdSink>(1, "stdout", false);
  // Dead letters (appended to) hold raw input: private.
  int fd = OpenOutputFile(spec, append, append ? kPrivateFileMode : kSharedFileMode);
  return std::make_unique<FdSink>(fd, spec, true);
}

// ---------------------------------------------------------------- Rejecter

Rejecter::Rejecter(std::string program, Sink* dead_letter, bool strict, Diag diag)
    : program_(std::move(program)),
      dead_letter_(dead_letter),
      strict_(strict),
      diag_(std::move(diag)) {}

void Rejecter::Reject(std::string_view input, uint64_t line, std::string_view error,
                      std::string_view raw) {
  ++count_;
  std::string where(input);
  where += ':';
  where += std::to_string(line);
  where += ": ";
  where += error;
  if (strict_) throw DataError(where);
  if (diag_) diag_(where);
  if (dead_letter_) {
    Rejected r;
    r.program = program_;
    r.input.assign(input);
    r.line = line;
    r.error.assign(error);
    r.raw.assign(raw);
    r.ts = NowMs();
    buf_.clear();
    AppendJson(buf_, r);
    dead_letter_->Write(r.input, buf_);
  }
}

int Rejecter::ExitCode() const {
  return count_ > 0 && dead_letter_ == nullptr ? exitcode::kDataErr : exitcode::kOk;
}

// ---------------------------------------------------------------- RunLoop

void RunLoop(Source& in, const std::vector<Sink*>& outs, Rejecter& rejecter,
             const std::function<void(const InRecord&)>& handle, LoopOptions lo) {
  in.set_pre_commit([&] {
    if (lo.drain) lo.drain();
    for (Sink* s : outs) s->Flush();
    if (lo.pre_commit) lo.pre_commit();
  });
  uint64_t pending = 0;
  TimeMs last = NowMs();
  if (!in.WaitsForAssignment()) service::Ready();
  in.set_idle([&] {
    if (pending > 0) {
      in.Commit(false);
      pending = 0;
      last = NowMs();
      service::Heartbeat();
    }
    // Last: a heartbeat ends the wait, and the source blocks for input now.
    service::Waiting();
  });
  InRecord rec;
  while (in.Next(rec)) {
    service::Busy();
    try {
      handle(rec);
    } catch (const DataError& e) {
      // What came before it is done first (--strict stops here).
      if (lo.drain) lo.drain();
      rejecter.Reject(*rec.input, rec.line, e.what(), rec.value);
    }
    in.Done();
    ++pending;
    if (!outs.empty() && outs.front()->closed()) break;
    if (pending >= lo.checkpoint_records ||
        ((pending & 63) == 0 && NowMs() - last >= lo.checkpoint_ms)) {
      in.Commit(false);
      pending = 0;
      last = NowMs();
      service::Heartbeat();
    }
  }
  in.Commit(true);
  in.set_idle(nullptr);
  in.set_pre_commit(nullptr);
}

}  // namespace stockwatch
