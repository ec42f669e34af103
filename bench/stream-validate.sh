#!/usr/bin/env bash
# Issue 2 benchmark: validating and re-serialising quote records.
#
# Generates 2M quote lines over 10k tickers in /tmp (bench/gen_quotes), then
# times, median of 3 runs in one hyperfine session:
#   sw_cat --validate -i FILE -o OUT   (RecordParser + AppendJson per record)
#   jq -c . FILE > OUT                 (the Unix baseline: parse + re-print)
# and prints records/s for both and the ratio (target: >= 5x jq).
#
# Usage: bench/stream-validate.sh [LINES]   (SW_BIN: the build's bin dir)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SW_BIN=${SW_BIN:-$here/../build/bin}
lines=${1:-2000000}
tickers=10000
data=/tmp/sw-bench-validate.in.jsonl
out_sw=/tmp/sw-bench-validate.sw.jsonl
out_jq=/tmp/sw-bench-validate.jq.jsonl
result=/tmp/sw-bench-validate.json
trap 'rm -f "$data" "$out_sw" "$out_jq" "$result"' EXIT

for tool in "$SW_BIN/sw_cat" "$SW_BIN/gen_quotes"; do
  [ -x "$tool" ] || { echo "stream-validate: $tool not built" >&2; exit 1; }
done
command -v hyperfine >/dev/null || { echo "stream-validate: hyperfine not installed" >&2; exit 1; }
command -v jq >/dev/null || { echo "stream-validate: jq not installed" >&2; exit 1; }

"$SW_BIN/gen_quotes" --lines "$lines" --tickers "$tickers" -o "$data"
bytes=$(stat -c %s "$data")

hyperfine --runs 3 --style none --export-json "$result" \
  -n sw_cat "$SW_BIN/sw_cat --validate -i $data -o $out_sw" \
  -n jq "jq -c . $data > $out_jq" >&2

# Both must have produced every record, or the timing means nothing.
for f in "$out_sw" "$out_jq"; do
  n=$(wc -l <"$f")
  [ "$n" -eq "$lines" ] || { echo "stream-validate: $f has $n lines, want $lines" >&2; exit 1; }
done

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "$result"; }
sw=$(median sw_cat)
jqt=$(median jq)

echo "Input: $lines quote lines over $tickers tickers, $((bytes / 1000000)) MB ($data); median of 3 runs."
echo
echo "| command | median time | records/s | MB/s |"
echo "|---|---|---|---|"
awk -v s="$sw" -v j="$jqt" -v n="$lines" -v b="$bytes" 'BEGIN {
  printf "| `sw_cat --validate -i FILE -o OUT` | %.3f s | %.2f M | %.0f |\n", s, n / s / 1e6, b / s / 1e6
  printf "| `jq -c . FILE > OUT` | %.3f s | %.2f M | %.0f |\n", j, n / j / 1e6, b / j / 1e6
  printf "\nsw_cat / jq: **%.1fx** (target: >= 5x)\n", j / s
}'
