#pragma once
/// stock-alert's flags and the glue from them to RunAlert (lib/stockwatch/alert/run.h).
#include <string>

#include "common/cli.h"
#include "stockwatch/stream/stream.h"

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

/// Checks the flags (64 when malformed), then runs the alert loop; returns
/// its exit code.
int RunStockAlert(const StockAlertOptions& opts);

}  // namespace stockwatch
