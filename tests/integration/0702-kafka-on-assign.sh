#!/usr/bin/env bash
# Source::set_on_assign over Kafka (what stock-alert reloads its edge states
# with): with eager (range,roundrobin) and cooperative (cooperative-sticky)
# rebalancing, a consumer's hook runs at every assignment of partitions and
# before any record of them: two `sw_cat --mark-assign` in one group write a
# marker record from the hook, and each output starts with one; as many
# markers as non-empty assignments logged; a member leaving hands its
# partitions to the other (one more marker there); no record lost.
set -euo pipefail
# shellcheck source=tests/lib/kafka.sh
. "$(dirname "$0")/../lib/kafka.sh"
require_brokers

markers() { grep -c '"type":"x-assigned"' "$@" || true; }
records() { grep -v '"type":"x-assigned"' "$@" || true; }
assignments() { grep -Ec 'assigned partition\(s\) [0-9]' "$1" || true; }
# have_all N: A and B together wrote N distinct records (of round $n).
have_all() { [ "$(cat "$T/a.$n.out" "$T/b.$n.out" | records | LC_ALL=C sort -u | wc -l)" -ge "$1" ]; }
# wait_until SECONDS PID COMMAND...: polls COMMAND while PID lives.
wait_until() {
  local secs=$1 pid=$2
  shift 2
  for _ in $(seq $((secs * 10))); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

n=0
for strategy in range,roundrobin cooperative-sticky; do
  n=$((n + 1))
  topic=$(unique_name "topic$n")
  group=$(unique_name "group$n")
  X=("${GROUP_X[@]}" -X "partition.assignment.strategy=$strategy")
  # Keyed by ticker (--validate) so that both halves spread over all partitions;
  # what the consumers give back is the validated form.
  gen_quotes 9000 "$T/raw.$n.jsonl"
  "$SW_CAT" --validate -i "$T/raw.$n.jsonl" -o "$T/all.$n.jsonl" || die "sw_cat --validate failed"
  sed -n '1,3000p' "$T/all.$n.jsonl" >"$T/in1.$n.jsonl"
  sed -n '3001,6000p' "$T/all.$n.jsonl" >"$T/in2.$n.jsonl"
  sed -n '6001,9000p' "$T/all.$n.jsonl" >"$T/in3.$n.jsonl"

  step "$strategy: 3000 records, consumer A alone in group $group"
  "$SW_CAT" --validate -i "$T/in1.$n.jsonl" -o "kafka:$topic" -b "$BROKERS" || die "producing failed"
  "$SW_CAT" -v --mark-assign -i "kafka:$topic" -o "$T/a.$n.out" -b "$BROKERS" -G "$group" "${X[@]}" \
    2>"$T/a.$n.err" &
  a=$!
  kill_on_exit "$a"
  wait_lines "$T/a.$n.out" 1 "$a" || die "A read nothing: $(tail -n 3 "$T/a.$n.err")"
  [ "$(head -n 1 "$T/a.$n.out" | grep -c x-assigned)" -eq 1 ] ||
    die "A's first output is a record, not the assignment marker"

  step "$strategy: consumer B joins; 3000 more records"
  "$SW_CAT" -v --mark-assign -i "kafka:$topic" -o "$T/b.$n.out" -b "$BROKERS" -G "$group" "${X[@]}" \
    2>"$T/b.$n.err" &
  b=$!
  kill_on_exit "$b"
  b_assigned() { [ "$(assignments "$T/b.$n.err")" -gt 0 ]; }
  wait_until 60 "$b" b_assigned || die "B got no partitions: $(tail -n 3 "$T/b.$n.err")"
  # (Its marker reaches the file with the first records it flushes.)
  "$SW_CAT" --validate -i "$T/in2.$n.jsonl" -o "kafka:$topic" -b "$BROKERS" || die "producing failed"
  wait_until 60 "$a" have_all 6000 || die "A and B did not read all 6000 records"
  [ "$(records "$T/b.$n.out" | wc -l)" -gt 0 ] || die "B read no record: the group did not split"
  [ "$(head -n 1 "$T/b.$n.out" | grep -c x-assigned)" -eq 1 ] ||
    die "B's first output is a record, not the assignment marker"

  step "$strategy: B leaves (SIGTERM); A takes its partitions; 3000 more records"
  before=$(assignments "$T/a.$n.err")
  kill -TERM "$b"
  rc=0
  wait "$b" || rc=$?
  [ "$rc" -eq 0 ] || die "B exited $rc on SIGTERM"
  more_assigned() { [ "$(assignments "$T/a.$n.err")" -gt "$before" ]; }
  wait_until 60 "$a" more_assigned || die "A was not assigned B's partitions"
  "$SW_CAT" --validate -i "$T/in3.$n.jsonl" -o "kafka:$topic" -b "$BROKERS" || die "producing failed"
  wait_until 60 "$a" have_all 9000 || die "A and B did not read all 9000 records"
  # The last 3000 came after B left, from every partition: after A's last marker.
  last=$(awk '/"type":"x-assigned"/ { n = FNR } END { print n + 0 }' "$T/a.$n.out")
  first3=$(awk 'NR == FNR { want[$0] = 1; next } ($0 in want) { print FNR; exit }' \
    "$T/in3.$n.jsonl" "$T/a.$n.out")
  if [ -z "$first3" ] || [ "$last" -ge "$first3" ]; then
    die "A's hook did not run before the records of the partitions it took over (last marker at line $last, first such record at ${first3:-none})"
  fi
  kill -TERM "$a"
  rc=0
  wait "$a" || rc=$?
  [ "$rc" -eq 0 ] || die "A exited $rc on SIGTERM"

  step "$strategy: one marker per non-empty assignment; nothing lost"
  for c in a b; do
    m=$(markers "$T/$c.$n.out")
    l=$(assignments "$T/$c.$n.err")
    [ "$m" -eq "$l" ] || die "$c: $m marker(s) for $l assignment(s) logged"
  done
  cat "$T/a.$n.out" "$T/b.$n.out" | records | LC_ALL=C sort -u >"$T/got.$n"
  same_lines "$T/all.$n.jsonl" "$T/got.$n" || die "records lost or changed"
  step "$strategy: A $(markers "$T/a.$n.out") assignment(s), B $(markers "$T/b.$n.out")"
done

finish
