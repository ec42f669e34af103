#pragma once
/// stock-notify's flags and the glue from them to RunNotify / RunBotMain
/// (lib/stockwatch/notify/run.h): durations, secrets from the environment
/// or files, the bot subcommand.
#include <string>

#include "common/cli.h"
#include "stockwatch/notify/run.h"

namespace stockwatch {

struct StockNotifyFlags {
  cli::CommonOptions common;
  NotifyOptions notify;
  std::string telegram_token_file;
  std::string smtp_password_file;
  std::string smtp_oauth2_token_file;
  std::string retry_delay = "500ms";
  std::string timeout = "10s";
  std::string linger = "0";
  std::string retry_for = "1d";
  std::string poll_timeout = "25s";
  bool once = false;
  CLI::App* bot = nullptr;  // the `bot` subcommand
};

/// Adds the stock-notify options and the `bot` subcommand.
void AddStockNotifyFlags(CLI::App& app, StockNotifyFlags& flags);

/// Resolves durations and secrets, then runs the notifier or the bot.
/// Returns the exit code; throws Error for bad flags (64), missing
/// secrets or files (78) and what RunNotify / RunBotMain throw.
int RunStockNotify(StockNotifyFlags& flags);

}  // namespace stockwatch
