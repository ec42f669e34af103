#pragma once
/// stock-collect's flags and the glue between them and RunCollect().
#include "common/cli.h"
#include "stockwatch/collect/run.h"

namespace stockwatch {

struct StockCollectFlags {
  cli::CommonOptions common;
  CollectOptions collect;
  // Durations and times as given, parsed by RunStockCollect (exit 64 when malformed).
  std::string every, timeout = "10s", slow_call, breaker_cooldown = "30s", sim_step = "1m",
                     sim_start;
  std::string max_response = "4M";      // a size, parsed by RunStockCollect
  std::string shard;                    // I/N, parsed by RunStockCollect
  std::string max_rate;                 // N/PERIOD, parsed by RunStockCollect
  CLI::Option* shard_option = nullptr;  // --shard, to tell whether it was given
  bool once = false;
  bool no_batch = false;
  CLI::Option* input = nullptr;  // -i, to tell whether it was given
};

/// Adds the flags of stock-collect (besides the common and stream ones).
void AddStockCollectFlags(CLI::App& app, StockCollectFlags& flags);

/// Checks the flags, runs stock-collect, returns its exit status.
int RunStockCollect(StockCollectFlags& flags);

}  // namespace stockwatch
