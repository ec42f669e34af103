#pragma once
/// Internals shared by the store backends (not part of the public API).
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/store/store.h"

namespace stockwatch::store_internal {

/// The schema version this build writes; Open() migrates older databases.
inline constexpr int kSchemaVersion = 5;

/// Key of the watches version counter in the meta table.
inline constexpr const char* kWatchesVersionKey = "watches_version";

/// Opens the SQLite database at `path` (`masked_url` is for messages).
std::unique_ptr<Store> OpenSqlite(const std::string& masked_url, const std::string& path,
                                  Access access);
/// Opens a PostgreSQL connection (`url` is a libpq URI).
std::unique_ptr<Store> OpenPostgres(const std::string& masked_url, const std::string& url);

/// The message of an unreachable database: "database unavailable: URL: why".
std::string UnavailableMessage(std::string_view masked_url, std::string_view why);

/// Which saved edge states a band edit makes stale: bit 1 when `high`
/// changed (a saved "above" no longer holds), bit 2 when `low` changed.
inline int StaleStateMask(const std::optional<double>& old_low,
                          const std::optional<double>& old_high,
                          const std::optional<double>& new_low,
                          const std::optional<double>& new_high) {
  return (old_high != new_high ? 1 : 0) | (old_low != new_low ? 2 : 0);
}

/// The StaleStateMask bit of a move edit: the saved move bits (and the
/// prev_close they belong to) are about the move that set them.
inline constexpr int kStaleMove = 4;

/// kStaleMove when the move, its window or its direction changed.
inline int StaleMoveMask(const Watch& old_watch, const Watch& new_watch) {
  return old_watch.move != new_watch.move || old_watch.within != new_watch.within ||
                 old_watch.direction != new_watch.direction
             ? kStaleMove
             : 0;
}

/// A ticker's window points as stored (move_windows.points): "TS:PRICE"
/// per point, comma-separated, oldest first; each TS but the first is the
/// difference to the point before (mostly a few digits), prices in shortest
/// round-trip form. Throws DataError for a price that is not finite.
std::string EncodeWindowPoints(std::span<const WindowPoint> points);
/// The inverse; nullopt when `text` is not such a list.
std::optional<std::vector<WindowPoint>> DecodeWindowPoints(std::string_view text);

/// The column value of a move direction: "up", "down", or nullopt (both).
inline std::optional<std::string> DirectionColumn(MoveDirection d) {
  if (d == MoveDirection::kBoth) return std::nullopt;
  return std::string(ToString(d));
}
/// The inverse (NULL or anything else: both).
inline MoveDirection DirectionFromColumn(std::string_view s) {
  return ParseMoveDirection(s).value_or(MoveDirection::kBoth);
}

/// The outcome of a request id repeated with another request (exit 65).
Outcome RequestIdReused(std::string_view request_id);

/// Ids per DeliveredAmong query.
inline constexpr size_t kDeliveredChunk = 500;

/// `ids` as a JSON array, for a query that reads it with json_each (SQLite)
/// or json_array_elements_text (PostgreSQL): one parameter, any values.
std::string JsonArray(std::span<const std::string> ids);

}  // namespace stockwatch::store_internal
