#!/usr/bin/env bash
# A consumer commits after its first 5000 of 10,000 records and is then
# killed with SIGKILL; a restart in the same group must get exactly the
# records that were not committed: none lost, no committed one repeated.
set -euo pipefail
# shellcheck source=tests/lib/kafka.sh
. "$(dirname "$0")/../lib/kafka.sh"
require_brokers

topic=$(unique_name topic)
group=$(unique_name group)

step "producing 10000 quotes to kafka:$topic"
gen_quotes 10000 "$T/in.jsonl"
"$SW_CAT" --validate -i "$T/in.jsonl" -o "$T/all.jsonl" || die "sw_cat --validate failed"
"$SW_CAT" -i "$T/all.jsonl" -o "kafka:$topic" -b "$BROKERS" || die "producing failed"

step "run 1: consuming in group $group, committing once after 5000 records"
"$SW_CAT" -i "kafka:$topic" -o "$T/run1.jsonl" -b "$BROKERS" -G "$group" \
  --commit-limit 5000 "${GROUP_X[@]}" 2>"$T/run1.err" &
pid=$!
kill_on_exit "$pid"
wait_lines "$T/run1.jsonl" 5000 "$pid" || {
  cat "$T/run1.err" >&2
  die "run 1 did not output more than 5000 records"
}

step "run 1: kill -9 after $(wc -l <"$T/run1.jsonl") records out"
{ kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true

step "run 2: restarting in the same group until every partition is at its end"
rc=0
timeout 180 "$SW_CAT" -i "kafka:$topic" -o "$T/run2.jsonl" -b "$BROKERS" -G "$group" \
  --exit-at-eof "${GROUP_X[@]}" 2>"$T/run2.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/run2.err" >&2; die "run 2 exited $rc"; }

head -n 5000 "$T/run1.jsonl" >"$T/committed.jsonl"
got=$(wc -l <"$T/run2.jsonl")
step "checking run 2 got exactly the 5000 records not committed by run 1 (got $got)"
if [ -n "$(LC_ALL=C comm -12 <(LC_ALL=C sort "$T/committed.jsonl") <(LC_ALL=C sort "$T/run2.jsonl"))" ]; then
  die "run 2 re-read records that run 1 had committed"
fi
cat "$T/committed.jsonl" "$T/run2.jsonl" >"$T/union.jsonl"
same_lines "$T/all.jsonl" "$T/union.jsonl" ||
  die "the first 5000 of run 1 plus run 2 are not the 10000 records produced"
[ "$got" -eq 5000 ] || die "run 2 got $got records, want 5000"

finish
