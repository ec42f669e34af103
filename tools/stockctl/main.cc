// stockctl: manage users, watches and stored quotes (docs/design.md, "stockctl").
#include "stockctl.h"

int main(int argc, char** argv) {
  stockwatch::stockctl::Options opts;
  opts.common.program = "stockctl";
  CLI::App app{"stockctl - manage stockwatch users, watches and stored quotes", "stockctl"};
  stockwatch::stockctl::DefineCli(app, opts);
  if (int rc = stockwatch::cli::Parse(app, argc, argv, opts.common); rc >= 0) return rc;
  return stockwatch::cli::Run(opts.common, [&] { return stockwatch::stockctl::RunStockctl(opts); });
}
