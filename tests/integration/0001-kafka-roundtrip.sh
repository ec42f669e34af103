#!/usr/bin/env bash
# 10,000 quotes through a Kafka topic and back: nothing lost, nothing
# duplicated, and the records of each ticker (the message key) in order.
set -euo pipefail
# shellcheck source=tests/services/testlib.bash
. "$(dirname "$0")/../services/testlib.bash"
require_brokers
setup_tmp

topic=$(unique_name topic)
group=$(unique_name group)

step "generating 10000 quotes"
gen_quotes 10000 "$TMP/in.jsonl"
# What the consumer must give back: the records as sw_cat --validate writes them.
"$SW_CAT" --validate -i "$TMP/in.jsonl" -o "$TMP/expected.jsonl" ||
  fail "sw_cat --validate file to file failed"
[ "$(wc -l <"$TMP/expected.jsonl")" -eq 10000 ] || fail "expected 10000 validated records"

step "producing them to kafka:$topic (key: ticker)"
"$SW_CAT" --validate -i "$TMP/in.jsonl" -o "kafka:$topic" -b "$BROKERS" ||
  fail "producing to kafka:$topic failed (exit $?)"

step "consuming kafka:$topic in group $group until every partition is at its end"
rc=0
timeout 180 "$SW_CAT" -i "kafka:$topic" -o "$TMP/out.jsonl" -b "$BROKERS" -G "$group" \
  --exit-at-eof "${GROUP_X[@]}" || rc=$?
[ "$rc" -eq 0 ] || fail "consumer exited $rc"

step "checking the consumed records equal the produced ones (as sorted sets)"
got=$(wc -l <"$TMP/out.jsonl")
[ "$got" -eq 10000 ] || fail "consumed $got records, want 10000"
same_lines "$TMP/expected.jsonl" "$TMP/out.jsonl" || fail "consumed records differ from produced ones"

step "checking the records of each ticker kept their order"
check_key_order "$TMP/out.jsonl" || fail "per-key order broken"

step "checking the records were spread over several partitions"
# Otherwise the order check above would prove nothing.
parts=$(grep -c . <(kcat -C -b "$BROKERS" -t "$topic" -o beginning -e -q -f '%p\n' | sort -u))
[ "$parts" -ge 2 ] || fail "all records landed in $parts partition(s)"

step "checking the same group has nothing left to read (offsets committed)"
rc=0
timeout 180 "$SW_CAT" -i "kafka:$topic" -o "$TMP/again.jsonl" -b "$BROKERS" -G "$group" \
  --exit-at-eof "${GROUP_X[@]}" || rc=$?
[ "$rc" -eq 0 ] || fail "second consumer exited $rc"
[ ! -s "$TMP/again.jsonl" ] || fail "second run of group $group re-read $(wc -l <"$TMP/again.jsonl") record(s)"

echo "PASS: $TEST_NAME"
