// The webhook and file channels, and MakeChannel for every target kind.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "stockwatch/channel/message.h"
#include "stockwatch/channel/smtp.h"
#include "stockwatch/channel/telegram.h"
#include "stockwatch/core/files.h"
#include "stockwatch/core/log.h"
#include "stockwatch/net/http.h"

namespace stockwatch {

namespace {

/// What a webhook's answer means: 2xx delivered; 408/425/429/5xx and
/// transport errors retried (Retry-After honoured); 401/403 fatal
/// (credentials); 404/405/410 fatal (wrong URL); other 4xx permanent.
// What is read of a webhook's answer (its status is what counts).
constexpr size_t kWebhookMaxBody = 4096;

SendResult ClassifyWebhook(const HttpResponse& r) {
  SendResult res;
  if (r.status >= 200 && r.status < 300) return res;
  if (r.status == 0) {
    res.status = SendStatus::kRetry;
    res.error = r.error.empty() ? "no answer" : r.error;
    return res;
  }
  res.error = "HTTP " + std::to_string(r.status);
  if (r.status == 408 || r.status == 425 || r.status == 429 || r.status >= 500) {
    res.status = SendStatus::kRetry;
    res.retry_after_ms = r.retry_after_ms;
    res.rate_limited = r.status == 429;
  } else if (r.status == 401 || r.status == 403) {
    res.status = SendStatus::kFatal;
    res.exit_code = exitcode::kNoPerm;
    res.error += ": the webhook refused the request (credentials?)";
  } else if (r.status == 404 || r.status == 405 || r.status == 410) {
    res.status = SendStatus::kFatal;
    res.exit_code = exitcode::kConfig;
    res.error += ": no webhook at this URL";
  } else {
    res.status = SendStatus::kPermanent;
  }
  return res;
}

class WebhookChannel : public Channel {
 public:
  WebhookChannel(Target target, const ChannelOptions& opts, HttpClient& http)
      : target_(std::move(target)),
        http_(http),
        apprise_(opts.webhook_format == "apprise"),
        timeout_ms_(opts.timeout_ms),
        parallel_(static_cast<size_t>(std::max(1, opts.parallel))) {}

  const Target& target() const override { return target_; }
  size_t max_parallel() const override { return parallel_; }

  void SendBatch(std::span<const Message* const> msgs,
                 const std::function<void(size_t, SendResult)>& done) override {
    std::vector<HttpRequest> reqs(msgs.size());
    for (size_t i = 0; i < msgs.size(); ++i) {
      const Message& m = *msgs[i];
      HttpRequest& q = reqs[i];
      q.method = "POST";
      q.url = target_.location;
      q.timeout_ms = timeout_ms_;
      q.headers = {"Content-Type: application/json"};
      // Receivers can drop a copy that a lost answer made us send again.
      if (!m.alerts.empty()) q.headers.push_back("Idempotency-Key: " + m.alerts.front().id);
      q.body = apprise_ ? AppriseJson(m.alerts) : (m.raws.empty() ? std::string() : m.raws.front());
      // Only the status matters: a body that never ends must neither eat
      // the memory nor keep the delivery from being judged.
      q.max_body = kWebhookMaxBody;
      q.truncate_body = true;
    }
    http_.PerformAll(reqs, [&](size_t i, HttpResponse&& r) { done(i, ClassifyWebhook(r)); });
  }

 private:
  Target target_;
  HttpClient& http_;
  bool apprise_;
  int64_t timeout_ms_;
  size_t parallel_;
};

/// Appends one rendered line per alert (O_APPEND: whole lines even when
/// several writers share the file). /dev/stderr works. The file is opened
/// with OpenOutputFile: a symbolic link owned by another user is refused.
/// Appends each message's lines to a file. A regular file is also a
/// journal: Checkpoint() names its size after the last write, stored with
/// the delivery records, and Rollback() cuts off what a crashed run wrote
/// after its last checkpoint (delivered again, so in the file once). That
/// needs the file to itself: it holds an exclusive flock(2) on it, and
/// without the lock (another stock-notify writes there) it only appends.
class FileChannel : public Channel {
 public:
  explicit FileChannel(Target target) : target_(std::move(target)) {
    // stderr itself, not a reopened /dev/stderr: that fails on sockets
    // (journald under systemd) and would not share the file offset.
    if (target_.location == "/dev/stderr") {
      fd_ = fcntl(2, F_DUPFD_CLOEXEC, 3);
      if (fd_ < 0) {
        int err = errno;
        throw Error(exitcode::kIoErr, target_.spec + ": " + std::strerror(err));
      }
    } else {
      try {
        fd_ = OpenOutputFile(target_.location, /*append=*/true, kSharedFileMode);
      } catch (const Error& e) {
        // The message starts with the path: name the target as the user wrote it.
        std::string_view what = e.what();
        if (what.substr(0, target_.location.size()) == target_.location)
          what.remove_prefix(target_.location.size());
        throw Error(e.exit_code(), target_.spec + std::string(what));
      }
    }
    struct stat st {};
    if (fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
      if (flock(fd_, LOCK_EX | LOCK_NB) == 0) {
        journal_ = true;
        dev_ = static_cast<uint64_t>(st.st_dev);
        ino_ = static_cast<uint64_t>(st.st_ino);
        end_ = static_cast<int64_t>(st.st_size);
      } else {
        log::Warn(
            "{}: another process holds a lock on it: appending only (a crash may repeat "
            "the last lines written)",
            target_.spec);
      }
    }
  }
  ~FileChannel() override {
    if (fd_ >= 0) close(fd_);
  }

  const Target& target() const override { return target_; }
  /// One write(2) for the whole batch: the file does not care who is next.
  size_t max_parallel() const override { return 4096; }

  void SendBatch(std::span<const Message* const> msgs,
                 const std::function<void(size_t, SendResult)>& done) override {
    std::string text;
    for (const Message* m : msgs)
      for (const Alert& a : m->alerts) {
        text += AlertLine(a);
        text += '\n';
      }
    SendResult r = Write(text);
    for (size_t i = 0; i < msgs.size(); ++i) done(i, r);
  }

  std::optional<std::string> Checkpoint() const override {
    if (!journal_) return std::nullopt;
    return std::to_string(dev_) + ":" + std::to_string(ino_) + ":" + std::to_string(end_);
  }

  std::string Rollback(std::string_view mark) override {
    uint64_t dev = 0, ino = 0;
    int64_t end = 0;
    if (!journal_ || !ParseMark(mark, dev, ino, end) || dev != dev_ || ino != ino_) {
      return {};  // another file now (rotated, replaced): nothing of ours to undo
    }
    struct stat st {};
    if (fstat(fd_, &st) != 0 || st.st_size <= end) return {};
    if (ftruncate(fd_, end) != 0) {
      return "cannot cut the " + std::to_string(st.st_size - end) +
             " byte(s) an earlier run wrote but did not record (they may appear twice): " +
             std::strerror(errno);
    }
    end_ = end;
    return "cut the last " + std::to_string(st.st_size - end) +
           " byte(s): an earlier run wrote them but stopped before recording the deliveries, "
           "which are made again";
  }

 private:
  static bool ParseMark(std::string_view mark, uint64_t& dev, uint64_t& ino, int64_t& end) {
    const char* p = mark.data();
    const char* e = p + mark.size();
    auto r1 = std::from_chars(p, e, dev);
    if (r1.ec != std::errc() || r1.ptr == e || *r1.ptr != ':') return false;
    auto r2 = std::from_chars(r1.ptr + 1, e, ino);
    if (r2.ec != std::errc() || r2.ptr == e || *r2.ptr != ':') return false;
    auto r3 = std::from_chars(r2.ptr + 1, e, end);
    return r3.ec == std::errc() && r3.ptr == e && end >= 0;
  }

  SendResult Write(const std::string& text) {
    SendResult r;
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = write(fd_, text.data() + off, text.size() - off);
      if (n >= 0) {
        off += static_cast<size_t>(n);
      } else if (errno != EINTR) {
        int err = errno;
        // No half-written batch: it is written again in full on retry.
        if (journal_ && off > 0 && ftruncate(fd_, end_) != 0) journal_ = false;
        r.status = err == EPIPE || err == EBADF ? SendStatus::kFatal : SendStatus::kRetry;
        r.exit_code = exitcode::kIoErr;
        r.error = std::strerror(err);
        return r;
      }
    }
    if (journal_) {
      off_t at = lseek(fd_, 0, SEEK_CUR);  // O_APPEND: the end after our write
      if (at >= 0) end_ = static_cast<int64_t>(at);
    }
    return r;
  }

  Target target_;
  int fd_ = -1;
  bool journal_ = false;  // a regular file we hold the lock of
  uint64_t dev_ = 0, ino_ = 0;
  int64_t end_ = 0;  // its size after our last write
};

}  // namespace

std::unique_ptr<Channel> MakeChannel(const Target& target, const ChannelOptions& opts,
                                     HttpClient& http) {
  switch (target.kind) {
    case TargetKind::kTelegram:
      return MakeTelegramChannel(target, opts, http);
    case TargetKind::kEmail:
      return MakeSmtpChannel(target, opts);
    case TargetKind::kWebhook:
      if (opts.webhook_format != "alert" && opts.webhook_format != "apprise")
        throw Error(exitcode::kUsage, "--webhook-format: must be alert or apprise");
      return std::make_unique<WebhookChannel>(target, opts, http);
    case TargetKind::kFile:
      return std::make_unique<FileChannel>(target);
  }
  throw Error(exitcode::kSoftware, "unknown target kind");
}

}  // namespace stockwatch
