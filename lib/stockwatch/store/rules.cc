#include "stockwatch/store/rules.h"

#include <string>

#include "stockwatch/core/error.h"
#include "stockwatch/store/internal.h"

namespace stockwatch::store_internal {
namespace {

// Every refusal a command can give, in one place.
[[noreturn]] void NoSuchUser(std::string_view email) {
  throw DataError("email: no such user: " + std::string(email));
}
[[noreturn]] void NoSuchWatch(std::string_view email, std::string_view ticker) {
  throw DataError("ticker: no such watch: " + std::string(email) + " " + std::string(ticker));
}
[[noreturn]] void AlreadyRegistered(std::string_view email) {
  throw DataError("email: " + std::string(email) + " is already registered");
}
[[noreturn]] void AlreadyWatches(const Watch& w) {
  throw DataError("ticker: " + w.email + " already watches " + w.ticker +
                  " (use watch set to change it)");
}
[[noreturn]] void TelegramTaken(std::optional<int64_t> telegram_id) {
  throw DataError(
      "telegram_id: " + (telegram_id ? std::to_string(*telegram_id) : std::string("one of them")) +
      " is already linked to another user");
}

void Check(Clash clash, const User* u, const Watch* w) {
  switch (clash) {
    case Clash::kNone:
      return;
    case Clash::kEmailTaken:
      AlreadyRegistered(u->email);
    case Clash::kTelegramTaken:
      TelegramTaken(u->telegram_id);
    case Clash::kWatchExists:
      AlreadyWatches(*w);
    case Clash::kNoOwner:
      NoSuchUser(w->email);
  }
}

}  // namespace

void RuledCommandTx::AddUser(const User& u) {
  User user = u;
  Validate(user);
  if (UserExists(user.email)) AlreadyRegistered(user.email);
  if (user.telegram_id && !TelegramOwner(*user.telegram_id).empty()) {
    TelegramTaken(user.telegram_id);
  }
  Check(InsertUser(user), &user, nullptr);
  BumpWatchesVersion();
}

void RuledCommandTx::SetUser(std::string_view email_in,
                             std::optional<std::optional<int64_t>> telegram_id,
                             std::optional<int64_t> interval) {
  User user;
  user.email = NormalizeEmail(email_in);
  if (!UserExists(user.email)) NoSuchUser(user.email);
  if (interval && *interval < 0) throw DataError("interval: must be 0 or more seconds");
  if (telegram_id) {
    user.telegram_id = *telegram_id;
    if (*telegram_id) {
      const std::string owner = TelegramOwner(**telegram_id);
      if (!owner.empty() && owner != user.email) TelegramTaken(*telegram_id);
    }
    Check(SetTelegramId(user.email, *telegram_id), &user, nullptr);
  }
  if (interval) SetInterval(user.email, *interval);
  BumpWatchesVersion();
}

void RuledCommandTx::RemoveUser(std::string_view email_in) {
  const std::string email = NormalizeEmail(email_in);
  if (!UserExists(email)) NoSuchUser(email);
  DeleteUser(email);
  BumpWatchesVersion();
}

void RuledCommandTx::AddWatch(const Watch& w) {
  Watch watch = w;
  Validate(watch);
  if (!UserExists(watch.email)) NoSuchUser(watch.email);
  if (WatchSettings(watch.email, watch.ticker)) AlreadyWatches(watch);
  Check(InsertWatch(watch), nullptr, &watch);
  BumpWatchesVersion();
}

namespace {

// `old` with `edit` applied: removing the move resets its window and
// direction (giving one of them too is then refused by ValidateMove).
Settings Edited(const Settings& old, const WatchEdit& edit) {
  Settings s = old;
  if (edit.low) s.low = *edit.low;
  if (edit.high) s.high = *edit.high;
  if (edit.move) {
    s.move = *edit.move;
    if (!s.move) {
      s.within = 0;
      s.direction = MoveDirection::kBoth;
    }
  }
  if (edit.within) s.within = *edit.within;
  if (edit.direction) s.direction = *edit.direction;
  return s;
}

}  // namespace

void RuledCommandTx::SetWatch(std::string_view email_in, std::string_view ticker_in,
                              const WatchEdit& edit) {
  const std::string email = NormalizeEmail(email_in);
  const std::string ticker = NormalizeTicker(ticker_in);
  std::optional<Settings> old = WatchSettings(email, ticker);
  if (!old) {
    if (!UserExists(email)) NoSuchUser(email);
    NoSuchWatch(email, ticker);
  }
  const Settings s = Edited(*old, edit);
  ValidateBand(s.low, s.high, edit.low && !edit.high ? "low" : "high");  // blame what was set
  ValidateMove(s.move, s.within, s.direction);
  UpdateSettings(email, ticker, s);
  // A saved edge state is about what set it: once that changes, the watch
  // is re-armed (what a running stock-alert does too).
  const int stale = StaleStateMask(old->low, old->high, s.low, s.high) | StaleMoveMask(*old, s);
  if (stale != 0) RearmStates(email, ticker, stale);
  BumpWatchesVersion();
}

void RuledCommandTx::RemoveWatch(std::string_view email_in, std::string_view ticker_in) {
  const std::string email = NormalizeEmail(email_in);
  const std::string ticker = NormalizeTicker(ticker_in);
  if (!DeleteWatch(email, ticker)) {
    if (!UserExists(email)) NoSuchUser(email);
    NoSuchWatch(email, ticker);
  }
  BumpWatchesVersion();
}

void RuledCommandTx::PutUsers(std::span<const User> users) {
  if (users.empty()) return;
  std::optional<int64_t> taken;
  if (!UpsertUsers(users, &taken)) TelegramTaken(taken);
  BumpWatchesVersion();
}

void RuledCommandTx::PutWatches(std::span<const Watch> watches) {
  if (watches.empty()) return;
  std::string missing;
  if (!UpsertWatches(watches, &missing)) {
    if (missing.empty()) throw DataError("email: a watch's owner is not a registered user");
    NoSuchUser(missing);
  }
  BumpWatchesVersion();
}

}  // namespace stockwatch::store_internal
