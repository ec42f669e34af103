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
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
n=${1:-1000}
delay=${2:-50}
shift $(( $# >= 2 ? 2 : $# ))
jobs=("$@")
[ ${#jobs[@]} -gt 0 ] || jobs=(1 8 32 64)
need_built stock-collect
need_tools /usr/bin/time curl jq

start_service "$W/port" "$W/fake.err" \
  "$PY" "$SW_SRC/tests/services/fake_quotes.py" --port-file "$W/port" --delay-ms "$delay"
U="http://127.0.0.1:$(cat "$W/port")"
for i in $(seq 0 $((n - 1))); do printf 'T%04d\n' "$i"; done > "$W/tickers"

# run LABEL IDEAL_S ARGS...: one timed run; prints a table row.
run() {
  local label=$1 ideal=$2; shift 2
  curl -s -X POST "$U/_reset" > /dev/null
  local start end code=0
  start=$(now)
  /usr/bin/time -v -o "$W/time" "$SW_BIN/stock-collect" --no-store --source-url "$U" \
    --tickers - "$@" < "$W/tickers" > "$W/out" 2> "$W/err" || code=$?
  end=$(now)
  local quotes rss cpu stats
  quotes=$(wc -l < "$W/out")
  if [ "$code" -ne 0 ] || [ "$quotes" -ne "$n" ]; then
    echo "collect-fanout: $label: exit $code, $quotes of $n quotes" >&2
    cat "$W/err" >&2
    exit 1
  fi
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$W/time")
  cpu=$(awk -F': ' '/User time|System time/ {t += $2} END {printf "%.2f", t}' "$W/time")
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
