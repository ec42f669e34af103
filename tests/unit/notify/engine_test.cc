// notify/engine.h: the delivery engine with a fake clock, fake channels and
// a real SQLite store in a temp dir.
#include "stockwatch/notify/engine.h"

#include <unistd.h>

#include <deque>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "temp_store.h"

namespace sw = stockwatch;

namespace {

using stockwatch::test::TempStore;

/// Records every attempt; answers from a script (default: delivered).
class FakeChannel : public sw::Channel {
 public:
  explicit FakeChannel(const std::string& spec, size_t parallel = 8)
      : target_(sw::ParseTarget(spec)), parallel_(parallel) {}
  const sw::Target& target() const override { return target_; }
  size_t max_parallel() const override { return parallel_; }
  size_t max_digest() const override { return digest_; }
  void SendBatch(std::span<const sw::Message* const> msgs,
                 const std::function<void(size_t, sw::SendResult)>& done) override {
    ++batches;
    for (size_t i = 0; i < msgs.size(); ++i) {
      attempts.push_back(*msgs[i]);
      sw::SendResult r;
      if (script) r = script(*msgs[i]);
      if (r.status == sw::SendStatus::kOk) delivered.push_back(*msgs[i]);
      done(i, r);
    }
  }
  /// Alert ids delivered to `email`, in order.
  std::vector<std::string> IdsFor(const std::string& email) const {
    std::vector<std::string> ids;
    for (const sw::Message& m : delivered)
      if (m.email == email)
        for (const sw::Alert& a : m.alerts) ids.push_back(a.id);
    return ids;
  }

  std::function<sw::SendResult(const sw::Message&)> script;
  std::vector<sw::Message> attempts, delivered;
  int batches = 0;
  size_t digest_ = 50;

 private:
  sw::Target target_;
  size_t parallel_;
};

sw::SendResult Fail(sw::SendStatus s, std::string error, std::optional<int64_t> retry_after = {}) {
  sw::SendResult r;
  r.status = s;
  r.error = std::move(error);
  r.retry_after_ms = retry_after;
  if (s == sw::SendStatus::kFatal) r.exit_code = sw::exitcode::kNoPerm;
  return r;
}

sw::Alert MakeAlert(const std::string& email, int n, std::optional<int64_t> chat = {}) {
  sw::Alert a;
  a.email = email;
  a.telegram_id = chat;
  a.ticker = "T" + std::to_string(n % 7);
  a.condition = sw::Condition::kAbove;
  a.price = 100 + n;
  a.threshold = 100;
  a.high = 100;
  a.ts = 1'700'000'000'000 + n * 1000;
  a.id = sw::AlertId(a.email, a.ticker, a.condition, a.ts);
  return a;
}

/// A Notifier over the store with a fake clock, collecting what it reports.
struct Harness {
  TempStore& db;
  std::vector<sw::Channel*> channels;
  sw::TimeMs now = 1'800'000'000'000;
  std::vector<sw::Delivery> records;
  std::vector<sw::Rejected> dead;
  std::unique_ptr<sw::Notifier> n;

  bool rollback = false;
  int64_t retry_for_ms = 24LL * 3600 * 1000;

  Harness(TempStore& store, std::vector<sw::Channel*> chans, int retries = 5)
      : db(store), channels(std::move(chans)) {
    Open(retries);
  }

  void Open(int retries = 5) {
    sw::NotifierOptions o;
    o.retries = retries;
    o.backoff = {100, 1'000};
    o.park_after_ms = 5'000;
    o.rollback_unrecorded = rollback;
    o.retry_for_ms = retry_for_ms;
    sw::NotifierHooks h;
    h.now = [this] { return now; };
    h.random = [] { return 0.5; };
    h.on_delivery = [this](const sw::Delivery& d) { records.push_back(d); };
    h.on_dead_letter = [this](const sw::Rejected& r) { dead.push_back(r); };
    n = std::make_unique<sw::Notifier>(channels, db.commands(), db.queries(), o, h);
  }

  void Submit(const sw::Alert& a) { n->Submit(a, sw::ToJson(a), "stdin", ++line); }

  /// Runs Step() and advances the clock to the next wake-up until nothing
  /// is left in memory and nothing is due before `until`.
  void RunUntil(sw::TimeMs until) {
    for (int guard = 0; guard < 100'000; ++guard) {
      if (n->Step()) continue;
      sw::TimeMs next = n->NextWake();
      if (next > until) break;
      now = std::max(now, next);
    }
    now = std::max(now, until);
    n->Step();
  }

  size_t Count(sw::DeliveryStatus s, const std::string& channel = "") const {
    size_t c = 0;
    for (const sw::Delivery& d : records)
      c += d.status == s && (channel.empty() || d.channel == channel);
    return c;
  }

  uint64_t line = 0;
};

}  // namespace

TEST_CASE("Notifier: every alert once per target; a replay is all duplicates") {
  TempStore db;
  FakeChannel hook("http://127.0.0.1:1/hook");
  FakeChannel file("file:/dev/null");
  Harness h(db, {&hook, &file});
  for (int i = 0; i < 20; ++i) h.Submit(MakeAlert("u" + std::to_string(i % 4) + "@example.com", i));
  h.RunUntil(h.now);
  CHECK(hook.delivered.size() == 20);
  CHECK(file.delivered.size() == 20);
  CHECK(h.Count(sw::DeliveryStatus::kSent) == 40);
  CHECK(h.n->Quiescent());

  // The same stream again, also after a restart, one by one or in bulk
  // (one store query per target): nothing new goes out.
  for (int i = 0; i < 20; ++i) h.Submit(MakeAlert("u" + std::to_string(i % 4) + "@example.com", i));
  h.Open();
  for (int i = 0; i < 20; ++i) h.Submit(MakeAlert("u" + std::to_string(i % 4) + "@example.com", i));
  h.Open();
  std::vector<sw::Alert> again;
  for (int i = 0; i < 20; ++i)
    again.push_back(MakeAlert("u" + std::to_string(i % 4) + "@example.com", i));
  std::vector<std::string> raws;
  for (const sw::Alert& a : again) raws.push_back(sw::ToJson(a));
  std::vector<sw::Notifier::Incoming> batch;
  for (size_t i = 0; i < again.size(); ++i) batch.push_back({&again[i], raws[i], "stdin", i + 1});
  h.n->SubmitAll(batch);
  h.RunUntil(h.now + 10'000);
  CHECK(hook.attempts.size() == 20);
  CHECK(file.attempts.size() == 20);
  CHECK(h.Count(sw::DeliveryStatus::kDuplicate) == 120);

  // In bulk, new alerts go out once even when the batch holds one twice.
  std::vector<sw::Alert> fresh{MakeAlert("new@example.com", 100), MakeAlert("new@example.com", 101),
                               MakeAlert("new@example.com", 100)};
  std::vector<std::string> fresh_raws;
  for (const sw::Alert& a : fresh) fresh_raws.push_back(sw::ToJson(a));
  batch.clear();
  for (size_t i = 0; i < fresh.size(); ++i)
    batch.push_back({&fresh[i], fresh_raws[i], "stdin", i + 1});
  h.n->SubmitAll(batch);
  h.RunUntil(h.now + 10'000);
  CHECK(hook.IdsFor("new@example.com") == std::vector<std::string>{fresh[0].id, fresh[1].id});
  CHECK(h.Count(sw::DeliveryStatus::kDuplicate) == 122);
  CHECK(h.records.back().channel == "file");
}

TEST_CASE("Notifier: one user's messages stay in order across retries; others go on") {
  TempStore db;
  FakeChannel hook("http://127.0.0.1:1/hook");
  std::map<std::string, int> calls;
  hook.script = [&](const sw::Message& m) {
    // a@'s first alert fails twice (500, then a dropped connection).
    if (m.email == "a@example.com" && m.alerts[0].price == 100 && calls[m.alerts[0].id]++ < 2)
      return Fail(sw::SendStatus::kRetry, "HTTP 500");
    return sw::SendResult{};
  };
  Harness h(db, {&hook});
  for (int i = 0; i < 6; ++i) {
    h.Submit(MakeAlert("a@example.com", i * 2));
    h.Submit(MakeAlert("b@example.com", i * 2 + 1));
  }
  h.RunUntil(h.now + 60'000);
  std::vector<std::string> want_a, want_b;
  for (int i = 0; i < 6; ++i) {
    want_a.push_back(MakeAlert("a@example.com", i * 2).id);
    want_b.push_back(MakeAlert("b@example.com", i * 2 + 1).id);
  }
  CHECK(hook.IdsFor("a@example.com") == want_a);
  CHECK(hook.IdsFor("b@example.com") == want_b);
  // b@ did not wait for a@'s retries: all of b@ went before a@'s first success.
  size_t first_a = 0;
  while (hook.delivered[first_a].email != "a@example.com") ++first_a;
  CHECK(first_a == 6);
  // The retried alert reports its attempts.
  std::vector<int> attempts;
  for (const sw::Delivery& d : h.records)
    if (d.alert_id == want_a[0]) attempts.push_back(d.attempts);
  CHECK(attempts == std::vector<int>{3});
}

TEST_CASE("Notifier: with retry_for 0, retries give up after --retries, to the dead letter") {
  TempStore db;
  FakeChannel hook("http://127.0.0.1:1/hook");
  hook.script = [](const sw::Message&) { return Fail(sw::SendStatus::kRetry, "HTTP 503"); };
  Harness h(db, {&hook}, /*retries=*/3);
  h.retry_for_ms = 0;
  h.Open(3);
  sw::Alert a = MakeAlert("a@example.com", 1);
  h.Submit(a);
  h.RunUntil(h.now + 60'000);
  CHECK(hook.attempts.size() == 4);
  REQUIRE(h.dead.size() == 1);
  CHECK(h.dead[0].raw == sw::ToJson(a));
  CHECK(h.dead[0].error ==
        "webhook http://127.0.0.1:1/hook: gave up after 4 attempts in 0 s: HTTP 503");
  CHECK(h.dead[0].input == "stdin");
  CHECK(h.dead[0].line == 1);
  REQUIRE(h.records.size() == 1);
  CHECK(h.records[0].status == sw::DeliveryStatus::kFailed);
  CHECK(h.records[0].attempts == 4);
  CHECK_FALSE(db.queries().Delivered(a.id, "webhook:http://127.0.0.1:1/hook"));
}

TEST_CASE(
    "Notifier: a temporary failure that outlives the retries waits in the outbox, across restarts, "
    "up to retry_for") {
  TempStore db;
  FakeChannel hook("http://127.0.0.1:1/hook");
  FakeChannel tg("telegram:");
  bool down = true;
  auto script = [&](const sw::Message&) {
    return down ? Fail(sw::SendStatus::kRetry, "Connection refused") : sw::SendResult{};
  };
  hook.script = script;
  tg.script = script;
  Harness h(db, {&hook, &tg}, /*retries=*/2);
  h.retry_for_ms = 600'000;
  h.Open(2);
  const sw::TimeMs t0 = h.now;
  sw::Alert a = MakeAlert("a@example.com", 1, 111);
  sw::Alert b = MakeAlert("a@example.com", 2, 111);
  h.Submit(a);
  h.Submit(b);
  h.RunUntil(t0 + 5'000);
  // Three attempts each, then kept in the outbox (batched, with the reason),
  // not dead-lettered; the run does not wait for them.
  CHECK(hook.attempts.size() >= 3);
  CHECK(h.dead.empty());
  CHECK(h.Count(sw::DeliveryStatus::kFailed) == 0);
  CHECK(h.n->Quiescent());
  CHECK(h.n->Retrying() == 0);
  CHECK(h.n->Deferred() >= 2);
  bool said_why = false;
  for (const sw::Delivery& d : h.records)
    said_why |= d.alert_id == a.id && d.status == sw::DeliveryStatus::kBatched && d.attempts == 3 &&
                d.error == "will retry: Connection refused";
  CHECK(said_why);
  // A restart 9 minutes later: the attempts and the age are in the store;
  // at 10 minutes after the first failure the alerts are dead-lettered.
  h.records.clear();
  h.now = t0 + 540'000;
  h.Open(2);
  CHECK(h.n->Deferred() == 0);  // nothing deferred by this run yet
  h.RunUntil(t0 + 700'000);
  REQUIRE(h.dead.size() == 4);  // 2 alerts x 2 targets
  int most = 0;
  for (const sw::Delivery& d : h.records) {
    if (d.status != sw::DeliveryStatus::kFailed) continue;
    // The alerts queued behind the first count their age from its failure.
    CHECK(d.ts >= t0 + 600'000);
    CHECK(d.ts <= t0 + 602'000);
    most = std::max(most, d.attempts);
  }
  CHECK(most > 10);  // counted on from the earlier run, about once a second
  CHECK(h.dead[0].error.find("gave up after ") != std::string::npos);
  CHECK(h.n->Deferred() == 0);
  CHECK(h.n->Held() == 0);

  // The same outage, shorter: once the target is back the outbox delivers
  // each alert once, in order.
  sw::Alert c = MakeAlert("c@example.com", 3, 333);
  sw::Alert d = MakeAlert("c@example.com", 4, 333);
  h.Submit(c);
  h.Submit(d);
  h.RunUntil(h.now + 5'000);
  CHECK(h.n->Deferred() >= 2);
  down = false;
  h.Open(2);  // a later run
  h.RunUntil(h.now + 120'000);
  CHECK(hook.IdsFor("c@example.com") == std::vector<std::string>{c.id, d.id});
  CHECK(tg.IdsFor("c@example.com") == std::vector<std::string>{c.id, d.id});
  CHECK(h.n->Held() == 0);
  CHECK(h.n->Deferred() == 0);
}

TEST_CASE("Notifier: permanent failures go to the dead letter at once, the rest goes on") {
  TempStore db;
  FakeChannel tg("telegram:");
  tg.script = [](const sw::Message& m) {
    if (m.chat_id == 403)
      return Fail(sw::SendStatus::kPermanent, "Forbidden: bot was blocked by the user (403)");
    return sw::SendResult{};
  };
  Harness h(db, {&tg});
  h.Submit(MakeAlert("blocked@example.com", 1, 403));
  h.Submit(MakeAlert("ok@example.com", 2, 7));
  h.RunUntil(h.now);
  CHECK(tg.attempts.size() == 2);
  REQUIRE(h.dead.size() == 1);
  CHECK(h.dead[0].error == "telegram: Forbidden: bot was blocked by the user (403)");
  CHECK(h.Count(sw::DeliveryStatus::kFailed) == 1);
  CHECK(h.Count(sw::DeliveryStatus::kSent) == 1);
}

TEST_CASE("Notifier: a fatal channel error fails everything on it, other targets unaffected") {
  TempStore db;
  FakeChannel mail("mailto:", 1);  // SMTP sends one at a time
  FakeChannel file("file:/dev/null");
  mail.script = [](const sw::Message&) {
    return Fail(sw::SendStatus::kFatal, "authentication failed (SMTP 535)");
  };
  Harness h(db, {&mail, &file});
  for (int i = 0; i < 5; ++i) h.Submit(MakeAlert("u" + std::to_string(i) + "@example.com", i));
  h.RunUntil(h.now);
  CHECK(mail.attempts.size() == 1);  // the server is asked once, not once per alert
  CHECK(file.delivered.size() == 5);
  CHECK(h.dead.size() == 5);
  CHECK(h.n->stats().fatal_exit_code == sw::exitcode::kNoPerm);
  CHECK(h.n->stats().fatal_error == "email: authentication failed (SMTP 535)");
  h.Submit(MakeAlert("late@example.com", 9));
  CHECK(h.dead.size() == 6);
  CHECK(h.Count(sw::DeliveryStatus::kFailed, "email") == 6);
}

TEST_CASE("Notifier: Telegram goes to the chat linked in the store, not the alert's copy") {
  TempStore db;
  db.AddUser("alice@example.com", 111);
  db.AddUser("nochat@example.com", std::nullopt);
  FakeChannel tg("telegram:");
  Harness h(db, {&tg});
  h.Submit(MakeAlert("alice@example.com", 1, 999));      // stale copy in the alert
  h.Submit(MakeAlert("nochat@example.com", 2, 555));     // unlinked since
  h.Submit(MakeAlert("storeless@example.com", 3, 333));  // not in the store: the alert's
  h.Submit(MakeAlert("nobody@example.com", 4));          // no chat anywhere
  h.RunUntil(h.now);
  REQUIRE(tg.delivered.size() == 2);
  CHECK(tg.delivered[0].chat_id == 111);
  CHECK(tg.delivered[1].chat_id == 333);
  REQUIRE(h.dead.size() == 2);
  CHECK(h.dead[0].error.find("nochat@example.com has no linked Telegram chat") !=
        std::string::npos);
  CHECK(h.dead[0].error.find("stockctl user set nochat@example.com --telegram-id") !=
        std::string::npos);
}

TEST_CASE("Notifier: a user's interval batches alerts into one digest per window") {
  TempStore db;
  db.AddUser("alice@example.com", 111, 60);
  db.AddUser("bob@example.com", 222, 0);
  FakeChannel tg("telegram:");
  FakeChannel hook("http://127.0.0.1:1/hook");
  Harness h(db, {&tg, &hook});
  for (int i = 0; i < 4; ++i) {
    h.Submit(MakeAlert("alice@example.com", i));
    h.Submit(MakeAlert("bob@example.com", 10 + i));
    h.RunUntil(h.now + 1'000);
  }
  // alice: the first at once, three held; bob (no interval) every one.
  CHECK(tg.IdsFor("alice@example.com").size() == 1);
  CHECK(tg.IdsFor("bob@example.com").size() == 4);
  CHECK(h.Count(sw::DeliveryStatus::kBatched, "telegram") == 3);
  CHECK(db.queries().Outbox("alice@example.com").size() == 3);
  // The webhook is not a person's channel: no interval there.
  CHECK(hook.IdsFor("alice@example.com").size() == 4);

  h.RunUntil(h.now + 50'000);  // 54 s after the first message: still held
  CHECK(tg.IdsFor("alice@example.com").size() == 1);
  h.RunUntil(h.now + 7'000);  // the window ended: one digest with three alerts
  std::vector<sw::Message> alice;
  for (const sw::Message& m : tg.delivered)
    if (m.email == "alice@example.com") alice.push_back(m);
  REQUIRE(alice.size() == 2);
  CHECK(alice[1].alerts.size() == 3);
  std::vector<std::string> want;
  for (int i = 0; i < 4; ++i) want.push_back(MakeAlert("alice@example.com", i).id);
  CHECK(tg.IdsFor("alice@example.com") == want);
  CHECK(db.queries().Outbox("alice@example.com").empty());
  CHECK(h.Count(sw::DeliveryStatus::kSent, "telegram") == 8);

  // The next alert falls into the window that digest opened.
  h.Submit(MakeAlert("alice@example.com", 20));
  h.RunUntil(h.now + 30'000);
  CHECK(tg.IdsFor("alice@example.com").size() == 4);
  h.RunUntil(h.now + 31'000);
  CHECK(tg.IdsFor("alice@example.com").size() == 5);
}

TEST_CASE("Notifier: the window counts from when a retried message really went out") {
  TempStore db;
  db.AddUser("alice@example.com", 111, 10);
  FakeChannel tg("telegram:");
  int fails = 3;
  tg.script = [&](const sw::Message&) {
    return fails-- > 0 ? Fail(sw::SendStatus::kRetry, "HTTP 502") : sw::SendResult{};
  };
  Harness h(db, {&tg});
  sw::TimeMs t0 = h.now;
  h.Submit(MakeAlert("alice@example.com", 0));
  h.Submit(MakeAlert("alice@example.com", 1));  // held for the window
  h.RunUntil(t0 + 30'000);
  REQUIRE(tg.delivered.size() == 2);
  // When the first went out late, the digest still waited a whole window.
  std::vector<sw::TimeMs> sent_at;
  for (const sw::Delivery& d : h.records)
    if (d.status == sw::DeliveryStatus::kSent) sent_at.push_back(d.ts);
  REQUIRE(sent_at.size() == 2);
  CHECK(sent_at[0] > t0);
  CHECK(sent_at[1] - sent_at[0] >= 10'000);
}

TEST_CASE("Notifier: held digests survive a restart and go out when due") {
  TempStore db;
  db.AddUser("alice@example.com", 111, 60);
  FakeChannel tg("telegram:");
  Harness h(db, {&tg});
  for (int i = 0; i < 3; ++i) h.Submit(MakeAlert("alice@example.com", i));
  h.RunUntil(h.now + 1'000);
  CHECK(tg.delivered.size() == 1);
  h.Open();                                     // a new run: the outbox is all that is left
  h.Submit(MakeAlert("alice@example.com", 1));  // a replayed alert that is still held
  CHECK(h.Count(sw::DeliveryStatus::kDuplicate) == 1);
  h.RunUntil(h.now + 61'000);
  REQUIRE(tg.delivered.size() == 2);
  CHECK(tg.delivered[1].alerts.size() == 2);
}

TEST_CASE("Notifier: a paused user's alerts are held, then sent as one digest after resume") {
  TempStore db;
  db.AddUser("alice@example.com", 111);
  db.commands().PutValue(sw::PausedKey("alice@example.com"), "1");
  FakeChannel tg("telegram:");
  Harness h(db, {&tg});
  for (int i = 0; i < 5; ++i) h.Submit(MakeAlert("alice@example.com", i));
  h.RunUntil(h.now + 120'000);
  CHECK(tg.attempts.empty());
  CHECK(h.Count(sw::DeliveryStatus::kBatched) == 5);
  db.commands().PutValue(sw::PausedKey("alice@example.com"), "0");
  h.RunUntil(h.now + 3'000);
  REQUIRE(tg.delivered.size() == 1);
  CHECK(tg.delivered[0].alerts.size() == 5);
  CHECK(h.Count(sw::DeliveryStatus::kSent) == 5);
}

TEST_CASE("Notifier: long digests are split at the channel's limit, in order") {
  TempStore db;
  db.AddUser("alice@example.com", 111);
  db.commands().PutValue(sw::PausedKey("alice@example.com"), "1");
  FakeChannel tg("telegram:");
  tg.digest_ = 4;
  Harness h(db, {&tg});
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) {
    h.Submit(MakeAlert("alice@example.com", i));
    want.push_back(MakeAlert("alice@example.com", i).id);
  }
  db.commands().PutValue(sw::PausedKey("alice@example.com"), "0");
  h.RunUntil(h.now + 5'000);
  REQUIRE(tg.delivered.size() == 3);
  CHECK(tg.delivered[0].alerts.size() == 4);
  CHECK(tg.delivered[2].alerts.size() == 2);
  CHECK(tg.IdsFor("alice@example.com") == want);
}

TEST_CASE("Notifier: a long retry_after parks the user's queue in the outbox, order kept") {
  TempStore db;
  FakeChannel hook("http://127.0.0.1:1/hook");
  bool throttled = false;
  hook.script = [&](const sw::Message&) {
    if (!throttled) {
      throttled = true;
      return Fail(sw::SendStatus::kRetry, "HTTP 429", 30'000);
    }
    return sw::SendResult{};
  };
  Harness h(db, {&hook});
  h.Submit(MakeAlert("a@example.com", 0));
  h.Submit(MakeAlert("a@example.com", 1));
  h.RunUntil(h.now + 100);
  CHECK(h.n->Quiescent());  // nothing waits in memory: a checkpoint can commit
  CHECK(db.queries().Outbox("a@example.com").size() == 2);
  CHECK(h.Count(sw::DeliveryStatus::kBatched) == 2);
  h.Submit(MakeAlert("a@example.com", 2));  // queues behind the parked ones
  h.RunUntil(h.now + 20'000);
  CHECK(hook.delivered.empty());
  h.RunUntil(h.now + 11'000);
  std::vector<std::string> want;
  for (int i = 0; i < 3; ++i) want.push_back(MakeAlert("a@example.com", i).id);
  CHECK(hook.IdsFor("a@example.com") == want);
  CHECK(db.queries().Outbox("a@example.com").empty());
  std::vector<int> attempts;
  for (const sw::Delivery& d : h.records)
    if (d.alert_id == want[0] && d.status == sw::DeliveryStatus::kSent)
      attempts.push_back(d.attempts);
  CHECK(attempts == std::vector<int>{2});
}

TEST_CASE("Notifier: Park() makes waiting messages durable for the next run") {
  TempStore db;
  FakeChannel hook("http://127.0.0.1:1/hook");
  hook.script = [](const sw::Message&) { return Fail(sw::SendStatus::kRetry, "HTTP 500"); };
  Harness h(db, {&hook});
  for (int i = 0; i < 3; ++i) h.Submit(MakeAlert("a@example.com", i));
  h.n->Step();  // the first fails; all three wait in memory
  CHECK_FALSE(h.n->Quiescent());
  h.n->Park();
  CHECK(h.n->Quiescent());
  CHECK(db.queries().Outbox("a@example.com").size() == 3);
  hook.script = nullptr;
  h.Open();
  h.RunUntil(h.now + 5'000);
  std::vector<std::string> want;
  for (int i = 0; i < 3; ++i) want.push_back(MakeAlert("a@example.com", i).id);
  CHECK(hook.IdsFor("a@example.com") == want);
  CHECK(db.queries().Outbox("a@example.com").empty());
}

TEST_CASE("Notifier: many users are sent concurrently, up to the channel's parallelism") {
  TempStore db;
  FakeChannel hook("http://127.0.0.1:1/hook", 4);
  Harness h(db, {&hook});
  for (int i = 0; i < 40; ++i)
    h.Submit(MakeAlert("u" + std::to_string(i % 10) + "@example.com", i));
  h.RunUntil(h.now);
  CHECK(hook.delivered.size() == 40);
  CHECK(hook.batches == 10);  // 4 messages per batch, one per user at a time
}

/// A channel with a checkpoint: the number of messages it holds.
class MarkedChannel : public FakeChannel {
 public:
  using FakeChannel::FakeChannel;
  std::optional<std::string> Checkpoint() const override {
    return std::to_string(delivered.size());
  }
  std::string Rollback(std::string_view mark) override {
    rollbacks.emplace_back(mark);
    return "rolled back to " + std::string(mark);
  }
  std::vector<std::string> rollbacks;
};

TEST_CASE("Notifier: a batch is recorded with the target's checkpoint; restarts roll back to it") {
  TempStore db;
  MarkedChannel file("file:/tmp/sw-marked.txt", 4);
  Harness h(db, {&file});
  h.rollback = true;  // Kafka input: unrecorded alerts come again
  h.Open();
  std::string key = sw::CheckpointKey("file:/tmp/sw-marked.txt");
  CHECK(key == "notify.mark:file:/tmp/sw-marked.txt");
  CHECK(file.rollbacks.empty());  // nothing stored yet
  for (int i = 0; i < 10; ++i) h.Submit(MakeAlert("u" + std::to_string(i % 5) + "@example.com", i));
  h.RunUntil(h.now);
  REQUIRE(file.delivered.size() == 10);
  CHECK(file.batches == 3);  // 4 + 4 + 2 (two messages of each of 5 users, one at a time)
  // A target with a checkpoint cannot repeat a message after a crash: its
  // deliveries are recorded in bulk, record_delay_ms (50) after the first.
  CHECK(h.Count(sw::DeliveryStatus::kSent) == 0);
  CHECK_FALSE(h.n->Quiescent());
  CHECK(h.n->NextWake() == h.now + 50);
  CHECK_FALSE(db.queries().GetValue(key));
  h.RunUntil(h.now + 50);
  CHECK(h.n->Quiescent());
  // The mark stored with the records names all ten messages.
  CHECK(db.queries().GetValue(key) == "10");
  for (const sw::Message& m : file.delivered)
    CHECK(db.queries().Delivered(m.alerts.at(0).id, "file:/tmp/sw-marked.txt"));
  CHECK(h.Count(sw::DeliveryStatus::kSent) == 10);

  // Sync() (an input checkpoint comes next) records at once.
  h.Submit(MakeAlert("u9@example.com", 11));
  h.RunUntil(h.now);
  CHECK(h.Count(sw::DeliveryStatus::kSent) == 10);
  CHECK(h.n->Unrecorded());
  h.n->Sync();
  CHECK_FALSE(h.n->Unrecorded());
  CHECK(h.Count(sw::DeliveryStatus::kSent) == 11);
  CHECK(db.queries().GetValue(key) == "11");

  // With rollback_unrecorded (Kafka) a restart asks the target to roll
  // back to the stored mark; without it (pipes) the target is left alone,
  // and each batch is recorded at once.
  h.Open();
  CHECK(file.rollbacks == std::vector<std::string>{"11"});
  h.rollback = false;
  h.Open();
  CHECK(file.rollbacks.size() == 1);
  h.Submit(MakeAlert("u9@example.com", 12));
  h.RunUntil(h.now);
  CHECK(h.Count(sw::DeliveryStatus::kSent) == 12);
  CHECK(db.queries().GetValue(key) == "12");
}

TEST_CASE("Notifier: a failed batch records nothing and moves no checkpoint") {
  TempStore db;
  MarkedChannel file("file:/tmp/sw-marked.txt", 4);
  Harness h(db, {&file}, 0);
  file.script = [](const sw::Message&) { return Fail(sw::SendStatus::kRetry, "disk full"); };
  h.Submit(MakeAlert("a@example.com", 1));
  h.RunUntil(h.now);
  CHECK(h.Count(sw::DeliveryStatus::kBatched) == 1);  // kept for a later attempt
  CHECK(h.Count(sw::DeliveryStatus::kSent) == 0);
  CHECK_FALSE(db.queries().Delivered(MakeAlert("a@example.com", 1).id, "file:/tmp/sw-marked.txt"));
  CHECK_FALSE(db.queries().GetValue(sw::CheckpointKey("file:/tmp/sw-marked.txt")));
}
