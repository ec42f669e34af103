#!/usr/bin/env bash
# The same quotes and watches give the same alerts over plain pipes
#
#   stock-collect --source replay:FILE | stock-alert | stock-notify --to file:
#
# as over Kafka (quotes topic, 4 partitions keyed by ticker; alerts topic):
# the same alert records (ids and contents), the same lines in the file
# target, the same deliveries and the same final watch states. The quotes
# include late ones (older than their ticker's newest), which both must
# ignore, and a ticker nobody watches.
set -euo pipefail
# shellcheck source=tests/services/testlib.bash
. "$(dirname "$0")/../services/testlib.bash"
# shellcheck source=tests/services/e2e.bash
. "$(dirname "$0")/../services/e2e.bash"
require_brokers
require_bins stock-collect stock-alert stock-notify kafka_offsets
for tool in kcat jq; do command -v "$tool" >/dev/null || fail "$tool is not installed"; done
setup_tmp
e2e_isolate

SEED=${E2E_SEED:-$((RANDOM % 1000 + 1))}
step "quotes and watches (sim seed $SEED)"
make_watch_records "$SEED" "$TMP/watches.txt"
watch_records_to_json "$TMP/watches.txt" >"$TMP/watches.jsonl"
"$SW_BIN/stock-collect" --no-store --source sim --seed "$SEED" --count 250 \
  --tickers "$E2E_TICKERS,UNWATCHED" --sim-start 2026-01-01T00:00:00Z >"$TMP/sim.jsonl" ||
  fail "stock-collect sim failed"
# Every 97th quote comes again 40 lines (4 to 5 cycles) later, 5 minutes
# late: older than the newest quote of its ticker.
awk 'NR % 97 == 0' "$TMP/sim.jsonl" | jq -c '.ts |= (fromdateiso8601 - 300 | todate)' >"$TMP/late.jsonl"
awk -v out="$TMP/late.inserted" 'NR == FNR { late[FNR * 97 + 40] = $0; next }
  { print } (FNR in late) { print late[FNR]; print late[FNR] > out }' \
  "$TMP/late.jsonl" "$TMP/sim.jsonl" >"$TMP/quotes.jsonl"
nlate=$(wc -l <"$TMP/late.inserted")
# Those of the unwatched ticker count as such, not as out of order.
nlate_watched=$(grep -vc '"UNWATCHED"' "$TMP/late.inserted" || true)
[ "$nlate_watched" -ge 10 ] || fail "only $nlate_watched late quotes of watched tickers"
nq=$(wc -l <"$TMP/quotes.jsonl")
[ "$nq" -eq $((2250 + nlate)) ] || fail "expected $((2250 + nlate)) quotes, got $nq"

# ---------------------------------------------------------------- pipes
step "over pipes: stock-collect --source replay | stock-alert | stock-notify --to file:"
"$SW_BIN/stock-collect" --no-store --source "replay:$TMP/quotes.jsonl" 2>"$TMP/pipe-collect.err" |
  "$SW_BIN/stock-alert" -v --watches "$TMP/watches.jsonl" --state "$TMP/pipe.state" 2>"$TMP/pipe-alert.err" |
  tee "$TMP/pipe.alerts.jsonl" |
  "$SW_BIN/stock-notify" --db "sqlite:$TMP/pipe.db" --to "file:$TMP/pipe.txt" \
    >"$TMP/pipe.deliveries.jsonl" 2>"$TMP/pipe-notify.err" ||
  fail "the pipeline failed (exit codes ${PIPESTATUS[*]}): $(cat "$TMP"/pipe-*.err)"

# ---------------------------------------------------------------- Kafka
QUOTES=$(unique_name quotes)
ALERTS=$(unique_name alerts)
step "over Kafka: stock-collect -o kafka:$QUOTES"
"$SW_BIN/stock-collect" --no-store --source "replay:$TMP/quotes.jsonl" -o "kafka:$QUOTES" \
  -b "$BROKERS" 2>"$TMP/kafka-collect.err" || fail "stock-collect to Kafka failed: $(cat "$TMP/kafka-collect.err")"
[ "$(topic_size "$QUOTES")" -eq "$nq" ] || fail "$QUOTES holds $(topic_size "$QUOTES") quotes, want $nq"
step "stock-alert -i kafka:$QUOTES -o kafka:$ALERTS --exit-at-eof"
rc=0
timeout 180 "$SW_BIN/stock-alert" -v -i "kafka:$QUOTES" -o "kafka:$ALERTS" -b "$BROKERS" \
  -G "$(unique_name g-alert)" "${GROUP_X[@]}" --exit-at-eof \
  --watches "$TMP/watches.jsonl" --state "$TMP/kafka.state" 2>"$TMP/kafka-alert.err" || rc=$?
[ "$rc" -eq 0 ] || fail "stock-alert over Kafka exited $rc: $(tail -n 3 "$TMP/kafka-alert.err")"
step "stock-notify -i kafka:$ALERTS --to file: --exit-at-eof"
rc=0
timeout 180 "$SW_BIN/stock-notify" -i "kafka:$ALERTS" -b "$BROKERS" -G "$(unique_name g-notify)" \
  "${GROUP_X[@]}" --exit-at-eof --db "sqlite:$TMP/kafka.db" --to "file:$TMP/kafka.txt" \
  >"$TMP/kafka.deliveries.jsonl" 2>"$TMP/kafka-notify.err" || rc=$?
[ "$rc" -eq 0 ] || fail "stock-notify over Kafka exited $rc: $(tail -n 3 "$TMP/kafka-notify.err")"
dump_topic "$ALERTS" "$TMP/kafka.alerts.jsonl"

# ---------------------------------------------------------------- checks
na=$(wc -l <"$TMP/pipe.alerts.jsonl")
step "checking: $nq quotes gave $na alerts over pipes"
[ "$na" -ge 50 ] || fail "only $na alerts over pipes: the bands are not crossed enough to test anything"
ids() { jq -r "$1" "$2" | LC_ALL=C sort; }
ids .id "$TMP/pipe.alerts.jsonl" >"$TMP/pipe.ids"
ids .id "$TMP/kafka.alerts.jsonl" >"$TMP/kafka.ids"
[ -z "$(uniq -d "$TMP/pipe.ids")" ] || fail "two alerts with one id over pipes"
same_lines "$TMP/pipe.ids" "$TMP/kafka.ids" || fail "alert ids over Kafka differ from those over pipes"

step "the same alert records (contents), the same file target lines, the same deliveries"
jq -cS . "$TMP/pipe.alerts.jsonl" >"$TMP/pipe.records"
jq -cS . "$TMP/kafka.alerts.jsonl" >"$TMP/kafka.records"
same_lines "$TMP/pipe.records" "$TMP/kafka.records" || fail "alert records over Kafka differ from those over pipes"
same_lines "$TMP/pipe.txt" "$TMP/kafka.txt" || fail "the file target got other lines over Kafka"
[ "$(wc -l <"$TMP/pipe.txt")" -eq "$na" ] || fail "the file target got $(wc -l <"$TMP/pipe.txt") lines for $na alerts"
ids 'select(.type == "delivery" and .status == "sent") | .alert_id' "$TMP/pipe.deliveries.jsonl" >"$TMP/pipe.sent"
ids 'select(.type == "delivery" and .status == "sent") | .alert_id' "$TMP/kafka.deliveries.jsonl" >"$TMP/kafka.sent"
same_lines "$TMP/pipe.ids" "$TMP/pipe.sent" || fail "over pipes, not every alert was sent once"
same_lines "$TMP/kafka.ids" "$TMP/kafka.sent" || fail "over Kafka, not every alert was sent once"

step "the same final watch states; the late quotes were ignored on both paths"
# A state file is a snapshot and a journal of changes: a watch's last line is its state.
final_states() { tac "$1" | jq -c 'select(.type == "watch_state")' | awk -F'"' '!seen[$8 "|" $12]++'; }
final_states "$TMP/pipe.state" >"$TMP/pipe.final"
final_states "$TMP/kafka.state" >"$TMP/kafka.final"
same_lines "$TMP/pipe.final" "$TMP/kafka.final" || fail "final watch states differ"
for f in pipe-alert kafka-alert; do
  n=$(sed -n 's/.* \([0-9][0-9]*\) out of order, .*/\1/p' "$TMP/$f.err")
  [ "$n" = "$nlate_watched" ] || fail "$f: ${n:-no} quote(s) ignored as out of order, want $nlate_watched"
done
# Without the late quotes, the alerts are the same: they changed nothing.
"$SW_BIN/stock-alert" --watches "$TMP/watches.jsonl" --state "$TMP/nolate.state" \
  <"$TMP/sim.jsonl" 2>/dev/null | jq -r .id | LC_ALL=C sort >"$TMP/nolate.ids"
same_lines "$TMP/pipe.ids" "$TMP/nolate.ids" || fail "the late quotes changed the alerts"

echo "PASS: $TEST_NAME ($nq quotes, $na alerts, seed $SEED)"
