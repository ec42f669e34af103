#include "flags.h"

#include "stockwatch/core/timeutil.h"

namespace stockwatch {

namespace {

// How each kind of target is reached: Telegram, SMTP, webhooks.
void AddChannelFlags(CLI::App& app, StockNotifyFlags& f) {
  ChannelOptions& c = f.notify.channels;
  app.add_option("--telegram-api", c.telegram_api, "Telegram Bot API base URL")
      ->envname("STOCKWATCH_TELEGRAM_API")
      ->capture_default_str();
  app.add_option("--telegram-token-file", f.telegram_token_file,
                 "File holding the bot token (else STOCKWATCH_TELEGRAM_TOKEN)");
  app.add_option("--telegram-rate", c.telegram_rate, "Telegram messages per second, overall")
      ->capture_default_str();
  app.add_option("--telegram-chat-rate", c.telegram_chat_rate,
                 "Telegram messages per second, per chat")
      ->capture_default_str();
  app.add_option("--smtp", c.smtp_url,
                 "SMTP server: smtp://USER@HOST:587 (STARTTLS) or smtps://USER@HOST:465");
  app.add_option("--smtp-password-file", f.smtp_password_file,
                 "File holding the SMTP password (else STOCKWATCH_SMTP_PASSWORD)");
  app.add_option("--smtp-oauth2-token-file", f.smtp_oauth2_token_file,
                 "File holding an OAuth 2.0 access token for SMTP XOAUTH2 (else "
                 "STOCKWATCH_SMTP_OAUTH2_TOKEN)");
  app.add_flag("--smtp-insecure", c.smtp_insecure,
               "Allow plain smtp:// without STARTTLS, to 127.0.0.1/localhost only (test servers)");
  app.add_option("--mail-from", c.mail_from, "Sender address: ADDR or \"Name <ADDR>\"");
  app.add_option("--webhook-format", c.webhook_format,
                 "Webhook body: alert (the alert record) or apprise")
      ->check(CLI::IsMember({"alert", "apprise"}))
      ->capture_default_str();
}

// Retries, timeouts, parallelism and lingering.
void AddDeliveryFlags(CLI::App& app, StockNotifyFlags& f) {
  NotifyOptions& n = f.notify;
  ChannelOptions& c = n.channels;
  app.add_option("--retries", n.retries, "Retries after a failed attempt, with back-off")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--retry-delay", f.retry_delay,
                 "First back-off delay (doubles per retry, with jitter)")
      ->capture_default_str();
  app.add_option("--retry-for", f.retry_for,
                 "Keep retrying a temporary failure from the outbox this long (later runs too), "
                 "then dead-letter it")
      ->capture_default_str();
  app.add_option("--timeout", f.timeout, "Per-request timeout")->capture_default_str();
  app.add_option("--parallel", c.parallel,
                 "Requests in flight at once per HTTP target (different users)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--linger", f.linger,
                 "After the input ends, keep sending digests that come due for up to this long")
      ->capture_default_str();
}

}  // namespace

void AddStockNotifyFlags(CLI::App& app, StockNotifyFlags& f) {
  NotifyOptions& n = f.notify;
  app.footer(
      "Exit status: 0 ok (every alert sent, batched, a duplicate or in the dead letter), 64 usage, "
      "65 bad input and no --dead-letter, 66 input file missing, 69 undeliverable and no "
      "--dead-letter, or a service unavailable, 70 internal error, 74 I/O error, 75 Kafka "
      "records not acknowledged at stop, 77 credentials "
      "rejected, 78 bad configuration, 130 interrupted, 143 stopped by SIGTERM while waiting on "
      "the database. See stock-notify(1).");
  app.add_option("--to", n.targets,
                 "Target (repeatable): telegram:, mailto:, http(s)://URL (webhook), file:PATH")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  AddChannelFlags(app, f);
  AddDeliveryFlags(app, f);
  f.bot = app.add_subcommand("bot", "Run the Telegram bot (/start, /set N, /status, /stop)");
  f.bot->add_option("--poll-timeout", f.poll_timeout, "getUpdates long-poll timeout")
      ->capture_default_str();
  f.bot->add_flag("--once", f.once, "Handle the pending updates, then exit");
}

int RunStockNotify(StockNotifyFlags& f) {
  NotifyOptions& n = f.notify;
  n.db_url = f.common.DbUrl();
  n.channels.telegram_token = cli::ReadSecret(f.telegram_token_file, "STOCKWATCH_TELEGRAM_TOKEN");
  n.retry_delay_ms = cli::DurationFlag("--retry-delay", f.retry_delay);
  int64_t timeout_ms = cli::DurationFlag("--timeout", f.timeout);
  if (f.bot != nullptr && f.bot->parsed()) {
    BotOptions b;
    b.api = n.channels.telegram_api;
    b.token = n.channels.telegram_token;
    b.poll_timeout_s = cli::DurationFlag("--poll-timeout", f.poll_timeout) / 1000;
    b.once = f.once;
    b.retries = n.retries;
    b.backoff.base_ms = n.retry_delay_ms;
    return RunBotMain(n.db_url, b);
  }
  n.channels.timeout_ms = timeout_ms;
  n.linger_ms = cli::DurationFlag("--linger", f.linger);
  n.retry_for_ms = cli::DurationFlag("--retry-for", f.retry_for);
  n.channels.smtp_password = cli::ReadSecret(f.smtp_password_file, "STOCKWATCH_SMTP_PASSWORD");
  n.channels.smtp_oauth2_token =
      cli::ReadSecret(f.smtp_oauth2_token_file, "STOCKWATCH_SMTP_OAUTH2_TOKEN");
  return RunNotify(
      n, [&](std::string_view msg) { cli::Diag(f.common.program, msg, log::Level::kWarn); });
}

}  // namespace stockwatch
