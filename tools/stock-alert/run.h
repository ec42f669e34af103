#pragma once
/// stock-alert: reads quote records, checks each against the watches on its
/// ticker (AlertEngine) and writes alert records; other records pass through.
#include <string>

#include "common/cli.h"
#include "stockwatch/stream.h"

namespace stockwatch {

struct StockAlertOptions {
  cli::CommonOptions common;
  StreamOptions stream;
  std::string watches_file;  // empty: watches from the store
  std::string state_file;    // empty: states in the store (or, with --watches, not kept)
  std::string mode = "edge";
  double hysteresis = 0;
  std::string reload = "1s";  // how often to look for watch changes
};

/// Adds the stock-alert options (besides the common and stream ones).
void AddStockAlertFlags(CLI::App& app, StockAlertOptions& opts);

/// Runs the alert loop until the input ends or a stop is requested. Returns
/// the exit code (65 when records were rejected without a dead letter);
/// throws Error for usage, configuration and service failures.
int RunStockAlert(const StockAlertOptions& opts);

}  // namespace stockwatch
