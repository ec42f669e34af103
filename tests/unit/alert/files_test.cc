#include "stockwatch/alert/files.h"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <doctest/doctest.h>

#include "stockwatch/core/files.h"
#include "stockwatch/core/signals.h"

using namespace stockwatch;

namespace {

/// A temp directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sw-alert-files.XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string p = (path / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};

std::string ReadAll(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int ExitCodeOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.exit_code();
  }
  return 0;
}

Watch W(std::string email, std::string ticker, std::optional<double> low,
        std::optional<double> high) {
  Watch w;
  w.email = std::move(email);
  w.ticker = std::move(ticker);
  w.low = low;
  w.high = high;
  return w;
}

Quote Q(std::string ticker, double price, TimeMs ts) {
  Quote q;
  q.ticker = std::move(ticker);
  q.price = price;
  q.ts = ts;
  return q;
}

}  // namespace

TEST_CASE("ReadWatchesFile: watch records, users' telegram ids, normalisation") {
  TempDir d;
  std::string p = d.Write(
      "w.jsonl",
      "{\"type\":\"user\",\"email\":\"a@x.io\",\"telegram_id\":7}\n"
      "{\"type\":\"watch\",\"email\":\"a@X.IO\",\"ticker\":\"brk-b\",\"low\":1}\n"
      "\n"
      "{\"type\":\"watch\",\"email\":\"b@x.io\",\"ticker\":\"T\",\"high\":5,\"telegram_id\":9}\r\n"
      "{\"type\":\"quote\",\"ticker\":\"T\",\"price\":1,\"ts\":\"2026-11-27T14:30:00Z\"}\n"
      "{\"type\":\"watch\",\"email\":\"c@x.io\",\"ticker\":\"T\",\"high\":null}");
  std::vector<Watch> ws = ReadWatchesFile(p);
  REQUIRE(ws.size() == 3);
  CHECK(ws[0].email == "a@x.io");
  CHECK(ws[0].ticker == "BRK-B");
  CHECK(ws[0].low == 1);
  CHECK(!ws[0].high);
  CHECK(ws[0].telegram_id == 7);  // from the user record
  CHECK(ws[1].telegram_id == 9);
  CHECK(ws[1].high == 5);
  CHECK(!ws[2].high);  // no band at all: never alerts, but valid
  CHECK(!ws[2].telegram_id);
}

TEST_CASE("ReadWatchesFile: errors name the file and line; a missing file is 66") {
  TempDir d;
  std::string p =
      d.Write("w.jsonl",
              "{\"type\":\"watch\",\"email\":\"a@x.io\",\"ticker\":\"T\",\"low\":1}\n"
              "{\"type\":\"watch\",\"email\":\"a@x.io\",\"ticker\":\"T\",\"low\":5,\"high\":2}\n");
  try {
    ReadWatchesFile(p);
    FAIL("no error");
  } catch (const DataError& e) {
    CHECK(std::string(e.what()).find(p + ":2: high: ") == 0);
  }
  CHECK(ExitCodeOf([&] { ReadWatchesFile(p + ".missing"); }) == exitcode::kNoInput);
}

TEST_CASE("ReadWatchesFile: a stop while reading uses no watch (exit 128 + the signal)") {
  TempDir d;
  std::string p =
      d.Write("w.jsonl", "{\"type\":\"watch\",\"email\":\"a@x.io\",\"ticker\":\"T\",\"low\":1}\n");
  CHECK(ReadWatchesFile(p).size() == 1);
  RequestStop(SIGTERM);
  try {
    ReadWatchesFile(p);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.exit_code() == 143);
    CHECK(std::string(e.what()) == p + ": stopped by SIGTERM while reading it: no watch used");
  }
  ResetStop();
}

TEST_CASE("State lines: round trip and field errors") {
  SavedState s;
  s.state.email = "a@x.io";
  s.state.ticker = "^GSPC";
  s.state.state = BandState::kBelow;
  s.state.ts = 1796817000123;
  s.low = 4000.5;
  std::string line;
  AppendStateJson(line, s);
  CHECK(
      line ==
      R"({"type":"watch_state","email":"a@x.io","ticker":"^GSPC","state":"below","ts":"2026-12-09T11:50:00.123Z","low":4000.5})");
  SavedState r = ParseStateJson(line);
  CHECK(r.state.email == "a@x.io");
  CHECK(r.state.ticker == "^GSPC");
  CHECK(r.state.state == BandState::kBelow);
  CHECK(r.state.ts == 1796817000123);
  CHECK(r.low == 4000.5);
  CHECK(!r.high);
  CHECK_THROWS_WITH_AS(
      ParseStateJson(
          R"({"type":"watch_state","email":"a@x.io","ticker":"T","state":"up","ts":"2026-12-09T14:30:00Z"})"),
      "state: must be above, below or inside", DataError);
  CHECK_THROWS_WITH_AS(
      ParseStateJson(R"({"type":"watch_state","email":"a@x.io","ticker":"T","state":"above"})"),
      "ts: missing", DataError);
  CHECK_THROWS_AS(ParseStateJson("{"), DataError);
}

TEST_CASE("State lines: a move's bits, day and settings; window lines") {
  SavedState s;
  s.state.email = "a@x.io";
  s.state.ticker = "AAPL";
  s.state.ts = 1796817000000;
  s.state.move = kMoveUpFired;
  s.state.move_ref = 197.5;
  s.move = 5;
  s.within = 0;
  std::string line;
  AppendStateJson(line, s);
  CHECK(
      line ==
      R"({"type":"watch_state","email":"a@x.io","ticker":"AAPL","state":"inside","ts":"2026-12-09T11:50:00Z","move":5,"moved":"up","move_ref":197.5})");
  SavedState r = ParseStateJson(line);
  CHECK(r.state.move == kMoveUpFired);
  CHECK(r.state.move_ref == 197.5);
  CHECK(r.move == 5);
  CHECK(r.within == 0);
  s.state.move = kMoveUpFired | kMoveDownFired;
  s.state.move_ref = 0;
  s.within = 3600;
  s.direction = MoveDirection::kBoth;
  line.clear();
  AppendStateJson(line, s);
  r = ParseStateJson(line);
  CHECK(r.state.move == (kMoveUpFired | kMoveDownFired));
  CHECK(r.within == 3600);
  CHECK_THROWS_WITH_AS(
      ParseStateJson(
          R"({"type":"watch_state","email":"a@x.io","ticker":"T","state":"inside","ts":"2026-12-09T14:30:00Z","moved":"sideways"})"),
      "moved: must be up, down or both", DataError);

  TempDir d;
  const std::string p = (d.path / "state").string();
  TickerWindow w{"BTC-USD", {{1000, 60000}, {2000, 62500.5}}};
  std::string text;
  AppendWindowJson(text, w);
  CHECK(text ==
        R"({"type":"move_window","ticker":"BTC-USD","points":[[1000,60000],[2000,62500.5]]})");
  TickerWindow later{"BTC-USD", {{3000, 61000}}};
  text += "\n";
  AppendWindowJson(text, later);
  text += "\n" + line + "\n";
  WriteFileAtomically(p, text, 0600);
  std::vector<TickerWindow> windows;
  std::vector<SavedState> states = ReadStateFile(p, nullptr, nullptr, &windows);
  CHECK(states.size() == 1);
  REQUIRE(windows.size() == 1);  // the later line for the ticker wins
  CHECK(windows[0].points.size() == 1);
  CHECK(windows[0].points[0].ts == 3000);
  WriteFileAtomically(p,
                      R"({"type":"move_window","ticker":"T","points":[[1,"x"]]})"
                      "\n",
                      0600);
  CHECK_THROWS_AS(ReadStateFile(p, nullptr, nullptr, &windows), DataError);
}

TEST_CASE("State file: written atomically, read back, missing means empty") {
  TempDir d;
  std::string p = (d.path / "state.jsonl").string();
  CHECK(ReadStateFile(p).empty());

  AlertEngine e;
  e.SetWatches(
      {W("a@x.io", "T", 10, 20), W("b@x.io", "T", 10, 30), W("c@x.io", "U", std::nullopt, 5)});
  e.OnQuote(Q("T", 25, 1000));
  e.OnQuote(Q("U", 4, 1001));
  WriteStateFile(p, e);
  CHECK(!std::filesystem::exists(p + ".tmp"));
  std::string text = ReadAll(p);
  CHECK(text.find(R"("email":"a@x.io","ticker":"T","state":"above")") != std::string::npos);
  CHECK(text.find("b@x.io") == std::string::npos);  // never set: not written
  CHECK(text.find("c@x.io") == std::string::npos);

  std::vector<SavedState> saved = ReadStateFile(p);
  REQUIRE(saved.size() == 1);
  CHECK(saved[0].low == 10);
  CHECK(saved[0].high == 20);

  // A restarted engine with the same watches: no repeat.
  AlertEngine r;
  r.SetWatches({W("a@x.io", "T", 10, 20), W("b@x.io", "T", 10, 30)});
  CHECK(r.RestoreStates(ApplicableStates(saved, r)) == 1);
  r.OnQuote(Q("T", 26, 1002));
  CHECK(r.fired().empty());

  // The high changed while stopped: "above" no longer applies.
  AlertEngine c;
  c.SetWatches({W("a@x.io", "T", 10, 22)});
  std::vector<WatchState> st = ApplicableStates(saved, c);
  REQUIRE(st.size() == 1);
  CHECK(st[0].state == BandState::kInside);
  c.RestoreStates(st);
  c.OnQuote(Q("T", 26, 1002));
  CHECK(c.fired().size() == 1);

  // Only the low changed: "above" still applies.
  AlertEngine l;
  l.SetWatches({W("a@x.io", "T", 5, 20)});
  CHECK(ApplicableStates(saved, l).at(0).state == BandState::kAbove);
}

TEST_CASE("State file: a bad line names the file and line; an unwritable place is an error") {
  TempDir d;
  std::string p = d.Write("state.jsonl", "\n{\"type\":\"watch_state\"}\n");
  try {
    ReadStateFile(p);
    FAIL("no error");
  } catch (const DataError& e) {
    CHECK(std::string(e.what()).find(p + ":2: ") == 0);
  }
  AlertEngine e;
  CHECK(ExitCodeOf([&] { WriteStateFile((d.path / "no/such/dir/state").string(), e); }) ==
        exitcode::kIoErr);
}

TEST_CASE("State file: a journal of changes after the snapshot; the latest line of a watch wins") {
  TempDir d;
  std::string p = (d.path / "state.jsonl").string();
  AlertEngine e;
  e.SetWatches({W("a@x.io", "T", 10, 20), W("b@x.io", "T", 10, 30)});
  e.OnQuote(Q("T", 25, 1000));  // a: above
  std::vector<WatchState> changed;
  e.TakeChangedStates(changed);
  size_t snapshot = WriteStateFile(p, e);
  CHECK(snapshot == ReadAll(p).size());

  e.OnQuote(Q("T", 15, 1001));  // a: inside again
  e.OnQuote(Q("T", 35, 1002));  // a and b: above
  e.TakeChangedStates(changed);
  REQUIRE(changed.size() == 2);
  size_t appended = AppendStateFile(p, changed, {}, e, true);
  CHECK(ReadAll(p).size() == snapshot + appended);

  size_t bytes = 0;
  bool torn = true;
  std::vector<SavedState> saved = ReadStateFile(p, &bytes, &torn);
  CHECK(bytes == snapshot + appended);
  CHECK_FALSE(torn);
  CHECK(saved.size() == 3);  // a (snapshot), then a and b (journal)

  AlertEngine r;
  r.SetWatches({W("a@x.io", "T", 10, 20), W("b@x.io", "T", 10, 30)});
  r.RestoreStates(ApplicableStates(saved, r));
  CHECK(r.state(*r.Find("a@x.io", "T")) == BandState::kAbove);
  CHECK(r.state(*r.Find("b@x.io", "T")) == BandState::kAbove);
  r.OnQuote(Q("T", 36, 1003));
  CHECK(r.fired().empty());  // neither repeats
}

TEST_CASE("State file: the torn end of an interrupted append is ignored, then cut off") {
  TempDir d;
  const std::string good =
      R"({"type":"watch_state","email":"a@x.io","ticker":"T","state":"above","ts":"2026-12-09T11:50:00Z","high":20})";
  std::string p = d.Write("state.jsonl", good + "\n" + R"({"type":"watch_state","email":"b@x)");
  bool torn = false;
  std::vector<SavedState> saved = ReadStateFile(p, nullptr, &torn);
  CHECK(torn);
  REQUIRE(saved.size() == 1);
  CHECK(saved[0].state.email == "a@x.io");

  AlertEngine e;
  e.SetWatches({W("b@x.io", "T", 10, 30)});
  e.OnQuote(Q("T", 5, 1000));  // b: below
  std::vector<WatchState> changed;
  e.TakeChangedStates(changed);
  AppendStateFile(p, changed, {}, e, true);
  saved = ReadStateFile(p, nullptr, &torn);
  CHECK_FALSE(torn);
  REQUIRE(saved.size() == 2);
  CHECK(saved[1].state.email == "b@x.io");
  CHECK(saved[1].state.state == BandState::kBelow);
  CHECK(ReadAll(p).find("b@x\n") == std::string::npos);

  // A bad line that is not the torn end is still an error.
  std::string q = d.Write("bad.jsonl", "{\n" + good + "\n");
  CHECK_THROWS_AS(ReadStateFile(q), DataError);
}
