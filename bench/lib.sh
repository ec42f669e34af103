# shellcheck shell=bash disable=SC2034  # variables used by the benchmarks
# The benchmarks' shared preamble and helpers: every bench/*.sh sources it
# first (not a benchmark itself: bench/run-all.sh leaves it out). A
# benchmark that takes the bin directory as its first argument sets SW_BIN
# from it before sourcing.
#
#   here, SW_SRC     the bench folder and the source tree
#   B (= SW_BIN)     the build's bin directory (SW_BIN, default build/bin), absolute
#   PY               the Python that runs the fakes of tests/services
#   bench_name       the benchmark's name (its file's), in its messages
#   load0            the load average at the start (load_now: at the moment)
#   W                a work directory, removed on exit
#   pids             processes killed (SIGKILL) on exit; on_exit CMD: more to do then
#   die MSG          the benchmark fails (exit 1)
#   need_built PROGRAM...   B/PROGRAM... are built, need_tools TOOL...: installed
#                    (else exit 69)
#   now              the time (s since the epoch, ns resolution)
#   median           the median of the numbers on stdin
#   range            "median (min-max)" of the numbers on stdin
#   read_secs FILE, read_rate FILE   from stock-alert -v's summary in FILE
#   cpu PID          user + system CPU seconds of a running process
#   start_service FILE LOG CMD...   runs CMD in the background (stderr to LOG;
#                    SIGTERM on exit) until it has written FILE (its port,
#                    say): 10 s at most; $! is its pid
#   bench_pg         pg: BENCH_PG, or a throwaway PostgreSQL server
#                    (tests/services/pg.sh, stopped on exit); sep: "?" or "&",
#                    what adds a parameter to the URL
#   start_mock ARGS...   B/mock_kafka --brokers 3 ARGS...; sets BS (its
#                    bootstrap servers)
#   keyed_quotes DIR QUOTES TICKERS WATCHES   bench/gen_alert_data's quotes
#                    and watches in DIR (made once), and DIR/keyed.tsv:
#                    TICKER<TAB>LINE, for kcat -P -K
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SW_SRC=${SW_SRC:-$(cd "$here/.." && pwd)}
PY=${PY:-/usr/bin/python3}
bench_name=$(basename "$0" .sh)
die() { echo "$bench_name: $*" >&2; exit 1; }
B=$(cd "${SW_BIN:-$here/../build/bin}" 2>/dev/null && pwd) || die "no bin directory ${SW_BIN:-$here/../build/bin}"
SW_BIN=$B
load_now() { cut -d' ' -f1 /proc/loadavg; }
load0=$(load_now)

pids=()
_at_exit=()
on_exit() { _at_exit+=("$1"); }
W=$(mktemp -d "${TMPDIR:-/tmp}/sw-bench-$bench_name.XXXXXX")
_bench_exit() {
  local p c
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for c in "${_at_exit[@]}"; do eval "$c" || true; done
  rm -rf "$W"
}
trap _bench_exit EXIT

need_built() {
  local p
  for p in "$@"; do
    [ -x "$B/$p" ] || { echo "$bench_name: $B/$p is not built" >&2; exit 69; }
  done
}
need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || { echo "$bench_name: $t is not installed" >&2; exit 69; }
  done
}

now() { date +%s.%N; }
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# stock-alert -v's summary, "read for X s[, Y s of it from the first record]: N quote(s)/s"
# (older builds: no Y): read_secs FILE prints X, read_rate FILE prints N.
read_secs() { sed -n 's/.*read for \([0-9.]*\) s.*/\1/p' "$1"; }
read_rate() { sed -n 's/.*read for .*: \([0-9.]*\) quote(s)\/s$/\1/p' "$1"; }
range() { sort -g | awk '{ a[NR] = $1 } END { printf "%s (%s-%s)", a[int((NR + 1) / 2)], a[1], a[NR] }'; }
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }

start_service() {
  local file=$1 log=$2 _
  shift 2
  "$@" 2>"$log" &
  on_exit "kill -TERM $! 2>/dev/null; wait $! 2>/dev/null"
  for _ in $(seq 100); do
    [ -s "$file" ] && return 0
    kill -0 $! 2>/dev/null || break
    sleep 0.1
  done
  die "$(basename "$1") did not start: $(tail -n 3 "$log")"
}

bench_pg() {
  if [ -n "${BENCH_PG:-}" ]; then
    pg=$BENCH_PG
  else
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/sw-bench-pg.XXXXXX")
    on_exit "\"\$SW_SRC/tests/services/pg.sh\" stop '$dir'"
    pg=$("$SW_SRC/tests/services/pg.sh" start "$dir")
  fi
  sep='?'
  if [[ "$pg" == *\?* ]]; then sep='&'; fi
}

start_mock() {
  start_service "$W/bootstrap" "$W/mock.err" \
    "$B/mock_kafka" --brokers 3 "$@" --bootstrap-file "$W/bootstrap"
  BS=$(cat "$W/bootstrap")
}

keyed_quotes() {
  local dir=$1 quotes=$2 tickers=$3 watches=$4
  mkdir -p "$dir"
  if [ ! -s "$dir/keyed.tsv" ] || [ "$(wc -l <"$dir/quotes.jsonl")" -ne "$quotes" ]; then
    "$B/gen_alert_data" spread "$dir" "$quotes" "$tickers" "$watches" 1
    awk '{ match($0, /"ticker":"[^"]*"/); print substr($0, RSTART + 10, RLENGTH - 11) "\t" $0 }' \
      "$dir/quotes.jsonl" >"$dir/keyed.tsv"
  fi
}
