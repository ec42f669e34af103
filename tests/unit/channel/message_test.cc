// message.h: targets, rendering, token bucket, back-off, the file target.
#include "stockwatch/channel/message.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "stockwatch/net/http.h"

namespace sw = stockwatch;

namespace {

sw::Alert SampleAlert() {
  sw::Alert a;
  a.email = "alice@example.com";
  a.ticker = "AAPL";
  a.condition = sw::Condition::kAbove;
  a.price = 201.5;
  a.threshold = 200;
  a.low = 150;
  a.high = 200;
  a.ts = *sw::ParseRfc3339("2026-11-27T14:30:00Z");
  a.id = sw::AlertId(a.email, a.ticker, a.condition, a.ts);
  return a;
}

// AAPL up 5.23% on the day: previous close 199.99, the watch's move 5%.
sw::Alert DayMoveAlert() {
  sw::Alert a;
  a.email = "alice@example.com";
  a.ticker = "AAPL";
  a.condition = sw::Condition::kUp;
  a.price = 210.45;
  a.reference = 199.99;
  a.change = 5.23;
  a.move = 5;
  a.threshold = 199.99 * (1 + 5 / 100.0);  // 209.98950000000002, as computed
  a.ts = *sw::ParseRfc3339("2026-11-27T14:30:00Z");
  a.id = sw::AlertId(a.email, a.ticker, a.condition, a.ts);
  return a;
}

// BTC-USD down 3.1% within an hour: from the window's high of 62950.
sw::Alert WindowMoveAlert() {
  sw::Alert a;
  a.email = "bob@example.com";
  a.ticker = "BTC-USD";
  a.condition = sw::Condition::kDown;
  a.price = 61000;
  a.reference = 62950;
  a.change = -3.0977;
  a.move = 3;
  a.within = 3600;
  a.threshold = 61061.5;
  a.ts = *sw::ParseRfc3339("2026-11-27T14:31:00Z");
  a.id = sw::AlertId(a.email, a.ticker, a.condition, a.ts);
  return a;
}

}  // namespace

TEST_CASE("ParseTarget: the four kinds and their keys") {
  sw::Target t = sw::ParseTarget("telegram:");
  CHECK(t.kind == sw::TargetKind::kTelegram);
  CHECK(t.channel == "telegram");
  CHECK(t.key == "telegram");
  CHECK(t.per_user);

  t = sw::ParseTarget("mailto:");
  CHECK(t.kind == sw::TargetKind::kEmail);
  CHECK(t.channel == "email");
  CHECK(t.per_user);

  t = sw::ParseTarget("https://hooks.example.com/a?b=1");
  CHECK(t.kind == sw::TargetKind::kWebhook);
  CHECK(t.channel == "webhook");
  CHECK(t.location == "https://hooks.example.com/a?b=1");
  CHECK(t.key == "webhook:https://hooks.example.com/a?b=1");
  CHECK_FALSE(t.per_user);
  // Records and messages name the target, without credentials or query values.
  t = sw::ParseTarget("https://user:s3cret@hooks.example.com:8443/a/b?key=k3y&x&t=1#frag");
  CHECK(t.shown == "https://hooks.example.com:8443/a/b?key=***&x&t=***");
  CHECK(t.label == "webhook https://hooks.example.com:8443/a/b?key=***&x&t=***");
  CHECK(t.location == "https://user:s3cret@hooks.example.com:8443/a/b?key=k3y&x&t=1#frag");
  CHECK(sw::ParseTarget("http://127.0.0.1:9/hook").shown == "http://127.0.0.1:9/hook");
  CHECK(sw::ParseTarget("telegram:").shown.empty());
  CHECK(sw::ParseTarget("telegram:").label == "telegram");
  CHECK(sw::ParseTarget("file:/tmp/x").label == "file:/tmp/x");

  t = sw::ParseTarget("file:/dev/stderr");
  CHECK(t.kind == sw::TargetKind::kFile);
  CHECK(t.location == "/dev/stderr");
  CHECK(t.key == "file:/dev/stderr");
  CHECK_FALSE(t.per_user);
}

TEST_CASE("ParseTarget: unknown or malformed targets are usage errors") {
  for (const char* bad : {"telegram", "mailto:bob@example.com", "telegram:123", "ftp://x",
                          "file:", "http://", "", "https://a b"}) {
    CAPTURE(bad);
    try {
      sw::ParseTarget(bad);
      FAIL("accepted");
    } catch (const sw::Error& e) {
      CHECK(e.exit_code() == sw::exitcode::kUsage);
    }
  }
}

TEST_CASE("HtmlEscape: Telegram's HTML specials") {
  CHECK(sw::HtmlEscape("a<b>&\"c\"") == "a&lt;b&gt;&amp;&quot;c&quot;");
  CHECK(sw::HtmlEscape("plain BRK-B ^GSPC") == "plain BRK-B ^GSPC");
  CHECK(sw::HtmlEscape("") == "");
}

TEST_CASE("Rendering: title, text, HTML and file line carry condition, price, threshold, band") {
  sw::Alert a = SampleAlert();
  CHECK(sw::AlertTitle(a) == "AAPL above 200");
  CHECK(sw::AlertText(a) ==
        "AAPL is above your high of 200: price 201.5 at 2026-11-27T14:30:00Z.\n"
        "Your band: [150, 200].\n");
  CHECK(sw::AlertHtml(a) == "<b>AAPL</b> 201.5 is above your high of 200 (band [150, 200])");
  CHECK(sw::AlertLine(a) ==
        "2026-11-27T14:30:00Z alice@example.com AAPL above 200: price 201.5, band [150, 200]");

  a.condition = sw::Condition::kBelow;
  a.threshold = 150;
  a.price = 149.25;
  a.high.reset();
  CHECK(sw::AlertTitle(a) == "AAPL below 150");
  CHECK(sw::FormatBand(a) == "[150, -]");
  CHECK(sw::AlertHtml(a) == "<b>AAPL</b> 149.25 is below your low of 150 (band [150, -])");
}

TEST_CASE("Rendering: a day-change move alert reads as a move since the previous close") {
  sw::Alert a = DayMoveAlert();
  CHECK(sw::AlertTitle(a) == "AAPL up 5.2% to 210.45");
  CHECK(sw::AlertText(a) ==
        "AAPL up 5.2% to 210.45 since the previous close (199.99) at 2026-11-27T14:30:00Z.\n"
        "Your move: 5%, reached at 209.9895.\n");
  CHECK(sw::AlertHtml(a) ==
        "<b>AAPL</b> up 5.2% to 210.45 since the previous close (199.99); your move: 5%");
  CHECK(sw::AlertLine(a) ==
        "2026-11-27T14:30:00Z alice@example.com AAPL up 5.2% to 210.45 since the previous close "
        "(199.99); your move: 5%");
  // A watch with a band as well: the alert carries it, the body says so.
  a.low = 150;
  CHECK(sw::AlertText(a).find("\nYour band: [150, -].\n") != std::string::npos);
}

TEST_CASE("Rendering: a windowed move alert names its window and where it started") {
  sw::Alert a = WindowMoveAlert();
  CHECK(sw::AlertTitle(a) == "BTC-USD down 3.1% to 61000");
  CHECK(sw::AlertText(a) ==
        "BTC-USD down 3.1% to 61000 within 1h (from 62950) at 2026-11-27T14:31:00Z.\n"
        "Your move: 3%, reached at 61061.5.\n");
  CHECK(sw::AlertHtml(a) ==
        "<b>BTC-USD</b> down 3.1% to 61000 within 1h (from 62950); your move: 3%");
  CHECK(sw::AlertLine(a) ==
        "2026-11-27T14:31:00Z bob@example.com BTC-USD down 3.1% to 61000 within 1h (from "
        "62950); your move: 3%");
  a.within = 5400;
  CHECK(sw::AlertHtml(a).find(" within 90m (from 62950)") != std::string::npos);
  a.within = 45;
  CHECK(sw::AlertHtml(a).find(" within 45s (from 62950)") != std::string::npos);
}

TEST_CASE("Rendering: a move alert without change, reference or move still reads right") {
  sw::Alert a = WindowMoveAlert();
  a.change.reset();  // worked out from the reference: 61000 / 62950 - 1 = -3.0977%
  CHECK(sw::AlertHtml(a) ==
        "<b>BTC-USD</b> down 3.1% to 61000 within 1h (from 62950); your move: 3%");
  a.reference.reset();  // nothing to work it out from
  a.move.reset();
  CHECK(sw::AlertHtml(a) == "<b>BTC-USD</b> down to 61000 within 1h; threshold 61061.5");
  CHECK(sw::AlertText(a) ==
        "BTC-USD down to 61000 within 1h at 2026-11-27T14:31:00Z.\nThreshold: 61061.5.\n");
  sw::Alert d = DayMoveAlert();
  d.reference.reset();
  CHECK(sw::AlertTitle(d) == "AAPL up 5.2% to 210.45");
  CHECK(sw::AlertHtml(d) ==
        "<b>AAPL</b> up 5.2% to 210.45 since the previous close; your move: 5%");
}

TEST_CASE("FormatPrice: shortest form, without the noise of computed prices") {
  CHECK(sw::FormatPrice(197.48) == "197.48");
  CHECK(sw::FormatPrice(200) == "200");
  CHECK(sw::FormatPrice(199.99 * 1.05) == "209.9895");  // 209.98950000000002
  CHECK(sw::FormatPrice(0.1 + 0.2) == "0.3");
  CHECK(sw::FormatPrice(1.2345678901234) == "1.23456789012");  // 12 significant digits
  CHECK(sw::FormatPrice(68675.62) == "68675.62");
  CHECK(sw::FormatPrice(-3.1) == "-3.1");
  CHECK(sw::FormatPrice(0) == "0");
}

TEST_CASE("FormatPercent: one decimal, more when one would fall under the move") {
  CHECK(sw::FormatPercent(5.23) == "5.2");
  CHECK(sw::FormatPercent(3.0977, 3) == "3.1");
  CHECK(sw::FormatPercent(5.0, 5) == "5.0");
  CHECK(sw::FormatPercent(5.04, 5.04) == "5.04");
  CHECK(sw::FormatPercent(0.052, 0.05) == "0.052");
  CHECK(sw::FormatPercent(12.96) == "13.0");
  CHECK(sw::FormatPercent(0.5) == "0.50");
  CHECK(sw::FormatPercent(1e303, 5) == "1e+303");  // from a price near zero: not 300 digits
  CHECK(sw::FormatPercent(std::numeric_limits<double>::infinity(), 5) == "inf");
}

TEST_CASE("WatchSummary: band, move, or both") {
  sw::Watch w;
  w.ticker = "AAPL";
  w.low = 150;
  w.high = 200;
  CHECK(sw::WatchSummary(w) == "[150, 200]");
  w.move = 5;
  CHECK(sw::WatchSummary(w) == "[150, 200]; up or down 5% since the previous close");
  w.low.reset();
  w.high.reset();
  w.direction = sw::MoveDirection::kUp;
  CHECK(sw::WatchSummary(w) == "up 5% since the previous close");
  w.high = 300;
  w.move = 2.5;
  w.within = 3600;
  w.direction = sw::MoveDirection::kDown;
  CHECK(sw::WatchSummary(w) == "[-, 300]; down 2.5% within 1h");
  sw::Watch empty;
  CHECK(sw::WatchSummary(empty) == "[-, -]");
}

TEST_CASE("Rendering: a digest mixes band and move alerts, each in its own words") {
  std::vector<sw::Alert> v{SampleAlert(), DayMoveAlert(), WindowMoveAlert()};
  CHECK(sw::DigestTitle(v) == "3 alerts: AAPL, BTC-USD");
  std::string text = sw::DigestText(v);
  CHECK(text.find("\nAAPL is above your high of 200: price 201.5") != std::string::npos);
  CHECK(text.find("\nAAPL up 5.2% to 210.45 since the previous close (199.99) at ") !=
        std::string::npos);
  CHECK(text.find("\nBTC-USD down 3.1% to 61000 within 1h (from 62950) at ") != std::string::npos);
  std::string html = sw::DigestHtml(v);
  CHECK(html ==
        "<b>3 alerts</b>\n"
        "<b>AAPL</b> 201.5 is above your high of 200 (band [150, 200])\n"
        "<b>AAPL</b> up 5.2% to 210.45 since the previous close (199.99); your move: 5%\n"
        "<b>BTC-USD</b> down 3.1% to 61000 within 1h (from 62950); your move: 3%");
  // Apprise (a webhook format) carries the same words.
  sw::Alert d = DayMoveAlert();
  std::string j = sw::AppriseJson(std::span<const sw::Alert>(&d, 1));
  CHECK(j.find("\"title\":\"AAPL up 5.2% to 210.45\"") != std::string::npos);
}

TEST_CASE("Records: a move alert's fields survive parsing and serialising unchanged") {
  const std::string line =
      R"({"type":"alert","id":"00000000000000aa","email":"bob@example.com","ticker":"BTC-USD",)"
      R"("condition":"down","price":61000,"threshold":61061.5,"reference":62950,)"
      R"("change":-3.0977,"move":3,"within":3600,"ts":"2026-11-27T14:31:00Z"})";
  sw::RecordParser parser;
  sw::AnyRecord rec;
  REQUIRE(parser.Parse(line, rec) == sw::RecordType::kAlert);
  CHECK(rec.alert.condition == sw::Condition::kDown);
  CHECK(sw::ToJson(rec.alert) == line);
  CHECK(sw::AlertHtml(rec.alert) ==
        "<b>BTC-USD</b> down 3.1% to 61000 within 1h (from 62950); your move: 3%");
}

TEST_CASE("Rendering: a ticker with HTML specials is escaped in Telegram text only") {
  sw::Alert a = SampleAlert();
  a.ticker = "A<B>&C";
  CHECK(sw::AlertHtml(a).rfind("<b>A&lt;B&gt;&amp;C</b> ", 0) == 0);
  CHECK(sw::AlertTitle(a) == "A<B>&C above 200");
}

TEST_CASE("Rendering: digests list every alert in order") {
  std::vector<sw::Alert> v{SampleAlert(), SampleAlert(), SampleAlert()};
  v[1].ticker = "MSFT";
  v[2].ticker = "AAPL";
  v[2].price = 205;
  CHECK(sw::DigestTitle(std::span<const sw::Alert>(v.data(), 1)) == "AAPL above 200");
  CHECK(sw::DigestTitle(v) == "3 alerts: AAPL, MSFT");
  std::string text = sw::DigestText(v);
  CHECK(text.rfind("3 price alerts, oldest first:\n", 0) == 0);
  size_t first = text.find("AAPL is above");
  size_t second = text.find("MSFT is above");
  size_t third = text.find("price 205");
  CHECK(first < second);
  CHECK(second < third);
  CHECK(third != std::string::npos);
  std::string html = sw::DigestHtml(v);
  CHECK(html.rfind("<b>3 alerts</b>\n<b>AAPL</b> 201.5", 0) == 0);
  CHECK(html.find("\n<b>MSFT</b> 201.5") != std::string::npos);
  CHECK(html.find("\n<b>AAPL</b> 205 ") != std::string::npos);
}

TEST_CASE("AppriseJson: the fields of Apprise's JSON notification") {
  sw::Alert a = SampleAlert();
  std::string j = sw::AppriseJson(std::span<const sw::Alert>(&a, 1));
  CHECK(j.rfind("{\"version\":\"1.0\",\"title\":\"AAPL above 200\",\"message\":\"AAPL is above",
                0) == 0);
  CHECK(j.find(",\"attachments\":[],\"type\":\"warning\"}") != std::string::npos);
}

TEST_CASE("TokenBucket: rate and burst") {
  sw::TokenBucket b(2, 2);  // 2 per second, burst 2
  CHECK(b.TryTake(0));
  CHECK(b.TryTake(0));
  CHECK_FALSE(b.TryTake(0));
  CHECK(b.WaitMs(0) == doctest::Approx(500));
  CHECK(b.WaitMs(250) == doctest::Approx(250));
  CHECK_FALSE(b.TryTake(499));
  CHECK(b.TryTake(500));
  // Idle time refills up to the burst only.
  CHECK(b.TryTake(10'000));
  CHECK(b.TryTake(10'000));
  CHECK_FALSE(b.TryTake(10'000));
}

TEST_CASE("TokenBucket: BlockUntil holds every token until then, then one") {
  sw::TokenBucket b(1, 5);
  b.BlockUntil(3'000);
  CHECK_FALSE(b.TryTake(100));
  CHECK(b.WaitMs(1'000) == doctest::Approx(2'000));
  CHECK(b.TryTake(3'000));
  CHECK_FALSE(b.TryTake(3'000));
  CHECK(b.TryTake(4'000));
}

TEST_CASE("TokenBucket: burst 1 keeps the rate in every window") {
  sw::TokenBucket b(30, 1);
  int sent = 0;
  std::vector<double> times;
  for (double t = 0; t < 2'000; t += 1) {
    if (b.TryTake(t)) times.push_back(t);
  }
  sent = static_cast<int>(times.size());
  CHECK(sent >= 59);
  CHECK(sent <= 61);
  // No sliding one-second window holds more than 31 sends.
  for (size_t i = 0; i < times.size(); ++i) {
    size_t j = i;
    while (j < times.size() && times[j] < times[i] + 1'000) ++j;
    CHECK(j - i <= 31);
  }
}

TEST_CASE("BackoffMs: doubles per retry, capped, jittered, server hint is a floor") {
  sw::BackoffPolicy p{100, 1'000};
  CHECK(sw::BackoffMs(p, 1, 0.0) == 50);
  CHECK(sw::BackoffMs(p, 1, 0.999) == 100);
  CHECK(sw::BackoffMs(p, 2, 0.0) == 100);
  CHECK(sw::BackoffMs(p, 3, 1.0) == 400);
  CHECK(sw::BackoffMs(p, 10, 1.0) == 1'000);
  CHECK(sw::BackoffMs(p, 60, 0.5) == 750);  // no overflow for large retry numbers
  CHECK(sw::BackoffMs(p, 1, 0.0, 35'000) == 35'000);
  CHECK(sw::BackoffMs(p, 3, 1.0, 10) == 400);
  for (int r = 1; r < 8; ++r) {
    int64_t lo = sw::BackoffMs(p, r, 0.0), hi = sw::BackoffMs(p, r, 1.0);
    CHECK(hi == 2 * lo);
  }
}

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

sw::Message OneAlert(double price) {
  sw::Message m;
  m.alerts.push_back(SampleAlert());
  m.alerts.back().price = price;
  m.email = m.alerts.back().email;
  return m;
}

bool SendAll(sw::Channel& ch, std::vector<const sw::Message*> msgs) {
  bool ok = true;
  size_t calls = 0;
  ch.SendBatch(msgs, [&](size_t, sw::SendResult r) {
    ++calls;
    ok = ok && r.status == sw::SendStatus::kOk;
  });
  return ok && calls == msgs.size();
}

}  // namespace

TEST_CASE("File target: checkpoints name the size written; rollback cuts what came after") {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("sw-file-target-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "alerts.txt").string();
  sw::HttpClient http;
  sw::ChannelOptions opts;
  sw::Target target = sw::ParseTarget("file:" + path);
  sw::Message m1 = OneAlert(201), m2 = OneAlert(202), m3 = OneAlert(203);

  auto ch = sw::MakeChannel(target, opts, http);
  CHECK(ch->max_parallel() > 1);
  REQUIRE(SendAll(*ch, {&m1, &m2}));
  std::string two = Slurp(path);
  CHECK(two == sw::AlertLine(m1.alerts[0]) + "\n" + sw::AlertLine(m2.alerts[0]) + "\n");
  std::optional<std::string> mark = ch->Checkpoint();
  REQUIRE(mark);
  CHECK(mark->ends_with(":" + std::to_string(two.size())));

  // Another writer on the same file does not get the journal.
  auto other = sw::MakeChannel(target, opts, http);
  CHECK_FALSE(other->Checkpoint());
  CHECK(other->Rollback(*mark).empty());
  other.reset();

  // Written after the mark, then the process "dies" before recording it.
  REQUIRE(SendAll(*ch, {&m3}));
  CHECK(Slurp(path).size() > two.size());
  ch.reset();

  auto again = sw::MakeChannel(target, opts, http);
  std::string did = again->Rollback(*mark);
  CHECK(did.find("cut the last") != std::string::npos);
  CHECK(Slurp(path) == two);
  CHECK(again->Rollback(*mark).empty());  // nothing left to cut
  CHECK(again->Checkpoint() == mark);

  // A mark of another file (rotated away), or none we can read, cuts nothing.
  REQUIRE(SendAll(*again, {&m3}));
  std::string three = Slurp(path);
  CHECK(again->Rollback("1:2:0").empty());
  CHECK(again->Rollback("garbage").empty());
  CHECK(again->Rollback(mark->substr(0, mark->rfind(':')) + ":-5").empty());
  CHECK(Slurp(path) == three);
  again.reset();

  // Not a regular file: nothing to mark.
  auto null = sw::MakeChannel(sw::ParseTarget("file:/dev/null"), opts, http);
  CHECK_FALSE(null->Checkpoint());
  std::filesystem::remove_all(dir);
}
