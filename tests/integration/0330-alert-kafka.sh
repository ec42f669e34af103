#!/usr/bin/env bash
# stock-alert over Kafka: quotes keyed by ticker in, alerts keyed by email
# out, the same alerts as a file run; killed (-9) mid-stream and restarted,
# nothing is missed and nothing but exact duplicates (same id) is repeated.
# Needs STOCKWATCH_TEST_BROKERS (a mock cluster; `make test` starts one).
source "$(dirname "$0")/../lib/common.sh"
require_env STOCKWATCH_TEST_BROKERS
BS=$STOCKWATCH_TEST_BROKERS
GX=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
id="$(date +%s%N)-$$"
qt="sw-alert-q-$id" at="sw-alert-a-$id" group="sw-alert-g-$id"

$PY - "$T" <<'PY'
import random, sys
d = sys.argv[1]
random.seed(11)
p = {t: 100.0 for t in ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"]}
with open(d + "/quotes.jsonl", "w") as f:
    for i in range(4000):
        t = random.choice(sorted(p))
        p[t] = max(1.0, p[t] * (1 + random.gauss(0, 0.01)))
        f.write('{"type":"quote","ticker":"%s","price":%.2f,"ts":"2026-11-27T%02d:%02d:%02dZ"}\n'
                % (t, p[t], 10 + i // 3600, i // 60 % 60, i % 60))
with open(d + "/watches.jsonl", "w") as f:
    for n, t in enumerate(sorted(p)):
        for u in range(3):
            f.write('{"type":"watch","email":"u%d@example.com","ticker":"%s","low":%d,"high":%d}\n'
                    % (u, t, 96 - u - n % 3, 104 + u + n % 3))
PY
head -n 2000 "$T/quotes.jsonl" > "$T/batch1.jsonl"
tail -n +2001 "$T/quotes.jsonl" > "$T/batch2.jsonl"
stock-alert --watches "$T/watches.jsonl" -i "$T/quotes.jsonl" -o "$T/expected.jsonl"
stock-alert --watches "$T/watches.jsonl" -i "$T/batch1.jsonl" -o "$T/expected1.jsonl"
n_all=$(wc -l < "$T/expected.jsonl")
n1=$(wc -l < "$T/expected1.jsonl")
check "the stream alerts in both batches ($n1 + $((n_all - n1)))" test "$n1" -ge 10 -a "$n_all" -gt "$n1"

# Watches in the store, as a service would have them.
stockctl init > /dev/null
for u in 0 1 2; do stockctl user add "u$u@example.com" > /dev/null; done
jq -r '"\(.email) \(.ticker) \(.low) \(.high)"' "$T/watches.jsonl" | while read -r e t lo hi; do
  stockctl watch add "$e" "$t" --low "$lo" --high "$hi" > /dev/null
done

sw_cat --validate -i "$T/batch1.jsonl" -o "kafka:$qt" -b "$BS"
stock-alert -i "kafka:$qt" -o "kafka:$at" -b "$BS" -G "$group" "${GX[@]}" 2> "$T/run1.err" &
pid=$!
on_exit "kill -9 $pid 2>/dev/null"
alerts_in_topic() { kcat -C -b "$BS" -t "$at" -o beginning -e -q 2>/dev/null | wc -l; }
enough() { [ "$(alerts_in_topic)" -ge "$n1" ]; }
wait_for "batch 1's $n1 alerts in kafka:$at" 60 enough || true
kill -9 "$pid"
wait "$pid" 2> /dev/null || true

sw_cat --validate -i "$T/batch2.jsonl" -o "kafka:$qt" -b "$BS"
code=0
timeout 120 stock-alert -i "kafka:$qt" -o "kafka:$at" -b "$BS" -G "$group" "${GX[@]}" --exit-at-eof \
  2> "$T/run2.err" || code=$?
expect_eq "the restarted consumer reads to the end and exits 0" 0 "$code"

kcat -C -b "$BS" -t "$at" -o beginning -e -q -f '%k\t%s\n' > "$T/got.tsv"
cut -f2- "$T/got.tsv" > "$T/got.jsonl"
check "every alert is keyed by its email" \
  test "$(jq -r .email "$T/got.jsonl" | paste -d'\t' - <(cut -f1 "$T/got.tsv") | awk -F'\t' '$1 != $2' | wc -l)" -eq 0
if diff <(sort -u "$T/expected.jsonl") <(sort -u "$T/got.jsonl") > "$T/diff"; then
  pass "after the crash: every alert of a file run, and no other ($n_all distinct; $(wc -l < "$T/got.jsonl") with redeliveries)"
else
  fail "alerts over Kafka differ from a file run:"
  head -n 20 "$T/diff" >&2
fi
dups=$(jq -r .id "$T/got.jsonl" | sort | uniq -d | wc -l)
distinct_lines=$(sort -u "$T/got.jsonl" | wc -l)
distinct_ids=$(jq -r .id "$T/got.jsonl" | sort -u | wc -l)
expect_eq "a repeated alert is an exact duplicate (same id, same record; $dups repeated)" \
  "$distinct_ids" "$distinct_lines"
finish
