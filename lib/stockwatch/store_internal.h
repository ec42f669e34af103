#pragma once
/// Internals shared by the store backends (not part of the public API).
#include <memory>
#include <string>
#include <string_view>

#include "stockwatch/store.h"

namespace stockwatch::store_internal {

/// The schema version this build writes; Open() migrates older databases.
inline constexpr int kSchemaVersion = 1;

/// Key of the watches version counter in the meta table.
inline constexpr const char* kWatchesVersionKey = "watches_version";

/// Opens the SQLite database at `path` (`masked_url` is for messages).
std::unique_ptr<Store> OpenSqlite(const std::string& masked_url, const std::string& path);
/// Opens a PostgreSQL connection (`url` is a libpq URI).
std::unique_ptr<Store> OpenPostgres(const std::string& masked_url, const std::string& url);

/// The message of an unreachable database: "database unavailable: URL: why".
std::string UnavailableMessage(std::string_view masked_url, std::string_view why);

}  // namespace stockwatch::store_internal
