// The store's contract (store.h), run against SQLite in a temp file and,
// when STOCKWATCH_TEST_PG is set, against PostgreSQL (each case in a schema
// of its own). tests/integration/0101-store-pg.sh makes the PostgreSQL run
// mandatory under `make test`.
#include "stockwatch/store/store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <pqxx/pqxx>
#include <sqlite3.h>

#include "stockwatch/store/internal.h"

namespace sw = stockwatch;

namespace {

std::string RandomSuffix() {
  static std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(getpid()));
  const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  for (int i = 0; i < 10; ++i) s.push_back(digits[rng() % 36]);
  return s;
}

/// A fresh, empty database for one backend; removed on destruction.
class TestDb {
 public:
  explicit TestDb(const std::string& backend) : backend_(backend) {
    if (backend == "sqlite") {
      dir_ = std::filesystem::temp_directory_path() / ("sw-store-test-" + RandomSuffix());
      std::filesystem::create_directories(dir_);
      url_ = "sqlite:" + (dir_ / "test.db").string();
    } else {
      base_ = std::getenv("STOCKWATCH_TEST_PG");
      schema_ = "sw_test_" + RandomSuffix();
      pqxx::connection c(base_);
      pqxx::nontransaction n(c);
      n.exec("CREATE SCHEMA " + schema_);
      url_ = base_ + (base_.find('?') == std::string::npos ? "?" : "&") +
             "options=-csearch_path%3D" + schema_;
    }
  }
  ~TestDb() {
    try {
      if (!dir_.empty()) std::filesystem::remove_all(dir_);
      if (!schema_.empty()) {
        pqxx::connection c(base_);
        pqxx::nontransaction n(c);
        n.exec("DROP SCHEMA " + schema_ + " CASCADE");
      }
    } catch (...) {
    }
  }
  const std::string& url() const { return url_; }
  std::unique_ptr<sw::Store> Open() const { return sw::Store::Open(url_); }

 private:
  std::string backend_;
  std::filesystem::path dir_;
  std::string base_, schema_, url_;
};

std::vector<std::string> Backends() {
  std::vector<std::string> b{"sqlite"};
  const char* pg = std::getenv("STOCKWATCH_TEST_PG");
  if (pg != nullptr && *pg != '\0') b.push_back("postgresql");
  return b;
}

sw::User MakeUser(std::string email, std::optional<int64_t> tg = std::nullopt,
                  int64_t interval = 0) {
  sw::User u;
  u.email = std::move(email);
  u.telegram_id = tg;
  u.interval = interval;
  return u;
}

sw::Watch MakeWatch(std::string email, std::string ticker, std::optional<double> low,
                    std::optional<double> high) {
  sw::Watch w;
  w.email = std::move(email);
  w.ticker = std::move(ticker);
  w.low = low;
  w.high = high;
  return w;
}

sw::Quote MakeQuote(std::string ticker, sw::TimeMs ts, double price, std::string currency = "USD",
                    std::string source = "test") {
  sw::Quote q;
  q.ticker = std::move(ticker);
  q.ts = ts;
  q.price = price;
  q.currency = std::move(currency);
  q.source = std::move(source);
  return q;
}

/// Runs `fn` in a command with no request id; returns its outcome.
sw::Outcome Do(sw::Store& s, const std::function<void(sw::CommandTx&)>& fn) {
  return s.commands().Execute("", [&](sw::CommandTx& tx) {
    fn(tx);
    return sw::Outcome{0, "ok\n", ""};
  });
}

#define FOR_EACH_BACKEND(db)                         \
  for (const std::string& backend_name : Backends()) \
    if (TestDb db(backend_name); true)               \
      if (INFO("backend: " << backend_name); true)

constexpr sw::TimeMs kT0 = 1'795'000'000'000;  // 2026-11-17

}  // namespace

TEST_CASE("Store: the schema is created on first use and data survives a reopen") {
  FOR_EACH_BACKEND(db) {
    {
      auto s = db.Open();
      CHECK(s->queries().SchemaVersion() == sw::store_internal::kSchemaVersion);
      CHECK(s->queries().Users().empty());
      CHECK(Do(*s, [](sw::CommandTx& tx) {
              tx.AddUser(MakeUser("alice@example.com", 111));
            }).exit_code == 0);
    }
    auto s = db.Open();
    CHECK(s->queries().SchemaVersion() == sw::store_internal::kSchemaVersion);
    auto users = s->queries().Users();
    REQUIRE(users.size() == 1);
    CHECK(users[0].email == "alice@example.com");
    CHECK(users[0].telegram_id == 111);
  }
}

TEST_CASE("Store: users are added, changed, linked and removed") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto& q = s->queries();
    CHECK(Do(*s, [](sw::CommandTx& tx) {
            tx.AddUser(MakeUser("alice@Example.COM", 111));
          }).exit_code == 0);
    // The domain is normalised to lower case.
    REQUIRE(q.FindUser("alice@example.com"));
    CHECK_FALSE(q.FindUser("bob@example.com"));

    sw::Outcome dup = Do(*s, [](sw::CommandTx& tx) { tx.AddUser(MakeUser("alice@example.com")); });
    CHECK(dup.exit_code == 65);
    CHECK(dup.error.rfind("email: ", 0) == 0);
    CHECK(dup.error.find("already registered") != std::string::npos);

    sw::Outcome taken =
        Do(*s, [](sw::CommandTx& tx) { tx.AddUser(MakeUser("bob@example.com", 111)); });
    CHECK(taken.exit_code == 65);
    CHECK(taken.error.rfind("telegram_id: ", 0) == 0);
    CHECK_FALSE(q.FindUser("bob@example.com"));  // rolled back

    CHECK(Do(*s, [](sw::CommandTx& tx) { tx.AddUser(MakeUser("bob@example.com")); }).exit_code ==
          0);
    CHECK(Do(*s, [](sw::CommandTx& tx) {
            tx.SetUser("bob@example.com", std::optional<int64_t>(222), 300);
          }).exit_code == 0);
    auto bob = q.FindUser("bob@example.com");
    REQUIRE(bob);
    CHECK(bob->telegram_id == 222);
    CHECK(bob->interval == 300);
    REQUIRE(q.FindUserByTelegram(222));
    CHECK(q.FindUserByTelegram(222)->email == "bob@example.com");

    // Only what is given changes; optional(nullopt) unlinks.
    CHECK(Do(*s, [](sw::CommandTx& tx) {
            tx.SetUser("bob@example.com", std::nullopt, 60);
          }).exit_code == 0);
    CHECK(q.FindUser("bob@example.com")->telegram_id == 222);
    CHECK(Do(*s, [](sw::CommandTx& tx) {
            tx.SetUser("bob@example.com", std::make_optional(std::optional<int64_t>()),
                       std::nullopt);
          }).exit_code == 0);
    bob = q.FindUser("bob@example.com");
    CHECK_FALSE(bob->telegram_id);
    CHECK(bob->interval == 60);
    CHECK_FALSE(q.FindUserByTelegram(222));

    sw::Outcome steal = Do(*s, [](sw::CommandTx& tx) {
      tx.SetUser("bob@example.com", std::optional<int64_t>(111), std::nullopt);
    });
    CHECK(steal.exit_code == 65);
    CHECK(steal.error.rfind("telegram_id: ", 0) == 0);
    sw::Outcome neg =
        Do(*s, [](sw::CommandTx& tx) { tx.SetUser("bob@example.com", std::nullopt, -1); });
    CHECK(neg.exit_code == 65);
    CHECK(neg.error.rfind("interval: ", 0) == 0);
    sw::Outcome missing =
        Do(*s, [](sw::CommandTx& tx) { tx.SetUser("carol@example.com", std::nullopt, 1); });
    CHECK(missing.exit_code == 65);
    CHECK(missing.error.rfind("email: no such user", 0) == 0);

    CHECK(Do(*s, [](sw::CommandTx& tx) { tx.RemoveUser("bob@example.com"); }).exit_code == 0);
    CHECK_FALSE(q.FindUser("bob@example.com"));
    CHECK(Do(*s, [](sw::CommandTx& tx) { tx.RemoveUser("bob@example.com"); }).exit_code == 65);
    auto users = q.Users();
    REQUIRE(users.size() == 1);
    CHECK(users[0].email == "alice@example.com");
  }
}

TEST_CASE("Store: a repeated request id returns the first outcome and changes nothing") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    int runs = 0;
    auto add = [&](sw::CommandTx& tx) {
      ++runs;
      tx.AddUser(MakeUser("alice@example.com"));
      return sw::Outcome{0, "added alice@example.com (run " + std::to_string(runs) + ")\n", ""};
    };
    sw::Outcome first = s->commands().Execute("req-1", add);
    sw::Outcome second = s->commands().Execute("req-1", add);
    CHECK(runs == 1);
    CHECK(first.exit_code == 0);
    CHECK(first.output == "added alice@example.com (run 1)\n");
    CHECK(second.exit_code == first.exit_code);
    CHECK(second.output == first.output);
    CHECK(second.error == first.error);
    CHECK(s->queries().Users().size() == 1);

    // A new id runs again: here it fails (already registered), and that
    // failure is the outcome stored for the id.
    sw::Outcome other = s->commands().Execute("req-2", add);
    CHECK(runs == 2);
    CHECK(other.exit_code == 65);
    CHECK(other.error.find("already registered") != std::string::npos);

    // Still the stored outcome after a reopen, even though the user is gone now.
    CHECK(Do(*s, [](sw::CommandTx& tx) { tx.RemoveUser("alice@example.com"); }).exit_code == 0);
    s = db.Open();
    sw::Outcome again = s->commands().Execute("req-2", add);
    CHECK(runs == 2);
    CHECK(again.exit_code == 65);
    CHECK(again.error == other.error);
    CHECK(s->queries().Users().empty());
  }
}

TEST_CASE("Store: a request id is bound to the fingerprint of its request") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    int runs = 0;
    auto add = [&](const char* email) {
      return [&runs, email](sw::CommandTx& tx) {
        ++runs;
        tx.AddUser(MakeUser(email));
        return sw::Outcome{0, std::string("added ") + email + "\n", ""};
      };
    };
    sw::Outcome a = s->commands().Execute("abc", "fp-a", add("a@example.com"));
    CHECK(a.output == "added a@example.com\n");
    // The same id with another request: refused, nothing runs or changes.
    sw::Outcome b = s->commands().Execute("abc", "fp-b", add("b@example.com"));
    CHECK(runs == 1);
    CHECK(b.exit_code == 65);
    CHECK(b.output.empty());
    CHECK(b.error == "request id abc was used for a different request");
    CHECK_FALSE(s->queries().FindUser("b@example.com"));
    // The same request again: the stored outcome.
    sw::Outcome again = s->commands().Execute("abc", "fp-a", add("a@example.com"));
    CHECK(runs == 1);
    CHECK(again.output == a.output);
    // No fingerprint given: not checked.
    CHECK(s->commands().Execute("abc", add("b@example.com")).output == a.output);
    // An outcome stored without a fingerprint takes the first repeat's.
    CHECK(s->commands().Execute("old", add("c@example.com")).exit_code == 0);
    CHECK(s->commands().Execute("old", "fp-c", add("c@example.com")).output ==
          "added c@example.com\n");
    CHECK(s->commands().Execute("old", "fp-d", add("d@example.com")).exit_code == 65);
    CHECK(runs == 2);
    CHECK(s->queries().Users().size() == 2);
  }
}

TEST_CASE("Store: a command's DataError rolls back its effects; other errors store nothing") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto failing = [](sw::CommandTx& tx) -> sw::Outcome {
      tx.AddUser(MakeUser("alice@example.com"));
      throw sw::DataError("low: not a number");
    };
    sw::Outcome o = s->commands().Execute("req-x", failing);
    CHECK(o.exit_code == 65);
    CHECK(o.error == "low: not a number");
    CHECK(s->queries().Users().empty());

    // An internal failure is not an outcome: nothing is stored for the id,
    // so a retry runs the command.
    auto crashing = [](sw::CommandTx& tx) -> sw::Outcome {
      tx.AddUser(MakeUser("bob@example.com"));
      throw std::runtime_error("boom");
    };
    CHECK_THROWS(s->commands().Execute("req-y", crashing));
    CHECK(s->queries().Users().empty());
    sw::Outcome retry = s->commands().Execute("req-y", [](sw::CommandTx& tx) {
      tx.AddUser(MakeUser("bob@example.com"));
      return sw::Outcome{0, "added\n", ""};
    });
    CHECK(retry.exit_code == 0);
    CHECK(s->queries().FindUser("bob@example.com"));
  }
}

TEST_CASE("Store: one request id from 8 connections at once has exactly one effect") {
  FOR_EACH_BACKEND(db) {
    db.Open();  // create the schema first, so the race is about the request
    std::atomic<int> runs{0};
    std::vector<sw::Outcome> outcomes(8);
    std::vector<std::string> errors(8);
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        try {
          auto s = db.Open();
          outcomes[static_cast<size_t>(i)] = s->commands().Execute("race", [&](sw::CommandTx& tx) {
            int n = ++runs;
            tx.AddUser(MakeUser("alice@example.com"));
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // widen the window
            return sw::Outcome{0, "run " + std::to_string(n) + "\n", ""};
          });
        } catch (const std::exception& e) {
          errors[static_cast<size_t>(i)] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& e : errors) CHECK(e == "");
    CHECK(runs == 1);
    for (const auto& o : outcomes) {
      CHECK(o.exit_code == 0);
      CHECK(o.output == "run 1\n");
    }
    CHECK(db.Open()->queries().Users().size() == 1);
  }
}

TEST_CASE("Store: UpdateValue from 6 connections at once loses no update") {
  FOR_EACH_BACKEND(db) {
    db.Open();
    std::vector<std::string> errors(6);
    std::vector<std::thread> threads;
    for (int i = 0; i < 6; ++i) {
      threads.emplace_back([&, i] {
        try {
          auto s = db.Open();
          for (int k = 0; k < 20; ++k) {
            s->commands().UpdateValue("counter", [](const std::optional<std::string>& old) {
              int n = old ? std::stoi(*old) : 0;
              std::this_thread::sleep_for(std::chrono::milliseconds(1));  // widen the window
              return std::to_string(n + 1);
            });
          }
        } catch (const std::exception& e) {
          errors[static_cast<size_t>(i)] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& e : errors) CHECK(e == "");
    CHECK(db.Open()->queries().GetValue("counter") == "120");
  }
}

TEST_CASE("Store: watches are added, changed, listed and removed with band checks") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto& q = s->queries();
    CHECK(Do(*s, [](sw::CommandTx& tx) {
            tx.AddUser(MakeUser("bob@example.com", 222));
            tx.AddUser(MakeUser("alice@example.com", 111));
          }).exit_code == 0);
    CHECK(Do(*s, [](sw::CommandTx& tx) {
            tx.AddWatch(MakeWatch("bob@example.com", "aapl", 150, 200));
            tx.AddWatch(MakeWatch("alice@example.com", "btc-usd", std::nullopt, 70000));
            tx.AddWatch(MakeWatch("alice@example.com", "AAPL", 100, std::nullopt));
            tx.AddWatch(MakeWatch("alice@example.com", "^gspc", 4000, 6000));
          }).exit_code == 0);
    auto all = q.Watches(std::nullopt, std::nullopt);
    REQUIRE(all.size() == 4);
    CHECK(all[0].email == "alice@example.com");
    CHECK(all[0].ticker == "AAPL");
    CHECK(all[1].ticker == "BTC-USD");
    CHECK(all[2].ticker == "^GSPC");
    CHECK(all[3].email == "bob@example.com");
    CHECK(all[0].telegram_id == 111);
    CHECK(all[3].telegram_id == 222);
    CHECK(all[0].low == 100);
    CHECK_FALSE(all[0].high);
    CHECK_FALSE(all[1].low);
    CHECK(all[1].high == 70000);

    auto aapl = q.Watches(std::nullopt, "AAPL");
    REQUIRE(aapl.size() == 2);
    CHECK(aapl[0].email == "alice@example.com");
    CHECK(aapl[1].email == "bob@example.com");
    CHECK(q.Watches("alice@example.com", std::nullopt).size() == 3);
    CHECK(q.Watches("bob@example.com", "AAPL").size() == 1);
    CHECK(q.Watches("carol@example.com", std::nullopt).empty());
    CHECK(q.WatchedTickers() == std::vector<std::string>{"AAPL", "BTC-USD", "^GSPC"});

    sw::Outcome dup =
        Do(*s, [](sw::CommandTx& tx) { tx.AddWatch(MakeWatch("bob@example.com", "AAPL", 1, 2)); });
    CHECK(dup.exit_code == 65);
    CHECK(dup.error.rfind("ticker: ", 0) == 0);
    sw::Outcome nouser = Do(
        *s, [](sw::CommandTx& tx) { tx.AddWatch(MakeWatch("carol@example.com", "AAPL", 1, 2)); });
    CHECK(nouser.exit_code == 65);
    CHECK(nouser.error.rfind("email: no such user", 0) == 0);
    sw::Outcome inverted = Do(
        *s, [](sw::CommandTx& tx) { tx.AddWatch(MakeWatch("bob@example.com", "MSFT", 300, 200)); });
    CHECK(inverted.exit_code == 65);
    CHECK(inverted.error.rfind("high: ", 0) == 0);
    sw::Outcome equal = Do(
        *s, [](sw::CommandTx& tx) { tx.AddWatch(MakeWatch("bob@example.com", "MSFT", 200, 200)); });
    CHECK(equal.exit_code == 65);
    sw::Outcome nan = Do(*s, [](sw::CommandTx& tx) {
      tx.AddWatch(MakeWatch("bob@example.com", "MSFT", std::nan(""), 2));
    });
    CHECK(nan.exit_code == 65);
    CHECK(nan.error.rfind("low: ", 0) == 0);

    // SetWatch: outer nullopt keeps, inner nullopt removes; the result is validated.
    CHECK(Do(*s, [](sw::CommandTx& tx) {
            tx.SetWatch("bob@example.com", "aapl", std::nullopt, std::optional<double>(250));
          }).exit_code == 0);
    auto w = q.Watches("bob@example.com", "AAPL");
    REQUIRE(w.size() == 1);
    CHECK(w[0].low == 150);
    CHECK(w[0].high == 250);
    CHECK(Do(*s, [](sw::CommandTx& tx) {
            tx.SetWatch("bob@example.com", "AAPL", std::make_optional(std::optional<double>()),
                        std::nullopt);
          }).exit_code == 0);
    w = q.Watches("bob@example.com", "AAPL");
    CHECK_FALSE(w[0].low);
    CHECK(w[0].high == 250);
    sw::Outcome bad = Do(*s, [](sw::CommandTx& tx) {
      tx.SetWatch("bob@example.com", "AAPL", std::optional<double>(300), std::nullopt);
    });
    CHECK(bad.exit_code == 65);
    CHECK(q.Watches("bob@example.com", "AAPL")[0].high == 250);  // unchanged
    sw::Outcome nowatch = Do(*s, [](sw::CommandTx& tx) {
      tx.SetWatch("bob@example.com", "MSFT", std::optional<double>(1), std::nullopt);
    });
    CHECK(nowatch.exit_code == 65);
    CHECK(nowatch.error.rfind("ticker: no such watch", 0) == 0);

    CHECK(Do(*s, [](sw::CommandTx& tx) { tx.RemoveWatch("bob@example.com", "aapl"); }).exit_code ==
          0);
    CHECK(q.Watches("bob@example.com", std::nullopt).empty());
    CHECK(Do(*s, [](sw::CommandTx& tx) { tx.RemoveWatch("bob@example.com", "AAPL"); }).exit_code ==
          65);
  }
}

TEST_CASE("Store: removing a user removes all of their data") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto& c = s->commands();
    auto& q = s->queries();
    CHECK(Do(*s, [](sw::CommandTx& tx) {
            tx.AddUser(MakeUser("alice@example.com", 111));
            tx.AddUser(MakeUser("bob@example.com", 222));
            tx.AddWatch(MakeWatch("alice@example.com", "AAPL", 150, 200));
            tx.AddWatch(MakeWatch("alice@example.com", "MSFT", 300, 400));
            tx.AddWatch(MakeWatch("bob@example.com", "AAPL", 150, 200));
          }).exit_code == 0);
    std::vector<sw::WatchState> states{{"alice@example.com", "AAPL", sw::BandState::kAbove, kT0},
                                       {"bob@example.com", "AAPL", sw::BandState::kBelow, kT0}};
    c.SaveWatchStates(states);
    CHECK(c.RecordDelivery("a1", "telegram", kT0, "alice@example.com"));
    CHECK(c.RecordDelivery("b1", "telegram", kT0, "bob@example.com"));
    c.Enqueue(sw::OutboxItem{0, "alice@example.com", "telegram", "{\"type\":\"alert\"}", kT0});
    c.Enqueue(sw::OutboxItem{0, "bob@example.com", "telegram", "{\"type\":\"alert\"}", kT0});
    c.PutValue("paused:alice@example.com", "1");
    c.PutValue("notify.last:telegram:alice@example.com", "123");
    c.PutValue("paused:bob@example.com", "1");
    c.PutValue("paused:xalice@example.com", "1");  // another user whose address ends the same
    c.PutValue("bot.offset", "42");

    CHECK(Do(*s, [](sw::CommandTx& tx) { tx.RemoveUser("alice@example.com"); }).exit_code == 0);
    CHECK_FALSE(q.FindUser("alice@example.com"));
    CHECK_FALSE(q.FindUserByTelegram(111));
    CHECK(q.Watches("alice@example.com", std::nullopt).empty());
    CHECK_FALSE(q.Delivered("a1", "telegram"));
    CHECK(q.Outbox("alice@example.com").empty());
    CHECK_FALSE(q.GetValue("paused:alice@example.com"));
    CHECK_FALSE(q.GetValue("notify.last:telegram:alice@example.com"));
    CHECK(q.GetValue("paused:bob@example.com") == "1");
    CHECK(q.GetValue("paused:xalice@example.com") == "1");
    CHECK(q.GetValue("bot.offset") == "42");
    auto left = q.WatchStates();
    REQUIRE(left.size() == 1);
    CHECK(left[0].email == "bob@example.com");
    // Bob's data is untouched.
    CHECK(q.Delivered("b1", "telegram"));
    CHECK(q.Outbox("bob@example.com").size() == 1);
    CHECK(q.Watches(std::nullopt, std::nullopt).size() == 1);
    // A new alice starts from nothing.
    CHECK(Do(*s, [](sw::CommandTx& tx) { tx.AddUser(MakeUser("alice@example.com")); }).exit_code ==
          0);
    CHECK(q.Watches("alice@example.com", std::nullopt).empty());
  }
}

TEST_CASE("Store: the watches version changes with every user or watch change") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto& q = s->queries();
    int64_t v = q.WatchesVersion();
    auto changed = [&] {
      int64_t now = q.WatchesVersion();
      bool c = now != v;
      v = now;
      return c;
    };
    Do(*s, [](sw::CommandTx& tx) { tx.AddUser(MakeUser("alice@example.com")); });
    CHECK(changed());
    Do(*s, [](sw::CommandTx& tx) { tx.AddWatch(MakeWatch("alice@example.com", "AAPL", 1, 2)); });
    CHECK(changed());
    Do(*s, [](sw::CommandTx& tx) {
      tx.SetWatch("alice@example.com", "AAPL", std::nullopt, std::optional<double>(3));
    });
    CHECK(changed());
    Do(*s, [](sw::CommandTx& tx) {
      tx.SetUser("alice@example.com", std::optional<int64_t>(5), std::nullopt);
    });
    CHECK(changed());
    std::vector<sw::Watch> ws{MakeWatch("alice@example.com", "MSFT", 1, 2)};
    Do(*s, [&](sw::CommandTx& tx) { tx.PutWatches(ws); });
    CHECK(changed());
    Do(*s, [](sw::CommandTx& tx) { tx.RemoveWatch("alice@example.com", "AAPL"); });
    CHECK(changed());
    // A failed command changes nothing.
    Do(*s, [](sw::CommandTx& tx) { tx.RemoveWatch("alice@example.com", "AAPL"); });
    CHECK_FALSE(changed());
    std::vector<sw::Quote> quotes{MakeQuote("AAPL", kT0, 1)};
    s->commands().StoreQuotes(quotes);
    CHECK_FALSE(changed());
    Do(*s, [](sw::CommandTx& tx) { tx.RemoveUser("alice@example.com"); });
    CHECK(changed());
  }
}

TEST_CASE("Store: quotes: last from the read model, average of the last N, history") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto& c = s->commands();
    auto& q = s->queries();
    CHECK_FALSE(q.LastQuote("AAPL"));
    CHECK(q.AverageLast("AAPL", 10) == std::pair<double, int64_t>{0.0, 0});
    CHECK(q.History("AAPL", 10).empty());

    std::vector<sw::Quote> batch;
    for (int i = 0; i < 20; ++i) {
      batch.push_back(MakeQuote("AAPL", kT0 + i * 60'000, 190.0 + i * 0.5));
      batch.push_back(MakeQuote("MSFT", kT0 + i * 60'000, 410.25 - i, "", ""));
    }
    batch.back().prev_close = 405.5;
    batch.back().volume = 123456789;
    c.StoreQuotes(batch);  // large batch (the COPY path on PostgreSQL)
    std::vector<sw::Quote> one{MakeQuote("AAPL", kT0 + 20 * 60'000, 197.48)};
    one[0].prev_close = 196.0;
    c.StoreQuotes(one);  // small batch (row by row)

    auto last = q.LastQuote("AAPL");
    REQUIRE(last);
    CHECK(last->price == 197.48);
    CHECK(last->ts == kT0 + 20 * 60'000);
    CHECK(last->currency == "USD");
    CHECK(last->source == "test");
    CHECK(last->prev_close == 196.0);
    CHECK_FALSE(last->volume);
    auto msft = q.LastQuote("MSFT");
    REQUIRE(msft);
    CHECK(msft->price == 410.25 - 19);
    CHECK(msft->currency == "");
    CHECK(msft->source == "");
    CHECK(msft->prev_close == 405.5);
    CHECK(msft->volume == 123456789);

    // An older quote arriving late is stored but does not become the last one.
    std::vector<sw::Quote> late{MakeQuote("AAPL", kT0 - 60'000, 150)};
    c.StoreQuotes(late);
    CHECK(q.LastQuote("AAPL")->price == 197.48);

    // Average of the last 3: 197.48, 199.5, 199.0.
    auto [avg3, n3] = q.AverageLast("AAPL", 3);
    CHECK(n3 == 3);
    CHECK(avg3 == doctest::Approx((199.0 + 199.5 + 197.48) / 3).epsilon(1e-12));
    auto [avg_all, n_all] = q.AverageLast("AAPL", 1000);
    CHECK(n_all == 22);
    double sum = 150 + 197.48;
    for (int i = 0; i < 20; ++i) sum += 190.0 + i * 0.5;
    CHECK(avg_all == doctest::Approx(sum / 22).epsilon(1e-12));
    CHECK(q.AverageLast("AAPL", 0).second == 0);

    auto hist = q.History("AAPL", 5);
    REQUIRE(hist.size() == 5);
    CHECK(hist[0].price == 197.48);  // newest first
    CHECK(hist[1].price == 199.5);
    CHECK(hist[4].ts == kT0 + 16 * 60'000);
    CHECK(q.History("AAPL", 100).size() == 22);
    CHECK(q.History("NOPE", 100).empty());

    // The same (ticker, ts) again replaces, so a replay stores nothing twice.
    std::vector<sw::Quote> replay{MakeQuote("AAPL", kT0 + 20 * 60'000, 197.5)};
    c.StoreQuotes(replay);
    c.StoreQuotes(batch);
    CHECK(q.History("AAPL", 100).size() == 22);
    CHECK(q.LastQuote("AAPL")->price == 197.5);
  }
}

TEST_CASE("Store: prices round-trip exactly") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    const std::vector<double> prices{0.1,    197.48, 1e-9, 123456789.123456789, 0.30000000000000004,
                                     68000.5};
    std::vector<sw::Quote> batch;
    for (size_t i = 0; i < prices.size(); ++i)
      batch.push_back(MakeQuote("X", kT0 + static_cast<int64_t>(i), prices[i]));
    s->commands().StoreQuotes(batch);
    auto hist = s->queries().History("X", 100);
    REQUIRE(hist.size() == prices.size());
    for (size_t i = 0; i < prices.size(); ++i)
      CHECK(hist[prices.size() - 1 - i].price == prices[i]);
  }
}

TEST_CASE("Store: watch states, deliveries, values and the outbox") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto& c = s->commands();
    auto& q = s->queries();
    Do(*s, [](sw::CommandTx& tx) {
      tx.AddUser(MakeUser("alice@example.com"));
      tx.AddWatch(MakeWatch("alice@example.com", "AAPL", 1, 2));
    });
    std::vector<sw::WatchState> st{{"alice@example.com", "AAPL", sw::BandState::kAbove, kT0},
                                   {"alice@example.com", "MSFT", sw::BandState::kBelow, kT0}};
    c.SaveWatchStates(st);  // MSFT is not watched: dropped
    auto states = q.WatchStates();
    REQUIRE(states.size() == 1);
    CHECK(states[0].state == sw::BandState::kAbove);
    st[0].state = sw::BandState::kInside;
    st[0].ts = kT0 + 1;
    c.SaveWatchStates(std::span(st).first(1));
    states = q.WatchStates();
    REQUIRE(states.size() == 1);
    CHECK(states[0].state == sw::BandState::kInside);
    CHECK(states[0].ts == kT0 + 1);
    // Editing the bound that set a state re-arms the watch; the other bound does not.
    st[0].state = sw::BandState::kAbove;
    st[0].ts = kT0 + 2;
    c.SaveWatchStates(std::span(st).first(1));
    Do(*s, [](sw::CommandTx& tx) {
      tx.SetWatch("alice@example.com", "AAPL", std::make_optional(std::optional<double>(0.5)),
                  std::nullopt);
    });
    REQUIRE(q.WatchStates().size() == 1);
    CHECK(q.WatchStates()[0].state == sw::BandState::kAbove);
    Do(*s, [](sw::CommandTx& tx) {
      tx.SetWatch("alice@example.com", "AAPL", std::nullopt,
                  std::make_optional(std::optional<double>(3.0)));
    });
    CHECK(q.WatchStates().empty());
    // Removing the watch removes its state.
    c.SaveWatchStates(std::span(st).first(1));
    REQUIRE(q.WatchStates().size() == 1);
    Do(*s, [](sw::CommandTx& tx) { tx.RemoveWatch("alice@example.com", "AAPL"); });
    CHECK(q.WatchStates().empty());

    CHECK_FALSE(q.Delivered("id1", "telegram"));
    CHECK(c.RecordDelivery("id1", "telegram", kT0, "alice@example.com"));
    CHECK_FALSE(c.RecordDelivery("id1", "telegram", kT0 + 5, "alice@example.com"));
    CHECK(c.RecordDelivery("id1", "email", kT0, "alice@example.com"));
    CHECK(q.Delivered("id1", "telegram"));
    CHECK_FALSE(q.Delivered("id2", "telegram"));

    // A batch: its rows and values in one transaction; a row recorded
    // already stays as it was.
    std::vector<sw::DeliveryRow> rows{{"id1", "telegram", kT0 + 9, "alice@example.com"},
                                      {"id3", "file:/tmp/x", kT0, "bob@example.com"},
                                      {"id4", "file:/tmp/x", kT0, ""}};
    std::vector<sw::KeyValue> marks{{"notify.mark:file:/tmp/x", "1:2:300"}};
    c.RecordDeliveries(rows, marks);
    CHECK(q.Delivered("id3", "file:/tmp/x"));
    CHECK(q.Delivered("id4", "file:/tmp/x"));
    CHECK_FALSE(q.Delivered("id3", "telegram"));
    CHECK(q.GetValue("notify.mark:file:/tmp/x") == "1:2:300");
    CHECK_FALSE(c.RecordDelivery("id1", "telegram", kT0, "alice@example.com"));
    c.RecordDeliveries({}, {});  // nothing to do: no transaction, no error

    // In bulk: which of many ids (more than one query's worth, any text)
    // were delivered on a channel.
    std::vector<std::string> many;
    for (int i = 0; i < 1200; ++i) many.push_back("bulk" + std::to_string(i));
    const std::string odd = "it's \"odd\" \\ '); DROP TABLE deliveries; --";
    many.push_back(odd);
    many.push_back("id1");
    std::vector<sw::DeliveryRow> bulk{{"bulk7", "telegram", kT0, ""},
                                      {"bulk777", "telegram", kT0, ""},
                                      {"bulk1100", "telegram", kT0, ""},
                                      {odd, "telegram", kT0, ""},
                                      {"bulk8", "email", kT0, ""}};
    c.RecordDeliveries(bulk, {});
    std::vector<std::string> found = q.DeliveredAmong(many, "telegram");
    std::sort(found.begin(), found.end());
    std::vector<std::string> want{"bulk1100", "bulk7", "bulk777", "id1", odd};
    std::sort(want.begin(), want.end());
    CHECK(found == want);
    found = q.DeliveredAmong(many, "email");
    std::sort(found.begin(), found.end());
    CHECK(found == std::vector<std::string>{"bulk8", "id1"});
    CHECK(q.DeliveredAmong({}, "telegram").empty());
    CHECK(q.DeliveredAmong(many, "webhook:none").empty());

    CHECK_FALSE(q.GetValue("offset"));
    c.PutValue("offset", "41");
    c.PutValue("offset", "42");
    CHECK(q.GetValue("offset") == "42");
    c.PutValue("empty", "");
    CHECK(q.GetValue("empty") == "");

    int64_t a = c.Enqueue({0, "alice@example.com", "telegram", "{\"n\":1}", kT0 + 100});
    int64_t b = c.Enqueue({0, "alice@example.com", "telegram", "{\"n\":2}", kT0 + 50});
    int64_t d = c.Enqueue({0, "bob@example.com", "email", "{\"n\":3}", kT0 + 500, 7, kT0 - 9});
    CHECK(a != b);
    CHECK(b != d);
    auto due = q.DueOutbox(kT0 + 100);
    REQUIRE(due.size() == 2);
    CHECK(due[0].id == b);  // oldest due first
    CHECK(due[1].id == a);
    CHECK(due[1].alert_json == "{\"n\":1}");
    CHECK(due[1].channel == "telegram");
    CHECK(due[1].attempts == 0);
    CHECK(due[1].first_try == 0);
    // A retried item's attempts and first failure survive a reopen.
    auto bobs = q.Outbox("bob@example.com");
    REQUIRE(bobs.size() == 1);
    CHECK(bobs[0].id == d);
    CHECK(bobs[0].attempts == 7);
    CHECK(bobs[0].first_try == kT0 - 9);
    std::vector<int64_t> ids{a, b};
    c.Dequeue(ids);
    CHECK(q.DueOutbox(kT0 + 1000).size() == 1);
    CHECK(q.Outbox("alice@example.com").empty());
  }
}

TEST_CASE("Store: bulk upserts of users and watches") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto& q = s->queries();
    std::vector<sw::User> users;
    for (int i = 0; i < 50; ++i)
      users.push_back(MakeUser("u" + std::to_string(i) + "@example.com", 1000 + i, i));
    users.push_back(MakeUser("u0@example.com", 5000, 7));  // a later duplicate wins
    CHECK(Do(*s, [&](sw::CommandTx& tx) { tx.PutUsers(users); }).exit_code == 0);
    CHECK(q.Users().size() == 50);
    CHECK(q.FindUser("u0@example.com")->telegram_id == 5000);
    CHECK(q.FindUser("u0@example.com")->interval == 7);

    std::vector<sw::Watch> watches;
    for (int i = 0; i < 50; ++i) {
      watches.push_back(
          MakeWatch("u" + std::to_string(i) + "@example.com", "AAPL", 100, std::nullopt));
      watches.push_back(
          MakeWatch("u" + std::to_string(i) + "@example.com", "MSFT", std::nullopt, 500));
    }
    CHECK(Do(*s, [&](sw::CommandTx& tx) { tx.PutWatches(watches); }).exit_code == 0);
    CHECK(q.Watches(std::nullopt, std::nullopt).size() == 100);
    // Upsert replaces the band.
    std::vector<sw::Watch> change{MakeWatch("u3@example.com", "AAPL", std::nullopt, 120)};
    CHECK(Do(*s, [&](sw::CommandTx& tx) { tx.PutWatches(change); }).exit_code == 0);
    auto w = q.Watches("u3@example.com", "AAPL");
    REQUIRE(w.size() == 1);
    CHECK_FALSE(w[0].low);
    CHECK(w[0].high == 120);
    // An unknown owner fails the whole batch.
    std::vector<sw::Watch> orphan{MakeWatch("u1@example.com", "IBM", 1, 2),
                                  MakeWatch("ghost@example.com", "AAPL", 1, 2)};
    sw::Outcome o = Do(*s, [&](sw::CommandTx& tx) { tx.PutWatches(orphan); });
    // Both backends give the same message (the rules are written once).
    CHECK(o.exit_code == 65);
    CHECK(o.error == "email: no such user: ghost@example.com");
    CHECK(q.Watches("u1@example.com", "IBM").empty());
    // A telegram id linked to someone else fails the batch.
    std::vector<sw::User> clash{MakeUser("new@example.com", 1001)};
    sw::Outcome o2 = Do(*s, [&](sw::CommandTx& tx) { tx.PutUsers(clash); });
    CHECK(o2.exit_code == 65);
    CHECK(o2.error == "telegram_id: 1001 is already linked to another user");
    CHECK_FALSE(q.FindUser("new@example.com"));
    // So does one telegram id given to two users of one batch.
    std::vector<sw::User> twice{MakeUser("x@example.com", 9001), MakeUser("y@example.com", 9001)};
    sw::Outcome o3 = Do(*s, [&](sw::CommandTx& tx) { tx.PutUsers(twice); });
    CHECK(o3.exit_code == 65);
    CHECK(o3.error == "telegram_id: 9001 is already linked to another user");
    CHECK_FALSE(q.FindUser("x@example.com"));
    // A user may keep their own telegram id, and take one another user gives up.
    std::vector<sw::User> keep{MakeUser("u1@example.com", 1001, 3),
                               MakeUser("u2@example.com", 7002), MakeUser("z@example.com", 1002)};
    CHECK(Do(*s, [&](sw::CommandTx& tx) { tx.PutUsers(keep); }).exit_code == 0);
    CHECK(q.FindUser("z@example.com")->telegram_id == 1002);
    // Removing a user who is not there: the same refusal on both.
    sw::Outcome o4 = Do(*s, [&](sw::CommandTx& tx) { tx.RemoveUser("nobody@example.com"); });
    CHECK(o4.exit_code == 65);
    CHECK(o4.error == "email: no such user: nobody@example.com");
  }
}

TEST_CASE("Store: injection-shaped strings are stored verbatim, never executed") {
  const std::string big(10'000, 'x');
  const std::vector<std::string> values{"'; DROP TABLE users; --",
                                        "Robert'); DROP TABLE watches;--",
                                        "\"double\" 'single' \\back\\slash",
                                        "$1 $2 ? :name %s",
                                        big,
                                        "\xF0\x9F\x93\x88 unicode"};
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto& c = s->commands();
    auto& q = s->queries();
    // A valid address may contain a quote; it is data.
    CHECK(Do(*s, [](sw::CommandTx& tx) {
            tx.AddUser(MakeUser("o'brien--@example.com"));
          }).exit_code == 0);
    REQUIRE(q.FindUser("o'brien--@example.com"));
    for (const std::string& v : values) {
      c.PutValue(v, v);
      CHECK(q.GetValue(v) == v);
      c.Enqueue({0, v, v, v, kT0});
      auto items = q.Outbox(v);
      REQUIRE(items.size() == 1);
      CHECK(items[0].alert_json == v);
      CHECK(c.RecordDelivery(v, v, kT0, v));
      CHECK(q.Delivered(v, v));
      // As email or ticker, validation rejects them (exit 65, field named).
      sw::Outcome u = Do(*s, [&](sw::CommandTx& tx) { tx.AddUser(MakeUser(v)); });
      CHECK(u.exit_code == 65);
      CHECK(u.error.rfind("email: ", 0) == 0);
      sw::Outcome w = Do(
          *s, [&](sw::CommandTx& tx) { tx.AddWatch(MakeWatch("o'brien--@example.com", v, 1, 2)); });
      CHECK(w.exit_code == 65);
      CHECK(w.error.rfind("ticker: ", 0) == 0);
      CHECK_FALSE(q.LastQuote(v));
      CHECK(q.Watches(v, v).empty());
    }
    // A NUL byte: SQLite stores it verbatim, PostgreSQL text cannot hold it
    // and the store says so (DataError), nothing else happens.
    const std::string nul("a\0b", 3);
    try {
      c.PutValue("nul", nul);
      CHECK(q.GetValue("nul") == nul);
    } catch (const sw::DataError&) {
      CHECK(backend_name == "postgresql");
    }
    // Every table is still there.
    CHECK(q.Users().size() == 1);
    CHECK(q.Watches(std::nullopt, std::nullopt).empty());
    CHECK(q.SchemaVersion() == sw::store_internal::kSchemaVersion);
  }
}

TEST_CASE("Store: Open reports unreachable and malformed URLs") {
  // Nothing listens on port 1.
  try {
    sw::Store::Open("postgresql://bob:s3cret@127.0.0.1:1/stock?connect_timeout=2");
    FAIL("no error");
  } catch (const sw::Error& e) {
    CHECK(e.exit_code() == 69);
    std::string what = e.what();
    CHECK(what.find("postgresql://bob:***@127.0.0.1:1/stock") != std::string::npos);
    CHECK(what.find("s3cret") == std::string::npos);
  }
  try {
    sw::Store::Open("sqlite:/proc/no/such/dir/x.db");
    FAIL("no error");
  } catch (const sw::Error& e) {
    CHECK(e.exit_code() == 69);
    CHECK(std::string(e.what()).find("sqlite:/proc/no/such/dir/x.db") != std::string::npos);
  }
  // A file that is not a database.
  const auto junk = std::filesystem::temp_directory_path() / ("sw-junk-" + RandomSuffix());
  {
    FILE* f = std::fopen(junk.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("this is not an SQLite database, just some text that is long enough....", f);
    std::fclose(f);
  }
  CHECK_THROWS_AS(sw::Store::Open("sqlite:" + junk.string()), sw::Error);
  std::filesystem::remove(junk);
  try {
    sw::Store::Open("mysql://root:pw@localhost/db");
    FAIL("no error");
  } catch (const sw::Error& e) {
    CHECK(e.exit_code() == 78);
    CHECK(std::string(e.what()).find("pw") == std::string::npos);
  }
  CHECK_THROWS_AS(sw::Store::Open("sqlite:"), sw::Error);
}

TEST_CASE("Store: MaskUrl hides passwords in every form") {
  CHECK(sw::MaskUrl("postgresql://bob:s3cret@db:5432/x") == "postgresql://bob:***@db:5432/x");
  CHECK(sw::MaskUrl("postgres://bob:p@ss@db/x") == "postgres://bob:***@db/x");
  CHECK(sw::MaskUrl("postgresql://bob@db/x") == "postgresql://bob@db/x");
  CHECK(sw::MaskUrl("postgresql://db/x?user=bob&password=s3cret&sslmode=require") ==
        "postgresql://db/x?user=bob&password=***&sslmode=require");
  CHECK(sw::MaskUrl("host=db password=s3cret user=bob") == "host=db password=*** user=bob");
  CHECK(sw::MaskUrl("host=db password='a b\\'c' user=bob") == "host=db password=*** user=bob");
  CHECK(sw::MaskUrl("host=db mypassword=x") == "host=db mypassword=x");
  CHECK(sw::MaskUrl("sqlite:/tmp/x.db") == "sqlite:/tmp/x.db");
  CHECK(sw::MaskUrl("postgresql://postgres@/postgres?host=/tmp/d&port=55432") ==
        "postgresql://postgres@/postgres?host=/tmp/d&port=55432");
}

TEST_CASE("Store: DefaultDbUrl follows XDG_DATA_HOME, else HOME") {
  const char* old_xdg = std::getenv("XDG_DATA_HOME");
  const char* old_home = std::getenv("HOME");
  std::string saved_xdg = old_xdg ? old_xdg : "", saved_home = old_home ? old_home : "";
  setenv("XDG_DATA_HOME", "/srv/data", 1);
  CHECK(sw::DefaultDbUrl() == "sqlite:/srv/data/stockwatch/stockwatch.db");
  unsetenv("XDG_DATA_HOME");
  setenv("HOME", "/home/alice", 1);
  CHECK(sw::DefaultDbUrl() == "sqlite:/home/alice/.local/share/stockwatch/stockwatch.db");
  if (old_xdg) setenv("XDG_DATA_HOME", saved_xdg.c_str(), 1);
  if (old_home) setenv("HOME", saved_home.c_str(), 1);
}

TEST_CASE("Store: a read-only SQLite open creates nothing and writes nothing") {
  const auto dir = std::filesystem::temp_directory_path() / ("sw-ro-" + RandomSuffix());
  const std::string url = "sqlite:" + (dir / "sub" / "x.db").string();
  try {
    sw::Store::Open(url, sw::Access::kReadOnly);
    FAIL("no error");
  } catch (const sw::Error& e) {
    CHECK(e.exit_code() == 66);
    CHECK(std::string(e.what()).find("no store at " + (dir / "sub" / "x.db").string()) !=
          std::string::npos);
  }
  CHECK(!std::filesystem::exists(dir));
  {
    auto rw = sw::Store::Open(url);
    rw->commands().Execute("", [](sw::CommandTx& tx) {
      tx.AddUser(sw::User{"ann@example.com", std::nullopt, 0});
      return sw::Outcome{};
    });
  }
  {
    auto ro = sw::Store::Open(url, sw::Access::kReadOnly);
    CHECK(ro->queries().Users().size() == 1);
    CHECK(ro->queries().SchemaVersion() == sw::store_internal::kSchemaVersion);
    try {
      ro->commands().PutValue("k", "v");
      FAIL("no error");
    } catch (const sw::Error& e) {
      CHECK(e.exit_code() == 77);
    }
  }
  std::filesystem::remove_all(dir);
}

namespace {

/// Runs `sql` on the test database outside the store (to shape an older
/// schema, or to look at the layout); returns the first column of the first
/// row ("" when none or NULL).
std::string RawSql(const TestDb& db, const std::string& backend, const std::string& sql) {
  if (backend == "sqlite") {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.url().substr(7).c_str(), &h) == SQLITE_OK);
    struct Result {
      std::string text;
      bool seen = false;
    } result;
    char* err = nullptr;
    const int rc = sqlite3_exec(
        h, sql.c_str(),
        [](void* p, int n, char** vals, char**) {
          auto* res = static_cast<Result*>(p);
          if (!res->seen && n > 0 && vals[0] != nullptr) res->text = vals[0];
          res->seen = true;
          return 0;
        },
        &result, &err);
    std::string why = err != nullptr ? err : "";
    sqlite3_free(err);
    sqlite3_close(h);
    INFO(sql << ": " << why);
    REQUIRE(rc == SQLITE_OK);
    return result.text;
  }
  pqxx::connection c(db.url());
  pqxx::work w(c);
  pqxx::result r = w.exec(sql);
  w.commit();
  return r.empty() || r[0].empty() || r[0][0].is_null() ? "" : r[0][0].as<std::string>();
}

/// Takes a store just created back to the version 4 layout: no move
/// columns, no move_windows.
void ShapeVersion4(const TestDb& db, const std::string& backend) {
  RawSql(db, backend,
         backend == "sqlite"
             ? "ALTER TABLE watches DROP COLUMN move; ALTER TABLE watches DROP COLUMN within_s;"
               "ALTER TABLE watches DROP COLUMN direction;"
               "ALTER TABLE watch_states DROP COLUMN move;"
               "ALTER TABLE watch_states DROP COLUMN move_ref;"
               "DROP TABLE move_windows; UPDATE schema_version SET version = 4"
             : "ALTER TABLE watches DROP COLUMN move, DROP COLUMN within_s, DROP COLUMN direction;"
               "ALTER TABLE watch_states DROP COLUMN move, DROP COLUMN move_ref;"
               "DROP TABLE move_windows; UPDATE schema_version SET version = 4");
}

}  // namespace

TEST_CASE(
    "Store: a version 3 store is upgraded: the delivery log is kept and de-duplicates as before") {
  FOR_EACH_BACKEND(db) {
    const bool sqlite = backend_name == "sqlite";
    { auto s = db.Open(); }
    ShapeVersion4(db, backend_name);
    // The version 3 layout: the delivery log keyed by (alert id, channel)
    // with an index by email, and no dead letters.
    RawSql(db, backend_name,
           sqlite
               ? "DROP TABLE dead_letters; DROP TABLE deliveries;"
                 "CREATE TABLE deliveries(alert_id TEXT NOT NULL, channel TEXT NOT NULL,"
                 " email TEXT, ts INTEGER NOT NULL, PRIMARY KEY(alert_id, channel)) WITHOUT ROWID;"
                 "CREATE INDEX deliveries_by_email ON deliveries(email);"
                 "UPDATE schema_version SET version = 3"
               : "DROP TABLE dead_letters; CREATE INDEX deliveries_by_email ON deliveries(email);"
                 "UPDATE schema_version SET version = 3");
    RawSql(db, backend_name,
           "INSERT INTO deliveries(alert_id, channel, email, ts) VALUES"
           "('a1', 'telegram', 'x@example.com', " +
               std::to_string(kT0 + 100) +
               "),"
               "('a2', 'webhook:u', NULL, " +
               std::to_string(kT0 + 50) +
               "),"
               "('a3', 'telegram', 'y@example.com', " +
               std::to_string(kT0 + 70) + ")");
    auto s = db.Open();
    auto& c = s->commands();
    auto& q = s->queries();
    CHECK(q.SchemaVersion() == sw::store_internal::kSchemaVersion);
    CHECK(RawSql(db, backend_name, "SELECT max(version) FROM schema_version") ==
          std::to_string(sw::store_internal::kSchemaVersion));
    // Every recorded delivery is still known, and only once per channel.
    CHECK(q.Delivered("a1", "telegram"));
    CHECK(q.Delivered("a2", "webhook:u"));
    CHECK(q.Delivered("a3", "telegram"));
    CHECK_FALSE(q.Delivered("a1", "webhook:u"));
    CHECK_FALSE(c.RecordDelivery("a1", "telegram", kT0 + 200, "x@example.com"));
    CHECK(c.RecordDelivery("a1", "webhook:u", kT0 + 200, "x@example.com"));
    CHECK_FALSE(c.RecordDelivery("a1", "webhook:u", kT0 + 300, "x@example.com"));
    std::vector<sw::DeliveryRow> again{{"a3", "telegram", kT0 + 400, "y@example.com"},
                                       {"a4", "telegram", kT0 + 400, "y@example.com"}};
    c.RecordDeliveries(again, {});
    std::vector<std::string> ids{"a1", "a2", "a3", "a4", "zz"};
    std::vector<std::string> found = q.DeliveredAmong(ids, "telegram");
    std::sort(found.begin(), found.end());
    CHECK(found == std::vector<std::string>{"a1", "a3", "a4"});
    using Counts = std::vector<std::pair<std::string, int64_t>>;
    CHECK(q.DeliveriesSince(kT0) == Counts{{"telegram", 3}, {"webhook:u", 2}});
    CHECK(RawSql(db, backend_name, "SELECT count(*) FROM deliveries") == "5");
    // The layout: no index by email any more; in SQLite the rows are kept
    // in insertion (time) order under a rowid.
    CHECK(RawSql(db, backend_name,
                 sqlite ? "SELECT count(*) FROM sqlite_master WHERE name = 'deliveries_by_email'"
                        : "SELECT count(*) FROM pg_indexes WHERE indexname = 'deliveries_by_email' "
                          "AND schemaname = current_schema()") == "0");
    if (sqlite) {
      CHECK(RawSql(db, backend_name,
                   "SELECT group_concat(alert_id, ',') FROM "
                   "(SELECT alert_id FROM deliveries ORDER BY rowid)") == "a2,a3,a1,a1,a4");
      CHECK(RawSql(
                db, backend_name,
                "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = 'deliveries'") ==
            "0");
    }
    // Removing a user still removes their deliveries.
    Do(*s, [](sw::CommandTx& tx) { tx.AddUser(MakeUser("y@example.com")); });
    Do(*s, [](sw::CommandTx& tx) { tx.RemoveUser("y@example.com"); });
    CHECK_FALSE(q.Delivered("a3", "telegram"));
    CHECK(q.Delivered("a1", "telegram"));
  }
}

TEST_CASE("Store: dead letters are recorded with the removal of their outbox items") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto& c = s->commands();
    auto& q = s->queries();
    Do(*s, [](sw::CommandTx& tx) {
      tx.AddUser(MakeUser("alice@example.com"));
      tx.AddUser(MakeUser("bob@example.com"));
    });
    using Counts = std::vector<std::pair<std::string, int64_t>>;
    CHECK(q.DeadLettersSince(0).empty());
    const int64_t held = c.Enqueue({0, "alice@example.com", "telegram", "{\"n\":1}", kT0});
    const int64_t kept = c.Enqueue({0, "alice@example.com", "telegram", "{\"n\":2}", kT0});
    std::vector<sw::DeadLetterRow> rows{
        {"a1", "telegram", kT0, "alice@example.com", "telegram: Bad Request"},
        {"a2", "webhook:http://h/x", kT0 + 10, "bob@example.com", "webhook: HTTP 400"},
        {"a3", "webhook:http://h/x", kT0 + 20, "", "webhook: HTTP 400"}};
    std::vector<int64_t> dequeue{held};
    c.RecordDeadLetters(rows, dequeue);
    auto outbox = q.Outbox("alice@example.com");
    REQUIRE(outbox.size() == 1);
    CHECK(outbox[0].id == kept);
    CHECK(q.DeadLettersSince(kT0) == Counts{{"telegram", 1}, {"webhook:http://h/x", 2}});
    CHECK(q.DeadLettersSince(kT0 + 5) == Counts{{"webhook:http://h/x", 2}});
    CHECK(q.DeadLettersSince(kT0 + 21).empty());
    // A dead letter is not a delivery; the same alert may fail again.
    CHECK_FALSE(q.Delivered("a1", "telegram"));
    c.RecordDeadLetters(std::span(rows).first(1), {});
    CHECK(q.DeadLettersSince(kT0) == Counts{{"telegram", 2}, {"webhook:http://h/x", 2}});
    c.RecordDeadLetters({}, {});  // nothing to do
    Do(*s, [](sw::CommandTx& tx) { tx.RemoveUser("alice@example.com"); });
    CHECK(q.DeadLettersSince(0) == Counts{{"webhook:http://h/x", 2}});
  }
}

TEST_CASE("Store (SQLite): a delivery recorded on a large log writes about one page") {
  // stock-notify records each batch of deliveries in one transaction; the
  // write-ahead log gets every page the transaction changed. The rows go in
  // insertion order, so only the unique (alert id, channel) index takes a
  // random page per delivery (before: the rows' own random page, and
  // another of an index by email).
  TestDb db("sqlite");
  auto s = db.Open();
  auto& c = s->commands();
  std::mt19937_64 rng(42);
  auto random_id = [&] {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    return std::string(buf);
  };
  const std::string channel = "webhook:http://127.0.0.1:8080/hook";
  constexpr int kExisting = 30000, kBatches = 100, kBatch = 16, kUsers = 300;
  std::vector<sw::DeliveryRow> rows;
  for (int i = 0; i < kExisting; ++i) {
    rows.push_back(
        {random_id(), channel, kT0 + i, "u" + std::to_string(i % kUsers) + "@example.com"});
  }
  c.RecordDeliveries(rows, {});
  const std::string path = db.url().substr(7);
  RawSql(db, "sqlite", "PRAGMA wal_checkpoint(TRUNCATE)");
  REQUIRE(std::filesystem::file_size(path + "-wal") == 0);
  // A reader holds a transaction open, so no checkpoint resets the log.
  sqlite3* reader = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &reader) == SQLITE_OK);
  REQUIRE(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM deliveries", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  for (int b = 0; b < kBatches; ++b) {
    rows.clear();
    for (int i = 0; i < kBatch; ++i) {
      const int n = kExisting + b * kBatch + i;
      rows.push_back(
          {random_id(), channel, kT0 + n, "u" + std::to_string(rng() % kUsers) + "@example.com"});
    }
    c.RecordDeliveries(rows, {});
  }
  const auto wal = std::filesystem::file_size(path + "-wal");
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  const int page = std::stoi(RawSql(db, "sqlite", "PRAGMA page_size"));
  const double pages = static_cast<double>(wal - 32) / (page + 24) / (kBatches * kBatch);
  INFO("WAL pages per delivery: " << pages);
  CHECK(pages <
        2.0);  // about 1.5 (the index page, its rebalancing, the table's last page); 3 before
  CHECK(pages > 0.5);  // the measurement saw the writes
}

// ---- percent-move watches (schema version 5) ----

namespace {

sw::Watch MakeMoveWatch(std::string email, std::string ticker, double move, int64_t within = 0,
                        sw::MoveDirection direction = sw::MoveDirection::kBoth) {
  sw::Watch w = MakeWatch(std::move(email), std::move(ticker), std::nullopt, std::nullopt);
  w.move = move;
  w.within = within;
  w.direction = direction;
  return w;
}

sw::WatchState MoveState(std::string email, std::string ticker, sw::BandState band, uint8_t bits,
                         double ref, sw::TimeMs ts = kT0) {
  sw::WatchState st{std::move(email), std::move(ticker), band, ts};
  st.move = bits;
  st.move_ref = ref;
  return st;
}

sw::Outcome Edit(sw::Store& s, const std::string& ticker, const sw::WatchEdit& edit) {
  return Do(s, [&](sw::CommandTx& tx) { tx.SetWatch("alice@example.com", ticker, edit); });
}

}  // namespace

TEST_CASE("Store: a watch's move, window and direction are added, changed, cleared and listed") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto& q = s->queries();
    Do(*s, [](sw::CommandTx& tx) { tx.AddUser(MakeUser("alice@example.com", 111)); });
    sw::Watch both = MakeMoveWatch("alice@example.com", "aapl", 5);
    both.low = 150;
    both.high = 200;
    CHECK(Do(*s, [&](sw::CommandTx& tx) {
            tx.AddWatch(both);
            tx.AddWatch(
                MakeMoveWatch("alice@example.com", "MSFT", 2.5, 3600, sw::MoveDirection::kUp));
            tx.AddWatch(
                MakeMoveWatch("alice@example.com", "IBM", 0.1 + 0.2, 90, sw::MoveDirection::kDown));
            tx.AddWatch(MakeWatch("alice@example.com", "BAND", 1, 2));
          }).exit_code == 0);
    auto all = q.Watches(std::nullopt, std::nullopt);
    REQUIRE(all.size() == 4);
    CHECK(all[0].ticker == "AAPL");
    CHECK(all[0].low == 150);
    CHECK(all[0].high == 200);
    CHECK(all[0].move == 5);
    CHECK(all[0].within == 0);
    CHECK(all[0].direction == sw::MoveDirection::kBoth);
    CHECK(all[1].ticker == "BAND");
    CHECK_FALSE(all[1].move);
    CHECK(all[1].within == 0);
    CHECK(all[1].direction == sw::MoveDirection::kBoth);
    CHECK(all[2].ticker == "IBM");
    CHECK(all[2].move == 0.1 + 0.2);  // exactly
    CHECK(all[2].within == 90);
    CHECK(all[2].direction == sw::MoveDirection::kDown);
    CHECK(all[3].ticker == "MSFT");
    CHECK(all[3].move == 2.5);
    CHECK(all[3].within == 3600);
    CHECK(all[3].direction == sw::MoveDirection::kUp);
    CHECK(all[3].telegram_id == 111);
    // Every filter reads the move too.
    CHECK(q.Watches("alice@example.com", "MSFT").at(0).within == 3600);
    CHECK(q.Watches(std::nullopt, "MSFT").at(0).direction == sw::MoveDirection::kUp);
    CHECK(q.Watches("alice@example.com", std::nullopt).at(3).move == 2.5);

    // A bad move is refused naming the field, and nothing is added.
    sw::Outcome bad = Do(
        *s, [](sw::CommandTx& tx) { tx.AddWatch(MakeMoveWatch("alice@example.com", "BAD", -1)); });
    CHECK(bad.exit_code == 65);
    CHECK(bad.error.rfind("move: ", 0) == 0);
    sw::Watch window_only = MakeWatch("alice@example.com", "BAD", 1, 2);
    window_only.within = 60;
    bad = Do(*s, [&](sw::CommandTx& tx) { tx.AddWatch(window_only); });
    CHECK(bad.exit_code == 65);
    CHECK(bad.error.rfind("within: ", 0) == 0);
    CHECK(q.Watches("alice@example.com", "BAD").empty());

    // SetWatch: only what is given changes.
    sw::WatchEdit e;
    e.move = std::optional<double>(7.5);
    CHECK(Edit(*s, "MSFT", e).exit_code == 0);
    sw::Watch w = q.Watches("alice@example.com", "MSFT").at(0);
    CHECK(w.move == 7.5);
    CHECK(w.within == 3600);
    CHECK(w.direction == sw::MoveDirection::kUp);
    e = {};
    e.within = 0;
    e.direction = sw::MoveDirection::kBoth;
    CHECK(Edit(*s, "MSFT", e).exit_code == 0);
    w = q.Watches("alice@example.com", "MSFT").at(0);
    CHECK(w.move == 7.5);
    CHECK(w.within == 0);
    CHECK(w.direction == sw::MoveDirection::kBoth);
    // A band edit leaves the move alone; a move edit leaves the band alone.
    CHECK(Do(*s, [](sw::CommandTx& tx) {
            tx.SetWatch("alice@example.com", "AAPL", std::nullopt, std::optional<double>(210));
          }).exit_code == 0);
    CHECK(q.Watches("alice@example.com", "AAPL").at(0).move == 5);
    e = {};
    e.move = std::optional<double>(6);
    CHECK(Edit(*s, "AAPL", e).exit_code == 0);
    w = q.Watches("alice@example.com", "AAPL").at(0);
    CHECK(w.low == 150);
    CHECK(w.high == 210);
    CHECK(w.move == 6);
    // Removing the move resets its window and direction.
    e = {};
    e.move = std::optional<double>();
    CHECK(Edit(*s, "IBM", e).exit_code == 0);
    w = q.Watches("alice@example.com", "IBM").at(0);
    CHECK_FALSE(w.move);
    CHECK(w.within == 0);
    CHECK(w.direction == sw::MoveDirection::kBoth);
    // A window or a direction without a move is refused; so is a bad one.
    e = {};
    e.within = 60;
    bad = Edit(*s, "IBM", e);
    CHECK(bad.exit_code == 65);
    CHECK(bad.error.rfind("within: ", 0) == 0);
    e = {};
    e.direction = sw::MoveDirection::kUp;
    bad = Edit(*s, "BAND", e);
    CHECK(bad.exit_code == 65);
    CHECK(bad.error.rfind("direction: ", 0) == 0);
    e = {};
    e.move = std::optional<double>();
    e.within = 60;
    CHECK(Edit(*s, "MSFT", e).exit_code == 65);
    e = {};
    e.within = sw::kMaxMoveWithin + 1;
    CHECK(Edit(*s, "MSFT", e).error.rfind("within: ", 0) == 0);
    w = q.Watches("alice@example.com", "MSFT").at(0);  // unchanged by the refusals
    CHECK(w.move == 7.5);
    CHECK(w.within == 0);

    // Bulk upserts carry and replace the move.
    std::vector<sw::Watch> bulk{
        MakeMoveWatch("alice@example.com", "NEW", 4, 900, sw::MoveDirection::kDown),
        MakeWatch("alice@example.com", "MSFT", 1, 2)};  // replaces MSFT's move by a band
    CHECK(Do(*s, [&](sw::CommandTx& tx) { tx.PutWatches(bulk); }).exit_code == 0);
    w = q.Watches("alice@example.com", "NEW").at(0);
    CHECK(w.move == 4);
    CHECK(w.within == 900);
    CHECK(w.direction == sw::MoveDirection::kDown);
    w = q.Watches("alice@example.com", "MSFT").at(0);
    CHECK_FALSE(w.move);
    CHECK(w.low == 1);
  }
}

TEST_CASE("Store: move states round-trip and a change re-arms only what it is about") {
  FOR_EACH_BACKEND(db) {
    auto s = db.Open();
    auto& c = s->commands();
    auto& q = s->queries();
    Do(*s, [](sw::CommandTx& tx) {
      tx.AddUser(MakeUser("alice@example.com"));
      sw::Watch w = MakeMoveWatch("alice@example.com", "AAPL", 5);
      w.low = 100;
      w.high = 200;
      tx.AddWatch(w);
      tx.AddWatch(MakeMoveWatch("alice@example.com", "MSFT", 3, 3600));
    });
    std::vector<sw::WatchState> st{
        MoveState("alice@example.com", "AAPL", sw::BandState::kAbove,
                  sw::kMoveUpFired | sw::kMoveDownFired, 187.25),
        MoveState("alice@example.com", "MSFT", sw::BandState::kInside, sw::kMoveDownFired, 0)};
    c.SaveWatchStates(st);
    auto states = q.WatchStates();
    REQUIRE(states.size() == 2);
    CHECK(states[0].state == sw::BandState::kAbove);
    CHECK(states[0].move == (sw::kMoveUpFired | sw::kMoveDownFired));
    CHECK(states[0].move_ref == 187.25);
    CHECK(states[0].ts == kT0);
    CHECK(states[1].move == sw::kMoveDownFired);
    CHECK(states[1].move_ref == 0);
    // An upsert replaces the bits.
    st[0].move = sw::kMoveUpFired;
    st[0].move_ref = 190.5;
    st[0].ts = kT0 + 1;
    c.SaveWatchStates(std::span(st).first(1));
    states = q.WatchStates();
    CHECK(states[0].move == sw::kMoveUpFired);
    CHECK(states[0].move_ref == 190.5);
    CHECK(states[0].ts == kT0 + 1);

    // A band edit re-arms the band state and keeps the move bits.
    Do(*s, [](sw::CommandTx& tx) {
      tx.SetWatch("alice@example.com", "AAPL", std::nullopt, std::optional<double>(250));
    });
    states = q.WatchStates();
    REQUIRE(states.size() == 2);
    CHECK(states[0].state == sw::BandState::kInside);
    CHECK(states[0].move == sw::kMoveUpFired);
    CHECK(states[0].move_ref == 190.5);
    CHECK(states[0].ts == kT0 + 1);
    // A move edit drops the move bits and keeps the band state.
    st[0].state = sw::BandState::kBelow;
    c.SaveWatchStates(std::span(st).first(1));
    sw::WatchEdit e;
    e.direction = sw::MoveDirection::kUp;
    CHECK(Edit(*s, "AAPL", e).exit_code == 0);
    states = q.WatchStates();
    REQUIRE(states.size() == 2);
    CHECK(states[0].state == sw::BandState::kBelow);
    CHECK(states[0].move == 0);
    CHECK(states[0].move_ref == 0);
    // An edit that sets what was there already re-arms nothing.
    c.SaveWatchStates(std::span(st).first(1));
    e = {};
    e.move = std::optional<double>(5);
    e.direction = sw::MoveDirection::kUp;
    CHECK(Edit(*s, "AAPL", e).exit_code == 0);
    CHECK(q.WatchStates()[0].move == sw::kMoveUpFired);
    // A state left with nothing that holds is deleted: MSFT's window changes.
    e = {};
    e.within = 1800;
    CHECK(Edit(*s, "MSFT", e).exit_code == 0);
    states = q.WatchStates();
    REQUIRE(states.size() == 1);
    CHECK(states[0].ticker == "AAPL");

    // Import: a changed move drops the bits, an unchanged one keeps them.
    st[1].move = sw::kMoveUpFired;
    c.SaveWatchStates(st);
    REQUIRE(q.WatchStates().size() == 2);
    sw::Watch aapl = q.Watches("alice@example.com", "AAPL").at(0);
    std::vector<sw::Watch> same{aapl, MakeMoveWatch("alice@example.com", "MSFT", 3, 1800)};
    CHECK(Do(*s, [&](sw::CommandTx& tx) { tx.PutWatches(same); }).exit_code == 0);
    states = q.WatchStates();
    CHECK(states[0].move == sw::kMoveUpFired);
    CHECK(states[1].move == sw::kMoveUpFired);
    std::vector<sw::Watch> changed{
        MakeMoveWatch("alice@example.com", "MSFT", 3, 1800, sw::MoveDirection::kDown)};
    CHECK(Do(*s, [&](sw::CommandTx& tx) { tx.PutWatches(changed); }).exit_code == 0);
    states = q.WatchStates();
    CHECK(states[0].move == sw::kMoveUpFired);  // AAPL: not in the batch
    CHECK(states[1].move == 0);
    CHECK(states[1].move_ref == 0);
  }
}

TEST_CASE("Store: move windows are saved, replaced, deleted and survive a reopen") {
  FOR_EACH_BACKEND(db) {
    {
      auto s = db.Open();
      auto& c = s->commands();
      auto& q = s->queries();
      CHECK(q.MoveWindows().empty());
      std::vector<sw::TickerWindow> windows{
          {"MSFT", {{kT0, 410.5}, {kT0 + 60'000, 0.1 + 0.2}, {kT0 + 61'500, 1e-7}}},
          {"AAPL", {{kT0 + 5, 187.25}}},
          {"EMPTY", {}},
      };
      c.SaveMoveWindows(windows);
      auto got = q.MoveWindows();
      REQUIRE(got.size() == 2);  // sorted by ticker; an empty window is not stored
      CHECK(got[0].ticker == "AAPL");
      REQUIRE(got[0].points.size() == 1);
      CHECK(got[0].points[0].ts == kT0 + 5);
      CHECK(got[0].points[0].price == 187.25);
      CHECK(got[1].ticker == "MSFT");
      REQUIRE(got[1].points.size() == 3);
      CHECK(got[1].points[0].ts == kT0);
      CHECK(got[1].points[0].price == 410.5);
      CHECK(got[1].points[1].ts == kT0 + 60'000);
      CHECK(got[1].points[1].price == 0.1 + 0.2);  // prices round-trip exactly
      CHECK(got[1].points[2].ts == kT0 + 61'500);
      CHECK(got[1].points[2].price == 1e-7);

      // Replace one ticker (given out of order: read back oldest first),
      // delete another, leave a third; the last of a ticker given twice wins.
      std::vector<sw::TickerWindow> next{
          {"MSFT", {{kT0 + 120'000, 415}, {kT0 + 90'000, 412}}},
          {"AAPL", {}},
          {"IBM", {{kT0, 1}}},
          {"IBM", {{kT0, 2}}},
      };
      c.SaveMoveWindows(next);
      got = q.MoveWindows();
      REQUIRE(got.size() == 2);
      CHECK(got[0].ticker == "IBM");
      REQUIRE(got[0].points.size() == 1);
      CHECK(got[0].points[0].price == 2);
      CHECK(got[1].ticker == "MSFT");
      REQUIRE(got[1].points.size() == 2);
      CHECK(got[1].points[0].ts == kT0 + 90'000);
      CHECK(got[1].points[0].price == 412);
      CHECK(got[1].points[1].ts == kT0 + 120'000);

      // A price that is not finite fails the whole call: nothing changes.
      std::vector<sw::TickerWindow> bad{{"IBM", {}}, {"MSFT", {{kT0, std::nan("")}}}};
      CHECK_THROWS_AS(c.SaveMoveWindows(bad), sw::DataError);
      CHECK(q.MoveWindows().size() == 2);

      // Windows belong to tickers: removing a user (and their watches) leaves them.
      Do(*s, [](sw::CommandTx& tx) {
        tx.AddUser(MakeUser("alice@example.com"));
        tx.AddWatch(MakeMoveWatch("alice@example.com", "IBM", 3, 3600));
      });
      Do(*s, [](sw::CommandTx& tx) { tx.RemoveUser("alice@example.com"); });
      CHECK(q.MoveWindows().size() == 2);
    }
    auto s = db.Open();
    auto got = s->queries().MoveWindows();
    REQUIRE(got.size() == 2);
    CHECK(got[1].points.size() == 2);
  }
}

TEST_CASE("Store: window points encode compactly and malformed text is refused") {
  using sw::store_internal::DecodeWindowPoints;
  using sw::store_internal::EncodeWindowPoints;
  std::vector<sw::WindowPoint> points{{kT0, 187.25}, {kT0 + 60'000, 188}, {kT0 + 60'001, 0.5}};
  const std::string text = EncodeWindowPoints(points);
  CHECK(text == std::to_string(kT0) + ":187.25,60000:188,1:0.5");
  auto back = DecodeWindowPoints(text);
  REQUIRE(back);
  REQUIRE(back->size() == 3);
  CHECK((*back)[2].ts == kT0 + 60'001);
  CHECK((*back)[2].price == 0.5);
  CHECK(EncodeWindowPoints({}).empty());
  CHECK(DecodeWindowPoints("")->empty());
  for (const char* bad : {"1", "1:", ":1", "1:2,", "1:2,,3:4", "1:2;3:4", "x:1", "1:nan", "1:inf",
                          "9223372036854775807:1,1:1"}) {
    INFO(bad);
    CHECK_FALSE(DecodeWindowPoints(bad));
  }
}

TEST_CASE("Store: a version 4 store is upgraded: watches and states keep their values") {
  FOR_EACH_BACKEND(db) {
    { auto s = db.Open(); }
    ShapeVersion4(db, backend_name);
    RawSql(
        db, backend_name,
        "INSERT INTO users(email, telegram_id, interval_s) VALUES('a@example.com', 7, 0);"
        "INSERT INTO watches(email, ticker, low, high) VALUES('a@example.com', 'AAPL', 150, "
        "200);"
        "INSERT INTO watch_states(email, ticker, state, ts) VALUES('a@example.com', 'AAPL', 1, " +
            std::to_string(kT0) + ")");
    auto s = db.Open();
    auto& q = s->queries();
    CHECK(q.SchemaVersion() == 5);
    CHECK(RawSql(db, backend_name, "SELECT max(version) FROM schema_version") == "5");
    auto w = q.Watches(std::nullopt, std::nullopt);
    REQUIRE(w.size() == 1);
    CHECK(w[0].low == 150);
    CHECK(w[0].high == 200);
    CHECK(w[0].telegram_id == 7);
    CHECK_FALSE(w[0].move);
    CHECK(w[0].within == 0);
    CHECK(w[0].direction == sw::MoveDirection::kBoth);
    auto st = q.WatchStates();
    REQUIRE(st.size() == 1);
    CHECK(st[0].state == sw::BandState::kAbove);
    CHECK(st[0].ts == kT0);
    CHECK(st[0].move == 0);
    CHECK(st[0].move_ref == 0);
    CHECK(q.MoveWindows().empty());
    // The new columns and table are in use.
    sw::WatchEdit e;
    e.move = std::optional<double>(5);
    e.within = 3600;
    CHECK(Do(*s, [&](sw::CommandTx& tx) { tx.SetWatch("a@example.com", "AAPL", e); }).exit_code ==
          0);
    CHECK(q.Watches("a@example.com", "AAPL").at(0).within == 3600);
    std::vector<sw::TickerWindow> win{{"AAPL", {{kT0, 1.5}}}};
    s->commands().SaveMoveWindows(win);
    CHECK(q.MoveWindows().size() == 1);
  }
}
