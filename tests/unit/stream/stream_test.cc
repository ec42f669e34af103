#include "stockwatch/stream/stream.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "stockwatch/core/records.h"

using namespace stockwatch;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sw-stream-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name, std::ios::binary) << content;
    return (path / name).string();
  }
};

std::string Slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> ReadAll(Source& s, std::vector<uint64_t>* lines = nullptr) {
  std::vector<std::string> out;
  InRecord r;
  while (s.Next(r)) {
    out.emplace_back(r.value);
    if (lines) lines->push_back(r.line);
    CHECK(r.readable >= r.value.size());
  }
  return out;
}

}  // namespace

TEST_CASE("FdSource: lines with numbers, blank lines skipped, last line without newline") {
  TempDir d;
  StreamOptions o;
  auto src = OpenSource(o, d.Write("in.jsonl", "a\n\nccc\n \t\r\n\r\nlast"));
  std::vector<uint64_t> lines;
  auto got = ReadAll(*src, &lines);
  CHECK(got == std::vector<std::string>{"a", "ccc", "last"});
  CHECK(lines == std::vector<uint64_t>{1, 3, 6});
  CHECK(src->name() == (d.path / "in.jsonl").string());
}

TEST_CASE("FdSource: a 10 MB line arrives whole between its neighbours") {
  TempDir d;
  std::string big(10u << 20, 'x');
  auto src = OpenSource(StreamOptions{}, d.Write("in", "first\n" + big + "\nlast\n"));
  auto got = ReadAll(*src);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == "first");
  CHECK(got[1].size() == big.size());
  CHECK(got[2] == "last");
}

TEST_CASE("OpenSource: a missing file is exit 66 naming the file") {
  try {
    OpenSource(StreamOptions{}, "/nonexistent/quotes.jsonl");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.exit_code() == exitcode::kNoInput);
    CHECK(std::string(e.what()).find("/nonexistent/quotes.jsonl") != std::string::npos);
  }
}

TEST_CASE("OpenSink: kafka: without a topic is a usage error") {
  CHECK_THROWS_AS(OpenSink(StreamOptions{}, "kafka:"), Error);
}

TEST_CASE("FdSink: truncates by default, appends for dead letters") {
  TempDir d;
  std::string p = d.Write("out", "old\n");
  { OpenSink(StreamOptions{}, p)->Write("", "new"); }
  CHECK(Slurp(p) == "new\n");
  { OpenSink(StreamOptions{}, p, true)->Write("", "more"); }
  CHECK(Slurp(p) == "new\nmore\n");
}

TEST_CASE("Rejecter: diagnostic, dead-letter record, count, exit code") {
  TempDir d;
  std::string dl = (d.path / "dead.jsonl").string();
  std::vector<std::string> diags;
  {
    auto sink = OpenSink(StreamOptions{}, dl, true);
    Rejecter rej("stock-alert", sink.get(), false,
                 [&](std::string_view m) { diags.emplace_back(m); });
    rej.Reject("stdin", 17, "price: not a number", R"({"price":"x"})");
    CHECK(rej.count() == 1);
    CHECK(rej.ExitCode() == 0);  // a dead letter holds it: nothing lost
  }
  REQUIRE(diags.size() == 1);
  CHECK(diags[0] == "stdin:17: price: not a number");
  RecordParser p;
  AnyRecord r;
  std::string line = Slurp(dl);
  REQUIRE(!line.empty());
  line.pop_back();
  REQUIRE(p.Parse(line, r) == RecordType::kRejected);
  CHECK(r.rejected.program == "stock-alert");
  CHECK(r.rejected.line == 17);
  CHECK(r.rejected.raw == R"({"price":"x"})");

  Rejecter no_dl("x", nullptr, false, nullptr);
  no_dl.Reject("f", 1, "e", "r");
  CHECK(no_dl.ExitCode() == exitcode::kDataErr);

  Rejecter strict("x", nullptr, true, nullptr);
  CHECK_THROWS_WITH_AS(strict.Reject("f", 3, "bad", "r"), "f:3: bad", DataError);
}

TEST_CASE("RunLoop: bad records rejected in place, good ones in order, checkpoints flush") {
  TempDir d;
  std::string in = d.Write(
      "in",
      "{\"type\":\"quote\",\"ticker\":\"A\",\"price\":1,\"ts\":\"2026-11-27T14:30:00Z\"}\n"
      "not json\n"
      "{\"type\":\"other\"}\n"
      "{\"type\":\"quote\",\"ticker\":\"B\",\"price\":2,\"ts\":\"2026-11-27T14:30:00Z\"}\n");
  std::string out = (d.path / "out").string(), dead = (d.path / "dead").string();
  StreamOptions o;
  auto src = OpenSource(o, in);
  auto sink = OpenSink(o, out);
  auto dl = OpenSink(o, dead, true);
  std::vector<std::string> diags;
  Rejecter rej("t", dl.get(), false, [&](std::string_view m) { diags.emplace_back(m); });
  RecordParser parser;
  AnyRecord rec;
  std::string buf;
  int commits = 0;
  LoopOptions lo;
  lo.checkpoint_records = 1;
  lo.pre_commit = [&] { ++commits; };
  RunLoop(
      *src, {sink.get(), dl.get()}, rej,
      [&](const InRecord& r) {
        if (parser.Parse(r.value, r.readable, rec) == RecordType::kQuote) {
          buf.clear();
          AppendJson(buf, rec.quote);
          sink->Write(rec.quote.ticker, buf);
        } else {
          sink->Write("", r.value);
        }
      },
      lo);
  CHECK(commits >= 4);
  CHECK(Slurp(out) ==
        "{\"type\":\"quote\",\"ticker\":\"A\",\"price\":1,\"ts\":\"2026-11-27T14:30:00Z\"}\n"
        "{\"type\":\"other\"}\n"
        "{\"type\":\"quote\",\"ticker\":\"B\",\"price\":2,\"ts\":\"2026-11-27T14:30:00Z\"}\n");
  REQUIRE(diags.size() == 1);
  CHECK(diags[0].rfind(in + ":2: invalid JSON", 0) == 0);
  CHECK(Slurp(dead).find("\"raw\":\"not json\"") != std::string::npos);
}
