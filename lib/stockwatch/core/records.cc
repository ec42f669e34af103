#include "stockwatch/core/records.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

namespace stockwatch {

std::string_view ToString(Condition c) {
  switch (c) {
    case Condition::kAbove:
      return "above";
    case Condition::kBelow:
      return "below";
    case Condition::kUp:
      return "up";
    case Condition::kDown:
      return "down";
  }
  return "above";
}

std::string_view ToString(MoveDirection d) {
  switch (d) {
    case MoveDirection::kUp:
      return "up";
    case MoveDirection::kDown:
      return "down";
    case MoveDirection::kBoth:
      break;
  }
  return "both";
}

std::optional<MoveDirection> ParseMoveDirection(std::string_view s) {
  if (s == "both") return MoveDirection::kBoth;
  if (s == "up") return MoveDirection::kUp;
  if (s == "down") return MoveDirection::kDown;
  return std::nullopt;
}

std::string_view ToString(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kSent:
      return "sent";
    case DeliveryStatus::kDuplicate:
      return "duplicate";
    case DeliveryStatus::kBatched:
      return "batched";
    case DeliveryStatus::kFailed:
      return "failed";
  }
  return "failed";
}

// ---------------------------------------------------------------- validation

std::string NormalizeTicker(std::string_view t) {
  if (t.empty()) throw DataError("ticker: empty");
  if (t.size() > 16) throw DataError("ticker: longer than 16 characters");
  std::string out(t);
  for (size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '^' ||
              (i > 0 && (c == '.' || c == '=' || c == '-'));
    if (!ok) {
      throw DataError(
          "ticker: must match [A-Z0-9^][A-Z0-9.=^-]{0,15} (like AAPL, BRK-B, ^GSPC, BTC-USD)");
    }
  }
  return out;
}

bool IsValidEmail(std::string_view e) {
  if (e.empty() || e.size() > 254) return false;
  auto at = e.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || at + 1 >= e.size()) return false;
  std::string_view local = e.substr(0, at), domain = e.substr(at + 1);
  for (char c : local) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || std::strchr("\"(),:;<>@[\\]", c) != nullptr) return false;
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return false;
  if (domain.find('.') == std::string_view::npos) return false;
  size_t label = 0;
  for (size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      if (label == 0 || label > 63 || domain[i - 1] == '-' || domain[i - label] == '-')
        return false;
      label = 0;
      continue;
    }
    char c = domain[i];
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
    ++label;
  }
  return true;
}

std::string NormalizeEmail(std::string_view e) {
  if (e.empty()) throw DataError("email: empty");
  if (!IsValidEmail(e)) throw DataError("email: not a valid address (like alice@example.com)");
  std::string out(e);
  for (size_t i = out.rfind('@') + 1; i < out.size(); ++i)
    if (out[i] >= 'A' && out[i] <= 'Z') out[i] = static_cast<char>(out[i] - 'A' + 'a');
  return out;
}

void ValidateBand(const std::optional<double>& low, const std::optional<double>& high,
                  std::string_view changed) {
  if (low && !std::isfinite(*low)) throw DataError("low: not a finite number");
  if (high && !std::isfinite(*high)) throw DataError("high: not a finite number");
  if (low && high && !(*low < *high)) {
    std::string h, l;
    AppendJsonNumber(h, *high);
    AppendJsonNumber(l, *low);
    if (changed == "low") throw DataError("low: must be less than high (" + l + " >= " + h + ")");
    throw DataError("high: must be greater than low (" + h + " <= " + l + ")");
  }
}

void Validate(Quote& q) {
  q.ticker = NormalizeTicker(q.ticker);
  if (!std::isfinite(q.price)) throw DataError("price: not a finite number");
  if (q.price < 0) throw DataError("price: negative");
  if (q.prev_close && !std::isfinite(*q.prev_close))
    throw DataError("prev_close: not a finite number");
  if (q.volume && *q.volume < 0) throw DataError("volume: negative");
}

void ValidateMove(const std::optional<double>& move, int64_t within, MoveDirection direction) {
  if (!move) {
    if (within != 0) throw DataError("within: only applies to a move");
    if (direction != MoveDirection::kBoth) throw DataError("direction: only applies to a move");
    return;
  }
  if (!std::isfinite(*move)) throw DataError("move: not a finite number");
  if (!(*move > 0) || *move > 1000)
    throw DataError("move: must be a percentage above 0, at most 1000");
  if (direction == MoveDirection::kDown && *move >= 100)
    throw DataError("move: a fall is less than 100%");
  if (within < 0 || within > kMaxMoveWithin)
    throw DataError("within: must be from 1 second to 7 days (0: the day's change)");
}

void Validate(Watch& w) {
  w.email = NormalizeEmail(w.email);
  w.ticker = NormalizeTicker(w.ticker);
  ValidateBand(w.low, w.high);
  ValidateMove(w.move, w.within, w.direction);
}

void Validate(User& u) {
  u.email = NormalizeEmail(u.email);
  if (u.interval < 0) throw DataError("interval: negative");
}

// ---------------------------------------------------------------- alert id

void AppendAlertId(std::string& out, std::string_view email, std::string_view ticker, Condition c,
                   TimeMs ts) {
  // FNV-1a over the fields (separated by a byte that cannot occur in them),
  // then a splitmix64 finaliser for a well-mixed 64-bit value.
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](std::string_view s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 1099511628211ULL;
    }
    h ^= 0x1f;
    h *= 1099511628211ULL;
  };
  mix(email);
  mix(ticker);
  mix(ToString(c));
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, ts);
  mix(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  static constexpr char kHex[] = "0123456789abcdef";
  char id[16];
  for (int i = 15; i >= 0; --i) {
    id[i] = kHex[h & 0xf];
    h >>= 4;
  }
  out.append(id, sizeof id);
}

std::string AlertId(std::string_view email, std::string_view ticker, Condition c, TimeMs ts) {
  std::string id;
  AppendAlertId(id, email, ticker, c, ts);
  return id;
}

// ---------------------------------------------------------------- writing

namespace {

// Length of the valid UTF-8 sequence at s[i], 0 if invalid.
size_t Utf8SeqLen(std::string_view s, size_t i) {
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((b0 & 0xe0) == 0xc0)
    n = 2, cp = b0 & 0x1f;
  else if ((b0 & 0xf0) == 0xe0)
    n = 3, cp = b0 & 0x0f;
  else if ((b0 & 0xf8) == 0xf0)
    n = 4, cp = b0 & 0x07;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

void AppendBase64(std::string& out, std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
}

// Appends `"key":` (keys are plain ASCII literals).
inline void Key(std::string& out, std::string_view key) {
  out.push_back(',');
  out.push_back('"');
  out.append(key);
  out.append("\":", 2);
}

inline void KeyString(std::string& out, std::string_view key, std::string_view v) {
  Key(out, key);
  AppendJsonString(out, v);
}

inline void KeyNumber(std::string& out, std::string_view key, double v) {
  Key(out, key);
  AppendJsonNumber(out, v);
}

inline void KeyInt(std::string& out, std::string_view key, int64_t v) {
  Key(out, key);
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void KeyTime(std::string& out, std::string_view key, TimeMs t) {
  Key(out, key);
  out.push_back('"');
  AppendRfc3339(out, t);
  out.push_back('"');
}

inline void KeyOptNumber(std::string& out, std::string_view key, const std::optional<double>& v) {
  if (v) KeyNumber(out, key, *v);
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SeqLen(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t n = Utf8SeqLen(s, i);
      if (n != 0) {
        i += n;
        continue;
      }
      out.append(s.data() + run, i - run);
      out.append("\xEF\xBF\xBD");  // U+FFFD
      run = ++i;
      continue;
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out.append(esc, 6);
      }
    }
    run = ++i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void AppendJsonNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out.append("null");
    return;
  }
  if (v == 0) v = 0;  // -0 would read back as the integer 0: one spelling only
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendJson(std::string& out, const Quote& q) {
  out.append(R"({"type":"quote")");
  KeyString(out, "ticker", q.ticker);
  KeyNumber(out, "price", q.price);
  if (!q.currency.empty()) KeyString(out, "currency", q.currency);
  KeyTime(out, "ts", q.ts);
  if (!q.source.empty()) KeyString(out, "source", q.source);
  KeyOptNumber(out, "prev_close", q.prev_close);
  if (q.volume) KeyInt(out, "volume", *q.volume);
  out.push_back('}');
}

void AppendJson(std::string& out, const Watch& w) {
  out.append(R"({"type":"watch")");
  KeyString(out, "email", w.email);
  KeyString(out, "ticker", w.ticker);
  KeyOptNumber(out, "low", w.low);
  KeyOptNumber(out, "high", w.high);
  if (w.telegram_id) KeyInt(out, "telegram_id", *w.telegram_id);
  KeyOptNumber(out, "move", w.move);
  if (w.within != 0) KeyInt(out, "within", w.within);
  if (w.direction != MoveDirection::kBoth) KeyString(out, "direction", ToString(w.direction));
  out.push_back('}');
}

void AppendJson(std::string& out, const User& u) {
  out.append(R"({"type":"user")");
  KeyString(out, "email", u.email);
  if (u.telegram_id) KeyInt(out, "telegram_id", *u.telegram_id);
  KeyInt(out, "interval", u.interval);
  out.push_back('}');
}

void AppendJson(std::string& out, const Alert& a) {
  out.append(R"({"type":"alert")");
  KeyString(out, "id", a.id);
  KeyString(out, "email", a.email);
  if (a.telegram_id) KeyInt(out, "telegram_id", *a.telegram_id);
  KeyString(out, "ticker", a.ticker);
  KeyString(out, "condition", ToString(a.condition));
  KeyNumber(out, "price", a.price);
  KeyNumber(out, "threshold", a.threshold);
  KeyOptNumber(out, "low", a.low);
  KeyOptNumber(out, "high", a.high);
  KeyOptNumber(out, "reference", a.reference);
  KeyOptNumber(out, "change", a.change);
  KeyOptNumber(out, "move", a.move);
  if (a.within != 0) KeyInt(out, "within", a.within);
  KeyTime(out, "ts", a.ts);
  out.push_back('}');
}

void AppendJson(std::string& out, const Delivery& d) {
  out.append(R"({"type":"delivery")");
  KeyString(out, "alert_id", d.alert_id);
  KeyString(out, "channel", d.channel);
  if (!d.target.empty()) KeyString(out, "target", d.target);
  KeyString(out, "status", ToString(d.status));
  KeyInt(out, "attempts", d.attempts);
  KeyTime(out, "ts", d.ts);
  if (!d.error.empty()) KeyString(out, "error", d.error);
  out.push_back('}');
}

void AppendJson(std::string& out, const Rejected& r) {
  out.append(R"({"type":"rejected")");
  KeyString(out, "program", r.program);
  KeyString(out, "input", r.input);
  KeyInt(out, "line", static_cast<int64_t>(r.line));
  KeyString(out, "error", r.error);
  if (IsValidUtf8(r.raw)) {
    KeyString(out, "raw", r.raw);
  } else {
    Key(out, "raw_base64");
    out.push_back('"');
    AppendBase64(out, r.raw);
    out.push_back('"');
  }
  if (r.ts != 0) KeyTime(out, "ts", r.ts);
  out.push_back('}');
}

// ---------------------------------------------------------------- parsing

namespace {

constexpr size_t kMaxLine = 64u << 20;  // longest line parsed

// Every field any record has; which ones a record needs depends on its type.
enum Field : int {
  kType,
  kTicker,
  kPrice,
  kTs,
  kCurrency,
  kSource,
  kPrevClose,
  kVolume,
  kEmail,
  kLow,
  kHigh,
  kTelegramId,
  kInterval,
  kId,
  kCondition,
  kThreshold,
  kAlertId,
  kChannel,
  kStatus,
  kAttempts,
  kError,
  kProgram,
  kInput,
  kLine,
  kRaw,
  kRawBase64,
  kTarget,
  kMove,
  kWithin,
  kDirection,
  kReference,
  kChange,
  kFieldCount
};

struct FieldName {
  std::string_view name;
  bool is_string;
};
constexpr FieldName kFields[kFieldCount] = {
    {"type", true},      {"ticker", true},     {"price", false},      {"ts", true},
    {"currency", true},  {"source", true},     {"prev_close", false}, {"volume", false},
    {"email", true},     {"low", false},       {"high", false},       {"telegram_id", false},
    {"interval", false}, {"id", true},         {"condition", true},   {"threshold", false},
    {"alert_id", true},  {"channel", true},    {"status", true},      {"attempts", false},
    {"error", true},     {"program", true},    {"input", true},       {"line", false},
    {"raw", true},       {"raw_base64", true}, {"target", true},      {"move", false},
    {"within", false},   {"direction", true},  {"reference", false},  {"change", false},
};

// Compares key with each field name in turn, quote fields first (the hot
// path). Unrolled, each comparison has the name's length as a constant, so
// it compiles to a load or two and a compare instead of a call of memcmp.
template <size_t... I>
int LookupFieldIn(std::string_view key, std::index_sequence<I...>) {
  int found = -1;
  (void)((key.size() == kFields[I].name.size() &&
          std::memcmp(key.data(), kFields[I].name.data(), kFields[I].name.size()) == 0 &&
          (found = static_cast<int>(I), true)) ||
         ...);
  return found;
}

int LookupField(std::string_view key) {
  return LookupFieldIn(key, std::make_index_sequence<kFieldCount>());
}

struct Slot {
  bool present = false;
  bool is_null = false;
  std::string_view str;  // into the parser's string buffer
  double num = 0;
  bool is_int = false;
  int64_t i64 = 0;
};

std::string FieldError(int f, std::string_view what) {
  std::string s(kFields[f].name);
  s += ": ";
  s += what;
  return s;
}

const char* Describe(simdjson::error_code e) {
  switch (e) {
    case simdjson::EMPTY:
      return "empty line";
    case simdjson::UTF8_ERROR:
      return "not valid UTF-8";
    case simdjson::NUMBER_ERROR:
      return "malformed or out-of-range number";
    case simdjson::STRING_ERROR:
      return "malformed string";
    case simdjson::UNCLOSED_STRING:
      return "unterminated string";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return "invalid literal (NaN and Infinity are not JSON)";
    case simdjson::TAPE_ERROR:
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "malformed JSON";
    case simdjson::CAPACITY:
      return "line too long";
    case simdjson::DEPTH_ERROR:
      return "nested too deeply";
    default:
      return nullptr;
  }
}

[[noreturn]] void ThrowJson(simdjson::error_code e) {
  const char* d = Describe(e);
  throw DataError(std::string("invalid JSON: ") + (d ? d : simdjson::error_message(e)));
}

}  // namespace

struct RecordParser::Impl {
  simdjson::dom::parser parser{kMaxLine};
  std::string copy;  // padded copy when the caller has no slack
  Slot slots[kFieldCount];
  // The last timestamp parsed: a feed's records mostly share theirs (one
  // collection cycle), and parsing it is a good part of a quote's cost.
  char last_ts[40] = {};
  size_t last_ts_len = 0;
  TimeMs last_ts_value = 0;

  void Collect(std::string_view line, size_t readable);
  std::string_view Str(int f, bool required) {
    Slot& s = slots[f];
    if (!s.present || s.is_null) {
      if (required) throw DataError(FieldError(f, "missing"));
      return {};
    }
    return s.str;
  }
  std::optional<double> Num(int f, bool required) {
    Slot& s = slots[f];
    if (!s.present || s.is_null) {
      if (required) throw DataError(FieldError(f, "missing"));
      return std::nullopt;
    }
    return s.num;
  }
  std::optional<int64_t> Int(int f, bool required) {
    Slot& s = slots[f];
    if (!s.present || s.is_null) {
      if (required) throw DataError(FieldError(f, "missing"));
      return std::nullopt;
    }
    if (!s.is_int) throw DataError(FieldError(f, "not an integer"));
    return s.i64;
  }
  TimeMs Time(int f, bool required) {
    std::string_view v = Str(f, required);
    if (v.empty() && !required) return 0;
    if (v.size() == last_ts_len && v.size() != 0 && std::memcmp(v.data(), last_ts, v.size()) == 0)
      return last_ts_value;
    auto t = ParseRfc3339(v);
    if (!t) throw DataError(FieldError(f, "not an RFC 3339 timestamp (like 2026-11-27T14:30:00Z)"));
    if (v.size() <= sizeof last_ts) {
      std::memcpy(last_ts, v.data(), v.size());
      last_ts_len = v.size();
      last_ts_value = *t;
    }
    return *t;
  }
};

void RecordParser::Impl::Collect(std::string_view line, size_t readable) {
  for (auto& s : slots) s.present = false;
  if (line.size() > kMaxLine) throw DataError("invalid JSON: line too long");
  const char* data = line.data();
  if (readable < line.size() + simdjson::SIMDJSON_PADDING) {
    copy.assign(line);
    copy.append(simdjson::SIMDJSON_PADDING, '\0');
    data = copy.data();
  }
  simdjson::dom::element doc;
  auto err = parser.parse(data, line.size(), false).get(doc);
  if (err) ThrowJson(err);
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) throw DataError("invalid record: not a JSON object");
  for (simdjson::dom::key_value_pair kv : obj) {
    int f = LookupField(kv.key);
    if (f < 0) continue;  // unknown fields are ignored (DOM parsing validated them)
    Slot& s = slots[f];
    s.present = true;
    s.is_null = false;
    simdjson::dom::element v = kv.value;
    using T = simdjson::dom::element_type;
    T t = v.type();
    if (t == T::NULL_VALUE) {
      s.is_null = true;
      continue;
    }
    if (kFields[f].is_string) {
      if (t != T::STRING) throw DataError(FieldError(f, "not a string"));
      s.str = v.get_string().value_unsafe();
      continue;
    }
    switch (t) {
      case T::INT64:
        s.is_int = true;
        s.i64 = v.get_int64().value_unsafe();
        s.num = static_cast<double>(s.i64);
        break;
      case T::UINT64:
        s.is_int = false;
        s.num = static_cast<double>(v.get_uint64().value_unsafe());
        break;
      case T::DOUBLE:
        s.num = v.get_double().value_unsafe();
        s.is_int =
            std::isfinite(s.num) && std::nearbyint(s.num) == s.num && std::fabs(s.num) < 9e15;
        if (s.is_int) s.i64 = static_cast<int64_t>(s.num);
        break;
      default:
        throw DataError(FieldError(f, "not a number"));
    }
    if (!std::isfinite(s.num)) throw DataError(FieldError(f, "not a finite number"));
  }
}

RecordParser::RecordParser() : impl_(std::make_unique<Impl>()) {}
RecordParser::~RecordParser() = default;

RecordType RecordParser::Parse(std::string_view line, size_t readable, AnyRecord& out) {
  Impl& p = *impl_;
  p.Collect(line, readable);
  std::string_view type = p.Str(kType, true);
  out.type_name.assign(type);
  if (type == "quote") {
    Quote& q = out.quote;
    q.ticker.assign(p.Str(kTicker, true));
    q.price = *p.Num(kPrice, true);
    q.ts = p.Time(kTs, true);
    q.currency.assign(p.Str(kCurrency, false));
    q.source.assign(p.Str(kSource, false));
    q.prev_close = p.Num(kPrevClose, false);
    q.volume = p.Int(kVolume, false);
    Validate(q);
    return out.type = RecordType::kQuote;
  }
  if (type == "watch") {
    Watch& w = out.watch;
    w.email.assign(p.Str(kEmail, true));
    w.ticker.assign(p.Str(kTicker, true));
    w.low = p.Num(kLow, false);
    w.high = p.Num(kHigh, false);
    w.telegram_id = p.Int(kTelegramId, false);
    w.move = p.Num(kMove, false);
    w.within = p.Int(kWithin, false).value_or(0);
    std::string_view dir = p.Str(kDirection, false);
    if (dir.empty()) {
      w.direction = MoveDirection::kBoth;
    } else if (auto d = ParseMoveDirection(dir)) {
      w.direction = *d;
    } else {
      throw DataError("direction: must be \"up\", \"down\" or \"both\"");
    }
    Validate(w);
    return out.type = RecordType::kWatch;
  }
  if (type == "user") {
    User& u = out.user;
    u.email.assign(p.Str(kEmail, true));
    u.telegram_id = p.Int(kTelegramId, false);
    u.interval = p.Int(kInterval, false).value_or(0);
    Validate(u);
    return out.type = RecordType::kUser;
  }
  if (type == "alert") {
    Alert& a = out.alert;
    a.email = NormalizeEmail(p.Str(kEmail, true));
    a.ticker = NormalizeTicker(p.Str(kTicker, true));
    std::string_view cond = p.Str(kCondition, true);
    if (cond == "above")
      a.condition = Condition::kAbove;
    else if (cond == "below")
      a.condition = Condition::kBelow;
    else if (cond == "up")
      a.condition = Condition::kUp;
    else if (cond == "down")
      a.condition = Condition::kDown;
    else
      throw DataError("condition: must be \"above\", \"below\", \"up\" or \"down\"");
    a.price = *p.Num(kPrice, true);
    a.threshold = *p.Num(kThreshold, true);
    a.low = p.Num(kLow, false);
    a.high = p.Num(kHigh, false);
    a.telegram_id = p.Int(kTelegramId, false);
    a.reference = p.Num(kReference, false);
    a.change = p.Num(kChange, false);
    a.move = p.Num(kMove, false);
    a.within = p.Int(kWithin, false).value_or(0);
    a.ts = p.Time(kTs, true);
    // Required: deliveries are recorded under it, so a made-up one could
    // deliver a replayed alert twice.
    a.id.assign(p.Str(kId, true));
    if (a.id.empty()) throw DataError("id: empty");
    return out.type = RecordType::kAlert;
  }
  if (type == "delivery") {
    Delivery& d = out.delivery;
    d.alert_id.assign(p.Str(kAlertId, true));
    d.channel.assign(p.Str(kChannel, true));
    d.target.assign(p.Str(kTarget, false));
    std::string_view st = p.Str(kStatus, true);
    if (st == "sent")
      d.status = DeliveryStatus::kSent;
    else if (st == "duplicate")
      d.status = DeliveryStatus::kDuplicate;
    else if (st == "batched")
      d.status = DeliveryStatus::kBatched;
    else if (st == "failed")
      d.status = DeliveryStatus::kFailed;
    else
      throw DataError("status: must be sent, duplicate, batched or failed");
    d.attempts = static_cast<int>(p.Int(kAttempts, false).value_or(0));
    d.ts = p.Time(kTs, false);
    d.error.assign(p.Str(kError, false));
    return out.type = RecordType::kDelivery;
  }
  if (type == "rejected") {
    Rejected& r = out.rejected;
    r.program.assign(p.Str(kProgram, false));
    r.input.assign(p.Str(kInput, false));
    r.line = static_cast<uint64_t>(p.Int(kLine, false).value_or(0));
    r.error.assign(p.Str(kError, false));
    r.raw.assign(p.Str(kRaw, false));
    r.ts = p.Time(kTs, false);
    return out.type = RecordType::kRejected;
  }
  return out.type = RecordType::kOther;
}

}  // namespace stockwatch
