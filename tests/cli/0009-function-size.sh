#!/usr/bin/env bash
# No function or lambda in lib/ or tools/ is over 60 lines: tests/function-size.py
# passes on this tree, and fails on a copy given a 61-line function or lambda
# (60 lines pass).
source "$(dirname "$0")/../lib/common.sh"
src=${SW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

rc=0; python3 "$src/tests/function-size.py" "$src" > "$T/out" 2>&1 || rc=$?
expect_eq "this tree has no function over 60 lines" 0 "$rc"
check "and says nothing" test ! -s "$T/out"

fresh() { rm -rf "$T/copy"; mkdir -p "$T/copy"; cp -r "$src/lib" "$src/tools" "$T/copy/"; }
# body N: a function body of N lines in all, braces included.
body() { echo '{'; for _ in $(seq $(($1 - 2))); do echo '  ++n;'; done; echo '}'; }
run() { rc=0; python3 "$src/tests/function-size.py" "$T/copy" > "$T/out" 2>&1 || rc=$?; }

fresh
{ echo 'int Sixty(int n)'; body 60; } >> "$T/copy/lib/stockwatch/core/log.cc"
run
expect_eq "a 60-line function passes" 0 "$rc"

fresh
{ echo 'int TooLong(int n)'; body 61; } >> "$T/copy/lib/stockwatch/core/log.cc"
run
expect_eq "a 61-line function: exit 1" 1 "$rc"
check "the message names it" grep -q 'lib/stockwatch/core/log.cc:[0-9]*: TooLong is 61 lines' "$T/out"

fresh
{ echo 'void Outer() {'; echo '  auto f = [](int n)'; body 61; echo ';'; echo '}'; } \
  >> "$T/copy/tools/stockctl/flags.cc"
run
expect_eq "a 61-line lambda in tools/: exit 1" 1 "$rc"
check "the message names the lambda" grep -q 'tools/stockctl/flags.cc:[0-9]*: a lambda is 61 lines' "$T/out"

finish
