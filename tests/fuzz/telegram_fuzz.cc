// libFuzzer target: Telegram answers, getUpdates payloads and bot command
// texts never crash the parsers.
// layers: core net channel
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "stockwatch/channel/telegram.h"

using namespace stockwatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)ParseTelegramAnswer(body);
  try {
    for (const TelegramUpdate& u : ParseUpdates(body)) (void)ParseBotCommand(u.text);
  } catch (const DataError&) {
  }
  if (auto c = ParseBotCommand(body)) {
    for (char ch : c->name)
      if (ch >= 'A' && ch <= 'Z') abort();  // names are documented as lower-case
  }
  return 0;
}
