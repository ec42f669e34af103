#include "stockwatch/channel/smtp.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>

#include <curl/curl.h>

#include "stockwatch/core/log.h"
#include "stockwatch/core/strings.h"
#include "stockwatch/net/http.h"

namespace stockwatch {

namespace {

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool PrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string Base64(std::string_view in) {
  static constexpr char kTab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    out += kTab[(v >> 18) & 63];
    out += kTab[(v >> 12) & 63];
    out += kTab[(v >> 6) & 63];
    out += kTab[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += kTab[(v >> 18) & 63];
    out += kTab[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kTab[(v >> 18) & 63];
    out += kTab[(v >> 12) & 63];
    out += kTab[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string NoNewlines(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '\r' || c == '\n') c = ' ';
  return out;
}

}  // namespace

std::optional<Mailbox> ParseMailbox(std::string_view s) {
  if (s.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
  s = TrimView(s);
  Mailbox m;
  size_t lt = s.rfind('<');
  if (lt != std::string_view::npos) {
    if (s.empty() || s.back() != '>') return std::nullopt;
    m.address.assign(TrimView(s.substr(lt + 1, s.size() - lt - 2)));
    std::string_view name = TrimView(s.substr(0, lt));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
      name = name.substr(1, name.size() - 2);
    m.display.assign(name);
  } else {
    m.address.assign(s);
  }
  if (!IsValidEmail(m.address)) return std::nullopt;
  return m;
}

std::string FormatMailbox(const Mailbox& m) {
  if (m.display.empty()) return "<" + m.address + ">";
  std::string name;
  if (!PrintableAscii(m.display)) {
    name = EncodeHeaderValue(m.display);
  } else if (m.display.find_first_of("()<>[]:;@\\,.\"") != std::string::npos) {
    name = "\"";
    for (char c : m.display) {
      if (c == '"' || c == '\\') name += '\\';
      name += c;
    }
    name += '"';
  } else {
    name = m.display;
  }
  return name + " <" + m.address + ">";
}

std::string FormatRfc5322Date(TimeMs t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t secs = static_cast<time_t>(t / 1000);
  if (t < 0 && t % 1000 != 0) --secs;
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string EncodeHeaderValue(std::string_view s) {
  std::string clean = NoNewlines(s);
  if (PrintableAscii(clean)) return clean;
  // Encoded words of at most 45 input bytes (75 characters encoded), cut on
  // UTF-8 character boundaries.
  std::string out;
  size_t i = 0;
  while (i < clean.size()) {
    size_t n = std::min<size_t>(45, clean.size() - i);
    while (n > 0 && i + n < clean.size() && (static_cast<uint8_t>(clean[i + n]) & 0xC0) == 0x80)
      --n;
    if (n == 0) n = std::min<size_t>(45, clean.size() - i);
    if (!out.empty()) out += ' ';
    out += "=?UTF-8?B?" + Base64(std::string_view(clean).substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

std::string BuildEmail(const EmailParts& p) {
  std::string body;
  body.reserve(p.body.size() + 64);
  for (char c : p.body) {
    if (c == '\r') continue;
    if (c == '\n') body += '\r';
    body += c;
  }
  if (body.size() < 2 || body.compare(body.size() - 2, 2, "\r\n") != 0) body += "\r\n";
  bool ascii = std::all_of(body.begin(), body.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  std::string m;
  m += "Date: " + FormatRfc5322Date(p.date) + "\r\n";
  m += "From: " + FormatMailbox(p.from) + "\r\n";
  m += "To: <" + NoNewlines(p.to) + ">\r\n";
  m += "Subject: " + EncodeHeaderValue(p.subject) + "\r\n";
  m += "Message-ID: <" + NoNewlines(p.message_id) + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += std::string("Content-Transfer-Encoding: ") + (ascii ? "7bit" : "8bit") + "\r\n";
  // RFC 3834: automatic mail; keeps vacation responders from answering.
  m += "Auto-Submitted: auto-generated\r\n";
  for (const std::string& h : p.extra_headers) m += NoNewlines(h) + "\r\n";
  m += "\r\n";
  m += body;
  return m;
}

std::string BuildAlertEmail(const Message& msg, const Mailbox& from, TimeMs now) {
  EmailParts p;
  p.from = from;
  p.to = msg.email;
  p.subject = DigestTitle(msg.alerts);
  p.body = DigestText(msg.alerts) + "\n-- \nstock-notify (stockwatch)\n";
  p.date = now;
  std::string domain = from.address.substr(from.address.rfind('@') + 1);
  // Deterministic: a retried message keeps its id, so receivers can drop copies.
  std::string id = msg.alerts.empty() ? "empty" : msg.alerts.front().id;
  if (msg.alerts.size() > 1) id += "-d" + std::to_string(msg.alerts.size());
  p.message_id = id + ".stockwatch@" + domain;
  std::string ids = "X-Stockwatch-Alert-Ids: ";
  for (size_t i = 0; i < msg.alerts.size(); ++i) {
    if (i > 0) ids += ", ";
    ids += msg.alerts[i].id;
  }
  p.extra_headers.push_back(ids);
  return BuildEmail(p);
}

SendResult ClassifySmtp(int curl_code, long smtp_code, std::string_view error) {
  SendResult r;
  if (curl_code == CURLE_OK) return r;
  std::string what(error.empty() ? curl_easy_strerror(static_cast<CURLcode>(curl_code)) : error);
  if (smtp_code > 0) what += " (SMTP " + std::to_string(smtp_code) + ")";
  r.error = what;
  bool auth_reply = smtp_code == 530 || smtp_code == 534 || smtp_code == 535 || smtp_code == 538;
  if (curl_code == CURLE_LOGIN_DENIED || auth_reply) {
    r.status = SendStatus::kFatal;
    r.exit_code = exitcode::kNoPerm;
    r.error = "authentication failed: " + what +
              " (check the user in --smtp and STOCKWATCH_SMTP_PASSWORD, --smtp-password-file "
              "or --smtp-oauth2-token-file)";
  } else if (curl_code == CURLE_USE_SSL_FAILED) {
    r.status = SendStatus::kFatal;
    r.exit_code = exitcode::kConfig;
    r.error = "the server does not offer STARTTLS: " + what +
              " (use smtps://HOST:465, or --smtp-insecure for a local test server)";
  } else if (curl_code == CURLE_PEER_FAILED_VERIFICATION || curl_code == CURLE_SSL_CERTPROBLEM ||
             curl_code == CURLE_SSL_CACERT_BADFILE || curl_code == CURLE_URL_MALFORMAT ||
             curl_code == CURLE_UNSUPPORTED_PROTOCOL) {
    r.status = SendStatus::kFatal;
    r.exit_code = exitcode::kConfig;
  } else if (smtp_code >= 500 && smtp_code < 600) {
    r.status = SendStatus::kPermanent;  // e.g. 550 no such mailbox
  } else {
    r.status = SendStatus::kRetry;  // 4xx, timeouts, refused or dropped connections
  }
  return r;
}

bool IsLoopbackHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.substr(0, 4) == "127.";
}

namespace {

struct Upload {
  std::string_view data;
  size_t off = 0;
};

/// Whether the server's last EHLO answer offered AUTH. With credentials set
/// and no AUTH offered, libcurl sends the mail without logging in.
struct EhloWatch {
  bool ehlo_sent = false;  // an EHLO went out on the current connection
  bool auth_offered = false;
};

int OnSmtpDebug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  auto* w = static_cast<EhloWatch*>(user);
  const std::string_view line(data, size);
  if (type == CURLINFO_HEADER_OUT && IStartsWith(line, "EHLO")) {
    // A new greeting (after STARTTLS too): only its answer counts.
    w->ehlo_sent = true;
    w->auth_offered = false;
  } else if (type == CURLINFO_HEADER_IN && w->ehlo_sent && line.size() > 4 &&
             line.substr(0, 3) == "250" && (line[3] == '-' || line[3] == ' ') &&
             (IStartsWith(line.substr(4), "AUTH ") || IStartsWith(line.substr(4), "AUTH="))) {
    w->auth_offered = true;
  }
  return 0;  // never logs: what goes out holds the credentials
}

size_t ReadUpload(char* buf, size_t size, size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  size_t len = std::min(size * n, u->data.size() - u->off);
  std::memcpy(buf, u->data.data() + u->off, len);
  u->off += len;
  return len;
}

class SmtpChannel : public Channel {
 public:
  SmtpChannel(Target target, const ChannelOptions& opts, Mailbox from, bool use_tls)
      : target_(std::move(target)),
        url_(opts.smtp_url),
        password_(opts.smtp_password),
        oauth2_(opts.smtp_oauth2_token),
        from_(std::move(from)),
        use_tls_(use_tls),
        timeout_ms_(opts.timeout_ms) {
    easy_ = curl_easy_init();
    if (easy_ == nullptr) throw Error(exitcode::kSoftware, "smtp: curl_easy_init failed");
  }
  ~SmtpChannel() override { curl_easy_cleanup(easy_); }

  const Target& target() const override { return target_; }
  size_t max_digest() const override { return 200; }

  void SendBatch(std::span<const Message* const> msgs,
                 const std::function<void(size_t, SendResult)>& done) override {
    for (size_t i = 0; i < msgs.size(); ++i) done(i, SendOne(*msgs[i]));
  }

 private:
  SendResult SendOne(const Message& m) {
    std::string data = BuildAlertEmail(m, from_, NowMs());
    Upload up{data, 0};
    std::string rcpt = "<" + m.email + ">";
    std::string mail_from = "<" + from_.address + ">";
    curl_slist* rcpts = curl_slist_append(nullptr, rcpt.c_str());
    char errbuf[CURL_ERROR_SIZE] = {};
    // The handle (and with it the connection) is reused between messages.
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_USE_SSL, use_tls_ ? CURLUSESSL_ALL : CURLUSESSL_NONE);
    if (!password_.empty()) curl_easy_setopt(easy_, CURLOPT_PASSWORD, password_.c_str());
    if (!oauth2_.empty()) curl_easy_setopt(easy_, CURLOPT_XOAUTH2_BEARER, oauth2_.c_str());
    curl_easy_setopt(easy_, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(easy_, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(easy_, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy_, CURLOPT_READFUNCTION, ReadUpload);
    curl_easy_setopt(easy_, CURLOPT_READDATA, &up);
    curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data.size()));
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms_));
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf);
    if (!password_.empty() || !oauth2_.empty()) {
      // The debug callback is how libcurl shows the EHLO answer.
      curl_easy_setopt(easy_, CURLOPT_DEBUGFUNCTION, OnSmtpDebug);
      curl_easy_setopt(easy_, CURLOPT_DEBUGDATA, &ehlo_);
      curl_easy_setopt(easy_, CURLOPT_VERBOSE, 1L);
    }
    ehlo_.ehlo_sent = false;  // stays false when the connection is reused
    CURLcode rc = curl_easy_perform(easy_);
    if (ehlo_.ehlo_sent && !ehlo_.auth_offered && !warned_no_auth_) {
      warned_no_auth_ = true;
      log::Warn(
          "warning: {}: {} offers no AUTH: mail goes out without logging in and the {} "
          "is not used (is --smtp the right server?)",
          target_.channel, url_, password_.empty() ? "OAuth 2.0 token" : "SMTP password");
    }
    long code = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(easy_, CURLOPT_MAIL_RCPT, nullptr);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(rcpts);
    return ClassifySmtp(rc, code, errbuf);
  }

  Target target_;
  std::string url_;
  std::string password_;  // secret
  std::string oauth2_;    // secret
  Mailbox from_;
  bool use_tls_;
  int64_t timeout_ms_;
  CURL* easy_ = nullptr;
  EhloWatch ehlo_;
  bool warned_no_auth_ = false;
};

}  // namespace

std::unique_ptr<Channel> MakeSmtpChannel(const Target& target, const ChannelOptions& opts) {
  GlobalCurlInit();
  if (opts.smtp_url.empty())
    throw Error(exitcode::kConfig,
                "mailto: needs --smtp URL (smtp://USER@HOST:587 or smtps://USER@HOST:465)");
  if (opts.mail_from.empty()) throw Error(exitcode::kConfig, "mailto: needs --mail-from ADDRESS");
  auto from = ParseMailbox(opts.mail_from);
  if (!from) throw Error(exitcode::kConfig, "--mail-from: not a valid address: " + opts.mail_from);

  CURLU* u = curl_url();
  std::string scheme, host;
  bool ok = curl_url_set(u, CURLUPART_URL, opts.smtp_url.c_str(), 0) == CURLUE_OK;
  if (ok) {
    char* part = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) == CURLUE_OK) scheme = part;
    curl_free(part);
    part = nullptr;
    if (curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK) host = part;
    curl_free(part);
    part = nullptr;
    // A password in the URL would end up in process listings and shell history.
    if (curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) ok = false;
    curl_free(part);
  }
  curl_url_cleanup(u);
  if (!ok || host.empty())
    throw Error(exitcode::kConfig,
                "--smtp: not a valid URL without a password (smtp://USER@HOST:587; the "
                "password comes from STOCKWATCH_SMTP_PASSWORD or --smtp-password-file)");
  bool use_tls = true;
  if (scheme == "smtp") {
    if (opts.smtp_insecure) {
      if (!IsLoopbackHost(host))
        throw Error(exitcode::kConfig,
                    "--smtp-insecure is only allowed for localhost/127.0.0.1, not " + host);
      use_tls = false;
    }
  } else if (scheme == "smtps") {
    if (opts.smtp_insecure)
      throw Error(exitcode::kConfig, "--smtp-insecure makes no sense with smtps://");
  } else {
    throw Error(exitcode::kConfig, "--smtp: scheme must be smtp:// (STARTTLS) or smtps:// (TLS)");
  }
  return std::make_unique<SmtpChannel>(target, opts, std::move(*from), use_tls);
}

}  // namespace stockwatch
