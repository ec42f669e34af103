#include "stockwatch/core/config.h"

#include <doctest/doctest.h>

#include "stockwatch/core/error.h"

using namespace stockwatch;

TEST_CASE("ParseConfig: sections, comments, strings, arrays, numbers") {
  auto e = ParseConfig(
      "# top\n"
      "db = \"sqlite:/tmp/x.db\"  # trailing\n"
      "brokers = 'k1:9092,k2:9092'\n"
      "\n"
      "[stock-alert]\n"
      "hysteresis = 0.5\n"
      "dead_letter = \"a#b\"\n"
      "X = [\"linger.ms=5\", 'acks=all']\n",
      "cfg");
  REQUIRE(e.size() == 5);
  CHECK(e[0].section == "");
  CHECK(e[0].key == "db");
  CHECK(e[0].values == std::vector<std::string>{"sqlite:/tmp/x.db"});
  CHECK(e[0].line == 2);
  CHECK(e[1].values[0] == "k1:9092,k2:9092");
  CHECK(e[2].section == "stock-alert");
  CHECK(e[2].values[0] == "0.5");
  CHECK(e[3].key == "dead-letter");  // '_' and '-' are the same
  CHECK(e[3].values[0] == "a#b");    // '#' inside quotes is not a comment
  CHECK(e[4].values == std::vector<std::string>{"linger.ms=5", "acks=all"});
}

TEST_CASE("ParseConfig: errors name file and line, exit 78") {
  auto err = [](const char* text) -> std::string {
    try {
      ParseConfig(text, "c.toml");
    } catch (const Error& e) {
      CHECK(e.exit_code() == exitcode::kConfig);
      return e.what();
    }
    return "";
  };
  CHECK(err("a = 1\nnovalue\n") == "c.toml:2: expected key = value");
  CHECK(err("a = \"open\n") == "c.toml:1: unterminated string");
  CHECK(err("[x\n") == "c.toml:1: malformed section header");
  CHECK(err("a = [1, 2\n") == "c.toml:1: unterminated array");
  CHECK(err("a =\n") == "c.toml:1: missing value");
  CHECK(err("a b = 1\n") == "c.toml:1: malformed key \"a b\"");
  CHECK(err("a = \"\\q\"\n") == "c.toml:1: unknown escape \\q");
}
