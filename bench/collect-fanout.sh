#!/usr/bin/env bash
# Issue 4 benchmark: stock-collect's request fan-out.
#
# N tickers (default 1000) from the fake quote server
# (tests/services/fake_quotes.py), which answers every request after D ms
# (default 50), one chart request per ticker (--no-batch). For each -j the
# wall time is set next to the ideal N x D / j (the server's delay only),
# with stock-collect's CPU time (user + sys) and max RSS (/usr/bin/time -v)
# and the connections the server saw
# (keep-alive: at most j). Target: <= 1.3x ideal at -j 32. A last row shows
# the default mode (spark batches of 20) at -j 8 for comparison.
#
# Usage: bench/collect-fanout.sh [TICKERS] [DELAY_MS] [JOBS...]
#   (SW_BIN: the build's bin dir; the -j 1 run takes N x D ms, ~50 s)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SW_BIN=${SW_BIN:-$here/../build/bin}
SW_SRC=${SW_SRC:-$here/..}
n=${1:-1000}
delay=${2:-50}
shift $(( $# >= 2 ? 2 : $# ))
jobs=("$@")
[ ${#jobs[@]} -gt 0 ] || jobs=(1 8 32 64)
PY=/usr/bin/python3
work=$(mktemp -d /tmp/sw-bench-collect.XXXXXX)
fake_pid=""
cleanup() { [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

[ -x "$SW_BIN/stock-collect" ] || { echo "collect-fanout: $SW_BIN/stock-collect not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "collect-fanout: /usr/bin/time not installed" >&2; exit 1; }

$PY "$SW_SRC/tests/services/fake_quotes.py" --port-file "$work/port" --delay-ms "$delay" 2> "$work/fake.err" &
fake_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
U="http://127.0.0.1:$(cat "$work/port")"
for i in $(seq 0 $((n - 1))); do printf 'T%04d\n' "$i"; done > "$work/tickers"

# run LABEL IDEAL_S ARGS...: one timed run; prints a table row.
run() {
  local label=$1 ideal=$2; shift 2
  curl -s -X POST "$U/_reset" > /dev/null
  local start end code=0
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$work/time" "$SW_BIN/stock-collect" --no-store --source-url "$U" \
    --tickers - "$@" < "$work/tickers" > "$work/out" 2> "$work/err" || code=$?
  end=$(date +%s.%N)
  local quotes rss cpu stats
  quotes=$(wc -l < "$work/out")
  if [ "$code" -ne 0 ] || [ "$quotes" -ne "$n" ]; then
    echo "collect-fanout: $label: exit $code, $quotes of $n quotes" >&2
    cat "$work/err" >&2
    exit 1
  fi
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$work/time")
  cpu=$(awk -F': ' '/User time|System time/ {t += $2} END {printf "%.2f", t}' "$work/time")
  stats=$(curl -s "$U/_stats")
  awk -v l="$label" -v s="$start" -v e="$end" -v i="$ideal" -v r="$rss" -v u="$cpu" \
      -v q="$(jq .requests <<< "$stats")" -v c="$(jq .connections <<< "$stats")" 'BEGIN {
    w = e - s
    if (i > 0) printf "| %s | %.2f s | %.2f s | %.2fx | %s s | %s MiB | %d | %d |\n", l, w, i, w / i, u, r, q, c
    else printf "| %s | %.2f s | - | - | %s s | %s MiB | %d | %d |\n", l, w, u, r, q, c
  }'
}

echo "$n tickers, the fake server answers each request after $delay ms; one chart request"
echo "per ticker (--no-batch); ideal = $n x $delay ms / j. Machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| run | wall time | ideal | wall / ideal | stock-collect CPU | max RSS | requests | connections |"
echo "|---|---|---|---|---|---|---|---|"
for j in "${jobs[@]}"; do
  ideal=$(awk -v n="$n" -v d="$delay" -v j="$j" 'BEGIN { printf "%.3f", n * d / 1000 / j }')
  run "-j $j" "$ideal" --no-batch -j "$j"
done
run "spark batches of 20, -j 8" 0 -j 8
