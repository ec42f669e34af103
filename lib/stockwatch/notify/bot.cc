#include "stockwatch/notify/bot.h"

#include <charconv>
#include <chrono>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "stockwatch/core/log.h"
#include "stockwatch/core/signals.h"
#include "stockwatch/net/http.h"
#include "stockwatch/notify/engine.h"
#include "stockwatch/ops/service.h"

namespace stockwatch {

namespace {

std::string IntervalText(int64_t s) {
  if (s <= 0) return "every alert is sent at once";
  return "at most one message every " + std::to_string(s) +
         " s; alerts in between arrive together as one digest";
}

/// "/set" argument: whole seconds ("60") or a duration ("5m", "1h").
std::optional<int64_t> ParseIntervalArg(std::string_view arg) {
  if (arg.empty()) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), v);
  if (ec == std::errc() && p == arg.data() + arg.size())
    return v >= 0 ? std::optional(v) : std::nullopt;
  auto ms = ParseDurationMs(arg);
  if (!ms || *ms % 1000 != 0) return std::nullopt;
  return *ms / 1000;
}

constexpr std::string_view kHelp =
    "Commands:\n"
    "/start - show this chat's id and link; resume alerts\n"
    "/set SECONDS - at most one message per interval, like 300 or 5m (0: every alert at once)\n"
    "/status - your link, interval and watches\n"
    "/stop - pause alerts (they are kept and sent after /start)";

/// /set: the user's interval, once per Telegram update (a repeat changes nothing).
std::string SetInterval(Commands& commands, const std::string& email, int64_t value,
                        int64_t update_id) {
  Outcome o = commands.Execute("telegram-update:" + std::to_string(update_id), [&](CommandTx& tx) {
    tx.SetUser(email, std::nullopt, value);
    Outcome ok;
    ok.output = "interval " + std::to_string(value);
    return ok;
  });
  if (o.exit_code != 0) return "Could not change the interval: " + HtmlEscape(o.error);
  return "OK: " + IntervalText(value) + ".";
}

/// /status: the link, the pause, the interval, the watches and what is held.
std::string StatusText(Queries& queries, const User& user, int64_t chat) {
  auto paused = queries.GetValue(PausedKey(user.email));
  std::string s = "Linked to " + HtmlEscape(user.email) + " (chat <code>" + std::to_string(chat) +
                  "</code>).\n";
  s += paused && *paused == "1" ? "Paused (send /start to resume).\n" : "Alerts are on.\n";
  s += "Interval: " + IntervalText(user.interval) + ".\n";
  std::vector<Watch> watches = queries.Watches(user.email, std::nullopt);
  if (watches.empty()) {
    s += "No watches yet.";
  } else {
    s += "Watches:";
    for (const Watch& w : watches)
      s += "\n<b>" + HtmlEscape(w.ticker) + "</b> " + HtmlEscape(WatchSummary(w));
  }
  size_t held = queries.Outbox(user.email).size();
  if (held > 0) s += "\nHeld alerts: " + std::to_string(held) + ".";
  return s;
}

}  // namespace

BotLogic::BotLogic(Commands& commands, Queries& queries, std::string bot_username)
    : commands_(commands), queries_(queries), bot_username_(std::move(bot_username)) {}

std::string BotLogic::NotLinked(int64_t chat_id, std::string_view what) const {
  std::string id = std::to_string(chat_id);
  return std::string(what) + "This chat (id <code>" + id +
         "</code>) is not linked to a stockwatch user. To link it, run:\n<code>stockctl user set "
         "YOUR-EMAIL --telegram-id " +
         id + "</code>\nthen send /start again.";
}

std::string BotLogic::Handle(const TelegramUpdate& u) {
  if (!u.chat_id || u.text.empty()) return {};
  int64_t chat = *u.chat_id;
  auto cmd = ParseBotCommand(u.text);
  if (!cmd) {
    // Plain chatter in a group is not for us; in a private chat, help.
    return u.chat_type == "private" || u.chat_type.empty() ? std::string(kHelp) : std::string();
  }
  if (!cmd->mention.empty() && !bot_username_.empty() && !IEquals(cmd->mention, bot_username_))
    return {};  // addressed to another bot in the same group
  std::optional<User> user = queries_.FindUserByTelegram(chat);
  std::string email = user ? HtmlEscape(user->email) : std::string();

  if (cmd->name == "start") {
    if (!user) return NotLinked(chat, "Hello! ");
    auto paused = queries_.GetValue(PausedKey(user->email));
    bool was_paused = paused && *paused == "1";
    if (was_paused) commands_.PutValue(PausedKey(user->email), "0");
    return "This chat (id <code>" + std::to_string(chat) + "</code>) is linked to " + email +
           ". Alerts are on: " + IntervalText(user->interval) + "." +
           (was_paused ? " Alerts held while paused follow as one digest." : "");
  }
  if (cmd->name == "set") {
    if (!user) return NotLinked(chat, "Nothing changed. ");
    auto secs = ParseIntervalArg(cmd->args);
    if (!secs || *secs > kMaxIntervalS)
      return "Usage: /set SECONDS, whole seconds or a duration like 90s, 5m or 1h, at most " +
             std::to_string(kMaxIntervalS) +
             " s (a week); 0: every alert at once. Example: /set 5m";
    return SetInterval(commands_, user->email, *secs, u.update_id);
  }
  if (cmd->name == "stop") {
    if (!user) return NotLinked(chat, "Nothing to stop. ");
    commands_.PutValue(PausedKey(user->email), "1");
    return "Paused. Alerts are kept, not dropped: they arrive as one digest after /start.";
  }
  if (cmd->name == "status") {
    if (!user) return NotLinked(chat, "");
    return StatusText(queries_, *user, chat);
  }
  return std::string(kHelp);
}

// ---------------------------------------------------------------- the poll loop

namespace {

/// One request that a stop request cancels at once.
HttpResponse PerformAbortable(HttpClient& http, const HttpRequest& req) {
  bool started = false;
  HttpResponse out;
  out.error = "aborted";
  http.PerformEach(
      [&](HttpRequest& r) {
        if (started) return HttpClient::Next::kDone;
        r = req;
        started = true;
        return HttpClient::Next::kStart;
      },
      [&](size_t, HttpResponse&& resp) { out = std::move(resp); }, [] { return StopRequested(); });
  return out;
}

/// Sleeps up to `ms`, waking early on a stop request.
void SleepMs(int64_t ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!StopRequested() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(ms, 50)));
}

class BotRunner {
 public:
  BotRunner(const BotOptions& o, Commands& c, Queries& q, HttpClient& h)
      : opts_(o), commands_(c), queries_(q), http_(h) {}

  void Run() {
    if (opts_.token.empty())
      throw Error(exitcode::kConfig,
                  "bot: no bot token (set STOCKWATCH_TELEGRAM_TOKEN or --telegram-token-file)");
    std::string username = GetMe();
    if (StopRequested()) return;
    log::Info("bot: polling as @{}", username);
    BotLogic logic(commands_, queries_, username);
    int64_t offset = 0;
    if (auto v = queries_.GetValue(kBotOffsetKey))
      std::from_chars(v->data(), v->data() + v->size(), offset);
    while (!StopRequested()) {
      service::Heartbeat();
      int64_t timeout_s = opts_.once ? 0 : opts_.poll_timeout_s;
      HttpRequest req;
      req.url = TelegramMethodUrl(opts_.api, opts_.token, "getUpdates") +
                "?offset=" + std::to_string(offset) + "&timeout=" + std::to_string(timeout_s) +
                "&allowed_updates=" + UrlEncode("[\"message\"]");
      req.timeout_ms = (timeout_s + 15) * 1000;
      HttpResponse r = PerformAbortable(http_, req);
      if (StopRequested()) return;
      std::optional<std::vector<TelegramUpdate>> updates = Updates(r);
      if (!updates) continue;
      for (const TelegramUpdate& u : *updates) {
        if (u.update_id < offset) continue;  // handled before a restart
        std::string reply = logic.Handle(u);
        log::Info("bot: update {} from chat {}: {}", u.update_id, u.chat_id.value_or(0),
                  u.text.substr(0, 40));
        if (!reply.empty()) Reply(*u.chat_id, reply);
        offset = u.update_id + 1;
        commands_.PutValue(kBotOffsetKey, std::to_string(offset));
        // Stop between updates: the one at hand is finished and saved.
        if (StopRequested()) return;
      }
      if (opts_.once && updates->empty()) return;
    }
  }

 private:
  /// The updates of a getUpdates answer, or nullopt after a retryable
  /// failure (having waited). Throws when the bot cannot go on.
  std::optional<std::vector<TelegramUpdate>> Updates(const HttpResponse& r) {
    SendResult res = ClassifyTelegram(r);
    if (res.status == SendStatus::kOk) {
      try {
        std::vector<TelegramUpdate> updates = ParseUpdates(r.body);
        failures_ = 0;
        return updates;
      } catch (const DataError& e) {
        res.status = SendStatus::kRetry;
        res.error = e.what();
      }
    }
    Failed(r, res, "getUpdates");
    return std::nullopt;
  }

  /// The bot's name from getMe ("" when the answer has none).
  std::string GetMe() {
    while (!StopRequested()) {
      HttpRequest req;
      req.url = TelegramMethodUrl(opts_.api, opts_.token, "getMe");
      HttpResponse r = PerformAbortable(http_, req);
      if (StopRequested()) break;
      SendResult res = ClassifyTelegram(r);
      if (res.status != SendStatus::kOk) {
        Failed(r, res, "getMe");
        continue;
      }
      failures_ = 0;
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (j.is_object() && j.contains("result") && j["result"].is_object() &&
          j["result"].contains("username") && j["result"]["username"].is_string())
        return j["result"]["username"].get<std::string>();
      return {};
    }
    return {};
  }

  /// A failed poll: throws for what waiting cannot mend (token rejected,
  /// another poller, too many failures in a row), else sleeps the back-off.
  void Failed(const HttpResponse& r, const SendResult& res, std::string_view what) {
    if (res.status == SendStatus::kFatal) throw Error(res.exit_code, "bot: " + res.error);
    if (r.status == 409)
      throw Error(exitcode::kUnavailable,
                  "bot: " + res.error +
                      " (another stock-notify bot polls with this token, or a webhook is set)");
    if (res.status == SendStatus::kPermanent)
      throw Error(exitcode::kUnavailable, "bot: " + std::string(what) + ": " + res.error);
    if (++failures_ > opts_.retries)
      throw Error(exitcode::kUnavailable, "bot: " + std::string(what) + " failed " +
                                              std::to_string(failures_) + " times: " + res.error);
    int64_t wait = BackoffMs(opts_.backoff, failures_, Random(), res.retry_after_ms);
    log::Warn("bot: {}: {}; retrying in {} ms", what, res.error, wait);
    SleepMs(wait);
  }

  void Reply(int64_t chat, const std::string& html) {
    HttpRequest req;
    req.method = "POST";
    req.url = TelegramMethodUrl(opts_.api, opts_.token, "sendMessage");
    req.headers = {"Content-Type: application/json"};
    req.body = TelegramSendBody(chat, html);
    for (int attempt = 1;; ++attempt) {
      HttpResponse r = http_.Perform(req);
      SendResult res = ClassifyTelegram(r);
      if (res.status == SendStatus::kOk) return;
      if (res.status == SendStatus::kFatal) throw Error(res.exit_code, "bot: " + res.error);
      if (res.status == SendStatus::kPermanent || attempt > opts_.retries || StopRequested()) {
        log::Warn("bot: reply to chat {} not delivered: {}", chat, res.error);
        return;
      }
      SleepMs(BackoffMs(opts_.backoff, attempt, Random(), res.retry_after_ms));
    }
  }

  double Random() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  const BotOptions& opts_;
  Commands& commands_;
  Queries& queries_;
  HttpClient& http_;
  int failures_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

void RunBot(const BotOptions& opts, Commands& commands, Queries& queries, HttpClient& http) {
  BotRunner(opts, commands, queries, http).Run();
}

}  // namespace stockwatch
