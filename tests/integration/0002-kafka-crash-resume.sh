#!/usr/bin/env bash
# A consumer commits after its first 5000 of 10,000 records and is then
# killed with SIGKILL; a restart in the same group must get exactly the
# records that were not committed: none lost, no committed one repeated.
set -euo pipefail
# shellcheck source=tests/services/testlib.bash
. "$(dirname "$0")/../services/testlib.bash"
require_brokers
setup_tmp

topic=$(unique_name topic)
group=$(unique_name group)

step "producing 10000 quotes to kafka:$topic"
gen_quotes 10000 "$TMP/in.jsonl"
"$SW_CAT" --validate -i "$TMP/in.jsonl" -o "$TMP/all.jsonl" || fail "sw_cat --validate failed"
"$SW_CAT" -i "$TMP/all.jsonl" -o "kafka:$topic" -b "$BROKERS" || fail "producing failed"

step "run 1: consuming in group $group, committing once after 5000 records"
"$SW_CAT" -i "kafka:$topic" -o "$TMP/run1.jsonl" -b "$BROKERS" -G "$group" \
  --commit-limit 5000 "${GROUP_X[@]}" 2>"$TMP/run1.err" &
pid=$!
BG_PIDS+=("$pid")
wait_lines "$TMP/run1.jsonl" 5000 "$pid" || {
  cat "$TMP/run1.err" >&2
  fail "run 1 did not output more than 5000 records"
}

step "run 1: kill -9 after $(wc -l <"$TMP/run1.jsonl") records out"
{ kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true

step "run 2: restarting in the same group until every partition is at its end"
rc=0
timeout 180 "$SW_CAT" -i "kafka:$topic" -o "$TMP/run2.jsonl" -b "$BROKERS" -G "$group" \
  --exit-at-eof "${GROUP_X[@]}" 2>"$TMP/run2.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$TMP/run2.err" >&2; fail "run 2 exited $rc"; }

head -n 5000 "$TMP/run1.jsonl" >"$TMP/committed.jsonl"
got=$(wc -l <"$TMP/run2.jsonl")
step "checking run 2 got exactly the 5000 records not committed by run 1 (got $got)"
if [ -n "$(LC_ALL=C comm -12 <(LC_ALL=C sort "$TMP/committed.jsonl") <(LC_ALL=C sort "$TMP/run2.jsonl"))" ]; then
  fail "run 2 re-read records that run 1 had committed"
fi
cat "$TMP/committed.jsonl" "$TMP/run2.jsonl" >"$TMP/union.jsonl"
same_lines "$TMP/all.jsonl" "$TMP/union.jsonl" ||
  fail "the first 5000 of run 1 plus run 2 are not the 10000 records produced"
[ "$got" -eq 5000 ] || fail "run 2 got $got records, want 5000"

echo "PASS: $TEST_NAME"
