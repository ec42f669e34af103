#pragma once
/// Internals shared by the store backends (not part of the public API).
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "stockwatch/store/store.h"

namespace stockwatch::store_internal {

/// The schema version this build writes; Open() migrates older databases.
inline constexpr int kSchemaVersion = 4;

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

/// The outcome of a request id repeated with another request (exit 65).
Outcome RequestIdReused(std::string_view request_id);

/// Ids per DeliveredAmong query.
inline constexpr size_t kDeliveredChunk = 500;

/// `ids` as a JSON array, for a query that reads it with json_each (SQLite)
/// or json_array_elements_text (PostgreSQL): one parameter, any values.
std::string JsonArray(std::span<const std::string> ids);

}  // namespace stockwatch::store_internal
