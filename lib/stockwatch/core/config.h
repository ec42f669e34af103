#pragma once
/// The config file: a TOML subset (`key = value` lines, `[section]` headers,
/// `#` comments; values are "strings", 'literals', numbers, booleans or
/// [arrays] of those). Pure parsing: applying it to options is the CLI's job.
#include <string>
#include <string_view>
#include <vector>

namespace stockwatch {

struct ConfigEntry {
  std::string section;              // "" for top-level keys
  std::string key;                  // '_' normalised to '-'
  std::vector<std::string> values;  // one, or an array's elements
  int line = 0;
};

/// Parses config text; `path` names it in errors. Throws Error(78,
/// "PATH:LINE: what is wrong").
std::vector<ConfigEntry> ParseConfig(std::string_view text, const std::string& path);

}  // namespace stockwatch
