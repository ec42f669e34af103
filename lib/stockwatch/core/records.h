#pragma once
/// The records of docs/design.md (quote, alert, delivery, rejected, user, watch):
/// validation with field-named errors, a fast JSON-lines parser, and
/// compact serialisation. Pure logic: no I/O.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/core/error.h"
#include "stockwatch/core/timeutil.h"

namespace stockwatch {

struct Quote {
  std::string ticker;  // normalised (upper case, validated)
  double price = 0;
  TimeMs ts = 0;
  std::string currency;  // empty: absent
  std::string source;    // empty: absent
  std::optional<double> prev_close;
  std::optional<int64_t> volume;
};

/// Which way a percent-move watch looks.
enum class MoveDirection : uint8_t { kBoth = 0, kUp = 1, kDown = 2 };
std::string_view ToString(MoveDirection d);  // "both", "up", "down"
/// Parses "both" / "up" / "down"; nullopt otherwise.
std::optional<MoveDirection> ParseMoveDirection(std::string_view s);

/// The longest window a move watch may look back over (`within`): 7 days.
inline constexpr int64_t kMaxMoveWithin = 7 * 24 * 3600;

struct Watch {
  std::string email;
  std::string ticker;
  std::optional<double> low;
  std::optional<double> high;
  std::optional<int64_t> telegram_id;  // the owner's, copied in for store-less pipelines
  /// A percent move, in percent (5 for 5%): alert when the price is that far
  /// from the reference. Without `within` the reference is the quote's
  /// prev_close (the day's change); with it, any price of the ticker in the
  /// last `within` seconds (the window's minimum for up, maximum for down).
  std::optional<double> move;
  int64_t within = 0;  // seconds; 0: the day's change
  MoveDirection direction = MoveDirection::kBoth;
};

/// Edge-trigger state of one watch (stock-alert).
enum class BandState : int { kInside = 0, kAbove = 1, kBelow = 2 };

/// Edge state of a move watch: which directions have fired (and not yet
/// re-armed). A day-change watch's bits belong to the trading day whose
/// previous close is `move_ref`: a quote with another prev_close starts a
/// new day with both directions armed.
inline constexpr uint8_t kMoveUpFired = 1;
inline constexpr uint8_t kMoveDownFired = 2;

struct WatchState {
  std::string email;
  std::string ticker;
  BandState state = BandState::kInside;
  TimeMs ts = 0;        // ts of the quote that set it (band or move, the later)
  uint8_t move = 0;     // kMoveUpFired | kMoveDownFired
  double move_ref = 0;  // day change: the prev_close the bits belong to; 0: none
};

/// A price a move window holds (stock-alert saves these with the states so
/// a restarted run still sees the last hour).
struct WindowPoint {
  TimeMs ts = 0;
  double price = 0;
};
/// The window points kept for one ticker, oldest first.
struct TickerWindow {
  std::string ticker;
  std::vector<WindowPoint> points;
};

struct User {
  std::string email;
  std::optional<int64_t> telegram_id;
  int64_t interval = 0;  // seconds between messages; 0: no limit
};

/// above/below: a band's bound crossed; up/down: a percent move.
enum class Condition { kAbove, kBelow, kUp, kDown };
std::string_view ToString(Condition c);

struct Alert {
  std::string id;  // AlertId(email, ticker, condition, ts)
  std::string email;
  std::optional<int64_t> telegram_id;
  std::string ticker;
  Condition condition = Condition::kAbove;
  double price = 0;
  double threshold = 0;  // the bound that was crossed (a move: the price at the watch's move)
  std::optional<double> low;
  std::optional<double> high;
  TimeMs ts = 0;  // the quote's ts
  // Move alerts (up/down) only:
  std::optional<double> reference;  // the price the move is measured from
  std::optional<double> change;     // the move, in percent, signed (+5.2, -3.1)
  std::optional<double> move;       // the watch's move, in percent
  int64_t within = 0;               // the window in seconds; 0: the day's change
};

enum class DeliveryStatus { kSent, kDuplicate, kBatched, kFailed };
std::string_view ToString(DeliveryStatus s);

struct Delivery {
  std::string alert_id;
  std::string channel;  // "telegram", "email", "webhook", "file"
  std::string target;   // webhook, file: which one (the URL without credentials
                        // or query values, the file: spec); empty: absent
  DeliveryStatus status = DeliveryStatus::kSent;
  int attempts = 0;
  TimeMs ts = 0;
  std::string error;  // empty: absent
};

struct Rejected {
  std::string program;
  std::string input;
  uint64_t line = 0;
  std::string error;
  std::string raw;  // written as "raw" when valid UTF-8, else as "raw_base64"
  TimeMs ts = 0;
};

enum class RecordType { kOther, kQuote, kAlert, kDelivery, kRejected, kUser, kWatch };

// ---- validation (throw DataError naming the field) ----

/// Upper-cases and checks `[A-Z0-9^][A-Z0-9.=^-]{0,15}`; throws DataError("ticker: ...").
std::string NormalizeTicker(std::string_view ticker);
/// True for a plausible address: local@domain.tld, printable ASCII, <= 254 bytes.
bool IsValidEmail(std::string_view email);
/// Lower-cases the domain part and checks syntax; throws DataError("email: ...").
std::string NormalizeEmail(std::string_view email);
/// Checks finite thresholds and low < high when both; throws DataError("low: ..."/"high: ...").
/// A band that is not ordered is blamed on `changed` ("high" or "low"): the
/// bound the user just set.
void ValidateBand(const std::optional<double>& low, const std::optional<double>& high,
                  std::string_view changed = "high");
/// Checks a move: 0 < move <= 1000 percent (a down move is at most 100),
/// within 0 or 1 s to kMaxMoveWithin; throws DataError("move: ..."/"within: ...").
void ValidateMove(const std::optional<double>& move, int64_t within, MoveDirection direction);
/// Checks a whole record (normalising ticker/email in place); throws DataError.
void Validate(Quote& q);
void Validate(Watch& w);
void Validate(User& u);

/// Deterministic alert id: 16 hex digits from (email, ticker, condition, ts).
std::string AlertId(std::string_view email, std::string_view ticker, Condition c, TimeMs ts);
/// Appends the same 16 hex digits to `out` (no allocation when it has room).
void AppendAlertId(std::string& out, std::string_view email, std::string_view ticker, Condition c,
                   TimeMs ts);

// ---- serialisation: one compact JSON object, no trailing newline ----

void AppendJson(std::string& out, const Quote& r);
void AppendJson(std::string& out, const Watch& r);
void AppendJson(std::string& out, const User& r);
void AppendJson(std::string& out, const Alert& r);
void AppendJson(std::string& out, const Delivery& r);
void AppendJson(std::string& out, const Rejected& r);
template <typename R>
std::string ToJson(const R& r) {
  std::string s;
  AppendJson(s, r);
  return s;
}

/// Appends `s` as a JSON string literal (quotes, escapes). Invalid UTF-8 is
/// replaced by U+FFFD.
void AppendJsonString(std::string& out, std::string_view s);
/// Appends a finite double in shortest round-trip form ("197.48", "200").
void AppendJsonNumber(std::string& out, double v);
bool IsValidUtf8(std::string_view s);

// ---- parsing ----

/// One of each record, reused between lines so strings keep their capacity.
struct AnyRecord {
  RecordType type = RecordType::kOther;
  std::string type_name;  // the "type" field as given
  Quote quote;
  Alert alert;
  Delivery delivery;
  Rejected rejected;
  User user;
  Watch watch;
};

/// Parses JSON lines into records (simdjson's DOM parser, whose kernels are
/// picked at run time: the hot path of every stream program). Not
/// thread-safe; keep one per thread.
class RecordParser {
 public:
  RecordParser();
  ~RecordParser();
  RecordParser(const RecordParser&) = delete;
  RecordParser& operator=(const RecordParser&) = delete;

  /// Parses and validates one line (no newline). `readable` is how many bytes
  /// may be read from line.data() (>= line.size()); when it leaves 64 bytes
  /// of slack the line is parsed in place, otherwise it is copied.
  /// Returns the type and fills out.<that type>; an object whose "type" this
  /// parser does not know is kOther (callers pass it through).
  /// Throws DataError("field: what is wrong") for malformed JSON, a missing
  /// or mistyped field, or a failed validation.
  RecordType Parse(std::string_view line, size_t readable, AnyRecord& out);
  RecordType Parse(std::string_view line, AnyRecord& out) { return Parse(line, line.size(), out); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockwatch
