#!/usr/bin/env bash
# End to end over Kafka (the 3-broker mock cluster) and PostgreSQL, crash-safe
# and scaled out:
#
#   stock-collect --every 100ms (sim) --> kafka:QUOTES (4 partitions, key: ticker)
#     --> 2 x stock-alert (one consumer group, states in PostgreSQL)
#     --> kafka:ALERTS --> stock-notify --to file: --to http:// (webhook sink)
#
# with 20 users and 80 watches made with stockctl in a fresh database. Each
# service (the collector, both stock-alert instances, the notifier) is
# killed with SIGKILL once at a random moment mid-stream and restarted. Then
# the collector is stopped, the others drain and get SIGTERM.
#
# What must hold: the alerts are exactly those that `stock-alert --watches W
# --state FRESH` computes offline from the quotes that are on the quotes topic
# (partition by partition, in offset order), and each reaches each target
# exactly once (ids compared as multisets); the store's deliveries, watch
# states and quotes agree; both groups have committed everything. The file
# target gets no repeat at all (a restart cuts off lines written but not
# recorded, and writes them again). The only repeat tolerated is on the
# webhook: a request the receiver acknowledged just before the kill, before
# stock-notify recorded it (at most the requests in flight then; reported
# when it happens; the Idempotency-Key lets a receiver drop it).
#
# E2E_SEED=N repeats a run's random choices (sim walk and kill moments);
# E2E_KEEP=1 keeps the work directory.
set -euo pipefail
# shellcheck source=tests/lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
require_brokers
[ -n "${STOCKWATCH_TEST_PG:-}" ] ||
  die "STOCKWATCH_TEST_PG is not set (run through tests/services/with-services.sh, as make test does)"
require_bins stockctl stock-collect stock-alert stock-notify kafka_offsets
for tool in kcat jq psql; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

SEED=${E2E_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000 + 1))}
RANDOM=$SEED
step "seed $SEED (E2E_SEED=$SEED repeats the sim walk and the kill moments)"

# ---------------------------------------------------------------- teardown

DB_NAME=e2e_$(date +%s)_$$_$RANDOM
declare -A PID RUNS
e2e_exit() {
  local pid name f
  for name in "${!PID[@]}"; do
    pid=${PID[$name]}
    if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  if [ "$exit_status" -ne 0 ]; then
    for f in "$T"/*.err; do
      [ -s "$f" ] || continue
      echo "--- last lines of $(basename "$f"):" >&2
      tail -n 8 "$f" >&2
    done
  fi
  psql -q -X "$STOCKWATCH_TEST_PG" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 || true
}
on_exit e2e_exit
[ "${E2E_KEEP:-0}" != 1 ] || keep_tmp

# start NAME CMD...: runs a service in the background; its stdout and stderr
# go to $T/NAME.RUN.out and .err (RUN counts its starts).
start() {
  local name=$1
  shift
  RUNS[$name]=$((${RUNS[$name]:-0} + 1))
  "$@" >"$T/$name.${RUNS[$name]}.out" 2>"$T/$name.${RUNS[$name]}.err" &
  PID[$name]=$!
  kill_on_exit "$!"
}

# alive NAME: the service is still running.
alive() {
  kill -0 "${PID[$1]}" 2>/dev/null ||
    die "$1 (run ${RUNS[$1]}) died: $(tail -n 3 "$T/$1.${RUNS[$1]}.err" | tr '\n' ' ')"
}

# count_log NAME ERE: lines matching ERE in the current run's stderr of NAME.
count_log() { grep -Ec "$2" "$T/$1.${RUNS[$1]}.err" || true; }

# wait_log NAME ERE N SECONDS: waits until the current run's stderr of NAME
# has more than N lines matching ERE.
wait_log() {
  for _ in $(seq $(($4 * 10))); do
    [ "$(count_log "$1" "$2")" -gt "$3" ] && return 0
    alive "$1"
    sleep 0.1
  done
  return 1
}

crash() {
  alive "$1"
  kill -9 "${PID[$1]}"
  wait "${PID[$1]}" 2>/dev/null || true
  PID[$1]=""
}

# stop NAME: SIGTERM; the service must exit 0 within 60 s.
stop() {
  local name=$1 pid=${PID[$1]} rc=0
  alive "$name"
  kill -TERM "$pid"
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && die "$name did not exit within 60 s of SIGTERM"
  wait "$pid" || rc=$?
  PID[$name]=""
  [ "$rc" -eq 0 ] || die "$name exited $rc on SIGTERM: $(tail -n 3 "$T/$name.${RUNS[$name]}.err" | tr '\n' ' ')"
}

# ---------------------------------------------------------------- setup

step "database $DB_NAME on the throwaway PostgreSQL server"
psql -q -X -v ON_ERROR_STOP=1 "$STOCKWATCH_TEST_PG" -c "CREATE DATABASE $DB_NAME" ||
  die "cannot create database $DB_NAME"
[[ $STOCKWATCH_TEST_PG =~ ^(postgres(ql)?://[^/?]*)(/[^?]*)?(\?.*)?$ ]] ||
  die "STOCKWATCH_TEST_PG is not a postgresql:// URL: $STOCKWATCH_TEST_PG"
DB="${BASH_REMATCH[1]}/$DB_NAME${BASH_REMATCH[4]}"
sql() { psql -qAtX -v ON_ERROR_STOP=1 "$DB" -F ' ' -c "$1"; }

QUOTES=$(unique_name quotes)
ALERTS=$(unique_name alerts)
G_ALERT=$(unique_name g-alert)
G_NOTIFY=$(unique_name g-notify)
step "topics $QUOTES and $ALERTS"
[ "$(topic_partitions "$QUOTES" | wc -l)" -eq 4 ] || die "$QUOTES: expected 4 partitions"
[ "$(topic_partitions "$ALERTS" | wc -l)" -ge 2 ] || die "$ALERTS: expected several partitions"

step "20 users and 80 watches with stockctl"
make_watch_records "$SEED" "$T/watches.txt"
ctl() { "$SW_BIN/stockctl" --db "$DB" "$@" >/dev/null || die "stockctl $* failed"; }
ctl init
for i in $(seq 0 19); do
  ctl user add "$(printf 'u%02d@example.com' "$i")" --telegram-id $((700000 + i))
done
while read -r email ticker low high; do
  args=()
  [ "$low" = - ] || args+=(--low "$low")
  [ "$high" = - ] || args+=(--high "$high")
  ctl watch add "$email" "$ticker" "${args[@]}"
done <"$T/watches.txt"
"$SW_BIN/stockctl" --db "$DB" --json watch ls >"$T/watches.jsonl" || die "stockctl watch ls failed"
[ "$(wc -l <"$T/watches.jsonl")" -eq 80 ] || die "expected 80 watches in the store"

step "webhook sink"
$PY "$SW_SRC/tests/services/webhook_sink.py" --port-file "$T/hook.port" --log "$T/hook.log" \
  2>"$T/hook.err" &
HOOK_PID=$!
kill_on_exit "$HOOK_PID"
for _ in $(seq 100); do [ -s "$T/hook.port" ] && break; sleep 0.1; done
[ -s "$T/hook.port" ] || die "the webhook sink did not start"
HOOK="http://127.0.0.1:$(cat "$T/hook.port")/hook"
FILE_TARGET=$T/file-target.txt
PARALLEL=4  # webhook requests in flight at once: bounds what a crash can repeat

KAFKA=(-b "$BROKERS")
CONSUMER=("${KAFKA[@]}" "${GROUP_X[@]}")
notify_cmd=("$SW_BIN/stock-notify" -v -i "kafka:$ALERTS" -G "$G_NOTIFY" "${CONSUMER[@]}" --db "$DB"
  --to "file:$FILE_TARGET" --to "$HOOK" --parallel "$PARALLEL" --retry-delay 100ms)
alert_cmd=("$SW_BIN/stock-alert" -v -i "kafka:$QUOTES" -o "kafka:$ALERTS" -G "$G_ALERT"
  "${CONSUMER[@]}" --db "$DB")
collect_cmd=("$SW_BIN/stock-collect" --source sim --seed "$SEED" --every 100ms
  -o "kafka:$QUOTES" "${KAFKA[@]}" --db "$DB")

# ---------------------------------------------------------------- the run

step "starting stock-notify and two stock-alert instances (group $G_ALERT)"
start notify "${notify_cmd[@]}"
start alert1 "${alert_cmd[@]}"
start alert2 "${alert_cmd[@]}"
sleep 1
step "starting stock-collect (sim, every 100 ms, 8 tickers)"
start collect "${collect_cmd[@]}"

# Each service is killed once, at a random moment, and restarted after a
# random pause. The group notices a killed stock-alert after the session
# timeout (6 s; ~11 s until the partitions move on the mock): #1 is
# restarted once #2 has taken over all partitions, so they move twice
# (stale states in memory on both sides if not reloaded); #2 is restarted at
# once and rejoins while its old member is still in the group.
pause() {
  local s
  s=$(rand_s "$1" "$2")
  sleep "$s"
}
pause 3 6
step "kill -9 stock-collect ($(sql 'SELECT count(*) FROM quotes') quotes stored)"
crash collect
pause 0 2
start collect "${collect_cmd[@]}"

pause 2 5
step "kill -9 stock-alert #1; restarted once #2 has taken over its partitions"
wait_log alert1 'assigned partition\(s\) [0-9]' 0 30 || die "stock-alert #1 got no partitions in 30 s"
ALL4='assigned partition\(s\) [0-9]+,[0-9]+,[0-9]+,[0-9]+$'
before=$(count_log alert2 "$ALL4")
crash alert1
wait_log alert2 "$ALL4" "$before" 40 ||
  die "stock-alert #2 did not take over all partitions within 40 s of the kill"
pause 1 3
start alert1 "${alert_cmd[@]}"

pause 2 5
alive notify
sleep 0.5  # let some alerts through first
step "kill -9 stock-notify ($(wc -l <"$FILE_TARGET" 2>/dev/null || echo 0) lines in the file target)"
crash notify
sleep 0.3  # a request the sink had received in full is logged even so
FILE_AT_KILL=$(wc -l <"$FILE_TARGET" 2>/dev/null || echo 0)
HOOK_AT_KILL=$(jq -c 'select(.kind == "post")' "$T/hook.log" | wc -l)
pause 0 2
start notify "${notify_cmd[@]}"

pause 4 8
step "kill -9 stock-alert #2; restarted at once"
crash alert2
pause 0 2
start alert2 "${alert_cmd[@]}"

# Long enough for the dead member to leave the group and both instances to
# take partitions again.
sleep 12
for s in collect alert1 alert2 notify; do alive "$s"; done

step "stopping stock-collect (SIGTERM)"
stop collect

step "waiting for stock-alert and stock-notify to drain"
last=""
stable=0
for _ in $(seq 180); do
  ql=$(group_lag "$QUOTES" "$G_ALERT") || die "kafka_offsets failed"
  al=$(group_lag "$ALERTS" "$G_NOTIFY") || die "kafka_offsets failed"
  [ "$ql" -eq 0 ] && [ "$al" -eq 0 ] && break
  # A commit the mock refused during a rebalance is only resent with the
  # next records, or at shutdown: do not wait for it forever.
  if [ "$ql $al" = "$last" ]; then stable=$((stable + 1)); else stable=0; fi
  [ "$stable" -ge 20 ] && { step "lag stuck at $ql quotes / $al alerts: stopping anyway"; break; }
  last="$ql $al"
  sleep 0.5
done
for s in alert1 alert2 notify; do alive "$s"; done
step "stopping both stock-alert instances, then stock-notify (SIGTERM)"
stop alert1
stop alert2
# What the last alerts caused must be delivered before the notifier stops.
for _ in $(seq 120); do [ "$(group_lag "$ALERTS" "$G_NOTIFY")" -eq 0 ] && break; sleep 0.5; done
stop notify

# ---------------------------------------------------------------- checks

step "offsets: both groups committed every record"
ql=$(group_lag "$QUOTES" "$G_ALERT")
al=$(group_lag "$ALERTS" "$G_NOTIFY")
[ "$ql" -eq 0 ] || die "group $G_ALERT left $ql quote(s) uncommitted"
[ "$al" -eq 0 ] || die "group $G_NOTIFY left $al alert(s) uncommitted"

step "expected alerts: stock-alert --watches over the quotes on $QUOTES"
dump_topic "$QUOTES" "$T/topic-quotes.jsonl"
nq=$(wc -l <"$T/topic-quotes.jsonl")
[ "$nq" -eq "$(topic_size "$QUOTES")" ] || die "read $nq quotes, the topic holds $(topic_size "$QUOTES")"
[ "$nq" -ge 400 ] || die "only $nq quotes on the topic: the collector hardly ran"
dups=$(jq -r '"\(.ticker) \(.ts)"' "$T/topic-quotes.jsonl" | LC_ALL=C sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || die "$dups quote(s) twice on $QUOTES: the idempotent producer repeated them"
"$SW_BIN/stock-alert" --watches "$T/watches.jsonl" --state "$T/fresh.state" \
  <"$T/topic-quotes.jsonl" >"$T/expected.jsonl" 2>"$T/offline.err" ||
  die "offline stock-alert failed: $(cat "$T/offline.err")"
ne=$(wc -l <"$T/expected.jsonl")
[ "$ne" -ge 50 ] || die "only $ne alerts expected: the bands are not crossed enough to test anything"
jq -r .id "$T/expected.jsonl" | LC_ALL=C sort >"$T/expected.ids"
[ -z "$(uniq -d "$T/expected.ids")" ] || die "the offline run gave one id to two alerts"
alert_keys <"$T/expected.jsonl" >"$T/expected.keys"
step "$nq quotes, $ne alerts expected; checking each target got each exactly once"

bad=0
file_target_ids "$T/expected.keys" "$FILE_TARGET" >"$T/file.delivered"
compare_ids file "$T/file.delivered" "$FILE_AT_KILL" 0 || bad=1
jq -r 'select(.kind == "post") | .body.id' "$T/hook.log" >"$T/webhook.delivered"
compare_ids webhook "$T/webhook.delivered" "$HOOK_AT_KILL" "$PARALLEL" || bad=1
if [ "$bad" -ne 0 ]; then
  # Which alerts differ, with the quote that caused them, for the report.
  LC_ALL=C comm -3 "$T/expected.ids" "$T/webhook.ids" | tr -d '\t' | head -n 3 | while read -r id; do
    grep -h "\"id\":\"$id\"" "$T/expected.jsonl" "$T/hook.log" | head -n 1 >&2 || true
  done
  die "the alerts delivered are not exactly the expected ones (see above)"
fi

step "webhook bodies are the expected alert records, each with its id as Idempotency-Key"
jq -cS 'select(.kind == "post") | .body' "$T/hook.log" | LC_ALL=C sort -u >"$T/hook.bodies"
jq -cS . "$T/expected.jsonl" | LC_ALL=C sort -u >"$T/expected.bodies"
same_lines "$T/expected.bodies" "$T/hook.bodies" || die "webhook bodies differ from the expected alerts"
n=$(jq -r 'select(.kind == "post" and .idempotency_key != .body.id) | .body.id' "$T/hook.log" | wc -l)
[ "$n" -eq 0 ] || die "$n webhook request(s) without the alert id as Idempotency-Key"

step "stock-notify: no delivery failed"
cat "$T"/notify.*.out >"$T/deliveries.jsonl"
n=$(jq -c 'select(.type == "delivery" and .status == "failed")' "$T/deliveries.jsonl" | wc -l)
[ "$n" -eq 0 ] || die "$n delivery record(s) with status failed"

step "store: deliveries recorded once per alert and target"
sql "SELECT alert_id FROM deliveries WHERE channel = 'file:$FILE_TARGET'" | LC_ALL=C sort >"$T/db-file.ids"
sql "SELECT alert_id FROM deliveries WHERE channel = 'webhook:$HOOK'" | LC_ALL=C sort >"$T/db-hook.ids"
same_lines "$T/expected.ids" "$T/db-file.ids" || die "deliveries of the file target differ from the expected alerts"
same_lines "$T/expected.ids" "$T/db-hook.ids" || die "deliveries of the webhook differ from the expected alerts"
n=$(sql "SELECT count(*) FROM deliveries WHERE channel NOT IN ('file:$FILE_TARGET', 'webhook:$HOOK')")
[ "$n" -eq 0 ] || die "$n deliveries recorded on other channels"

step "store: watch states equal the offline run's final states"
jq -r "$JQ_MS"' select(.type == "watch_state") | "\(.email) \(.ticker) \(.state) \(.ts | ms)"' \
  "$T/fresh.state" | LC_ALL=C sort >"$T/expected.states"
sql "SELECT email, ticker, CASE state WHEN 0 THEN 'inside' WHEN 1 THEN 'above' WHEN 2 THEN 'below' END, ts
     FROM watch_states" | LC_ALL=C sort >"$T/db.states"
[ -s "$T/expected.states" ] || die "the offline run set no state"
same_lines "$T/expected.states" "$T/db.states" || die "the stored watch states differ from the offline run's"

step "store: every quote on the topic is stored; quote last is the topic's last quote"
jq -r "$JQ_MS"' "\(.ticker) \(.ts | ms) \(.price)"' "$T/topic-quotes.jsonl" >"$T/topic.tsp"
sql "SELECT ticker, ts, price FROM quotes" >"$T/db.tsp"
n=$(awk 'NR == FNR { p[$1 " " $2] = $3; next }
  !(($1 " " $2) in p) || p[$1 " " $2] - $3 > 1e-9 || $3 - p[$1 " " $2] > 1e-9 { bad++ }
  END { print bad + 0 }' "$T/db.tsp" "$T/topic.tsp")
[ "$n" -eq 0 ] || die "$n quote(s) on the topic are not in the store"
for t in ${E2E_TICKERS//,/ }; do
  want=$(jq -c --arg t "$t" 'select(.ticker == $t) | [.ts, .price]' "$T/topic-quotes.jsonl" | tail -n 1)
  got=$("$SW_BIN/stockctl" --db "$DB" --json quote last "$t" | jq -c '[.ts, .price]')
  [ "$want" = "$got" ] || die "stockctl quote last $t: $got, but the last quote on the topic is $want"
done

step "scale-out: both final stock-alert instances read quotes"
for s in alert1 alert2; do
  n=$(sed -n 's/.* \([0-9][0-9]*\) quote(s), .*/\1/p' "$T/$s.${RUNS[$s]}.err" | tail -n 1)
  [ -n "$n" ] || die "$s wrote no summary at exit"
  [ "$n" -gt 0 ] || die "$s (run ${RUNS[$s]}) read no quote: the group did not split the partitions"
  step "  $s (run ${RUNS[$s]}): $n quote(s)"
done

kill -TERM "$HOOK_PID" 2>/dev/null || true
wait "$HOOK_PID" 2>/dev/null || true
step "$nq quotes, $ne alerts, seed $SEED"
finish
