#!/usr/bin/env bash
# Scale-out of stock-alert over Kafka: 1 and 2 instances in one consumer
# group split a quotes topic (16 partitions, key: ticker) on a fresh 3-broker
# mock cluster (build/bin/mock_kafka, started here) and write alerts to a
# second topic. The quotes are produced first (a backlog, as after an outage);
# each run starts the instances in a new group and measures from the group's
# first commit to its last (kafka_offsets --wait), so start-up and the group
# join are left out. Next to it: stock-alert over the same
# quotes from a file (no Kafka) and kcat consuming the topic (the transport).
# stock-alert runs with its own default prefetch (queued.min.messages=1000000)
# and with librdkafka's (100000); kcat with both.
#
#   bench/scale-alert.sh [BIN_DIR]
#   env: QUOTES (default 600000), TICKERS (1000), WATCHES (20000), RUNS (2; the
#   lower median is shown), BENCH_DIR (default /tmp/sw-bench-scale-alert)
# Prints a markdown table.
SW_BIN=${1:-${SW_BIN:-}}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
D=${BENCH_DIR:-/tmp/sw-bench-scale-alert}
QUOTES=${QUOTES:-600000} TICKERS=${TICKERS:-1000} WATCHES=${WATCHES:-20000} RUNS=${RUNS:-2}
PARTITIONS=16
need_built stock-alert mock_kafka kafka_offsets gen_alert_data
need_tools kcat

# ---------------------------------------------------------------- data
S=$D/data
keyed_quotes "$S" "$QUOTES" "$TICKERS" "$WATCHES"

# ---------------------------------------------------------------- cluster
start_mock --topic "quotes:$PARTITIONS"
GROUP_X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)

t0=$(now)
kcat -P -b "$BS" -t quotes -K $'\t' -z lz4 <"$S/keyed.tsv" || die "kcat -P failed"
t1=$(now)
kcat_p_rate=$(awk -v n="$QUOTES" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
[ "$("$B/kafka_offsets" -b "$BS" -t quotes --lag)" -eq "$QUOTES" ] || die "the topic does not hold $QUOTES quotes"

# ---------------------------------------------------------------- references
# stock-alert from the file: the engine and JSON, no transport.
: >"$W/file.rates"
for _ in $(seq "$RUNS"); do
  "$B/stock-alert" -v --watches "$S/watches.jsonl" -i "$S/quotes.jsonl" -o "$W/alerts.jsonl" 2>"$W/file.err" ||
    die "stock-alert (file) failed: $(tail -n 3 "$W/file.err")"
  read_rate "$W/file.err" >>"$W/file.rates"
done
file_rate=$(median <"$W/file.rates")
file_alerts=$(wc -l <"$W/alerts.jsonl")

# kcat consuming the topic (one consumer, no group), with its defaults and
# with the prefetch stock-alert uses (see lib/stockwatch/stream/kafka.cc).
kcat_rate() {
  : >"$W/kcat.rates"
  for _ in $(seq "$RUNS"); do
    local a b n
    a=$(now)
    n=$(kcat -C -b "$BS" -t quotes -o beginning -e -q "$@" | wc -l)
    b=$(now)
    [ "$n" -eq "$QUOTES" ] || die "kcat consumed $n of $QUOTES quotes"
    awk -v n="$n" -v a="$a" -v b="$b" 'BEGIN { printf "%.0f\n", n / (b - a) }' >>"$W/kcat.rates"
  done
  median <"$W/kcat.rates"
}
kcat_c_rate=$(kcat_rate)
kcat_c2_rate=$(kcat_rate -X queued.min.messages=1000000)

# ---------------------------------------------------------------- stock-alert in a group
# one_run CONFIG N RUN [-X K=V]...: N instances in group g-CONFIG-N-RUN;
# appends rate, CPU and RSS to $W/*.CONFIG.N. Returns 1 when the group
# rebalanced while it was consuming.
one_run() {
  local c=$1 n=$2 r=$3 g="g-$1-$2-$3" i p lag0 t0 t1 revoked0 waiter ws all t_all early
  shift 3
  local -a cpu0=()
  pids=()
  rm -f "$W"/alert.*.err
  for i in $(seq "$n"); do
    "$B/stock-alert" -v -i kafka:quotes -o "kafka:alerts-$c-$n-$r" -b "$BS" -G "$g" "${GROUP_X[@]}" \
      -X compression.codec=lz4 "$@" --watches "$S/watches.jsonl" 2>"$W/alert.$i.err" &
    pids+=("$!")
  done
  # The first commit of the group starts the clock (kafka_offsets --wait
  # polls every 10 ms with one request, at no cost worth counting).
  ws=$(now)
  "$B/kafka_offsets" -b "$BS" -t quotes -G "$g" --wait 120 >"$W/wait" &
  waiter=$!
  for _ in $(seq 1500); do
    all=1
    for i in $(seq "$n"); do grep -q 'assigned partition' "$W/alert.$i.err" || all=0; done
    [ "$all" = 1 ] && break
    sleep 0.02
  done
  t_all=$(awk -v a="$ws" -v b="$(now)" 'BEGIN { print b - a }')
  revoked0=$(cat "$W"/alert.*.err | grep -c 'revoked partition' || true)
  for p in "${pids[@]}"; do cpu0+=("$(cpu "$p")"); done
  wait "$waiter" || die "$n instance(s): quotes still uncommitted after 120 s"
  read -r t0 lag0 t1 <"$W/wait"
  # A commit before every instance had partitions: one consumed alone first.
  early=$(awk -v a="$t0" -v b="$t_all" 'BEGIN { print (a < b - 0.1) ? 1 : 0 }')
  i=0
  : >"$W/try.rss"
  : >"$W/try.cpu"
  for p in "${pids[@]}"; do
    awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" >>"$W/try.rss"  # peak RSS, kB
    awk -v a="${cpu0[$i]}" -v b="$(cpu "$p")" 'BEGIN { print b - a }' >>"$W/try.cpu"
    i=$((i + 1))
    kill -TERM "$p"
  done
  for p in "${pids[@]}"; do wait "$p" || die "stock-alert exited $? on SIGTERM"; done
  pids=()
  # Instances that got no partition would make the split a fiction.
  for i in $(seq "$n"); do
    grep -q 'assigned partition' "$W/alert.$i.err" || die "instance $i of $n never got a partition"
  done
  [ "$early" = 0 ] || return 1
  [ "$(cat "$W"/alert.*.err | grep -c 'revoked partition' || true)" -eq $((revoked0 + n)) ] || return 1
  awk -v n="$lag0" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f %.2f\n", n / (b - a), b - a }' >>"$W/rates.$c.$n"
  cat "$W/try.rss" >>"$W/rss.$c.$n"
  cat "$W/try.cpu" >>"$W/cpu.$c.$n"
  alerts[$c.$n]=$("$B/kafka_offsets" -b "$BS" -t "alerts-$c-$n-$r" --lag)
}

declare -A rate rss alerts cpus wall
SMALL=(-X queued.min.messages=100000)
for c in default small; do
  for n in 1 2; do
    : >"$W/rates.$c.$n"
    : >"$W/rss.$c.$n"
    : >"$W/cpu.$c.$n"
    for r in $(seq "$RUNS"); do
      for attempt in 1 2 3; do
        if [ "$c" = small ]; then
          one_run "$c" "$n" "$r.$attempt" "${SMALL[@]}" && break
        else
          one_run "$c" "$n" "$r.$attempt" && break
        fi
        echo "scale-alert: run $r with $n instance(s): the group rebalanced while consuming: again" >&2
        [ "$attempt" -lt 3 ] || die "the group kept rebalancing"
      done
    done
    rate[$c.$n]=$(awk '{ print $1 }' "$W/rates.$c.$n" | median)
    wall[$c.$n]=$(awk '{ print $2 }' "$W/rates.$c.$n" | median)
    rss[$c.$n]=$(median <"$W/rss.$c.$n")
    cpus[$c.$n]=$(median <"$W/cpu.$c.$n")
  done
done

# ---------------------------------------------------------------- report
k() { awk -v r="$1" 'BEGIN { printf "%.0f k", r / 1000 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }
echo "$QUOTES quotes ($TICKERS tickers, key: ticker) against $WATCHES watches, produced beforehand to a"
echo "topic of $PARTITIONS partitions on a 3-broker mock cluster (one process on this machine); lower median"
echo "of $RUNS runs; $(nproc) cores, load $load0 at the start, $(load_now) at the end."
echo
echo "| what | quotes/s | vs 1 instance | wall s | CPU s per instance | alerts | max RSS per instance |"
echo "|---|---|---|---|---|---|---|"
printf "| stock-alert, file in and out (no Kafka) | %s | - | - | - | %s | - |\n" "$(k "$file_rate")" "$file_alerts"
printf "| kcat -P (produce the backlog, lz4) | %s | - | - | - | - | - |\n" "$(k "$kcat_p_rate")"
printf "| kcat -C -e (consume, librdkafka defaults) | %s | - | - | - | - | - |\n" "$(k "$kcat_c_rate")"
printf "| kcat -C -e -X queued.min.messages=1000000 | %s | - | - | - | - | - |\n" "$(k "$kcat_c2_rate")"
for c in default small; do
  for n in 1 2; do
    label="$n x stock-alert in one group"
    [ "$c" = small ] && label="$label, -X queued.min.messages=100000 (librdkafka's default)"
    printf "| %s | %s | %s | %s | %s | %s | %d MB |\n" "$label" \
      "$(k "${rate[$c.$n]}")" "$(pct "${rate[$c.$n]}" "${rate[$c.1]}")" "${wall[$c.$n]}" "${cpus[$c.$n]}" \
      "${alerts[$c.$n]}" $((rss[$c.$n] / 1024))
  done
done
echo
echo "stock-alert rows: from the group's first commit to its last (the quotes of the first"
echo "checkpoint are left out); CPU per instance over that time. kcat rows include its start."
echo "Alerts: messages on the alerts topic (the file run gives the same count). librdkafka 2.0"
echo "stops fetching for up to 1 s whenever a consumer's local queue holds queued.min.messages"
echo "(default 100000, all partitions together; librdkafka #2879): with a backlog, a consumer"
echo "faster than that mostly waits. stockwatch's consumers default to 1000000, which trades"
echo "memory (up to queued.max.messages.kbytes = 64 MB of payload prefetched) for catch-up speed."
