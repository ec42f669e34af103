# Shared set-up of the benchmarks that run a mock Kafka cluster
# (e2e-kafka.sh, scale-alert.sh). Source it after B (the bin directory) is set:
#
#   kafka_bench NAME TOOL...   checks that B/TOOL... are built and kcat is
#                              installed, makes the work directory $W and
#                              removes it (and kills $pids, stops $mock) on exit
#   start_mock ARGS...         starts B/mock_kafka --brokers 3 ARGS...; sets
#                              $mock and $BS (its bootstrap servers)
#   keyed_quotes DIR QUOTES TICKERS WATCHES
#                              bench/gen_alert_data's quotes and watches in DIR
#                              (made once), and DIR/keyed.tsv: TICKER<TAB>LINE,
#                              for kcat -P -K
#   die MSG, now, cpu PID (user + system CPU seconds so far), median (stdin);
#   $load0: the load average at the start.
pids=()
mock=""
W=""
bench_name=bench
die() { echo "$bench_name: $*" >&2; exit 1; }
now() { date +%s.%N; }
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

kafka_cleanup() {
  local p
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -n "$mock" ]; then kill -TERM "$mock" 2>/dev/null || true; wait "$mock" 2>/dev/null || true; fi
  [ -n "$W" ] && rm -rf "$W"
}

kafka_bench() {
  bench_name=$1
  shift
  local p
  for p in "$@"; do
    [ -x "$B/$p" ] || { echo "$bench_name: $B/$p is not built" >&2; exit 69; }
  done
  command -v kcat >/dev/null || { echo "$bench_name: kcat is not installed" >&2; exit 69; }
  W=$(mktemp -d "/tmp/sw-$bench_name.XXXXXX")
  trap kafka_cleanup EXIT
  load0=$(cut -d' ' -f1 /proc/loadavg)
}

start_mock() {
  "$B/mock_kafka" --brokers 3 "$@" --bootstrap-file "$W/bootstrap" 2>"$W/mock.err" &
  mock=$!
  local _
  for _ in $(seq 100); do [ -s "$W/bootstrap" ] && break; sleep 0.1; done
  [ -s "$W/bootstrap" ] || die "mock_kafka did not start: $(cat "$W/mock.err")"
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
