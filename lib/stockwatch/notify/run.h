#pragma once
/// stock-notify's two modes as library calls: RunNotify (alert records in,
/// delivery records out) and RunBotMain (the Telegram bot). The tool's
/// main.cc only parses flags and reads secrets.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/channel/message.h"
#include "stockwatch/notify/bot.h"
#include "stockwatch/stream/stream.h"

namespace stockwatch {

struct NotifyOptions {
  StreamOptions stream;              // -i -o --dead-letter -b -G -X -F --strict
  std::string db_url;                // the store (dedup, outbox, users)
  std::vector<std::string> targets;  // --to, repeatable
  ChannelOptions channels;
  int retries = 5;               // --retries
  int64_t retry_delay_ms = 500;  // --retry-delay: first back-off
  int64_t retry_max_delay_ms = 60'000;
  /// --retry-for: how long after its first failure a temporarily failing
  /// message is still retried from the outbox before the dead letter.
  int64_t retry_for_ms = 24LL * 3600 * 1000;
  /// After the input ends, keep delivering digests that come due for up to
  /// this long (--linger); 0: leave held alerts in the outbox for the next run.
  int64_t linger_ms = 0;
  /// How long a checkpoint waits for messages in flight before moving the
  /// rest to the outbox (so Kafka offsets can be committed).
  int64_t flush_budget_ms = 10'000;
};

/// Reads alert records, delivers each to every target and writes one
/// delivery record per alert and target (other record types pass through).
/// `diag` gets "INPUT:LINE: what is wrong" lines (the caller prefixes the
/// program name). Returns the exit code: 77/78 when a target became
/// unusable (credentials rejected, TLS missing), 65 bad input without a
/// dead letter, 69 undeliverable alerts without a dead letter, 75 when
/// temporary failures outlived the retries and left alerts in the outbox
/// for a later attempt, else 0.
/// Throws Error for bad options (64/78), an unreachable store (69), I/O (74).
int RunNotify(const NotifyOptions& opts, const std::function<void(std::string_view)>& diag);

/// Opens the store and runs the bot (notify/bot.h). Returns 0 after a
/// stop request or, with once, when nothing is pending; throws Error.
int RunBotMain(const std::string& db_url, const BotOptions& bot);

}  // namespace stockwatch
