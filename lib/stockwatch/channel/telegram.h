#pragma once
/// Telegram Bot API: answers (ok / error_code / parameters.retry_after),
/// the sendMessage channel with proactive rate limits, and the pieces of
/// the bot's long poll (updates, commands). The bot itself is in
/// notify/bot.h.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/channel/message.h"
#include "stockwatch/net/http.h"

namespace stockwatch {

/// A Bot API answer: {"ok":true,"result":...} or
/// {"ok":false,"error_code":429,"description":"...","parameters":{"retry_after":35}}.
struct TelegramAnswer {
  bool parsed = false;  // false: not a Bot API JSON object
  bool ok = false;
  int error_code = 0;
  std::string description;
  std::optional<int64_t> retry_after_s;
  std::optional<int64_t> migrate_to_chat_id;
};

/// Parses an answer body; never throws (parsed=false for anything else).
TelegramAnswer ParseTelegramAnswer(std::string_view body);

/// What a sendMessage response means for delivery: ok; retry (transport
/// errors, 429 with retry_after, 5xx); permanent (400 chat not found, 403
/// blocked, other 4xx); fatal (401: the token was rejected, exit 77; 404:
/// wrong token or API URL, exit 78).
SendResult ClassifyTelegram(const HttpResponse& r);

/// The sendMessage JSON body: HTML parse mode, link previews off.
std::string TelegramSendBody(int64_t chat_id, std::string_view html);

/// "BASE/botTOKEN/METHOD" (BASE without a trailing slash).
std::string TelegramMethodUrl(std::string_view api_base, std::string_view token,
                              std::string_view method);

/// The `telegram:` channel: sendMessage to each message's chat, with token
/// buckets (overall and per chat) so that 429s stay rare. A chat's next
/// message leaves no earlier than 1/telegram_chat_rate plus 5 % after the
/// answer to its last one (Telegram measures from when it handled that).
std::unique_ptr<Channel> MakeTelegramChannel(const Target& target, const ChannelOptions& opts,
                                             HttpClient& http);

/// One incoming update, reduced to what the bot needs.
struct TelegramUpdate {
  int64_t update_id = 0;
  std::optional<int64_t> chat_id;  // absent for updates without a message
  std::string chat_type;           // "private", "group", "supergroup", "channel"
  std::string text;                // the message text ("" when none)
};

/// Parses a getUpdates answer. Throws DataError when it is not a Bot API
/// answer or ok is false (the message names error_code and description).
std::vector<TelegramUpdate> ParseUpdates(std::string_view body);

/// A bot command: "/set@my_bot 60" -> {name "set", mention "my_bot", args "60"}.
struct BotCommand {
  std::string name;     // lower-case, without the slash
  std::string mention;  // the @bot suffix, "" when none
  std::string args;     // the rest, trimmed
};
/// Parses a message text; nullopt when it does not start with '/'.
std::optional<BotCommand> ParseBotCommand(std::string_view text);

}  // namespace stockwatch
