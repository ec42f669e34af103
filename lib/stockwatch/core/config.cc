#include "stockwatch/core/config.h"

#include "stockwatch/core/error.h"
#include "stockwatch/core/strings.h"

namespace stockwatch {
namespace {

[[noreturn]] void Fail(const std::string& where, const std::string& what) {
  throw Error(exitcode::kConfig, where + ": " + what);
}

std::string Scalar(std::string_view raw, const std::string& where) {
  std::string_view t = Trim(raw);
  if (t.empty()) Fail(where, "missing value");
  char q = t.front();
  if (q == '\'' || q == '"') {
    if (t.size() < 2 || t.back() != q) Fail(where, "unterminated string");
    std::string out;
    for (size_t i = 1; i + 1 < t.size(); ++i) {
      if (q == '"' && t[i] == '\\') {
        if (i + 2 >= t.size()) Fail(where, "dangling backslash");
        char c = t[++i];
        switch (c) {
          case 'n':
            out.push_back('\n');
            break;
          case 't':
            out.push_back('\t');
            break;
          case '"':
          case '\\':
            out.push_back(c);
            break;
          default:
            Fail(where, std::string("unknown escape \\") + c);
        }
      } else if (t[i] == q) {
        Fail(where, "stray quote inside a string");
      } else {
        out.push_back(t[i]);
      }
    }
    return out;
  }
  return std::string(t);
}

// Index of the first '#' outside quotes, or npos.
size_t CommentStart(std::string_view s) {
  char q = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (q) {
      if (c == '\\' && q == '"')
        ++i;
      else if (c == q)
        q = 0;
    } else if (c == '"' || c == '\'') {
      q = c;
    } else if (c == '#') {
      return i;
    }
  }
  return std::string_view::npos;
}

std::vector<std::string> Values(std::string_view v, const std::string& where) {
  if (v.empty() || v.front() != '[') return {Scalar(v, where)};
  if (v.back() != ']') Fail(where, "unterminated array");
  std::string_view inner = v.substr(1, v.size() - 2);
  std::vector<std::string> out;
  char q = 0;
  size_t start = 0;
  for (size_t i = 0; i <= inner.size(); ++i) {
    if (i < inner.size()) {
      char c = inner[i];
      if (q) {
        if (c == '\\' && q == '"')
          ++i;
        else if (c == q)
          q = 0;
        continue;
      }
      if (c == '"' || c == '\'') {
        q = c;
        continue;
      }
      if (c != ',') continue;
    }
    std::string_view item = Trim(inner.substr(start, std::min(i, inner.size()) - start));
    if (!item.empty()) out.push_back(Scalar(item, where));
    start = i + 1;
  }
  if (q) Fail(where, "unterminated string");
  return out;
}

}  // namespace

std::vector<ConfigEntry> ParseConfig(std::string_view text, const std::string& path) {
  std::vector<ConfigEntry> out;
  std::string section;
  int lineno = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++lineno;
    std::string where = path + ":" + std::to_string(lineno);
    std::string_view line = Trim(raw.substr(0, CommentStart(raw)));
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) Fail(where, "malformed section header");
      section = std::string(Trim(line.substr(1, line.size() - 2)));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) Fail(where, "expected key = value");
    ConfigEntry e;
    e.section = section;
    e.key = std::string(Trim(line.substr(0, eq)));
    if (e.key.empty()) Fail(where, "missing key");
    for (char& c : e.key) {
      if (c == '_') c = '-';
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) Fail(where, "malformed key \"" + std::string(Trim(line.substr(0, eq))) + "\"");
    }
    e.values = Values(Trim(line.substr(eq + 1)), where);
    e.line = lineno;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace stockwatch
