// stock-collect: fetch quotes behind a circuit breaker, store them, emit
// quote records. See man/stock-collect.1.
#include "flags.h"

int main(int argc, char** argv) {
  stockwatch::StockCollectFlags flags;
  flags.common.program = flags.collect.program = flags.collect.stream.program = "stock-collect";
  CLI::App app{
      "stock-collect - fetch quotes (Yahoo, Stooq, a replay file or a simulator) behind a\n"
      "circuit breaker, store them, then emit them as quote records",
      "stock-collect"};
  stockwatch::cli::AddCommonFlags(app, flags.common);
  stockwatch::cli::AddMetricsFlags(app, flags.common);
  stockwatch::cli::AddStreamFlags(app, flags.collect.stream);
  stockwatch::cli::AddDbRetryFlag(app, flags.common);  // default: 30s with --every, else 0
  stockwatch::AddStockCollectFlags(app, flags);
  if (int rc = stockwatch::cli::Parse(app, argc, argv, flags.common); rc >= 0) return rc;
  if (flags.common.db_retry.empty()) flags.common.db_retry = flags.every.empty() ? "0" : "30s";
  return stockwatch::cli::Run(flags.common, [&] { return stockwatch::RunStockCollect(flags); });
}
