#include "flags.h"

#include <optional>

#include "stockwatch/alert/run.h"
#include "stockwatch/core/error.h"
#include "stockwatch/core/timeutil.h"

namespace stockwatch {

void AddStockAlertFlags(CLI::App& app, StockAlertOptions& opts) {
  app.footer(
      "Exit status: 0 ok, 64 usage, 65 bad input and no --dead-letter, 66 input or --watches file "
      "missing, 69 store or brokers unavailable, 70 internal error, 74 I/O error, 75 Kafka "
      "records not acknowledged at stop, 77 permission "
      "denied, 78 bad configuration, 130 interrupted, 143 stopped by SIGTERM while waiting on the "
      "database or reading --watches. See stock-alert(1).");
  app.add_option("--watches", opts.watches_file,
                 "Watch records (as `stockctl watch ls --json` prints them) instead of the store")
      ->type_name("FILE");
  app.add_option("--state", opts.state_file,
                 "Keep edge states and move windows in FILE instead of the store (a snapshot and a "
                 "journal of changes)")
      ->type_name("FILE");
  app.add_option(
         "--mode", opts.mode,
         "edge: one alert when the price leaves the band or makes the move (default); level: one "
         "per quote outside or past it")
      ->type_name("MODE")
      ->check(CLI::IsMember({"edge", "level"}));
  app.add_option("--hysteresis", opts.hysteresis,
                 "Edge mode: re-arm only once the price is back inside by PCT percent of the bound "
                 "(a windowed move: under its percentage by PCT percent of it)")
      ->type_name("PCT");
  app.add_option(
         "--reload", opts.reload,
         "How often to look for watch changes in the store or the --watches file (default 1s)")
      ->type_name("DURATION");
}

int RunStockAlert(const StockAlertOptions& o) {
  AlertRunOptions run;
  std::optional<AlertMode> mode = ParseAlertMode(o.mode);
  if (!mode) throw Error(exitcode::kUsage, "--mode: must be edge or level");
  run.stream = o.stream;
  if (o.watches_file.empty()) run.db_url = o.common.DbUrl();
  run.watches_file = o.watches_file;
  run.state_file = o.state_file;
  run.mode = *mode;
  run.hysteresis = o.hysteresis;
  run.reload_ms = cli::DurationFlag("--reload", o.reload);
  return RunAlert(
      run, [&](std::string_view msg) { cli::Diag(o.stream.program, msg, log::Level::kWarn); });
}

}  // namespace stockwatch
