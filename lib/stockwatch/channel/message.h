#pragma once
/// stock-notify's building blocks: delivery targets, message rendering
/// (plain text, Telegram HTML, digests), rate limiting (token bucket),
/// retry back-off, and the Channel interface every transport implements
/// (Telegram, SMTP, webhook, file; tests plug in fakes). Pure logic except
/// for the channels themselves (channels.cc, telegram.cc, smtp.cc).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/core/records.h"

namespace stockwatch {

// ---------------------------------------------------------------- targets

enum class TargetKind { kTelegram, kEmail, kWebhook, kFile };

/// One `--to` target.
struct Target {
  TargetKind kind = TargetKind::kFile;
  std::string spec;      // as given on the command line
  std::string channel;   // "telegram", "email", "webhook", "file" (delivery records)
  std::string key;       // de-duplication and outbox key: "telegram", "email",
                         // "webhook:URL", "file:PATH"
  std::string location;  // the URL (webhook) or path (file); empty otherwise
  /// Which target this is, as shown in delivery records ("target") and
  /// messages: the URL without credentials or query values (webhook), the
  /// spec (file); empty for telegram and email (one of each at most).
  std::string shown;
  /// How errors name it: "telegram", "email", "webhook https://h/x", "file:PATH".
  std::string label;
  /// True for channels that reach a person (telegram, email): the user's
  /// interval, pause and digests apply. Webhooks and files get every alert
  /// at once, one message each.
  bool per_user = false;
};

/// Parses "telegram:", "mailto:", "http(s)://...", "file:PATH".
/// Throws Error(64) naming the spec when it is none of these.
Target ParseTarget(std::string_view spec);

// ---------------------------------------------------------------- rendering

/// Escapes &, <, > and " for Telegram's HTML parse mode.
std::string HtmlEscape(std::string_view s);
/// A price or threshold as written in messages: shortest round-trip ("197.48",
/// "200") of the value rounded to 12 significant digits (no float noise:
/// "209.9895", not "209.98950000000002").
std::string FormatPrice(double v);
/// The band as "[150, 200]", "[150, -]" or "[-, 200]".
std::string FormatBand(const Alert& a);
/// A percentage as messages write it, without the sign: one decimal (two
/// significant digits under 1: "0.52", "0.052"), more when that would round
/// it under `at_least` (a change of 5.04 against a move of 5.04 is "5.04",
/// not "5.0"); three significant digits from a million on ("1e+303", "inf").
std::string FormatPercent(double v, double at_least = 0);

// A band alert (above/below) and a move alert (up/down) read differently:
//   band: "AAPL above 200", "AAPL is above your high of 200: price 201.5 ..."
//   move: "AAPL up 5.2% to 210.4 since the previous close (199.99); your move: 5%",
//         "BTC-USD down 3.1% to 61000 within 1h (from 62950); your move: 3%".
// A move alert without `change` has it worked out from `reference`; without
// either, the percentage is left out (and without `move`, the threshold
// price is named instead).

/// The e-mail subject and digest line head: "AAPL above 200", "AAPL up 5.2% to 210.4".
std::string AlertTitle(const Alert& a);
/// Plain-text body: condition, price, threshold, band and time (a move: the
/// move, price, reference, time, the watch's move and the price that
/// reached it, the band if any); ends in '\n'.
std::string AlertText(const Alert& a);
/// One line for Telegram (HTML parse mode, escaped):
/// "<b>AAPL</b> 201.5 is above your high of 200 (band [150, 200])",
/// "<b>AAPL</b> up 5.2% to 210.4 since the previous close (199.99); your move: 5%".
std::string AlertHtml(const Alert& a);
/// One line for file targets: "TS EMAIL TICKER CONDITION THRESHOLD: price P, band B",
/// a move: "TS EMAIL " and the move sentence of AlertHtml (without markup).
std::string AlertLine(const Alert& a);
/// A watch as messages list it (the bot's /status): the band, the move, or
/// both: "[150, 200]", "up or down 5% since the previous close",
/// "[150, -]; down 3% within 1h".
std::string WatchSummary(const Watch& w);
/// Subject of a message carrying `alerts` (one: AlertTitle; more: "3 alerts: AAPL, MSFT").
std::string DigestTitle(std::span<const Alert> alerts);
/// Body of a message carrying `alerts` (one: AlertText; more: a header and one paragraph each).
std::string DigestText(std::span<const Alert> alerts);
/// Telegram text for `alerts` (one: AlertHtml; more: a bold header and one line each).
std::string DigestHtml(std::span<const Alert> alerts);

// ---------------------------------------------------------------- rate limits, back-off

/// A token bucket: `rate` tokens per second, at most `burst` stored. Times
/// are milliseconds on any monotonic scale (callers pass their clock).
class TokenBucket {
 public:
  TokenBucket(double rate_per_s, double burst);
  /// Takes one token if there is one at `now_ms`.
  bool TryTake(double now_ms);
  /// Milliseconds from `now_ms` until a token is available (0: now).
  double WaitMs(double now_ms) const;
  /// Empties the bucket until `until_ms` (a server said "retry after").
  void BlockUntil(double until_ms);

 private:
  void Refill(double now_ms);
  double rate_per_ms_;
  double burst_;
  double tokens_;
  double last_ms_ = -1;
  double blocked_until_ms_ = 0;
};

struct BackoffPolicy {
  int64_t base_ms = 500;    // delay before the first retry (before jitter)
  int64_t max_ms = 60'000;  // cap
};

/// Delay before retry number `retry` (1 = the first retry): exponential,
/// base * 2^(retry-1) capped at max, with "equal jitter" (half fixed, half
/// `u` * half, u in [0, 1)) so that many clients do not retry in lock-step.
/// A server's hint (Retry-After, Telegram retry_after) is a lower bound.
int64_t BackoffMs(const BackoffPolicy& p, int retry, double u,
                  std::optional<int64_t> server_hint_ms = std::nullopt);

// ---------------------------------------------------------------- channels

/// One message to one person or endpoint: a single alert, or a digest.
struct Message {
  std::string email;               // the user (ordering and rate key)
  std::optional<int64_t> chat_id;  // Telegram chat (from the store, else the alert)
  std::vector<Alert> alerts;       // in order; more than one: a digest
  std::vector<std::string> raws;   // each alert's JSON as received (webhook body)
};

enum class SendStatus {
  kOk,         // delivered
  kRetry,      // temporary (timeout, 5xx, 429, dropped connection): try again
  kPermanent,  // this message can never be delivered (blocked, chat not found, 550)
  kFatal,      // the channel itself is unusable (credentials rejected, TLS
               // unavailable): every message on it fails until restarted
};

struct SendResult {
  SendStatus status = SendStatus::kOk;
  std::optional<int64_t> retry_after_ms;  // the server's hint (kRetry)
  bool rate_limited = false;              // the answer was 429 Too Many Requests (kRetry)
  std::string error;                      // what went wrong, for logs and the dead letter
  int exit_code = 0;                      // kFatal: 77 credentials, 78 configuration
};

/// A transport. Used from one thread.
class Channel {
 public:
  virtual ~Channel() = default;
  virtual const Target& target() const = 0;
  /// Most alerts one digest message may carry (longer digests are split).
  virtual size_t max_digest() const { return 50; }
  /// Most messages SendBatch takes at once (to different users).
  virtual size_t max_parallel() const { return 1; }
  /// Proactive rate limiting: true when `m` may be sent at `now_ms` (and
  /// the tokens are taken); otherwise false with *wait_ms set.
  virtual bool Admit(const Message& m, TimeMs now_ms, int64_t* wait_ms) {
    (void)m, (void)now_ms, (void)wait_ms;
    return true;
  }
  /// Called after a 429 with retry_after for `m` (e.g. to slow its chat down).
  virtual void Throttled(const Message& m, TimeMs until_ms) { (void)m, (void)until_ms; }
  /// Called once the answer to `m` arrived (at `at_ms`, or later), whatever
  /// it said: a limit the server measures between the messages it handled
  /// is kept from there, not from when the request left.
  virtual void Answered(const Message& m, TimeMs at_ms) { (void)m, (void)at_ms; }
  /// What the target holds after the messages sent so far, as a mark that
  /// is stored with their delivery records in one transaction (the file
  /// target: the file's identity and size); nullopt: nothing to mark.
  virtual std::optional<std::string> Checkpoint() const { return std::nullopt; }
  /// At start, given the mark an earlier run stored: undoes what was sent
  /// after it (written, but its delivery never recorded, so it will be sent
  /// again), where the target can. Returns what it did, for the log ("": nothing).
  virtual std::string Rollback(std::string_view mark) {
    (void)mark;
    return {};
  }
  /// Sends every message (possibly concurrently) and calls done(i, result)
  /// once for each, in any order. Never throws for delivery failures.
  virtual void SendBatch(std::span<const Message* const> msgs,
                         const std::function<void(size_t, SendResult)>& done) = 0;
};

class HttpClient;

/// Options of the built-in channels.
struct ChannelOptions {
  // Telegram
  std::string telegram_api = "https://api.telegram.org";
  std::string telegram_token;     // secret: never logged
  double telegram_rate = 29;      // messages/s overall (a little under Telegram's 30)
  double telegram_chat_rate = 1;  // messages/s per chat
  // SMTP
  std::string smtp_url;           // smtp://user@host:587 or smtps://user@host:465
  std::string smtp_password;      // secret
  std::string smtp_oauth2_token;  // secret (XOAUTH2 bearer)
  bool smtp_insecure = false;     // plain SMTP to 127.0.0.1/localhost only
  std::string mail_from;          // "Name <addr>" or "addr"
  // Webhook
  std::string webhook_format = "alert";  // "alert" (the alert record) or "apprise"
  // HTTP
  int64_t timeout_ms = 10'000;
  int parallel = 16;  // concurrent requests per channel
};

/// Builds the channel for `target`. `http` (shared, used from the same
/// thread as the channel) serves Telegram and webhooks. Throws Error(78)
/// when the target needs something missing (bot token, --smtp, --mail-from).
std::unique_ptr<Channel> MakeChannel(const Target& target, const ChannelOptions& opts,
                                     HttpClient& http);

/// The Apprise JSON notification for `alerts` ({"version","title","message","type"}).
std::string AppriseJson(std::span<const Alert> alerts);

}  // namespace stockwatch
