#include "stockwatch/channel/telegram.h"

#include <algorithm>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace stockwatch {

TelegramAnswer ParseTelegramAnswer(std::string_view body) {
  TelegramAnswer a;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean()) return a;
  a.parsed = true;
  a.ok = j["ok"].get<bool>();
  if (auto it = j.find("error_code"); it != j.end() && it->is_number_integer())
    a.error_code = it->get<int>();
  if (auto it = j.find("description"); it != j.end() && it->is_string())
    a.description = it->get<std::string>();
  if (auto it = j.find("parameters"); it != j.end() && it->is_object()) {
    if (auto r = it->find("retry_after"); r != it->end() && r->is_number_integer())
      a.retry_after_s = r->get<int64_t>();
    if (auto m = it->find("migrate_to_chat_id"); m != it->end() && m->is_number_integer())
      a.migrate_to_chat_id = m->get<int64_t>();
  }
  return a;
}

SendResult ClassifyTelegram(const HttpResponse& r) {
  SendResult res;
  if (r.status == 0) {
    res.status = SendStatus::kRetry;
    res.error = r.error.empty() ? "no answer" : r.error;
    return res;
  }
  TelegramAnswer a = ParseTelegramAnswer(r.body);
  if (a.parsed && a.ok) return res;
  int code = a.parsed && a.error_code != 0 ? a.error_code : static_cast<int>(r.status);
  std::string what =
      a.parsed && !a.description.empty() ? a.description : "HTTP " + std::to_string(r.status);
  res.error = what + " (" + std::to_string(code) + ")";
  if (!a.parsed && r.status == 200) {
    res.status = SendStatus::kRetry;  // a proxy's garbage: try again
    res.error = "unreadable answer (HTTP 200)";
  } else if (code == 429) {
    res.status = SendStatus::kRetry;
    res.rate_limited = true;
    if (a.retry_after_s) {
      // Clamped: a day is already absurd, and a huge value would overflow.
      res.retry_after_ms = std::clamp<int64_t>(*a.retry_after_s, 0, 86'400) * 1000;
    } else {
      res.retry_after_ms = r.retry_after_ms;
    }
  } else if (code >= 500 || code == 408) {
    res.status = SendStatus::kRetry;
    res.retry_after_ms = r.retry_after_ms;
  } else if (code == 401) {
    res.status = SendStatus::kFatal;
    res.exit_code = exitcode::kNoPerm;
    res.error = "the bot token was rejected: " + res.error +
                " (check STOCKWATCH_TELEGRAM_TOKEN or --telegram-token-file)";
  } else if (code == 404) {
    res.status = SendStatus::kFatal;
    res.exit_code = exitcode::kConfig;
    res.error =
        "no such bot or API method: " + res.error + " (check the bot token and --telegram-api)";
  } else {
    res.status = SendStatus::kPermanent;  // 400 chat not found, 403 blocked, ...
    if (a.migrate_to_chat_id) {
      res.error += "; the group is now chat " + std::to_string(*a.migrate_to_chat_id) +
                   ": link that id with stockctl user set EMAIL --telegram-id " +
                   std::to_string(*a.migrate_to_chat_id);
    }
  }
  return res;
}

std::string TelegramSendBody(int64_t chat_id, std::string_view html) {
  std::string s = "{\"chat_id\":" + std::to_string(chat_id) + ",\"text\":";
  AppendJsonString(s, html);
  s += ",\"parse_mode\":\"HTML\",\"link_preview_options\":{\"is_disabled\":true}}";
  return s;
}

std::string TelegramMethodUrl(std::string_view api_base, std::string_view token,
                              std::string_view method) {
  std::string url(api_base);
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/bot";
  url += token;
  url += '/';
  url += method;
  return url;
}

namespace {

class TelegramChannel : public Channel {
 public:
  TelegramChannel(Target target, const ChannelOptions& opts, HttpClient& http)
      : target_(std::move(target)),
        http_(http),
        url_(TelegramMethodUrl(opts.telegram_api, opts.telegram_token, "sendMessage")),
        chat_rate_(opts.telegram_chat_rate),
        chat_gap_ms_(1000.0 / opts.telegram_chat_rate * (1 + kChatMargin)),
        timeout_ms_(opts.timeout_ms),
        parallel_(static_cast<size_t>(std::max(1, opts.parallel))),
        // Burst 1: the overall rate is kept in every window, not only on average.
        global_(opts.telegram_rate, 1) {}

  const Target& target() const override { return target_; }
  // A message may hold 4096 characters; 30 lines of ~100 fit.
  size_t max_digest() const override { return 30; }
  size_t max_parallel() const override { return parallel_; }

  bool Admit(const Message& m, TimeMs now_ms, int64_t* wait_ms) override {
    auto now = static_cast<double>(now_ms);
    TokenBucket& chat = Chat(m);
    double wait = std::max(chat.WaitMs(now), global_.WaitMs(now));
    if (wait > 0) {
      *wait_ms = static_cast<int64_t>(wait + 0.999);
      return false;
    }
    global_.TryTake(now);
    chat.TryTake(now);
    return true;
  }

  void Throttled(const Message& m, TimeMs until_ms) override {
    Chat(m).BlockUntil(static_cast<double>(until_ms));
  }

  /// Telegram counts a chat's messages when it handles them, which is
  /// after the request left and before the answer came: pacing from the
  /// answer, with a margin, keeps the next one from arriving early.
  void Answered(const Message& m, TimeMs at_ms) override {
    Chat(m).BlockUntil(static_cast<double>(at_ms) + chat_gap_ms_);
  }

  void SendBatch(std::span<const Message* const> msgs,
                 const std::function<void(size_t, SendResult)>& done) override {
    std::vector<HttpRequest> reqs(msgs.size());
    for (size_t i = 0; i < msgs.size(); ++i) {
      HttpRequest& q = reqs[i];
      q.method = "POST";
      q.url = url_;
      q.headers = {"Content-Type: application/json"};
      q.body = TelegramSendBody(msgs[i]->chat_id.value_or(0), DigestHtml(msgs[i]->alerts));
      q.timeout_ms = timeout_ms_;
    }
    http_.PerformAll(reqs, [&](size_t i, HttpResponse&& r) { done(i, ClassifyTelegram(r)); });
  }

 private:
  TokenBucket& Chat(const Message& m) {
    int64_t id = m.chat_id.value_or(0);
    auto it = chats_.find(id);
    if (it == chats_.end()) it = chats_.emplace(id, TokenBucket(chat_rate_, 1)).first;
    return it->second;
  }

  Target target_;
  HttpClient& http_;
  std::string url_;  // holds the token: never logged
  // The spacing of one chat's messages is 1/rate plus this much of it.
  static constexpr double kChatMargin = 0.05;
  double chat_rate_;
  double chat_gap_ms_;  // from one answer to the next request in a chat
  int64_t timeout_ms_;
  size_t parallel_;
  TokenBucket global_;
  std::unordered_map<int64_t, TokenBucket> chats_;
};

}  // namespace

std::unique_ptr<Channel> MakeTelegramChannel(const Target& target, const ChannelOptions& opts,
                                             HttpClient& http) {
  if (opts.telegram_token.empty())
    throw Error(exitcode::kConfig,
                "telegram: no bot token (set STOCKWATCH_TELEGRAM_TOKEN or --telegram-token-file)");
  if (opts.telegram_rate <= 0 || opts.telegram_chat_rate <= 0)
    throw Error(exitcode::kUsage, "--telegram-rate and --telegram-chat-rate must be positive");
  return std::make_unique<TelegramChannel>(target, opts, http);
}

// ---------------------------------------------------------------- updates, commands

std::vector<TelegramUpdate> ParseUpdates(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean())
    throw DataError("getUpdates: not a Bot API answer");
  if (!j["ok"].get<bool>()) {
    TelegramAnswer a = ParseTelegramAnswer(body);
    throw DataError("getUpdates: " + a.description + " (" + std::to_string(a.error_code) + ")");
  }
  auto res = j.find("result");
  if (res == j.end() || !res->is_array()) throw DataError("getUpdates: result: not an array");
  std::vector<TelegramUpdate> out;
  for (const auto& u : *res) {
    if (!u.is_object() || !u.contains("update_id") || !u["update_id"].is_number_integer())
      throw DataError("getUpdates: update_id: missing or not an integer");
    TelegramUpdate up;
    up.update_id = u["update_id"].get<int64_t>();
    const nlohmann::json* msg = nullptr;
    for (const char* k : {"message", "edited_message", "channel_post"}) {
      if (auto it = u.find(k); it != u.end() && it->is_object()) {
        msg = &*it;
        break;
      }
    }
    if (msg != nullptr) {
      if (auto c = msg->find("chat"); c != msg->end() && c->is_object()) {
        if (auto id = c->find("id"); id != c->end() && id->is_number_integer())
          up.chat_id = id->get<int64_t>();
        if (auto t = c->find("type"); t != c->end() && t->is_string())
          up.chat_type = t->get<std::string>();
      }
      if (auto t = msg->find("text"); t != msg->end() && t->is_string())
        up.text = t->get<std::string>();
    }
    out.push_back(std::move(up));
  }
  return out;
}

std::optional<BotCommand> ParseBotCommand(std::string_view text) {
  size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos || text[b] != '/') return std::nullopt;
  text.remove_prefix(b + 1);
  size_t end = text.find_first_of(" \t\r\n");
  std::string_view word = text.substr(0, end);
  BotCommand c;
  size_t at = word.find('@');
  if (at != std::string_view::npos) {
    c.mention.assign(word.substr(at + 1));
    word = word.substr(0, at);
  }
  for (char ch : word) c.name += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  if (end != std::string_view::npos) {
    std::string_view rest = text.substr(end);
    size_t rb = rest.find_first_not_of(" \t\r\n");
    size_t re = rest.find_last_not_of(" \t\r\n");
    if (rb != std::string_view::npos) c.args.assign(rest.substr(rb, re - rb + 1));
  }
  return c;
}

}  // namespace stockwatch
