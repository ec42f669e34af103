#include "stockwatch/alert/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "stockwatch/core/files.h"
#include "stockwatch/core/signals.h"
#include "stockwatch/stream/stream.h"

namespace stockwatch {
namespace {

constexpr size_t kSlack = 64;  // readable bytes after the data, for in-place parsing

int ErrnoExit(int err) {
  return err == ENOENT ? exitcode::kNoInput : err == EACCES ? exitcode::kNoPerm : exitcode::kIoErr;
}

/// Hands the file to `chunk` in pieces of up to 64 KiB. False when the file
/// is missing and `missing_ok`; throws Error for anything else.
bool ReadChunks(const std::string& path, bool missing_ok,
                const std::function<void(const char*, size_t)>& chunk) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT && missing_ok) return false;
    throw Error(ErrnoExit(err), path + ": " + std::strerror(err));
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      chunk(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      int err = errno;
      close(fd);
      throw Error(exitcode::kIoErr, path + ": " + std::strerror(err));
    }
  }
  close(fd);
  return true;
}

/// The whole file, followed by kSlack zero bytes (not part of the size).
/// nullopt when the file is missing and `missing_ok`.
std::optional<std::string> Slurp(const std::string& path, bool missing_ok) {
  std::string data;
  if (!ReadChunks(path, missing_ok, [&](const char* p, size_t n) { data.append(p, n); })) {
    return std::nullopt;
  }
  return data;
}

/// Calls fn(line, readable, line_number) for every line of `data`.
template <typename Fn>
void ForEachLine(std::string& data, Fn&& fn) {
  const size_t size = data.size();
  data.append(kSlack, '\0');
  size_t pos = 0;
  uint64_t line_no = 0;
  while (pos < size) {
    const char* start = data.data() + pos;
    const void* nl = std::memchr(start, '\n', size - pos);
    size_t len = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) : size - pos;
    ++line_no;
    std::string_view line(start, len);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line, data.size() - pos, line_no);
    pos += len + 1;
  }
}

bool IsBlank(std::string_view s) { return s.find_first_not_of(" \t\r") == std::string_view::npos; }

std::string_view StateName(BandState s) {
  switch (s) {
    case BandState::kAbove:
      return "above";
    case BandState::kBelow:
      return "below";
    case BandState::kInside:
      break;
  }
  return "inside";
}

}  // namespace

std::vector<Watch> ReadWatchesFile(const std::string& path) {
  // Streamed, not slurped: a million watches is ~100 MB of text. A first
  // pass counts the lines so the vector is allocated once.
  size_t lines = 0;
  ReadChunks(path, false, [&](const char* p, size_t n) {
    lines += static_cast<size_t>(std::count(p, p + n, '\n'));
  });
  std::vector<Watch> watches;
  watches.reserve(lines + 1);
  std::unordered_map<std::string, int64_t> telegram_of_user;
  StreamOptions opts;
  opts.program = "stock-alert";
  std::unique_ptr<Source> in = OpenSource(opts, path);
  RecordParser parser;
  AnyRecord any;
  InRecord rec;
  while (in->Next(rec)) {
    if (IsBlank(rec.value)) continue;
    try {
      switch (parser.Parse(rec.value, rec.readable, any)) {
        case RecordType::kWatch:
          watches.push_back(any.watch);
          break;
        case RecordType::kUser:
          if (any.user.telegram_id) telegram_of_user[any.user.email] = *any.user.telegram_id;
          break;
        default:
          break;  // other records (a concatenated export, say) do not concern us
      }
    } catch (const DataError& e) {
      throw DataError(path + ":" + std::to_string(rec.line) + ": " + e.what());
    }
  }
  // Part of the watches is no set of watches: a stop while reading ends the
  // program (or a reload keeps the set it has) without using them.
  if (StopRequested())
    throw Error(StoppedExitCode(), path + ": " + StoppedBy() + " while reading it: no watch used");
  if (!telegram_of_user.empty()) {
    for (Watch& w : watches) {
      if (w.telegram_id) continue;
      auto it = telegram_of_user.find(w.email);
      if (it != telegram_of_user.end()) w.telegram_id = it->second;
    }
  }
  return watches;
}

void AppendStateJson(std::string& out, const SavedState& s) {
  out.append(R"({"type":"watch_state","email":)");
  AppendJsonString(out, s.state.email);
  out.append(R"(,"ticker":)");
  AppendJsonString(out, s.state.ticker);
  out.append(R"(,"state":")");
  out.append(StateName(s.state.state));
  out.append(R"(","ts":")");
  AppendRfc3339(out, s.state.ts);
  out.push_back('"');
  if (s.low) {
    out.append(R"(,"low":)");
    AppendJsonNumber(out, *s.low);
  }
  if (s.high) {
    out.append(R"(,"high":)");
    AppendJsonNumber(out, *s.high);
  }
  if (s.move) {
    out.append(R"(,"move":)");
    AppendJsonNumber(out, *s.move);
    if (s.within != 0) out.append(R"(,"within":)").append(std::to_string(s.within));
    if (s.direction != MoveDirection::kBoth) {
      out.append(R"(,"direction":")").append(ToString(s.direction)).push_back('"');
    }
  }
  if (s.state.move != 0) {
    const uint8_t both = kMoveUpFired | kMoveDownFired;
    out.append(R"(,"moved":")");
    out.append(s.state.move == both ? "both" : s.state.move == kMoveUpFired ? "up" : "down");
    out.push_back('"');
    if (s.state.move_ref != 0) {
      out.append(R"(,"move_ref":)");
      AppendJsonNumber(out, s.state.move_ref);
    }
  }
  out.push_back('}');
}

void AppendWindowJson(std::string& out, const TickerWindow& w) {
  out.append(R"({"type":"move_window","ticker":)");
  AppendJsonString(out, w.ticker);
  out.append(R"(,"points":[)");
  for (size_t k = 0; k < w.points.size(); ++k) {
    if (k > 0) out.push_back(',');
    out.push_back('[');
    out.append(std::to_string(w.points[k].ts));
    out.push_back(',');
    AppendJsonNumber(out, w.points[k].price);
    out.push_back(']');
  }
  out.append("]}");
}

namespace {

TickerWindow ParseWindowJson(const nlohmann::json& j) {
  TickerWindow w;
  auto t = j.find("ticker");
  if (t == j.end() || !t->is_string()) throw DataError("ticker: missing");
  w.ticker = NormalizeTicker(t->get<std::string>());
  auto p = j.find("points");
  if (p == j.end() || !p->is_array()) throw DataError("points: not an array");
  for (const auto& pt : *p) {
    if (!pt.is_array() || pt.size() != 2 || !pt[0].is_number_integer() || !pt[1].is_number())
      throw DataError("points: each must be [ts_ms, price]");
    double price = pt[1].get<double>();
    if (!std::isfinite(price) || price < 0) throw DataError("points: a price is not valid");
    w.points.push_back({pt[0].get<int64_t>(), price});
  }
  return w;
}

}  // namespace

namespace {

template <typename Num>
void ParseStateMove(const nlohmann::json& j, SavedState& s, Num& num) {
  s.move = num("move");
  s.within = static_cast<int64_t>(num("within").value_or(0));
  if (auto it = j.find("direction"); it != j.end() && it->is_string()) {
    auto d = ParseMoveDirection(it->get<std::string>());
    if (!d) throw DataError("direction: must be up, down or both");
    s.direction = *d;
  }
  if (auto it = j.find("moved"); it != j.end() && !it->is_null()) {
    const std::string m = it->is_string() ? it->get<std::string>() : "";
    if (m == "up")
      s.state.move = kMoveUpFired;
    else if (m == "down")
      s.state.move = kMoveDownFired;
    else if (m == "both")
      s.state.move = kMoveUpFired | kMoveDownFired;
    else
      throw DataError("moved: must be up, down or both");
  }
  s.state.move_ref = num("move_ref").value_or(0);
}

}  // namespace

SavedState ParseStateJson(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw DataError("invalid JSON");
  if (!j.is_object()) throw DataError("invalid record: not a JSON object");
  auto str = [&](const char* key) -> std::string {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) throw DataError(std::string(key) + ": missing");
    if (!it->is_string()) throw DataError(std::string(key) + ": not a string");
    return it->get<std::string>();
  };
  auto num = [&](const char* key) -> std::optional<double> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number()) throw DataError(std::string(key) + ": not a number");
    double v = it->get<double>();
    if (!std::isfinite(v)) throw DataError(std::string(key) + ": not a finite number");
    return v;
  };
  if (str("type") != "watch_state") throw DataError("type: not a watch_state record");
  SavedState s;
  s.state.email = NormalizeEmail(str("email"));
  s.state.ticker = NormalizeTicker(str("ticker"));
  std::string st = str("state");
  if (st == "above")
    s.state.state = BandState::kAbove;
  else if (st == "below")
    s.state.state = BandState::kBelow;
  else if (st == "inside")
    s.state.state = BandState::kInside;
  else
    throw DataError("state: must be above, below or inside");
  auto ts = ParseRfc3339(str("ts"));
  if (!ts) throw DataError("ts: not an RFC 3339 timestamp");
  s.state.ts = *ts;
  s.low = num("low");
  s.high = num("high");
  ParseStateMove(j, s, num);
  return s;
}

std::vector<SavedState> ReadStateFile(const std::string& path, size_t* bytes, bool* torn,
                                      std::vector<TickerWindow>* windows) {
  // The file is replaced by rename when saved: refuse a link now, before any
  // work, rather than at the first save.
  RefuseSymlink(path);
  std::optional<std::string> data = Slurp(path, true);
  std::vector<SavedState> out;
  if (bytes != nullptr) *bytes = data ? data->size() : 0;
  if (torn != nullptr) *torn = false;
  if (!data) return out;
  const bool unterminated = !data->empty() && data->back() != '\n';
  const uint64_t last = static_cast<uint64_t>(std::count(data->begin(), data->end(), '\n')) + 1;
  std::unordered_map<std::string, size_t> window_of;  // ticker -> index in *windows
  ForEachLine(*data, [&](std::string_view line, size_t, uint64_t n) {
    if (IsBlank(line)) return;
    try {
      if (line.find(R"("type":"move_window")") == std::string_view::npos) {
        out.push_back(ParseStateJson(line));
        return;
      }
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) throw DataError("invalid JSON");
      TickerWindow w = ParseWindowJson(j);
      if (windows == nullptr) return;
      auto [it, added] = window_of.try_emplace(w.ticker, windows->size());
      if (added) {
        windows->push_back(std::move(w));
      } else {
        (*windows)[it->second] = std::move(w);  // a later line wins
      }
    } catch (const DataError& e) {
      if (unterminated && n == last) {
        if (torn != nullptr) *torn = true;
        return;
      }
      throw DataError(path + ":" + std::to_string(n) + ": " + e.what());
    }
  });
  return out;
}

namespace {

void AppendStateLines(std::string& text, const std::vector<WatchState>& states,
                      const AlertEngine& engine) {
  SavedState s;
  for (const WatchState& st : states) {
    std::optional<uint32_t> i = engine.Find(st.email, st.ticker);
    s.state = st;
    const Watch* w = i ? &engine.watches()[*i] : nullptr;
    s.low = w ? w->low : std::nullopt;
    s.high = w ? w->high : std::nullopt;
    s.move = w ? w->move : std::nullopt;
    s.within = w ? w->within : 0;
    s.direction = w ? w->direction : MoveDirection::kBoth;
    AppendStateJson(text, s);
    text.push_back('\n');
  }
}

void AppendWindowLines(std::string& text, const std::vector<TickerWindow>& windows) {
  for (const TickerWindow& w : windows) {
    AppendWindowJson(text, w);
    text.push_back('\n');
  }
}

[[noreturn]] void ThrowIo(const std::string& path, int err) {
  throw Error(err == EACCES || err == EPERM ? exitcode::kNoPerm : exitcode::kIoErr,
              path + ": " + std::strerror(err));
}

/// Cuts a torn last line (no newline) off the file open for writing as `fd`.
void CutTornEnd(int fd, const std::string& path) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size == 0) return;
  int rd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (rd < 0) ThrowIo(path, errno);
  char last = '\n';
  std::string data;
  ssize_t got = pread(rd, &last, 1, st.st_size - 1);
  if (got == 1 && last != '\n') {  // torn: find the last whole line
    data.resize(static_cast<size_t>(st.st_size));
    got = pread(rd, data.data(), data.size(), 0);
  }
  int err = errno;
  close(rd);
  if (got < 0) ThrowIo(path, err);
  if (last == '\n') return;
  data.resize(static_cast<size_t>(got));
  size_t nl = data.rfind('\n');
  off_t keep = nl == std::string::npos ? 0 : static_cast<off_t>(nl + 1);
  if (ftruncate(fd, keep) != 0) ThrowIo(path, errno);
}

}  // namespace

size_t WriteStateFile(const std::string& path, const AlertEngine& engine) {
  std::vector<WatchState> states;
  engine.SnapshotStates(states);
  std::vector<TickerWindow> windows;
  engine.SnapshotWindows(windows);
  std::string text;
  text.reserve(states.size() * 120);
  AppendStateLines(text, states, engine);
  AppendWindowLines(text, windows);
  WriteFileAtomically(path, text, kPrivateFileMode);
  return text.size();
}

size_t AppendStateFile(const std::string& path, const std::vector<WatchState>& changed,
                       const std::vector<TickerWindow>& windows, const AlertEngine& engine,
                       bool sync) {
  std::string text;
  text.reserve(changed.size() * 120);
  AppendStateLines(text, changed, engine);
  AppendWindowLines(text, windows);
  RefuseSymlink(path);
  int fd = OpenOutputFile(path, /*append=*/true, kPrivateFileMode);
  try {
    CutTornEnd(fd, path);
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = write(fd, text.data() + off, text.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        ThrowIo(path, errno);
      }
      off += static_cast<size_t>(n);
    }
    if (sync && fdatasync(fd) != 0) ThrowIo(path, errno);
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
  return text.size();
}

std::vector<WatchState> ApplicableStates(const std::vector<SavedState>& saved,
                                         const AlertEngine& engine) {
  std::vector<WatchState> out;
  out.reserve(saved.size());
  for (const SavedState& s : saved) {
    std::optional<uint32_t> i = engine.Find(s.state.email, s.state.ticker);
    if (!i) continue;
    const Watch& w = engine.watches()[*i];
    WatchState st = s.state;
    if ((st.state == BandState::kAbove && w.high != s.high) ||
        (st.state == BandState::kBelow && w.low != s.low)) {
      st.state = BandState::kInside;
    }
    if (w.move != s.move || w.within != s.within || w.direction != s.direction) {
      st.move = 0;
      st.move_ref = 0;
    }
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace stockwatch
