#include "stockwatch/notify/engine.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>
#include <limits>
#include <map>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "stockwatch/core/log.h"

namespace stockwatch {

std::string PausedKey(std::string_view email) { return "paused:" + std::string(email); }
std::string CheckpointKey(std::string_view target_key) {
  return "notify.mark:" + std::string(target_key);
}

namespace {

constexpr TimeMs kNever = std::numeric_limits<TimeMs>::max();

/// Where an alert came from, for dead-letter records.
struct Origin {
  std::string input;
  uint64_t line = 0;
};

/// A message waiting to be sent, with what is needed to settle each alert.
struct Pending {
  Message msg;
  std::vector<Origin> origins;      // per alert
  std::vector<int64_t> outbox_ids;  // per alert; 0: not in the outbox
  int attempts = 0;
  TimeMs first_try = 0;  // when the first failed attempt was made (0: none failed)
  TimeMs not_before = 0;
};

/// One user's queue on one channel: sent strictly in order, one at a time.
struct Group {
  std::deque<Pending> queue;
  bool in_flight = false;
};

/// A user's items in the outbox for one channel. Their due times never
/// decrease in queue order, so the due ones are always a prefix.
struct HeldItems {
  int count = 0;
  TimeMs max_due = 0;
};

/// A message delivered, not yet recorded (RecordSent).
struct Sent {
  std::string email;
  std::vector<std::string> alert_ids;
  std::vector<int64_t> outbox_ids;
  int attempts = 0;
};

struct ChannelState {
  Channel* ch = nullptr;
  const Target* target = nullptr;
  std::map<std::string, Group, std::less<>> groups;   // email -> queue (non-empty)
  std::string cursor;                                 // round-robin start
  std::unordered_map<std::string, HeldItems> held;    // email -> its outbox items
  std::unordered_set<std::string> pending_ids;        // alert ids in memory or outbox
  std::unordered_set<int64_t> busy_outbox;            // outbox ids taken into memory
  std::unordered_set<int64_t> retrying;               // outbox ids parked for a retry in this run
  std::unordered_set<int64_t> deferred;               // outbox ids parked with their retries spent
  std::unordered_map<std::string, TimeMs> last_sent;  // email -> last message (interval)
  std::vector<Sent> sent;                             // delivered, to record
  size_t sent_alerts = 0;                             // alerts in `sent`
  TimeMs sent_since = 0;                              // the oldest of them went out
  bool lazy = false;  // rolled back after a crash: `sent` may wait (record_delay_ms)
  // During SubmitAll: the batch's ids the store has as delivered here.
  bool prechecked = false;
  std::unordered_set<std::string> delivered_before;
  TimeMs admit_at = kNever;  // when a rate-limited head may go
  bool fatal = false;
  SendResult fatal_result;
};

struct CachedUser {
  std::optional<User> user;
  bool paused = false;
  TimeMs fetched = 0;
};

std::string LastSentKey(const ChannelState& cs, std::string_view email) {
  return "notify.last:" + cs.target->key + ":" + std::string(email);
}

}  // namespace

struct Notifier::Impl {
  Commands& commands;
  Queries& queries;
  NotifierOptions opts;
  NotifierHooks hooks;
  std::vector<ChannelState> channels;
  std::unordered_map<std::string, CachedUser> users;
  NotifierStats stats;
  TimeMs next_outbox_check = 0;
  RecordParser parser;
  AnyRecord rec;
  std::mt19937_64 rng{std::random_device{}()};

  Impl(std::vector<Channel*> chans, Commands& c, Queries& q, NotifierOptions o, NotifierHooks h)
      : commands(c), queries(q), opts(std::move(o)), hooks(std::move(h)) {
    if (!hooks.now) hooks.now = NowMs;
    if (!hooks.random) {
      hooks.random = [this] { return std::uniform_real_distribution<double>(0, 1)(rng); };
    }
    channels.resize(chans.size());
    for (size_t i = 0; i < chans.size(); ++i) {
      channels[i].ch = chans[i];
      channels[i].target = &chans[i]->target();
      // Only where a restart rolls the target back can its records wait.
      channels[i].lazy = opts.rollback_unrecorded && chans[i]->Checkpoint().has_value();
    }
    RollBack();
    // What earlier runs left in the outbox: those users stay "held" (new
    // alerts queue behind their items) and the ids count as pending.
    for (const OutboxItem& item : queries.DueOutbox(kNever)) {
      ChannelState* cs = Find(item.channel);
      if (cs == nullptr) continue;
      HeldItems& held = cs->held[item.email];
      ++held.count;
      held.max_due = std::max(held.max_due, item.due);
      try {
        if (parser.Parse(item.alert_json, rec) == RecordType::kAlert)
          cs->pending_ids.insert(rec.alert.id);
      } catch (const DataError&) {
        // Settled (dead-lettered) when it comes due.
      }
    }
  }

  /// Lets each target undo what an earlier run sent but did not record.
  void RollBack() {
    if (!opts.rollback_unrecorded) return;
    for (ChannelState& cs : channels) {
      std::optional<std::string> mark = queries.GetValue(CheckpointKey(cs.target->key));
      if (!mark) continue;
      std::string did = cs.ch->Rollback(*mark);
      if (!did.empty()) log::Warn("{}: {}", cs.target->spec, did);
    }
  }

  ChannelState* Find(std::string_view key) {
    for (ChannelState& cs : channels)
      if (cs.target->key == key) return &cs;
    return nullptr;
  }

  const CachedUser& Lookup(const std::string& email, TimeMs now) {
    CachedUser& cu = users[email];
    if (cu.fetched == 0 || now - cu.fetched >= opts.user_cache_ms || now < cu.fetched) {
      cu.user = queries.FindUser(email);
      auto v = queries.GetValue(PausedKey(email));
      cu.paused = v && *v == "1";
      cu.fetched = now;
    }
    return cu;
  }

  TimeMs LastSent(ChannelState& cs, const std::string& email) {
    auto it = cs.last_sent.find(email);
    if (it != cs.last_sent.end()) return it->second;
    TimeMs t = 0;
    if (auto v = queries.GetValue(LastSentKey(cs, email))) {
      std::from_chars(v->data(), v->data() + v->size(), t);
    }
    cs.last_sent[email] = t;
    return t;
  }

  void SetLastSent(ChannelState& cs, const std::string& email, TimeMs t) {
    cs.last_sent[email] = t;
    commands.PutValue(LastSentKey(cs, email), std::to_string(t));
  }

  /// The chat a Telegram message goes to: the store's link wins (only the
  /// chat registered for a user receives its alerts); the alert's copy
  /// serves store-less pipelines.
  std::optional<int64_t> ChatFor(const CachedUser& cu, const Alert& a) {
    if (cu.user) return cu.user->telegram_id;
    return a.telegram_id;
  }

  std::string NoChatError(const std::string& email) {
    return email + " has no linked Telegram chat (link it with: stockctl user set " + email +
           " --telegram-id CHAT_ID)";
  }

  void Record(ChannelState& cs, const std::string& alert_id, DeliveryStatus status, int attempts,
              std::string error = {}) {
    Delivery d;
    d.alert_id = alert_id;
    d.channel = cs.target->channel;
    d.target = cs.target->shown;
    d.status = status;
    d.attempts = attempts;
    d.ts = hooks.now();
    d.error = std::move(error);
    switch (status) {
      case DeliveryStatus::kSent:
        ++stats.sent;
        break;
      case DeliveryStatus::kDuplicate:
        ++stats.duplicate;
        break;
      case DeliveryStatus::kBatched:
        ++stats.batched;
        break;
      case DeliveryStatus::kFailed:
        ++stats.failed;
        break;
    }
    if (hooks.on_delivery) hooks.on_delivery(d);
  }

  /// One alert given up on (Fail).
  struct Lost {
    const std::string& alert_id;
    std::string_view raw;
    const Origin& origin;
  };

  /// Dead-letters alerts of one user on `cs`: each goes to the dead letter
  /// (the hook), then the store records them and removes their outbox items
  /// (`outbox_ids`; 0: none) in one transaction, and each is reported as
  /// failed.
  void Fail(ChannelState& cs, const std::string& email, std::span<const Lost> lost,
            std::span<const int64_t> outbox_ids, const std::string& error, int attempts) {
    const std::string reason = cs.target->label + ": " + error;
    const TimeMs now = hooks.now();
    std::vector<DeadLetterRow> rows;
    rows.reserve(lost.size());
    for (const Lost& l : lost) {
      Rejected r;
      r.program = opts.program;
      r.input = l.origin.input;
      r.line = l.origin.line;
      r.error = reason;
      r.raw.assign(l.raw);
      r.ts = now;
      if (hooks.on_dead_letter) hooks.on_dead_letter(r);
      log::Info("{}:{}: alert {} not delivered ({})", l.origin.input, l.origin.line, l.alert_id,
                reason);
      rows.push_back({l.alert_id, cs.target->key, now, email, reason});
    }
    const std::vector<int64_t> ids = Release(cs, outbox_ids);
    commands.RecordDeadLetters(rows, ids);
    Unheld(cs, email, ids.size());
    for (const Lost& l : lost) {
      cs.pending_ids.erase(l.alert_id);
      Record(cs, l.alert_id, DeliveryStatus::kFailed, attempts, reason);
    }
  }

  /// Fail() for one alert (with its outbox item, 0: none).
  void FailOne(ChannelState& cs, const std::string& email, const std::string& alert_id,
               std::string_view raw, const Origin& origin, const std::string& error, int attempts,
               int64_t outbox_id = 0) {
    const Lost lost{alert_id, raw, origin};
    const std::array<int64_t, 1> one{outbox_id};
    Fail(cs, email, std::span<const Lost>(&lost, 1), one, error, attempts);
  }

  /// Forgets the outbox items `ids` (0: none) this process took or parked;
  /// returns the real ones.
  std::vector<int64_t> Release(ChannelState& cs, std::span<const int64_t> ids) {
    std::vector<int64_t> out;
    for (int64_t id : ids) {
      if (id == 0) continue;
      out.push_back(id);
      cs.busy_outbox.erase(id);
      cs.retrying.erase(id);
      cs.deferred.erase(id);
    }
    return out;
  }

  /// `n` of the user's outbox items on `cs` are gone.
  void Unheld(ChannelState& cs, const std::string& email, size_t n) {
    if (n == 0) return;
    auto it = cs.held.find(email);
    if (it != cs.held.end()) {
      it->second.count -= static_cast<int>(n);
      if (it->second.count <= 0) cs.held.erase(it);
    }
  }

  void Unhold(ChannelState& cs, const std::string& email, std::span<const int64_t> ids) {
    const std::vector<int64_t> out = Release(cs, ids);
    if (out.empty()) return;
    commands.Dequeue(out);
    Unheld(cs, email, out.size());
  }

  void FailPending(ChannelState& cs, Pending& p, const std::string& error) {
    std::vector<Lost> lost;
    lost.reserve(p.msg.alerts.size());
    for (size_t i = 0; i < p.msg.alerts.size(); ++i)
      lost.push_back({p.msg.alerts[i].id, p.msg.raws[i], p.origins[i]});
    Fail(cs, p.msg.email, lost, p.outbox_ids, error, p.attempts);
  }

  /// Queues `a` in the outbox for `due` or later (never before the user's
  /// earlier items on this channel). Returns the outbox id.
  int64_t Hold(ChannelState& cs, const Alert& a, std::string_view raw, TimeMs due, int attempts = 0,
               TimeMs first_try = 0) {
    HeldItems& h = cs.held[a.email];
    OutboxItem item;
    item.email = a.email;
    item.channel = cs.target->key;
    item.alert_json.assign(raw);
    item.due = std::max(due, h.max_due);
    item.attempts = attempts;
    item.first_try = first_try;
    int64_t id = commands.Enqueue(item);
    ++h.count;
    h.max_due = item.due;
    cs.pending_ids.insert(a.id);
    return id;
  }

  // ------------------------------------------------------------ submit

  void Submit(const Alert& a, std::string_view raw, std::string_view input, uint64_t line) {
    ++stats.alerts;
    TimeMs now = hooks.now();
    const CachedUser& cu = Lookup(a.email, now);
    Origin origin{std::string(input), line};
    for (ChannelState& cs : channels) {
      bool delivered = cs.prechecked ? cs.delivered_before.count(a.id) != 0
                                     : queries.Delivered(a.id, cs.target->key);
      if (cs.pending_ids.count(a.id) != 0 || delivered) {
        Record(cs, a.id, DeliveryStatus::kDuplicate, 0);
        continue;
      }
      if (cs.fatal) {
        FailOne(cs, a.email, a.id, raw, origin, cs.fatal_result.error, 0);
        continue;
      }
      std::optional<int64_t> chat;
      if (cs.target->kind == TargetKind::kTelegram) {
        chat = ChatFor(cu, a);
        if (!chat) {
          FailOne(cs, a.email, a.id, raw, origin, NoChatError(a.email), 0);
          continue;
        }
      }
      bool held = cs.held.count(a.email) != 0;
      if (cs.target->per_user) {
        int64_t interval_ms = cu.user ? cu.user->interval * 1000 : 0;
        TimeMs window_end = interval_ms > 0 ? LastSent(cs, a.email) + interval_ms : 0;
        if (held || cu.paused || now < window_end) {
          Hold(cs, a, raw, std::max(now, window_end));
          Record(cs, a.id, DeliveryStatus::kBatched, 0);
          continue;
        }
        // The message reserves the window now, so that alerts arriving
        // while it is in flight are held for the digest.
        if (interval_ms > 0) SetLastSent(cs, a.email, now);
      } else if (held) {
        Hold(cs, a, raw, now);
        Record(cs, a.id, DeliveryStatus::kBatched, 0);
        continue;
      }
      Pending p;
      p.msg.email = a.email;
      p.msg.chat_id = chat;
      p.msg.alerts.push_back(a);
      p.msg.raws.emplace_back(raw);
      p.origins.push_back(origin);
      p.outbox_ids.push_back(0);
      cs.groups[a.email].queue.push_back(std::move(p));
      cs.pending_ids.insert(a.id);
    }
  }

  void SubmitAll(std::span<const Notifier::Incoming> batch) {
    std::vector<std::string> ids;
    ids.reserve(batch.size());
    for (const Notifier::Incoming& in : batch) ids.push_back(in.alert->id);
    struct Reset {
      std::vector<ChannelState>& channels;
      ~Reset() {
        for (ChannelState& cs : channels) {
          cs.prechecked = false;
          cs.delivered_before.clear();
        }
      }
    } reset{channels};
    for (ChannelState& cs : channels) {
      std::vector<std::string> found = queries.DeliveredAmong(ids, cs.target->key);
      cs.delivered_before.insert(std::make_move_iterator(found.begin()),
                                 std::make_move_iterator(found.end()));
      cs.prechecked = true;
    }
    for (const Notifier::Incoming& in : batch) Submit(*in.alert, in.raw, in.input, in.line);
  }

  // ------------------------------------------------------------ outbox

  struct Due {
    OutboxItem item;
    Alert alert;
  };

  void FlushOutbox(TimeMs now) {
    if (now < next_outbox_check) return;
    next_outbox_check = now + opts.outbox_poll_ms;
    std::vector<OutboxItem> items = queries.DueOutbox(now);
    if (items.empty()) return;
    for (auto& [k, dues] : GroupDue(items)) {
      ChannelState& cs = *k.first;
      const std::string& email = k.second;
      std::sort(dues.begin(), dues.end(),
                [](const Due& a, const Due& b) { return a.item.id < b.item.id; });
      const CachedUser& cu = Lookup(email, now);
      if (cs.target->per_user && !MayFlushUser(cs, email, cu, now)) continue;
      std::vector<Pending> msgs = OutboxMessages(cs, email, cu, dues);
      if (msgs.empty()) continue;
      Group& g = cs.groups[email];
      for (Pending& p : msgs) g.queue.push_back(std::move(p));
    }
  }

  using DueGroups = std::map<std::pair<ChannelState*, std::string>, std::vector<Due>>;

  /// Due outbox items per channel and user, in id order (= the order they
  /// were queued); an item that is not an alert fails at once.
  DueGroups GroupDue(std::vector<OutboxItem>& items) {
    DueGroups groups;
    for (OutboxItem& item : items) {
      ChannelState* cs = Find(item.channel);
      if (cs == nullptr || cs->busy_outbox.count(item.id) != 0) continue;
      Due d;
      try {
        if (parser.Parse(item.alert_json, rec) != RecordType::kAlert)
          throw DataError("type: not an alert");
        d.alert = rec.alert;
      } catch (const DataError& e) {
        FailOne(*cs, item.email, "outbox-" + std::to_string(item.id), item.alert_json,
                Origin{"outbox", static_cast<uint64_t>(item.id)}, e.what(), 0, item.id);
        continue;
      }
      std::string email = item.email;
      d.item = std::move(item);
      groups[{cs, email}].push_back(std::move(d));
    }
    return groups;
  }

  /// Per-user targets: false while the user is paused, has a message on
  /// its way, or is inside its digest window.
  bool MayFlushUser(ChannelState& cs, const std::string& email, const CachedUser& cu, TimeMs now) {
    if (cu.paused) return false;  // held until /start
    // A window counts from when a message really went out (a retried
    // one goes out late), and only one message per user is on its way.
    if (cs.groups.count(email) != 0) return false;
    int64_t interval_ms = cu.user ? cu.user->interval * 1000 : 0;
    return !(interval_ms > 0 && now < LastSent(cs, email) + interval_ms);
  }

  /// The messages one user's due items make; the items that cannot or need
  /// not be sent are settled here.
  std::vector<Pending> OutboxMessages(ChannelState& cs, const std::string& email,
                                      const CachedUser& cu, std::vector<Due>& dues) {
    std::vector<Pending> msgs;
    std::unordered_set<std::string> seen;
    for (Due& d : dues) {
      std::array<int64_t, 1> one{d.item.id};
      // Delivered already (a crash between sending and dequeuing), or a
      // second copy (a crash while parking): settle without sending.
      if (!seen.insert(d.alert.id).second || queries.Delivered(d.alert.id, cs.target->key)) {
        Unhold(cs, email, one);
        Record(cs, d.alert.id, DeliveryStatus::kDuplicate, 0);
        continue;
      }
      Origin origin{"outbox", static_cast<uint64_t>(d.item.id)};
      if (cs.fatal) {
        FailOne(cs, email, d.alert.id, d.item.alert_json, origin, cs.fatal_result.error, 0,
                d.item.id);
        continue;
      }
      std::optional<int64_t> chat;
      if (cs.target->kind == TargetKind::kTelegram) {
        chat = ChatFor(cu, d.alert);
        if (!chat) {
          FailOne(cs, email, d.alert.id, d.item.alert_json, origin, NoChatError(email), 0,
                  d.item.id);
          continue;
        }
      }
      AddToMessages(msgs, cs, email, chat, d, std::move(origin));
    }
    return msgs;
  }

  /// Adds an outbox item to the last message, or starts a new one.
  void AddToMessages(std::vector<Pending>& msgs, ChannelState& cs, const std::string& email,
                     std::optional<int64_t> chat, Due& d, Origin origin) {
    bool start_new = msgs.empty() || !cs.target->per_user ||
                     msgs.back().msg.alerts.size() >= cs.ch->max_digest() ||
                     msgs.back().msg.chat_id != chat;
    if (start_new) {
      msgs.emplace_back();
      msgs.back().msg.email = email;
      msgs.back().msg.chat_id = chat;
    }
    Pending& p = msgs.back();
    p.msg.alerts.push_back(std::move(d.alert));
    p.msg.raws.push_back(std::move(d.item.alert_json));
    p.origins.push_back(std::move(origin));
    p.outbox_ids.push_back(d.item.id);
    p.attempts = std::max(p.attempts, d.item.attempts);
    if (d.item.first_try != 0)
      p.first_try = p.first_try == 0 ? d.item.first_try : std::min(p.first_try, d.item.first_try);
    cs.busy_outbox.insert(d.item.id);
  }

  /// Moves a user's whole queue on `cs` (memory and outbox) into the outbox
  /// so that it goes out at `due` or later, keeping the order: new copies
  /// are enqueued in order, then the old items are dequeued. Items tried
  /// before keep their attempts and first failure; `why` goes into the
  /// batched records of alerts that were not in the outbox yet. With
  /// `failed_since`, the alerts queued behind the failing head count their
  /// age from it too (they wait for the same target).
  void ParkGroup(ChannelState& cs, const std::string& email, TimeMs due,
                 const std::string& why = {}, TimeMs failed_since = 0) {
    auto git = cs.groups.find(email);
    // The copies get their own non-decreasing due times (below); the old
    // items' times must not push the retried head behind a later window.
    cs.held[email].max_due = 0;
    std::vector<int64_t> old_ids;
    std::unordered_set<int64_t> in_memory;
    TimeMs last_due = due;
    auto requeue = [&](const Alert& a, std::string_view raw, int64_t old_id, TimeMs min_due,
                       int attempts, TimeMs first_try) {
      last_due = std::max(last_due, min_due);
      if (first_try == 0) first_try = failed_since;
      int64_t id = Hold(cs, a, raw, last_due, attempts, first_try);
      if (attempts > opts.retries) {
        cs.deferred.insert(id);
      } else if (attempts > 0) {
        cs.retrying.insert(id);
      }
      if (old_id != 0) {
        old_ids.push_back(old_id);
      } else {
        Record(cs, a.id, DeliveryStatus::kBatched, attempts, attempts > 0 ? why : std::string());
      }
    };
    if (git != cs.groups.end()) {
      for (Pending& p : git->second.queue) {
        for (size_t i = 0; i < p.msg.alerts.size(); ++i) {
          if (p.outbox_ids[i] != 0) in_memory.insert(p.outbox_ids[i]);
          requeue(p.msg.alerts[i], p.msg.raws[i], p.outbox_ids[i], due, p.attempts, p.first_try);
        }
      }
    }
    std::vector<OutboxItem> rest = queries.Outbox(email);
    std::sort(rest.begin(), rest.end(),
              [](const OutboxItem& a, const OutboxItem& b) { return a.id < b.id; });
    for (const OutboxItem& item : rest) {
      if (item.channel != cs.target->key || in_memory.count(item.id) != 0) continue;
      if (std::find(old_ids.begin(), old_ids.end(), item.id) != old_ids.end()) continue;
      try {
        if (parser.Parse(item.alert_json, rec) != RecordType::kAlert) continue;
      } catch (const DataError&) {
        continue;  // dead-lettered when it comes due
      }
      requeue(rec.alert, item.alert_json, item.id, item.due, item.attempts, item.first_try);
    }
    if (git != cs.groups.end()) cs.groups.erase(git);
    Unhold(cs, email, old_ids);
  }

  // ------------------------------------------------------------ sending

  void Settle(ChannelState& cs, const std::string& email, const SendResult& r, TimeMs now) {
    auto git = cs.groups.find(email);
    if (git == cs.groups.end()) return;
    Group& g = git->second;
    g.in_flight = false;
    Pending& p = g.queue.front();
    ++p.attempts;
    switch (r.status) {
      case SendStatus::kOk:
        NoteSent(cs, email, p, now);
        g.queue.pop_front();
        break;
      case SendStatus::kRetry:
        if (!RetryOrPark(cs, email, g, r, now)) return;  // the group is gone
        break;
      case SendStatus::kPermanent:
        FailPending(cs, p, r.error);
        g.queue.pop_front();
        break;
      case SendStatus::kFatal:
        NoteFatal(cs, r);
        FailPending(cs, p, r.error);
        g.queue.pop_front();
        break;
    }
    if (g.queue.empty()) cs.groups.erase(git);
  }

  void NoteSent(ChannelState& cs, const std::string& email, Pending& p, TimeMs now) {
    ++stats.messages;
    // Recorded, with the others of this batch, by RecordSent.
    Sent s;
    s.email = email;
    for (const Alert& a : p.msg.alerts) s.alert_ids.push_back(a.id);
    s.outbox_ids = std::move(p.outbox_ids);
    s.attempts = p.attempts;
    if (cs.sent.empty()) cs.sent_since = now;
    cs.sent_alerts += s.alert_ids.size();
    cs.sent.push_back(std::move(s));
    if (cs.target->per_user) {
      const CachedUser& cu = Lookup(email, now);
      if (cu.user && cu.user->interval > 0) SetLastSent(cs, email, now);
    }
  }

  /// A temporary failure of the group's first message: tried again after a
  /// back-off, parked in the outbox, or given up on. False when the group
  /// was parked (it is gone).
  bool RetryOrPark(ChannelState& cs, const std::string& email, Group& g, const SendResult& r,
                   TimeMs now) {
    Pending& p = g.queue.front();
    ++stats.retries;
    if (r.retry_after_ms) cs.ch->Throttled(p.msg, now + *r.retry_after_ms);
    if (p.first_try == 0) p.first_try = now;
    int64_t wait = BackoffMs(opts.backoff, p.attempts, hooks.random(), r.retry_after_ms);
    if (p.attempts > opts.retries) {
      // The retries are spent: the outbox keeps the user's queue for a
      // later attempt (this run's outbox polls, or a later run) until
      // the first failure is retry_for_ms old. Nothing is lost to a
      // short outage, and nothing is dropped.
      TimeMs give_up = p.first_try + opts.retry_for_ms;
      if (now >= give_up) {
        FailPending(cs, p,
                    "gave up after " + std::to_string(p.attempts) + " attempts in " +
                        std::to_string((now - p.first_try) / 1000) + " s: " + r.error);
        g.queue.pop_front();
        return true;
      }
      TimeMs at = std::min(now + wait, give_up);
      log::Warn("{}: {}: attempt {} failed ({}); kept in the outbox, next attempt in {} s",
                cs.target->label, email, p.attempts, r.error, (at - now + 999) / 1000);
      ParkGroup(cs, email, at, "will retry: " + r.error, p.first_try);
      return false;
    }
    log::Info("{}: {}: attempt {} failed ({}), retrying in {} ms", cs.target->label, email,
              p.attempts, r.error, wait);
    if (wait > opts.park_after_ms) {
      ParkGroup(cs, email, now + wait);
      return false;
    }
    p.not_before = now + wait;
    return true;
  }

  /// The target refuses for good: no more attempts on it in this run.
  void NoteFatal(ChannelState& cs, const SendResult& r) {
    if (cs.fatal) return;
    cs.fatal = true;
    cs.fatal_result = r;
    if (r.exit_code > stats.fatal_exit_code) {
      stats.fatal_exit_code = r.exit_code;
      stats.fatal_error = cs.target->label + ": " + r.error;
    }
    log::Error("{}: {} (no more attempts on this target in this run)", cs.target->label, r.error);
  }

  /// Records what was delivered in one transaction, with the target's
  /// checkpoint; then dequeues its outbox items and reports it. A crash
  /// before the commit sends the batch again (a target with a checkpoint
  /// rolls its copy back first); one after it finds it delivered.
  void RecordSent(ChannelState& cs, TimeMs now) {
    if (cs.sent.empty()) return;
    std::vector<DeliveryRow> rows;
    for (const Sent& s : cs.sent)
      for (const std::string& id : s.alert_ids) rows.push_back({id, cs.target->key, now, s.email});
    std::vector<KeyValue> values;
    if (std::optional<std::string> mark = cs.ch->Checkpoint())
      values.push_back({CheckpointKey(cs.target->key), std::move(*mark)});
    commands.RecordDeliveries(rows, values);
    std::vector<Sent> sent;
    sent.swap(cs.sent);
    cs.sent_alerts = 0;
    for (const Sent& s : sent) {
      for (const std::string& id : s.alert_ids) {
        cs.pending_ids.erase(id);
        Record(cs, id, DeliveryStatus::kSent, s.attempts);
      }
      Unhold(cs, s.email, s.outbox_ids);
    }
  }

  bool SendChannel(ChannelState& cs, TimeMs now) {
    cs.admit_at = kNever;
    if (cs.groups.empty()) return false;
    if (cs.fatal) {
      for (auto& [email, g] : cs.groups)
        for (Pending& p : g.queue) FailPending(cs, p, cs.fatal_result.error);
      cs.groups.clear();
      return true;
    }
    std::vector<std::string> emails;
    std::vector<const Message*> batch;
    size_t limit = std::max<size_t>(1, cs.ch->max_parallel());
    // Round-robin from the user after the last one served, so a few busy
    // users cannot keep the others waiting.
    auto start = cs.groups.upper_bound(cs.cursor);
    for (size_t n = 0; n < cs.groups.size() && batch.size() < limit; ++n, ++start) {
      if (start == cs.groups.end()) start = cs.groups.begin();
      Group& g = start->second;
      if (g.in_flight || g.queue.empty()) continue;
      Pending& p = g.queue.front();
      if (p.not_before > now) continue;
      int64_t wait = 0;
      if (!cs.ch->Admit(p.msg, now, &wait)) {
        cs.admit_at = std::min(cs.admit_at, now + std::max<int64_t>(wait, 1));
        continue;
      }
      g.in_flight = true;
      emails.push_back(start->first);
      batch.push_back(&p.msg);
    }
    if (batch.empty()) return false;
    cs.cursor = emails.back();
    std::vector<SendResult> results(batch.size());
    std::vector<bool> done(batch.size(), false);
    cs.ch->SendBatch(batch, [&](size_t i, SendResult r) {
      if (i < results.size()) {
        results[i] = std::move(r);
        done[i] = true;
      }
    });
    TimeMs after = hooks.now();
    for (size_t i = 0; i < batch.size(); ++i) cs.ch->Answered(*batch[i], after);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!done[i]) {
        results[i].status = SendStatus::kRetry;
        results[i].error = "no result from the channel";
      }
      if (hooks.on_answer) hooks.on_answer(*cs.target, results[i]);
      Settle(cs, emails[i], results[i], after);
    }
    if (!cs.lazy || RecordDue(cs, after)) RecordSent(cs, after);
    return true;
  }

  bool RecordDue(const ChannelState& cs, TimeMs now) const {
    return !cs.sent.empty() && (cs.sent_alerts >= opts.record_batch ||
                                now - cs.sent_since >= opts.record_delay_ms || now < cs.sent_since);
  }

  void Sync() {
    TimeMs now = hooks.now();
    for (ChannelState& cs : channels) RecordSent(cs, now);
  }

  bool Step() {
    TimeMs now = hooks.now();
    size_t settled_before = stats.sent + stats.failed + stats.duplicate;
    for (ChannelState& cs : channels)
      if (RecordDue(cs, now)) RecordSent(cs, now);
    FlushOutbox(now);
    bool did = false;
    for (ChannelState& cs : channels) did |= SendChannel(cs, now);
    return did || stats.sent + stats.failed + stats.duplicate != settled_before;
  }

  TimeMs NextWake() const {
    TimeMs now = hooks.now();
    TimeMs t = next_outbox_check;
    for (const ChannelState& cs : channels)
      if (!cs.sent.empty()) t = std::min(t, cs.sent_since + opts.record_delay_ms);
    for (const ChannelState& cs : channels) {
      for (const auto& [email, g] : cs.groups) {
        if (g.in_flight || g.queue.empty()) continue;
        if (cs.fatal) return now;
        TimeMs nb = g.queue.front().not_before;
        // A head that is due but was not sent waits for the rate limit
        // (Step sends every admitted head, up to a full batch).
        t = std::min(t, nb > now ? nb : std::min(std::max(cs.admit_at, now), t));
        if (nb <= now && cs.admit_at == kNever) return now;
      }
    }
    return t;
  }

  bool Unrecorded() const {
    for (const ChannelState& cs : channels)
      if (!cs.sent.empty()) return true;
    return false;
  }

  bool Quiescent() const {
    for (const ChannelState& cs : channels)
      if (!cs.groups.empty() || !cs.sent.empty()) return false;
    return true;
  }

  size_t InMemory() const {
    size_t n = 0;
    for (const ChannelState& cs : channels)
      for (const auto& [email, g] : cs.groups) n += g.queue.size();
    return n;
  }

  size_t Held() const {
    size_t n = 0;
    for (const ChannelState& cs : channels)
      for (const auto& [email, h] : cs.held) n += static_cast<size_t>(h.count);
    return n;
  }

  std::vector<std::pair<std::string, size_t>> HeldByChannel() const {
    std::vector<std::pair<std::string, size_t>> out;
    for (const ChannelState& cs : channels) {
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const auto& e) { return e.first == cs.target->channel; });
      if (it == out.end()) it = out.emplace(out.end(), cs.target->channel, 0);
      for (const auto& [email, h] : cs.held) it->second += static_cast<size_t>(h.count);
    }
    return out;
  }

  size_t Retrying() const {
    size_t n = 0;
    for (const ChannelState& cs : channels) n += cs.retrying.size();
    return n;
  }

  size_t Deferred() const {
    size_t n = 0;
    for (const ChannelState& cs : channels) n += cs.deferred.size();
    return n;
  }

  void Park() {
    Sync();
    TimeMs now = hooks.now();
    for (ChannelState& cs : channels) {
      std::vector<std::string> emails;
      for (const auto& [email, g] : cs.groups) emails.push_back(email);
      for (const std::string& email : emails) {
        TimeMs due = now;
        auto git = cs.groups.find(email);
        if (!git->second.queue.empty()) due = std::max(due, git->second.queue.front().not_before);
        ParkGroup(cs, email, due);
      }
    }
  }
};

Notifier::Notifier(std::vector<Channel*> channels, Commands& commands, Queries& queries,
                   NotifierOptions opts, NotifierHooks hooks)
    : impl_(std::make_unique<Impl>(std::move(channels), commands, queries, std::move(opts),
                                   std::move(hooks))) {}
Notifier::~Notifier() = default;

void Notifier::Submit(const Alert& alert, std::string_view raw, std::string_view input,
                      uint64_t line) {
  impl_->Submit(alert, raw, input, line);
}
void Notifier::SubmitAll(std::span<const Incoming> batch) { impl_->SubmitAll(batch); }
bool Notifier::Step() { return impl_->Step(); }
void Notifier::ReadOutboxNow() { impl_->next_outbox_check = 0; }
TimeMs Notifier::NextWake() const { return impl_->NextWake(); }
bool Notifier::Quiescent() const { return impl_->Quiescent(); }
void Notifier::Park() { impl_->Park(); }
void Notifier::Sync() { impl_->Sync(); }
bool Notifier::Unrecorded() const { return impl_->Unrecorded(); }
size_t Notifier::InMemory() const { return impl_->InMemory(); }
size_t Notifier::Held() const { return impl_->Held(); }
std::vector<std::pair<std::string, size_t>> Notifier::HeldByChannel() const {
  return impl_->HeldByChannel();
}
size_t Notifier::Retrying() const { return impl_->Retrying(); }
size_t Notifier::Deferred() const { return impl_->Deferred(); }
const NotifierStats& Notifier::stats() const { return impl_->stats; }

}  // namespace stockwatch
