#!/usr/bin/env bash
# stock-collect --shard I/N: N collectors, each given the same ticker list (or
# the same store), together collect every ticker exactly once; a malformed or
# out-of-range I/N is a usage error (64).
source "$(dirname "$0")/../lib/common.sh"

list=$(seq -f 'T%03g' 1 200 | paste -sd,)
sim() { stock-collect --no-store --source sim --seed 7 --sim-start 2026-11-30T15:00:00Z "$@"; }

sim --tickers "$list" -q | jq -r .ticker | sort > "$T/all"
expect_eq "without --shard: every ticker" 200 "$(wc -l < "$T/all")"
for i in 1 2 3; do
  rc=0; sim --tickers "$list" --shard "$i/3" -v > "$T/part$i" 2> "$T/err$i" || rc=$?
  expect_eq "--shard $i/3: exit 0" 0 "$rc"
  check "--shard $i/3: says how many of the 200 are its" grep -q "shard $i/3: [0-9]* of 200 ticker(s)" "$T/err$i"
done
cat "$T/part1" "$T/part2" "$T/part3" | jq -r .ticker | sort > "$T/union"
expect_eq "the three shards together: 200 quotes" 200 "$(wc -l < "$T/union")"
check "... one per ticker: no ticker twice" test -z "$(uniq -d "$T/union")"
check "... and the same tickers as one collector" cmp -s "$T/all" "$T/union"
check "... with the same quotes (a quote does not depend on the shard)" \
  cmp -s <(sort "$T/part1" "$T/part2" "$T/part3") <(sim --tickers "$list" -q | sort)
for i in 1 2 3; do
  n=$(wc -l < "$T/part$i")
  check "shard $i/3 is not empty nor everything ($n)" test "$n" -gt 20 -a "$n" -lt 120
done
expect_eq "--shard 1/1: everything" 200 "$(sim --tickers "$list" --shard 1/1 -q | wc -l)"

# From the store: the watched tickers are split the same way.
db="sqlite:$T/store.db"
stockctl --db "$db" user add ann@example.com > /dev/null
for t in $(seq -f 'S%02g' 1 30); do stockctl --db "$db" watch add ann@example.com "$t" --high 100 > /dev/null; done
for i in 1 2; do
  stock-collect --db "$db" --source sim --seed 7 --shard "$i/2" -q > "$T/store$i"
done
cat "$T/store1" "$T/store2" | jq -r .ticker | sort > "$T/store-union"
expect_eq "store, 2 shards: 30 quotes" 30 "$(wc -l < "$T/store-union")"
check "store, 2 shards: every watched ticker once" test "$(uniq < "$T/store-union" | wc -l)" -eq 30
expect_eq "store: every ticker has its quote stored" 30 \
  "$(for t in $(seq -f 'S%02g' 1 30); do stockctl --db "$db" quote last "$t" --json; done | jq -s length)"

for bad in 0/3 4/3 1/0 3 x 1/3/4 ""; do
  rc=0; sim --tickers "$list" --shard "$bad" > /dev/null 2> "$T/err" || rc=$?
  expect_eq "--shard '$bad': exit 64" 64 "$rc"
  check "--shard '$bad': the message names --shard" grep -q "stock-collect: --shard" "$T/err"
done
finish
