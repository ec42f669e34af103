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
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
lines=${1:-2000000}
tickers=10000
data=/tmp/sw-bench-validate.in.jsonl  # named in the report
on_exit "rm -f '$data'"
out_sw=$W/sw.jsonl
out_jq=$W/jq.jsonl
result=$W/result.json
need_built sw_cat gen_quotes
need_tools hyperfine jq

"$SW_BIN/gen_quotes" --lines "$lines" --tickers "$tickers" -o "$data"
bytes=$(stat -c %s "$data")

hyperfine --runs 3 --style none --export-json "$result" \
  -n sw_cat "$SW_BIN/sw_cat --validate -i $data -o $out_sw" \
  -n jq "jq -c . $data > $out_jq" >&2

# Both must have produced every record, or the timing means nothing.
for f in "$out_sw" "$out_jq"; do
  n=$(wc -l <"$f")
  [ "$n" -eq "$lines" ] || die "$f has $n lines, want $lines"
done

# hyperfine_median NAME: the median time of command NAME.
hyperfine_median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "$result"; }
sw=$(hyperfine_median sw_cat)
jqt=$(hyperfine_median jq)

echo "Input: $lines quote lines over $tickers tickers, $((bytes / 1000000)) MB ($data); median of 3 runs."
echo
echo "| command | median time | records/s | MB/s |"
echo "|---|---|---|---|"
awk -v s="$sw" -v j="$jqt" -v n="$lines" -v b="$bytes" 'BEGIN {
  printf "| `sw_cat --validate -i FILE -o OUT` | %.3f s | %.2f M | %.0f |\n", s, n / s / 1e6, b / s / 1e6
  printf "| `jq -c . FILE > OUT` | %.3f s | %.2f M | %.0f |\n", j, n / j / 1e6, b / j / 1e6
  printf "\nsw_cat / jq: **%.1fx** (target: >= 5x)\n", j / s
}'
