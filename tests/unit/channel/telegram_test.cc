// telegram.h: Bot API answers (the shared fixtures), sendMessage, rate
// limits of the channel, updates and commands.
#include "stockwatch/channel/telegram.h"

#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "api_fixture.h"

namespace sw = stockwatch;

namespace {

sw::HttpResponse Response(long status, std::string body) {
  sw::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

sw::Message ToChat(int64_t chat) {
  sw::Message m;
  m.email = "u" + std::to_string(chat) + "@example.com";
  m.chat_id = chat;
  return m;
}

}  // namespace

TEST_CASE("ParseTelegramAnswer: the fixtures") {
  sw::TelegramAnswer a = sw::ParseTelegramAnswer(ApiFixture("telegram_sendMessage_ok.json"));
  CHECK(a.parsed);
  CHECK(a.ok);
  a = sw::ParseTelegramAnswer(ApiFixture("telegram_error_429_flood.json"));
  CHECK(a.parsed);
  CHECK_FALSE(a.ok);
  CHECK(a.error_code == 429);
  CHECK(a.retry_after_s == 35);
  a = sw::ParseTelegramAnswer(ApiFixture("telegram_error_400_chat_not_found.json"));
  CHECK(a.error_code == 400);
  CHECK(a.description == "Bad Request: chat not found");
  CHECK_FALSE(a.retry_after_s);
  CHECK_FALSE(sw::ParseTelegramAnswer("<html>Bad Gateway</html>").parsed);
  CHECK_FALSE(sw::ParseTelegramAnswer("").parsed);
}

TEST_CASE("ClassifyTelegram: ok, retry_after, permanent, fatal") {
  CHECK(sw::ClassifyTelegram(Response(200, ApiFixture("telegram_sendMessage_ok.json"))).status ==
        sw::SendStatus::kOk);

  sw::SendResult r =
      sw::ClassifyTelegram(Response(429, ApiFixture("telegram_error_429_flood.json")));
  CHECK(r.status == sw::SendStatus::kRetry);
  CHECK(r.retry_after_ms == 35'000);
  CHECK(r.rate_limited);

  // A 429 without parameters falls back to the Retry-After header.
  sw::HttpResponse h = Response(429, "{\"ok\":false,\"error_code\":429,\"description\":\"x\"}");
  h.retry_after_ms = 2'000;
  CHECK(sw::ClassifyTelegram(h).retry_after_ms == 2'000);

  r = sw::ClassifyTelegram(Response(400, ApiFixture("telegram_error_400_chat_not_found.json")));
  CHECK(r.status == sw::SendStatus::kPermanent);
  CHECK(r.error == "Bad Request: chat not found (400)");
  CHECK_FALSE(r.rate_limited);

  r = sw::ClassifyTelegram(Response(403,
                                    "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: "
                                    "bot was blocked by the user\"}"));
  CHECK(r.status == sw::SendStatus::kPermanent);
  CHECK(r.error.find("blocked") != std::string::npos);

  r = sw::ClassifyTelegram(
      Response(401, "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}"));
  CHECK(r.status == sw::SendStatus::kFatal);
  CHECK(r.exit_code == sw::exitcode::kNoPerm);
  r = sw::ClassifyTelegram(
      Response(404, "{\"ok\":false,\"error_code\":404,\"description\":\"Not Found\"}"));
  CHECK(r.status == sw::SendStatus::kFatal);
  CHECK(r.exit_code == sw::exitcode::kConfig);

  r = sw::ClassifyTelegram(Response(
      400,
      "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: group chat was upgraded\","
      "\"parameters\":{\"migrate_to_chat_id\":-1001234}}"));
  CHECK(r.status == sw::SendStatus::kPermanent);
  CHECK(r.error.find("--telegram-id -1001234") != std::string::npos);

  CHECK(sw::ClassifyTelegram(Response(502, "<html>Bad Gateway</html>")).status ==
        sw::SendStatus::kRetry);
  CHECK(sw::ClassifyTelegram(Response(200, "garbage")).status == sw::SendStatus::kRetry);
  sw::HttpResponse dropped;
  dropped.error = "Empty reply from server";
  r = sw::ClassifyTelegram(dropped);
  CHECK(r.status == sw::SendStatus::kRetry);
  CHECK(r.error == "Empty reply from server");
}

TEST_CASE("TelegramSendBody: the shape of the fixture request") {
  std::string body = sw::TelegramSendBody(111111111, "<b>AAPL</b> 189.52 \"q\"");
  CHECK(body ==
        "{\"chat_id\":111111111,\"text\":\"<b>AAPL</b> 189.52 \\\"q\\\"\",\"parse_mode\":\"HTML\","
        "\"link_preview_options\":{\"is_disabled\":true}}");
  std::string fixture = ApiFixture("telegram_sendMessage_request.json");
  CHECK(fixture.find("\"parse_mode\": \"HTML\"") != std::string::npos);
  CHECK(sw::TelegramMethodUrl("http://127.0.0.1:1/", "123:ABC", "getUpdates") ==
        "http://127.0.0.1:1/bot123:ABC/getUpdates");
}

TEST_CASE("Telegram channel: token buckets per chat and overall") {
  sw::HttpClient http;
  sw::ChannelOptions o;
  o.telegram_token = "123:TEST";
  o.telegram_rate = 3;
  o.telegram_chat_rate = 1;
  auto ch = sw::MakeTelegramChannel(sw::ParseTarget("telegram:"), o, http);
  int64_t wait = 0;
  sw::TimeMs t0 = 1'000'000;
  CHECK(ch->Admit(ToChat(1), t0, &wait));
  CHECK_FALSE(ch->Admit(ToChat(1), t0, &wait));  // 1 per second per chat
  CHECK(wait >= 900);
  CHECK(wait <= 1'000);
  CHECK_FALSE(ch->Admit(ToChat(2), t0, &wait));  // overall 3/s, burst 1
  CHECK(wait <= 334);
  CHECK(ch->Admit(ToChat(2), t0 + 334, &wait));
  CHECK(ch->Admit(ToChat(3), t0 + 668, &wait));
  CHECK(ch->Admit(ToChat(1), t0 + 1'002, &wait));
  // A 429's retry_after holds that chat only.
  // A chat is paced from the answer to its last message, with a margin.
  ch->Answered(ToChat(1), t0 + 1'300);
  CHECK_FALSE(ch->Admit(ToChat(1), t0 + 2'002, &wait));
  CHECK_FALSE(ch->Admit(ToChat(1), t0 + 2'340, &wait));
  CHECK(wait == 10);
  CHECK(ch->Admit(ToChat(1), t0 + 2'350, &wait));
  ch->Throttled(ToChat(3), t0 + 10'000);
  CHECK_FALSE(ch->Admit(ToChat(3), t0 + 5'000, &wait));
  CHECK(wait == 5'000);
  CHECK(ch->Admit(ToChat(4), t0 + 5'000, &wait));
}

TEST_CASE("MakeTelegramChannel: a token is required") {
  sw::HttpClient http;
  sw::ChannelOptions o;
  try {
    sw::MakeTelegramChannel(sw::ParseTarget("telegram:"), o, http);
    FAIL("no error");
  } catch (const sw::Error& e) {
    CHECK(e.exit_code() == sw::exitcode::kConfig);
    CHECK(std::string(e.what()).find("STOCKWATCH_TELEGRAM_TOKEN") != std::string::npos);
  }
}

TEST_CASE("ParseUpdates: the fixture's commands, private and group chats") {
  auto ups = sw::ParseUpdates(ApiFixture("telegram_getUpdates_commands.json"));
  REQUIRE(ups.size() == 4);
  CHECK(ups[0].update_id == 853201001);
  CHECK(ups[0].chat_id == 111111111);
  CHECK(ups[0].chat_type == "private");
  CHECK(ups[0].text == "/start");
  CHECK(ups[1].text == "/set 60");
  CHECK(ups[3].chat_id == -1001234567890);
  CHECK(ups[3].chat_type == "supergroup");
  CHECK(sw::ParseUpdates(ApiFixture("telegram_getUpdates_empty.json")).empty());
  // An update without a message (e.g. a callback query) keeps its id.
  auto other =
      sw::ParseUpdates("{\"ok\":true,\"result\":[{\"update_id\":5,\"callback_query\":{}}]}");
  REQUIRE(other.size() == 1);
  CHECK(other[0].update_id == 5);
  CHECK_FALSE(other[0].chat_id);
  CHECK_THROWS_AS(
      sw::ParseUpdates("{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}"),
      sw::DataError);
  CHECK_THROWS_AS(sw::ParseUpdates("{\"ok\":true,\"result\":[{\"message\":{}}]}"), sw::DataError);
  CHECK_THROWS_AS(sw::ParseUpdates("nope"), sw::DataError);
}

TEST_CASE("ParseBotCommand: name, @mention, arguments") {
  auto c = sw::ParseBotCommand("/set@my_stock_alert_bot 60");
  REQUIRE(c);
  CHECK(c->name == "set");
  CHECK(c->mention == "my_stock_alert_bot");
  CHECK(c->args == "60");
  c = sw::ParseBotCommand("  /START  ");
  REQUIRE(c);
  CHECK(c->name == "start");
  CHECK(c->args.empty());
  c = sw::ParseBotCommand("/watch AAPL 190 205");
  REQUIRE(c);
  CHECK(c->args == "AAPL 190 205");
  CHECK_FALSE(sw::ParseBotCommand("hello"));
  CHECK_FALSE(sw::ParseBotCommand(""));
}
