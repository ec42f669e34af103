// stock-alert: band alerts on a stream of quotes. See man/stock-alert.1.
#include "flags.h"

int main(int argc, char** argv) {
  stockwatch::StockAlertOptions opts;
  opts.common.program = opts.stream.program = "stock-alert";
  CLI::App app{
      "stock-alert - check quote records against every watch on their ticker and emit alert\n"
      "records when a price leaves its band (edge-triggered) or is outside it (--mode level)",
      "stock-alert"};
  stockwatch::cli::AddCommonFlags(app, opts.common);
  stockwatch::cli::AddMetricsFlags(app, opts.common);
  stockwatch::cli::AddStreamFlags(app, opts.stream);
  opts.common.db_retry = "30s";
  stockwatch::cli::AddDbRetryFlag(app, opts.common);
  stockwatch::AddStockAlertFlags(app, opts);
  if (int rc = stockwatch::cli::Parse(app, argc, argv, opts.common); rc >= 0) return rc;
  return stockwatch::cli::Run(opts.common, [&] { return stockwatch::RunStockAlert(opts); });
}
