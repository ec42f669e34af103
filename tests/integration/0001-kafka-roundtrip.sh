#!/usr/bin/env bash
# 10,000 quotes through a Kafka topic and back: nothing lost, nothing
# duplicated, and the records of each ticker (the message key) in order.
set -euo pipefail
# shellcheck source=tests/lib/kafka.sh
. "$(dirname "$0")/../lib/kafka.sh"
require_brokers

topic=$(unique_name topic)
group=$(unique_name group)

step "generating 10000 quotes"
gen_quotes 10000 "$T/in.jsonl"
# What the consumer must give back: the records as sw_cat --validate writes them.
"$SW_CAT" --validate -i "$T/in.jsonl" -o "$T/expected.jsonl" ||
  die "sw_cat --validate file to file failed"
[ "$(wc -l <"$T/expected.jsonl")" -eq 10000 ] || die "expected 10000 validated records"

step "producing them to kafka:$topic (key: ticker)"
"$SW_CAT" --validate -i "$T/in.jsonl" -o "kafka:$topic" -b "$BROKERS" ||
  die "producing to kafka:$topic failed (exit $?)"

step "consuming kafka:$topic in group $group until every partition is at its end"
rc=0
timeout 180 "$SW_CAT" -i "kafka:$topic" -o "$T/out.jsonl" -b "$BROKERS" -G "$group" \
  --exit-at-eof "${GROUP_X[@]}" || rc=$?
[ "$rc" -eq 0 ] || die "consumer exited $rc"

step "checking the consumed records equal the produced ones (as sorted sets)"
got=$(wc -l <"$T/out.jsonl")
[ "$got" -eq 10000 ] || die "consumed $got records, want 10000"
same_lines "$T/expected.jsonl" "$T/out.jsonl" || die "consumed records differ from produced ones"

step "checking the records of each ticker kept their order"
check_key_order "$T/out.jsonl" || die "per-key order broken"

step "checking the records were spread over several partitions"
# Otherwise the order check above would prove nothing.
parts=$(grep -c . <(kcat -C -b "$BROKERS" -t "$topic" -o beginning -e -q -f '%p\n' | sort -u))
[ "$parts" -ge 2 ] || die "all records landed in $parts partition(s)"

step "checking the same group has nothing left to read (offsets committed)"
rc=0
timeout 180 "$SW_CAT" -i "kafka:$topic" -o "$T/again.jsonl" -b "$BROKERS" -G "$group" \
  --exit-at-eof "${GROUP_X[@]}" || rc=$?
[ "$rc" -eq 0 ] || die "second consumer exited $rc"
[ ! -s "$T/again.jsonl" ] || die "second run of group $group re-read $(wc -l <"$T/again.jsonl") record(s)"

finish
