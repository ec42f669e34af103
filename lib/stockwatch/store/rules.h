#pragma once
/// The store's command rules, written once for both backends: what each
/// command checks, in which order, and the message of each refusal. A
/// backend derives from RuledCommandTx and supplies only its statements
/// (SQL and driver calls), each of which applies no rule of its own.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "stockwatch/store/store.h"

namespace stockwatch::store_internal {

/// What a watch is set to, as stored (its email, ticker and telegram_id
/// are left empty).
using Settings = Watch;

/// What a write statement ran into (a constraint the rules checked before,
/// but that a concurrent writer may have broken since).
enum class Clash { kNone, kEmailTaken, kTelegramTaken, kWatchExists, kNoOwner };

class RuledCommandTx : public CommandTx {
 public:
  void AddUser(const User& u) final;
  void SetUser(std::string_view email, std::optional<std::optional<int64_t>> telegram_id,
               std::optional<int64_t> interval) final;
  void RemoveUser(std::string_view email) final;
  void AddWatch(const Watch& w) final;
  using CommandTx::SetWatch;
  void SetWatch(std::string_view email, std::string_view ticker, const WatchEdit& edit) final;
  void RemoveWatch(std::string_view email, std::string_view ticker) final;
  void PutUsers(std::span<const User> users) final;
  void PutWatches(std::span<const Watch> watches) final;

 protected:
  // ---- reads
  virtual bool UserExists(const std::string& email) = 0;
  /// The email of the user linked to `telegram_id`, "" when none.
  virtual std::string TelegramOwner(int64_t telegram_id) = 0;
  /// The watch's settings (band, move), locked for this transaction;
  /// nullopt when there is no such watch.
  virtual std::optional<Settings> WatchSettings(const std::string& email,
                                                const std::string& ticker) = 0;

  // ---- writes (the rules have run; a Clash reports a concurrent writer)
  virtual Clash InsertUser(const User& u) = 0;
  virtual Clash SetTelegramId(const std::string& email, std::optional<int64_t> telegram_id) = 0;
  virtual void SetInterval(const std::string& email, int64_t interval) = 0;
  /// Deletes the user and everything tied to them: watches and their states,
  /// deliveries, the outbox, values whose key ends in ":EMAIL".
  virtual void DeleteUser(const std::string& email) = 0;
  virtual Clash InsertWatch(const Watch& w) = 0;
  /// Stores the band and the move of `s`.
  virtual void UpdateSettings(const std::string& email, const std::string& ticker,
                              const Settings& s) = 0;
  /// Drops the watch's saved edge states of the kinds in `stale`
  /// (StaleStateMask: bit 1 "above", bit 2 "below"; kStaleMove the move
  /// bits and move_ref). A state row left with nothing that still holds is
  /// deleted; one whose band state still holds keeps it.
  virtual void RearmStates(const std::string& email, const std::string& ticker, int stale) = 0;
  /// False when there was no such watch.
  virtual bool DeleteWatch(const std::string& email, const std::string& ticker) = 0;
  /// Upserts the users (the last of each email wins). When a telegram_id is
  /// held by another user, changes nothing, sets `*taken` to that id
  /// (nullopt when the backend cannot tell which) and returns false.
  virtual bool UpsertUsers(std::span<const User> users, std::optional<int64_t>* taken) = 0;
  /// Upserts the watches (the last of each email and ticker wins), dropping
  /// the saved move bits of each whose move, window or direction changes.
  /// When an owner is not a user, changes nothing, sets `*missing` to that
  /// email ("" when the backend cannot tell which) and returns false.
  virtual bool UpsertWatches(std::span<const Watch> watches, std::string* missing) = 0;
  /// Counts a change of users or watches (stock-alert reloads on a change).
  virtual void BumpWatchesVersion() = 0;
};

}  // namespace stockwatch::store_internal
