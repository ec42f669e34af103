#pragma once
/// stock-alert's loop: reads quote records, checks each against the watches
/// on its ticker (AlertEngine) and writes alert records; other records pass
/// through. Watches come from the store or a file, edge states go to the
/// store or a state file (a snapshot and a journal of changes).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "stockwatch/alert/engine.h"
#include "stockwatch/stream/stream.h"

namespace stockwatch {

struct AlertRunOptions {
  StreamOptions stream;
  std::string db_url;        // the store; used unless watches_file is given
  std::string watches_file;  // empty: watches from the store
  std::string state_file;    // empty: states in the store (or, with --watches, not kept)
  AlertMode mode = AlertMode::kEdge;
  double hysteresis = 0;
  int64_t reload_ms = 1000;  // how often to look for watch changes
};

/// Runs the alert loop until the input ends or a stop is requested. Returns
/// the exit code (65 when records were rejected without a dead letter);
/// throws Error for configuration and service failures. `diag` reports each
/// rejected record.
int RunAlert(const AlertRunOptions& opts, const std::function<void(std::string_view)>& diag);

}  // namespace stockwatch
