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
# shellcheck source=tests/lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
require_brokers
require_bins stock-collect stock-alert stock-notify kafka_offsets
for tool in kcat jq; do command -v "$tool" >/dev/null || die "$tool is not installed"; done

SEED=${E2E_SEED:-$((RANDOM % 1000 + 1))}
step "quotes and watches (sim seed $SEED)"
make_watch_records "$SEED" "$T/watches.txt"
watch_records_to_json "$T/watches.txt" >"$T/watches.jsonl"
"$SW_BIN/stock-collect" --no-store --source sim --seed "$SEED" --count 250 \
  --tickers "$E2E_TICKERS,UNWATCHED" --sim-start 2026-01-01T00:00:00Z >"$T/sim.jsonl" ||
  die "stock-collect sim failed"
# Every 97th quote comes again 40 lines (4 to 5 cycles) later, 5 minutes
# late: older than the newest quote of its ticker.
awk 'NR % 97 == 0' "$T/sim.jsonl" | jq -c '.ts |= (fromdateiso8601 - 300 | todate)' >"$T/late.jsonl"
awk -v out="$T/late.inserted" 'NR == FNR { late[FNR * 97 + 40] = $0; next }
  { print } (FNR in late) { print late[FNR]; print late[FNR] > out }' \
  "$T/late.jsonl" "$T/sim.jsonl" >"$T/quotes.jsonl"
nlate=$(wc -l <"$T/late.inserted")
# Those of the unwatched ticker count as such, not as out of order.
nlate_watched=$(grep -vc '"UNWATCHED"' "$T/late.inserted" || true)
[ "$nlate_watched" -ge 10 ] || die "only $nlate_watched late quotes of watched tickers"
nq=$(wc -l <"$T/quotes.jsonl")
[ "$nq" -eq $((2250 + nlate)) ] || die "expected $((2250 + nlate)) quotes, got $nq"

# ---------------------------------------------------------------- pipes
step "over pipes: stock-collect --source replay | stock-alert | stock-notify --to file:"
"$SW_BIN/stock-collect" --no-store --source "replay:$T/quotes.jsonl" 2>"$T/pipe-collect.err" |
  "$SW_BIN/stock-alert" -v --watches "$T/watches.jsonl" --state "$T/pipe.state" 2>"$T/pipe-alert.err" |
  tee "$T/pipe.alerts.jsonl" |
  "$SW_BIN/stock-notify" --db "sqlite:$T/pipe.db" --to "file:$T/pipe.txt" \
    >"$T/pipe.deliveries.jsonl" 2>"$T/pipe-notify.err" ||
  die "the pipeline failed (exit codes ${PIPESTATUS[*]}): $(cat "$T"/pipe-*.err)"

# ---------------------------------------------------------------- Kafka
QUOTES=$(unique_name quotes)
ALERTS=$(unique_name alerts)
step "over Kafka: stock-collect -o kafka:$QUOTES"
"$SW_BIN/stock-collect" --no-store --source "replay:$T/quotes.jsonl" -o "kafka:$QUOTES" \
  -b "$BROKERS" 2>"$T/kafka-collect.err" || die "stock-collect to Kafka failed: $(cat "$T/kafka-collect.err")"
[ "$(topic_size "$QUOTES")" -eq "$nq" ] || die "$QUOTES holds $(topic_size "$QUOTES") quotes, want $nq"
step "stock-alert -i kafka:$QUOTES -o kafka:$ALERTS --exit-at-eof"
rc=0
timeout 180 "$SW_BIN/stock-alert" -v -i "kafka:$QUOTES" -o "kafka:$ALERTS" -b "$BROKERS" \
  -G "$(unique_name g-alert)" "${GROUP_X[@]}" --exit-at-eof \
  --watches "$T/watches.jsonl" --state "$T/kafka.state" 2>"$T/kafka-alert.err" || rc=$?
[ "$rc" -eq 0 ] || die "stock-alert over Kafka exited $rc: $(tail -n 3 "$T/kafka-alert.err")"
step "stock-notify -i kafka:$ALERTS --to file: --exit-at-eof"
rc=0
timeout 180 "$SW_BIN/stock-notify" -i "kafka:$ALERTS" -b "$BROKERS" -G "$(unique_name g-notify)" \
  "${GROUP_X[@]}" --exit-at-eof --db "sqlite:$T/kafka.db" --to "file:$T/kafka.txt" \
  >"$T/kafka.deliveries.jsonl" 2>"$T/kafka-notify.err" || rc=$?
[ "$rc" -eq 0 ] || die "stock-notify over Kafka exited $rc: $(tail -n 3 "$T/kafka-notify.err")"
dump_topic "$ALERTS" "$T/kafka.alerts.jsonl"

# ---------------------------------------------------------------- checks
na=$(wc -l <"$T/pipe.alerts.jsonl")
step "checking: $nq quotes gave $na alerts over pipes"
[ "$na" -ge 50 ] || die "only $na alerts over pipes: the bands are not crossed enough to test anything"
ids() { jq -r "$1" "$2" | LC_ALL=C sort; }
ids .id "$T/pipe.alerts.jsonl" >"$T/pipe.ids"
ids .id "$T/kafka.alerts.jsonl" >"$T/kafka.ids"
[ -z "$(uniq -d "$T/pipe.ids")" ] || die "two alerts with one id over pipes"
same_lines "$T/pipe.ids" "$T/kafka.ids" || die "alert ids over Kafka differ from those over pipes"

step "the same alert records (contents), the same file target lines, the same deliveries"
jq -cS . "$T/pipe.alerts.jsonl" >"$T/pipe.records"
jq -cS . "$T/kafka.alerts.jsonl" >"$T/kafka.records"
same_lines "$T/pipe.records" "$T/kafka.records" || die "alert records over Kafka differ from those over pipes"
same_lines "$T/pipe.txt" "$T/kafka.txt" || die "the file target got other lines over Kafka"
[ "$(wc -l <"$T/pipe.txt")" -eq "$na" ] || die "the file target got $(wc -l <"$T/pipe.txt") lines for $na alerts"
ids 'select(.type == "delivery" and .status == "sent") | .alert_id' "$T/pipe.deliveries.jsonl" >"$T/pipe.sent"
ids 'select(.type == "delivery" and .status == "sent") | .alert_id' "$T/kafka.deliveries.jsonl" >"$T/kafka.sent"
same_lines "$T/pipe.ids" "$T/pipe.sent" || die "over pipes, not every alert was sent once"
same_lines "$T/kafka.ids" "$T/kafka.sent" || die "over Kafka, not every alert was sent once"

step "the same final watch states; the late quotes were ignored on both paths"
# A state file is a snapshot and a journal of changes: a watch's last line is its state.
final_states() { tac "$1" | jq -c 'select(.type == "watch_state")' | awk -F'"' '!seen[$8 "|" $12]++'; }
final_states "$T/pipe.state" >"$T/pipe.final"
final_states "$T/kafka.state" >"$T/kafka.final"
same_lines "$T/pipe.final" "$T/kafka.final" || die "final watch states differ"
for f in pipe-alert kafka-alert; do
  n=$(sed -n 's/.* \([0-9][0-9]*\) out of order, .*/\1/p' "$T/$f.err")
  [ "$n" = "$nlate_watched" ] || die "$f: ${n:-no} quote(s) ignored as out of order, want $nlate_watched"
done
# Without the late quotes, the alerts are the same: they changed nothing.
"$SW_BIN/stock-alert" --watches "$T/watches.jsonl" --state "$T/nolate.state" \
  <"$T/sim.jsonl" 2>/dev/null | jq -r .id | LC_ALL=C sort >"$T/nolate.ids"
same_lines "$T/pipe.ids" "$T/nolate.ids" || die "the late quotes changed the alerts"

step "$nq quotes, $na alerts, seed $SEED"
finish
