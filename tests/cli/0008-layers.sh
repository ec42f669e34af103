#!/usr/bin/env bash
# The library's layers (lib/stockwatch/LAYERS) hold: tests/layers.sh passes on
# this tree, and fails on a copy given a deliberate upward include, an include
# of the programs' common/ code, a cycle in LAYERS, or a folder LAYERS omits.
source "$(dirname "$0")/../lib/common.sh"
src=${SW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

rc=0; bash "$src/tests/layers.sh" "$src" > "$T/out" 2>&1 || rc=$?
expect_eq "this tree keeps its layers" 0 "$rc"
check "and says nothing" test ! -s "$T/out"

fresh() { rm -rf "$T/copy"; mkdir -p "$T/copy/lib" "$T/copy/tests"; cp -r "$src/lib/stockwatch" "$T/copy/lib/"; }
refused() {  # refused DESCRIPTION PATTERN
  local rc=0
  bash "$src/tests/layers.sh" "$T/copy" > "$T/out" 2>&1 || rc=$?
  expect_eq "$1: exit 1" 1 "$rc"
  check "$1: the message names it" grep -q -- "$2" "$T/out"
}

fresh  # core, the lowest layer, reaches up into notify
sed -i '1i #include "stockwatch/notify/run.h"' "$T/copy/lib/stockwatch/core/log.cc"
refused "an upward include" 'lib/stockwatch/core/log.cc:[0-9]*: core may not include stockwatch/notify/'

fresh  # the store reaches sideways into the alert engine
echo '#include "stockwatch/alert/engine.h"' >> "$T/copy/lib/stockwatch/store/sqlite/queries.cc"
refused "a sideways include" 'store/sqlite/queries.cc:[0-9]*: store may not include stockwatch/alert/'

fresh
echo '#include "common/cli.h"' >> "$T/copy/lib/stockwatch/stream/kafka.cc"
refused "lib including common/" "stream/kafka.cc:[0-9]*: lib/ may not include the programs' common/"

fresh  # the store declares that it uses notify: a cycle
sed -i 's/^store: core$/store: core notify/' "$T/copy/lib/stockwatch/LAYERS"
refused "a cycle in LAYERS" 'LAYERS:[0-9]*: store uses notify, which is not defined above it'

fresh
mkdir "$T/copy/lib/stockwatch/extra"; echo '// x' > "$T/copy/lib/stockwatch/extra/x.cc"
refused "a folder LAYERS does not list" 'lib/stockwatch/extra/: a folder with no line in LAYERS'

finish
