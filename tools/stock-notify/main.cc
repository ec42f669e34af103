// stock-notify: deliver alert records (Telegram, e-mail, webhooks, files)
// and run the Telegram bot. See man/stock-notify.1.
#include "flags.h"

int main(int argc, char** argv) {
  stockwatch::StockNotifyFlags flags;
  flags.common.program = flags.notify.stream.program = "stock-notify";
  CLI::App app{
      "stock-notify - deliver alert records to Telegram, e-mail, webhooks and files, once\n"
      "each, honouring each user's interval; `stock-notify bot` runs the Telegram bot",
      "stock-notify"};
  stockwatch::cli::AddCommonFlags(app, flags.common);
  stockwatch::cli::AddMetricsFlags(app, flags.common);
  stockwatch::cli::AddStreamFlags(app, flags.notify.stream);
  flags.common.db_retry = "30s";
  stockwatch::cli::AddDbRetryFlag(app, flags.common);
  stockwatch::AddStockNotifyFlags(app, flags);
  if (int rc = stockwatch::cli::Parse(app, argc, argv, flags.common); rc >= 0) return rc;
  return stockwatch::cli::Run(flags.common, [&] { return stockwatch::RunStockNotify(flags); });
}
