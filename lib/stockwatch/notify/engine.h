#pragma once
/// The delivery engine of stock-notify: takes alerts, de-duplicates them
/// per target (Commands::RecordDelivery / Queries::Delivered), holds them in
/// the store's outbox for a user's interval or pause and sends them later as
/// one digest, sends the rest at once (different users concurrently, each
/// user's messages in order), retries with back-off, and dead-letters what
/// cannot be delivered (at once when permanent; a temporary failure that
/// outlives the retries waits in the outbox for later attempts, up to an
/// age). Single-threaded and clock-driven (no sleeping), so
/// tests run it with a fake clock, fake channels and an in-memory store.
///
/// Every alert ends in exactly one of: `sent`, `duplicate`, `batched` (held
/// in the outbox: a later `sent` or `failed` follows, possibly in a later
/// run), `failed` (dead-lettered). The engine never drops an alert.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stockwatch/channel/message.h"
#include "stockwatch/store/store.h"

namespace stockwatch {

struct NotifierOptions {
  std::string program = "stock-notify";  // for rejected records
  int retries = 5;                       // retries after the first attempt
  BackoffPolicy backoff;
  /// A message that still fails temporarily (refused, timed out, 5xx, 429)
  /// after `retries` retries stays in the outbox and is tried again after
  /// the back-off, by this run or a later one, until this long after its
  /// first failed attempt; then it is dead-lettered. 0: at once.
  int64_t retry_for_ms = 24LL * 3600 * 1000;
  /// A retry that must wait longer than this moves the user's queue to the
  /// outbox (durable) instead of holding it in memory.
  int64_t park_after_ms = 5'000;
  /// How often the outbox is polled for due digests and resumed users.
  int64_t outbox_poll_ms = 1'000;
  /// How long a user's interval, link and pause flag are cached.
  int64_t user_cache_ms = 1'000;
  /// Undo, at start, what targets hold beyond their last recorded checkpoint
  /// (Channel::Rollback): right when every unrecorded alert comes again (its
  /// Kafka offset was not committed, or it is still in the outbox).
  bool rollback_unrecorded = false;
  /// With rollback_unrecorded, deliveries to a target with a checkpoint (a
  /// file: a crash cannot repeat them there) are recorded together, when
  /// this many alerts are sent, after this long, or on Sync(); others after
  /// each batch.
  size_t record_batch = 2048;
  int64_t record_delay_ms = 50;
};

struct NotifierHooks {
  std::function<void(const Delivery&)> on_delivery;     // one per alert and target
  std::function<void(const Rejected&)> on_dead_letter;  // failed alerts, with the raw alert
  /// Every answer to a send attempt (one per message), before it is settled.
  std::function<void(const Target&, const SendResult&)> on_answer;
  std::function<TimeMs()> now;     // default: NowMs
  std::function<double()> random;  // [0, 1); default: a seeded PRNG
};

struct NotifierStats {
  uint64_t alerts = 0;                                        // alerts submitted
  uint64_t sent = 0, duplicate = 0, batched = 0, failed = 0;  // delivery records by status
  uint64_t messages = 0;    // messages delivered (a digest counts once)
  uint64_t retries = 0;     // attempts that were retried
  int fatal_exit_code = 0;  // 77/78 when a channel became unusable
  std::string fatal_error;
};

/// Keys of the small values the engine and the bot share in the store.
std::string PausedKey(std::string_view email);  // "paused:EMAIL" = "1" while /stop
/// Where a target's checkpoint (Channel::Checkpoint) is kept: "notify.mark:" + target key.
std::string CheckpointKey(std::string_view target_key);

class Notifier {
 public:
  /// `channels` and the store outlive the Notifier. Outbox items left by an
  /// earlier run are picked up (they go out when due).
  Notifier(std::vector<Channel*> channels, Commands& commands, Queries& queries,
           NotifierOptions opts, NotifierHooks hooks);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  /// Takes one alert for every target: records `duplicate` or `failed` at
  /// once, holds it in the outbox (`batched`), or queues it for Step().
  /// `raw` is the alert's JSON as received; `input`/`line` name its origin
  /// in dead-letter records. Throws Error when the store fails.
  void Submit(const Alert& alert, std::string_view raw, std::string_view input, uint64_t line);
  /// One alert handed to SubmitAll.
  struct Incoming {
    const Alert* alert;
    std::string_view raw;
    std::string_view input;
    uint64_t line;
  };
  /// Submit() for each, in order, asking the store which were delivered
  /// already with one query per target instead of one per alert.
  void SubmitAll(std::span<const Incoming> batch);
  /// Does what is due now: moves due outbox items into digests, then sends
  /// one batch of ready messages per channel (this blocks for the
  /// transfers). Returns true when it sent or settled something.
  bool Step();
  /// Makes the next Step() read the outbox for due items at once (not only
  /// once per outbox_poll_ms).
  void ReadOutboxNow();
  /// The time at which Step() has work next (INT64_MAX: only new alerts).
  TimeMs NextWake() const;
  /// True when no message waits in memory (held outbox items don't count):
  /// everything submitted so far is sent (and recorded), failed or batched.
  bool Quiescent() const;
  /// Records at once what was sent and not yet recorded (before an input
  /// checkpoint: the alerts' offsets are committed next).
  void Sync();
  /// True while something sent waits to be recorded (Sync() would record it).
  bool Unrecorded() const;
  /// Moves every message still waiting in memory (retries) into the outbox
  /// so that it is durable; used at shutdown. Afterwards Quiescent().
  void Park();
  /// Messages waiting in memory (callers stop submitting when it grows).
  size_t InMemory() const;
  /// Outbox items held for these targets (an interval, a pause, a retry),
  /// as far as this process knows.
  size_t Held() const;
  /// Held() by channel ("telegram", "webhook", ...; Target::channel), with
  /// every channel of the targets listed (0 when nothing is held).
  std::vector<std::pair<std::string, size_t>> HeldByChannel() const;
  /// Of those, items parked for a retry in this run (a long back-off or
  /// retry_after; their retries are not spent).
  size_t Retrying() const;
  /// Items this run moved to the outbox after their retries were spent (a
  /// temporary failure that outlived them) and that are still there: a
  /// later attempt, in this run or another, will deliver or dead-letter them.
  size_t Deferred() const;
  const NotifierStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockwatch
