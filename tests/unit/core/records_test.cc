#include "stockwatch/core/records.h"

#include <cmath>
#include <string>

#include <doctest/doctest.h>

using namespace stockwatch;

namespace {

RecordType ParseLine(const std::string& line, AnyRecord& r) {
  RecordParser p;
  return p.Parse(line, r);
}

// The error message of parsing `line`, "" when it parses.
std::string ErrorOf(const std::string& line) {
  AnyRecord r;
  try {
    ParseLine(line, r);
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Quote: parses every field and normalises the ticker") {
  AnyRecord r;
  REQUIRE(
      ParseLine(
          R"({"type":"quote","ticker":"brk-b","price":197.48,"currency":"USD",)"
          R"("ts":"2026-11-27T14:30:00Z","source":"yahoo","prev_close":190.5,"volume":1200,"extra":[1,{"a":2}]})",
          r) == RecordType::kQuote);
  CHECK(r.quote.ticker == "BRK-B");
  CHECK(r.quote.price == doctest::Approx(197.48));
  CHECK(r.quote.currency == "USD");
  CHECK(r.quote.source == "yahoo");
  CHECK(FormatRfc3339(r.quote.ts) == "2026-11-27T14:30:00Z");
  CHECK(r.quote.prev_close == doctest::Approx(190.5));
  CHECK(r.quote.volume == 1200);
}

TEST_CASE("Quote: round trip is byte-identical for canonical records") {
  const std::string line =
      R"({"type":"quote","ticker":"AAPL","price":197.48,"currency":"USD","ts":"2026-11-27T14:30:00Z","source":"yahoo"})";
  AnyRecord r;
  REQUIRE(ParseLine(line, r) == RecordType::kQuote);
  CHECK(ToJson(r.quote) == line);
}

TEST_CASE("Quote: each invalid field is named") {
  CHECK(ErrorOf(R"({"type":"quote","price":1,"ts":"2026-11-27T14:30:00Z"})") == "ticker: missing");
  CHECK(ErrorOf(R"({"type":"quote","ticker":"AAPL","ts":"2026-11-27T14:30:00Z"})") ==
        "price: missing");
  CHECK(ErrorOf(R"({"type":"quote","ticker":"AAPL","price":1})") == "ts: missing");
  CHECK(ErrorOf(R"({"type":"quote","ticker":"AAPL","price":"12","ts":"2026-11-27T14:30:00Z"})") ==
        "price: not a number");
  CHECK(ErrorOf(R"({"type":"quote","ticker":7,"price":1,"ts":"2026-11-27T14:30:00Z"})") ==
        "ticker: not a string");
  CHECK(ErrorOf(R"({"type":"quote","ticker":"AAPL","price":-1,"ts":"2026-11-27T14:30:00Z"})") ==
        "price: negative");
  CHECK(ErrorOf(R"({"type":"quote","ticker":"AAPL","price":1,"ts":"yesterday"})")
            .rfind("ts: not an RFC 3339", 0) == 0);
  CHECK(ErrorOf(R"({"type":"quote","ticker":"AA PL","price":1,"ts":"2026-11-27T14:30:00Z"})")
            .rfind("ticker: must match", 0) == 0);
  CHECK(
      ErrorOf(
          R"({"type":"quote","ticker":"AAPL","price":1,"ts":"2026-11-27T14:30:00Z","volume":1.5})") ==
      "volume: not an integer");
  CHECK(
      ErrorOf(
          R"({"type":"quote","ticker":"ABCDEFGHIJKLMNOPQ","price":1,"ts":"2026-11-27T14:30:00Z"})") ==
      "ticker: longer than 16 characters");
}

TEST_CASE("RecordParser: malformed input is a DataError, never a crash") {
  CHECK(ErrorOf("") == "invalid JSON: empty line");
  CHECK(ErrorOf("{\"type\":\"quote\",").rfind("invalid JSON", 0) == 0);
  CHECK(ErrorOf(R"({"type":"quote","ticker":"AAPL","price":NaN,"ts":"2026-11-27T14:30:00Z"})")
            .rfind("invalid JSON", 0) == 0);
  CHECK(ErrorOf(R"({"type":"quote","ticker":"AAPL","price":Infinity,"ts":"2026-11-27T14:30:00Z"})")
            .rfind("invalid JSON", 0) == 0);
  CHECK(ErrorOf(R"({"type":"quote","ticker":"AAPL","price":1e999,"ts":"2026-11-27T14:30:00Z"})")
            .rfind("invalid JSON", 0) == 0);
  CHECK(ErrorOf(R"([{"type":"quote"}])") == "invalid record: not a JSON object");
  CHECK(ErrorOf("\"just a string\"") == "invalid record: not a JSON object");
  CHECK(ErrorOf("{\"type\":\"quote\",\"ticker\":\"A\xff\",\"price\":1,\"ts\":\"2026-11-27T14:30:"
                "00Z\"}") == "invalid JSON: not valid UTF-8");
  CHECK(ErrorOf(R"({"type":"quote"} {"type":"quote"})").rfind("invalid JSON", 0) == 0);
  CHECK(ErrorOf(R"({"ticker":"AAPL"})") == "type: missing");
  CHECK(ErrorOf(R"({"type":5})") == "type: not a string");
}

TEST_CASE("RecordParser: unknown types are passed through, not rejected") {
  AnyRecord r;
  CHECK(ParseLine(R"({"type":"heartbeat","n":1})", r) == RecordType::kOther);
  CHECK(r.type_name == "heartbeat");
}

TEST_CASE("RecordParser: parses in place when the caller leaves padding") {
  std::string buf = R"({"type":"quote","ticker":"MSFT","price":420,"ts":"2026-11-27T14:30:00Z"})";
  size_t n = buf.size();
  buf.append(128, 'x');  // readable slack, not part of the line
  RecordParser p;
  AnyRecord r;
  REQUIRE(p.Parse(std::string_view(buf.data(), n), buf.size(), r) == RecordType::kQuote);
  CHECK(r.quote.price == 420);
}

TEST_CASE("Watch: low and/or high, null means absent, band validated") {
  AnyRecord r;
  REQUIRE(
      ParseLine(
          R"({"type":"watch","email":"Alice@Example.COM","ticker":"^gspc","low":150,"high":null,"telegram_id":111})",
          r) == RecordType::kWatch);
  CHECK(r.watch.email == "Alice@example.com");
  CHECK(r.watch.ticker == "^GSPC");
  CHECK(r.watch.low == 150);
  CHECK_FALSE(r.watch.high.has_value());
  CHECK(r.watch.telegram_id == 111);
  CHECK(
      ToJson(r.watch) ==
      R"({"type":"watch","email":"Alice@example.com","ticker":"^GSPC","low":150,"telegram_id":111})");
  CHECK(ErrorOf(R"({"type":"watch","email":"a@b.co","ticker":"X","low":200,"high":150})")
            .rfind("high: must be greater than low", 0) == 0);
  CHECK(ErrorOf(R"({"type":"watch","email":"a@b.co","ticker":"X","low":200,"high":200})")
            .rfind("high: must be greater than low", 0) == 0);
  CHECK(ErrorOf(R"({"type":"watch","email":"not-an-email","ticker":"X"})")
            .rfind("email: not a valid address", 0) == 0);
  CHECK(ErrorOf(R"({"type":"watch","email":"a@b.co","ticker":"X","low":"1"})") ==
        "low: not a number");
  CHECK(ErrorOf(R"({"type":"watch","email":"a@b.co"})") == "ticker: missing");
}

TEST_CASE("User: round trip and validation") {
  AnyRecord r;
  const std::string line =
      R"({"type":"user","email":"bob@example.org","telegram_id":-1001234,"interval":60})";
  REQUIRE(ParseLine(line, r) == RecordType::kUser);
  CHECK(ToJson(r.user) == line);
  CHECK(ErrorOf(R"({"type":"user","email":"bob@example.org","interval":-5})") ==
        "interval: negative");
  CHECK(ErrorOf(R"({"type":"user","email":"bob@example.org","telegram_id":"12"})") ==
        "telegram_id: not a number");
  CHECK(ErrorOf(R"({"type":"user"})") == "email: missing");
}

TEST_CASE("Watch: a percent move, its window and direction; validated") {
  AnyRecord r;
  const std::string line =
      R"({"type":"watch","email":"a@b.co","ticker":"BTC-USD","move":3.5,"within":3600,"direction":"up"})";
  REQUIRE(ParseLine(line, r) == RecordType::kWatch);
  CHECK(r.watch.move == 3.5);
  CHECK(r.watch.within == 3600);
  CHECK(r.watch.direction == MoveDirection::kUp);
  CHECK(ToJson(r.watch) == line);
  const std::string day = R"({"type":"watch","email":"a@b.co","ticker":"AAPL","low":1,"move":5})";
  REQUIRE(ParseLine(day, r) == RecordType::kWatch);
  CHECK(r.watch.within == 0);
  CHECK(r.watch.direction == MoveDirection::kBoth);
  CHECK(ToJson(r.watch) == day);  // within 0 and both directions are left out
  const std::string head = R"({"type":"watch","email":"a@b.co","ticker":"X",)";
  CHECK(ErrorOf(head + R"("move":0})") == "move: must be a percentage above 0, at most 1000");
  CHECK(ErrorOf(head + R"("move":-2})") == "move: must be a percentage above 0, at most 1000");
  CHECK(ErrorOf(head + R"("move":1001})") == "move: must be a percentage above 0, at most 1000");
  CHECK(ErrorOf(head + R"("move":"5%"})") == "move: not a number");
  CHECK(ErrorOf(head + R"("move":100,"direction":"down"})") == "move: a fall is less than 100%");
  CHECK(ErrorOf(head + R"("move":5,"direction":"sideways"})") ==
        R"(direction: must be "up", "down" or "both")");
  CHECK(ErrorOf(head + R"("move":5,"within":604801})") ==
        "within: must be from 1 second to 7 days (0: the day's change)");
  CHECK(ErrorOf(head + R"("move":5,"within":1.5})") == "within: not an integer");
  CHECK(ErrorOf(head + R"("low":1,"within":60})") == "within: only applies to a move");
  CHECK(ErrorOf(head + R"("low":1,"direction":"up"})") == "direction: only applies to a move");
}

TEST_CASE("Alert: a move alert round-trips its reference, change, move and window") {
  const std::string line =
      R"({"type":"alert","id":"0123456789abcdef","email":"a@b.co","ticker":"BTC-USD","condition":"down","price":61000,"threshold":61056.5,"reference":62950,"change":-3.1,"move":3,"within":3600,"ts":"2026-11-27T14:30:00Z"})";
  AnyRecord r;
  REQUIRE(ParseLine(line, r) == RecordType::kAlert);
  CHECK(r.alert.condition == Condition::kDown);
  CHECK(r.alert.reference == 62950);
  CHECK(r.alert.change == -3.1);
  CHECK(r.alert.move == 3);
  CHECK(r.alert.within == 3600);
  CHECK(ToJson(r.alert) == line);
  CHECK(AlertId("a@b.co", "X", Condition::kUp, 1) != AlertId("a@b.co", "X", Condition::kAbove, 1));
}

TEST_CASE("Alert: round trip, deterministic id, condition validated") {
  Alert a;
  a.email = "alice@example.com";
  a.telegram_id = 111111111;
  a.ticker = "AAPL";
  a.condition = Condition::kAbove;
  a.price = 201.5;
  a.threshold = 200;
  a.low = 150;
  a.high = 200;
  a.ts = *ParseRfc3339("2026-11-27T14:30:00Z");
  a.id = AlertId(a.email, a.ticker, a.condition, a.ts);
  std::string line = ToJson(a);
  CHECK(
      line ==
      R"({"type":"alert","id":")" + a.id +
          R"(","email":"alice@example.com","telegram_id":111111111,"ticker":"AAPL","condition":"above","price":201.5,"threshold":200,"low":150,"high":200,"ts":"2026-11-27T14:30:00Z"})");
  AnyRecord r;
  REQUIRE(ParseLine(line, r) == RecordType::kAlert);
  CHECK(ToJson(r.alert) == line);
  CHECK(
      ErrorOf(
          R"({"type":"alert","email":"a@b.co","ticker":"X","condition":"sideways","price":1,"threshold":1,"ts":"2026-11-27T14:30:00Z"})") ==
      R"(condition: must be "above", "below", "up" or "down")");
  CHECK(
      ErrorOf(
          R"({"type":"alert","email":"a@b.co","ticker":"X","condition":"above","price":1,"threshold":1,"ts":"2026-11-27T14:30:00Z"})") ==
      "id: missing");
  CHECK(
      ErrorOf(
          R"({"type":"alert","id":"","email":"a@b.co","ticker":"X","condition":"above","price":1,"threshold":1,"ts":"2026-11-27T14:30:00Z"})") ==
      "id: empty");
}

TEST_CASE("AlertId: same inputs same id, any change a different id") {
  TimeMs t = 1'780'000'000'000;
  std::string id = AlertId("a@b.co", "AAPL", Condition::kAbove, t);
  CHECK(id.size() == 16);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(AlertId("a@b.co", "AAPL", Condition::kAbove, t) == id);
  CHECK(AlertId("a@b.co", "AAPL", Condition::kBelow, t) != id);
  CHECK(AlertId("a@b.co", "AAPL", Condition::kAbove, t + 1000) != id);
  CHECK(AlertId("a@b.com", "AAPL", Condition::kAbove, t) != id);
  CHECK(AlertId("a@b.co", "AAP", Condition::kAbove, t) != id);
  // Field boundaries matter: ("ab","c") and ("a","bc") differ.
  CHECK(AlertId("x@y.zz", "AB", Condition::kAbove, t) !=
        AlertId("x@y.zzA", "B", Condition::kAbove, t));
}

TEST_CASE("Delivery and Rejected: round trip") {
  AnyRecord r;
  const std::string d =
      R"({"type":"delivery","alert_id":"6f1c0e2a9b3d4c11","channel":"telegram","status":"sent","attempts":1,"ts":"2026-11-27T14:30:01Z"})";
  REQUIRE(ParseLine(d, r) == RecordType::kDelivery);
  CHECK(ToJson(r.delivery) == d);
  CHECK(ErrorOf(R"({"type":"delivery","alert_id":"x","channel":"c","status":"lost"})")
            .rfind("status:", 0) == 0);

  Rejected rej;
  rej.program = "stock-alert";
  rej.input = "stdin";
  rej.line = 17;
  rej.error = "price: not a number";
  rej.raw = R"({"price":"x"})";
  const std::string line = ToJson(rej);
  CHECK(
      line ==
      R"({"type":"rejected","program":"stock-alert","input":"stdin","line":17,"error":"price: not a number","raw":"{\"price\":\"x\"}"})");
  REQUIRE(ParseLine(line, r) == RecordType::kRejected);
  CHECK(r.rejected.raw == rej.raw);
}

TEST_CASE("Rejected: invalid UTF-8 raw is kept losslessly as base64") {
  Rejected rej;
  rej.raw = std::string("a\xff\xfe", 3);
  CHECK(ToJson(rej).find(R"("raw_base64":"Yf/+")") != std::string::npos);
}

TEST_CASE("AppendJsonString: escapes and replaces invalid UTF-8") {
  std::string out;
  AppendJsonString(out, std::string("a\"b\\c\n\x01\xc3\xa9\xff", 10));
  CHECK(out == "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xef\xbf\xbd\"");
}

TEST_CASE("NormalizeTicker: the design's examples") {
  CHECK(NormalizeTicker("brk-b") == "BRK-B");
  CHECK(NormalizeTicker("^GSPC") == "^GSPC");
  CHECK(NormalizeTicker("BTC-USD") == "BTC-USD");
  CHECK(NormalizeTicker("eurusd=x") == "EURUSD=X");
  CHECK_THROWS_AS(NormalizeTicker("-AAPL"), DataError);
  CHECK_THROWS_AS(NormalizeTicker("'; DROP TABLE users; --"), DataError);
  CHECK_THROWS_AS(NormalizeTicker(std::string("A\0B", 3)), DataError);
  CHECK_THROWS_AS(NormalizeTicker(""), DataError);
}

TEST_CASE("IsValidEmail: accepts common addresses, rejects junk") {
  CHECK(IsValidEmail("alice@example.com"));
  CHECK(IsValidEmail("a.b+tag@sub.example.co.uk"));
  CHECK_FALSE(IsValidEmail("alice"));
  CHECK_FALSE(IsValidEmail("@example.com"));
  CHECK_FALSE(IsValidEmail("alice@localhost"));
  CHECK_FALSE(IsValidEmail("al ice@example.com"));
  CHECK_FALSE(IsValidEmail("'; DROP TABLE users; --@x.com"));
  CHECK_FALSE(IsValidEmail("a..b@example.com"));
  CHECK_FALSE(IsValidEmail("a@-example.com"));
  CHECK_FALSE(IsValidEmail(std::string(300, 'a') + "@example.com"));
}
