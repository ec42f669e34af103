// The recorded API payloads in tests/data/apis (see its README), for the
// parser tests of the Yahoo, Stooq and Telegram clients.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

inline std::string ApiFixture(const std::string& name) {
  std::string path = std::string(STOCKWATCH_TEST_DATA) + "/apis/" + name;
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "missing fixture " << path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
