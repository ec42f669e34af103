// notify/bot.h: the bot's answers and their effects on the store (a real
// SQLite store in a temp dir).
#include "stockwatch/notify/bot.h"

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include <doctest/doctest.h>

#include "stockwatch/notify/engine.h"
#include "temp_store.h"

namespace sw = stockwatch;

namespace {

using stockwatch::test::TempStore;

sw::TelegramUpdate Update(int64_t id, int64_t chat, std::string text,
                          std::string type = "private") {
  sw::TelegramUpdate u;
  u.update_id = id;
  u.chat_id = chat;
  u.chat_type = std::move(type);
  u.text = std::move(text);
  return u;
}

bool Has(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("Bot /start: tells an unlinked chat its id and how to link it") {
  TempStore db;
  sw::BotLogic bot(db.commands(), db.queries(), "my_stock_alert_bot");
  std::string r = bot.Handle(Update(1, 111111111, "/start"));
  CHECK(Has(r, "<code>111111111</code>"));
  CHECK(Has(r, "not linked"));
  CHECK(Has(r, "stockctl user set YOUR-EMAIL --telegram-id 111111111"));
}

TEST_CASE("Bot /start: a linked chat names its user and interval") {
  TempStore db;
  db.AddUser("alice@example.com", 111111111, 60);
  sw::BotLogic bot(db.commands(), db.queries(), "my_stock_alert_bot");
  std::string r = bot.Handle(Update(1, 111111111, "/start"));
  CHECK(Has(r, "linked to alice@example.com"));
  CHECK(Has(r, "every 60 s"));
}

TEST_CASE("Bot /set: changes the linked user's interval, at most once per update") {
  TempStore db;
  db.AddUser("alice@example.com", 111111111);
  sw::BotLogic bot(db.commands(), db.queries(), "my_stock_alert_bot");
  std::string r = bot.Handle(Update(10, 111111111, "/set 60"));
  CHECK(Has(r, "OK: at most one message every 60 s"));
  CHECK(db.queries().FindUser("alice@example.com")->interval == 60);

  // Another command changes it; replaying update 10 (a crash before the
  // offset was saved) does not change it back.
  bot.Handle(Update(11, 111111111, "/set 5m"));
  CHECK(db.queries().FindUser("alice@example.com")->interval == 300);
  bot.Handle(Update(10, 111111111, "/set 60"));
  CHECK(db.queries().FindUser("alice@example.com")->interval == 300);

  bot.Handle(Update(12, 111111111, "/set@my_stock_alert_bot 0"));
  CHECK(db.queries().FindUser("alice@example.com")->interval == 0);
}

TEST_CASE("Bot /set: bad arguments change nothing") {
  TempStore db;
  db.AddUser("alice@example.com", 111111111, 30);
  sw::BotLogic bot(db.commands(), db.queries(), "");
  for (const char* bad : {"/set", "/set -5", "/set soon", "/set 1.5", "/set 999999999"}) {
    CAPTURE(bad);
    CHECK(Has(bot.Handle(Update(20, 111111111, bad)), "Usage: /set SECONDS"));
  }
  CHECK(db.queries().FindUser("alice@example.com")->interval == 30);
}

TEST_CASE("Bot /set: the usage and the help say durations work, as they do") {
  TempStore db;
  db.AddUser("alice@example.com", 111111111, 30);
  sw::BotLogic bot(db.commands(), db.queries(), "");
  const std::string usage = bot.Handle(Update(30, 111111111, "/set soon"));
  CHECK_FALSE(Has(usage, "whole number"));
  CHECK(Has(usage, "5m"));
  CHECK(Has(bot.Handle(Update(31, 111111111, "hello")), "5m"));
  CHECK(Has(bot.Handle(Update(32, 111111111, "/set 5m")), "OK: at most one message every 300 s"));
  CHECK(db.queries().FindUser("alice@example.com")->interval == 300);
}

TEST_CASE("Bot /set: an unlinked chat changes nothing and is told how to link") {
  TempStore db;
  db.AddUser("alice@example.com", 111111111, 30);
  sw::BotLogic bot(db.commands(), db.queries(), "my_stock_alert_bot");
  std::string r = bot.Handle(Update(1, 222222222, "/set 5"));
  CHECK(Has(r, "Nothing changed"));
  CHECK(Has(r, "--telegram-id 222222222"));
  CHECK(db.queries().FindUser("alice@example.com")->interval == 30);
}

TEST_CASE("Bot: commands for another bot in a group are ignored") {
  TempStore db;
  db.AddUser("club@example.com", -1001234567890, 30);
  sw::BotLogic bot(db.commands(), db.queries(), "my_stock_alert_bot");
  CHECK(bot.Handle(Update(1, -1001234567890, "/set@other_bot 5", "supergroup")).empty());
  CHECK(db.queries().FindUser("club@example.com")->interval == 30);
  CHECK(bot.Handle(Update(2, -1001234567890, "hello all", "supergroup")).empty());
  bot.Handle(Update(3, -1001234567890, "/set@My_Stock_Alert_Bot 60", "supergroup"));
  CHECK(db.queries().FindUser("club@example.com")->interval == 60);
}

TEST_CASE("Bot /stop and /start: pause and resume through the shared flag") {
  TempStore db;
  db.AddUser("alice@example.com", 111111111);
  sw::BotLogic bot(db.commands(), db.queries(), "");
  CHECK(Has(bot.Handle(Update(1, 111111111, "/stop")), "Paused"));
  CHECK(db.queries().GetValue(sw::PausedKey("alice@example.com")) == "1");
  CHECK(Has(bot.Handle(Update(2, 111111111, "/status")), "Paused"));
  std::string r = bot.Handle(Update(3, 111111111, "/start"));
  CHECK(Has(r, "held while paused follow as one digest"));
  CHECK(db.queries().GetValue(sw::PausedKey("alice@example.com")) == "0");
  // /stop from an unlinked chat pauses nobody.
  bot.Handle(Update(4, 999, "/stop"));
  CHECK(db.queries().GetValue(sw::PausedKey("alice@example.com")) == "0");
}

TEST_CASE("Bot /status: link, interval, watches, held alerts") {
  TempStore db;
  db.AddUser("alice@example.com", 111111111, 60);
  db.commands().Execute("", [](sw::CommandTx& tx) {
    sw::Watch w;
    w.email = "alice@example.com";
    w.ticker = "AAPL";
    w.low = 150;
    w.high = 200;
    tx.AddWatch(w);
    sw::Watch m;  // a percent move, no band
    m.email = "alice@example.com";
    m.ticker = "MSFT";
    m.move = 3;
    m.within = 3600;
    m.direction = sw::MoveDirection::kDown;
    tx.AddWatch(m);
    return sw::Outcome{};
  });
  sw::OutboxItem item;
  item.email = "alice@example.com";
  item.channel = "telegram";
  item.alert_json = "{}";
  item.due = 1;
  db.commands().Enqueue(item);
  sw::BotLogic bot(db.commands(), db.queries(), "");
  std::string r = bot.Handle(Update(1, 111111111, "/status"));
  CHECK(Has(r, "Linked to alice@example.com"));
  CHECK(Has(r, "every 60 s"));
  CHECK(Has(r, "<b>AAPL</b> [150, 200]"));
  CHECK(Has(r, "<b>MSFT</b> down 3% within 1h"));
  CHECK(Has(r, "Held alerts: 1."));
  CHECK(Has(bot.Handle(Update(2, 5, "/status")), "not linked"));
}

TEST_CASE("Bot: anything else gets the help; updates without text get nothing") {
  TempStore db;
  sw::BotLogic bot(db.commands(), db.queries(), "");
  CHECK(Has(bot.Handle(Update(1, 7, "/watch AAPL 190 205")), "/set SECONDS"));
  CHECK(Has(bot.Handle(Update(2, 7, "hi")), "/start"));
  sw::TelegramUpdate none;
  none.update_id = 3;
  CHECK(bot.Handle(none).empty());
}
