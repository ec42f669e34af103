// The webhook and file channels, and MakeChannel for every target kind.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "stockwatch/http.h"
#include "stockwatch/notify.h"
#include "stockwatch/smtp.h"
#include "stockwatch/telegram.h"

namespace stockwatch {

namespace {

/// What a webhook's answer means: 2xx delivered; 408/425/429/5xx and
/// transport errors retried (Retry-After honoured); 401/403 fatal
/// (credentials); 404/405/410 fatal (wrong URL); other 4xx permanent.
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
/// several writers share the file). /dev/stderr works.
class FileChannel : public Channel {
 public:
  explicit FileChannel(Target target) : target_(std::move(target)) {
    // stderr itself, not a reopened /dev/stderr: that fails on sockets
    // (journald under systemd) and would not share the file offset.
    fd_ = target_.location == "/dev/stderr"
              ? fcntl(2, F_DUPFD_CLOEXEC, 3)
              : open(target_.location.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      int err = errno;
      throw Error(err == EACCES ? exitcode::kNoPerm : exitcode::kIoErr,
                  target_.spec + ": " + std::strerror(err));
    }
  }
  ~FileChannel() override {
    if (fd_ >= 0) close(fd_);
  }

  const Target& target() const override { return target_; }

  void SendBatch(std::span<const Message* const> msgs,
                 const std::function<void(size_t, SendResult)>& done) override {
    for (size_t i = 0; i < msgs.size(); ++i) {
      std::string text;
      for (const Alert& a : msgs[i]->alerts) text += AlertLine(a) + "\n";
      done(i, Write(text));
    }
  }

 private:
  SendResult Write(const std::string& text) {
    SendResult r;
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = write(fd_, text.data() + off, text.size() - off);
      if (n >= 0) {
        off += static_cast<size_t>(n);
      } else if (errno != EINTR) {
        r.status = errno == EPIPE || errno == EBADF ? SendStatus::kFatal : SendStatus::kRetry;
        r.exit_code = exitcode::kIoErr;
        r.error = std::strerror(errno);
        return r;
      }
    }
    return r;
  }

  Target target_;
  int fd_ = -1;
};

}  // namespace

std::unique_ptr<Channel> MakeChannel(const Target& target, const ChannelOptions& opts,
                                     HttpClient& http) {
  switch (target.kind) {
    case TargetKind::kTelegram: return MakeTelegramChannel(target, opts, http);
    case TargetKind::kEmail: return MakeSmtpChannel(target, opts);
    case TargetKind::kWebhook:
      if (opts.webhook_format != "alert" && opts.webhook_format != "apprise")
        throw Error(exitcode::kUsage, "--webhook-format: must be alert or apprise");
      return std::make_unique<WebhookChannel>(target, opts, http);
    case TargetKind::kFile: return std::make_unique<FileChannel>(target);
  }
  throw Error(exitcode::kSoftware, "unknown target kind");
}

}  // namespace stockwatch
