#!/usr/bin/env bash
# Every program has --help (exit 0), --version, a man page, and every --flag its
# --help prints appears in its man page (so they cannot drift); bad flags exit 64.
source "$(dirname "$0")/../lib/common.sh"
n=0
for prog in stockctl stock-collect stock-alert stock-notify; do
  [ -x "$SW_BIN/$prog" ] || { fail "$prog is not built"; continue; }
  n=$((n + 1))
  man="$SW_SRC/man/$prog.1"
  check "$prog has a man page" test -s "$man"
  check "$prog has an scdoc source" test -s "$man.scd"
  expect_code "$prog --help" 0 "$prog" --help
  "$prog" --help > "$T/help" 2>&1 || true
  # --help of each subcommand too (stockctl user add --help, ...).
  for sub in $(sed -n '/^Subcommands:/,/^$/p' "$T/help" | awk 'NR>1 && NF {print $1}'); do
    "$prog" "$sub" --help >> "$T/help" 2>&1 || true
  done
  for flag in $(grep -oE -- '--[a-z][a-z0-9-]+' "$T/help" | sort -u); do
    [ "$flag" == "--help" ] && continue
    check "$prog: $flag is documented in man/$prog.1" grep -qE -- "${flag}([^a-z0-9-]|\$)" "$man"
  done
  expect_code "$prog --version" 0 "$prog" --version
  expect_code "$prog with an unknown flag" 64 "$prog" --no-such-flag
done
expect_eq "all four programs were checked" 4 "$n"
finish
