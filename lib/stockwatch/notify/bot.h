#pragma once
/// `stock-notify bot`: the Telegram bot. It long-polls getUpdates,
/// keeps the update offset in the store (saved after each update, so no
/// update is handled twice or skipped across restarts) and answers:
///   /start   the chat id and whether it is linked; resumes a paused user
///   /set N   that user's interval in seconds (0: every alert at once)
///   /status  link, interval, pause, watches, held alerts
///   /stop    pauses: alerts are held in the outbox, sent as one digest after /start
/// Only a chat linked to a user (stockctl user set EMAIL --telegram-id N)
/// can change anything.
#include <cstdint>
#include <string>
#include <string_view>

#include "stockwatch/channel/message.h"
#include "stockwatch/channel/telegram.h"
#include "stockwatch/store/store.h"

namespace stockwatch {

/// Store key of the next getUpdates offset (last handled update_id + 1).
inline constexpr std::string_view kBotOffsetKey = "telegram.update_offset";
/// Longest interval /set accepts (a week).
inline constexpr int64_t kMaxIntervalS = 7 * 24 * 3600;

/// The bot's answers. The store is its only side effect; no I/O.
class BotLogic {
 public:
  /// `bot_username` (from getMe; "" when unknown): commands addressed to
  /// another bot ("/set@other_bot 60") are ignored.
  BotLogic(Commands& commands, Queries& queries, std::string bot_username);

  /// Handles one update and returns the reply (Telegram HTML), or "" when
  /// there is nothing to answer. /set runs with request id
  /// "telegram-update:ID", so handling an update again changes nothing.
  /// Throws Error when the store fails.
  std::string Handle(const TelegramUpdate& u);

 private:
  std::string NotLinked(int64_t chat_id, std::string_view what) const;
  Commands& commands_;
  Queries& queries_;
  std::string bot_username_;
};

struct BotOptions {
  std::string api = "https://api.telegram.org";
  std::string token;            // secret: never logged
  int64_t poll_timeout_s = 25;  // getUpdates long-poll timeout
  bool once = false;            // handle what is pending, then return
  int retries = 5;              // consecutive failed polls before giving up
  BackoffPolicy backoff;
};

/// Runs the bot until StopRequested() (or, with once, until no update is
/// pending). A SIGTERM cancels the current long poll at once; an update
/// being handled is finished and its offset saved first.
/// Throws Error: 77 the token was rejected, 78 no token, 69 the API stayed
/// unreachable for `retries` polls, or 409 (another poller or a webhook).
void RunBot(const BotOptions& opts, Commands& commands, Queries& queries, HttpClient& http);

}  // namespace stockwatch
