#!/usr/bin/env bash
# --request-id: a repeat prints the same output and exit code and
# changes nothing; 8 processes racing with one id make exactly one effect and
# 8 identical outcomes. Runs on SQLite; tests/integration/0102-stockctl-pg.sh
# runs it again with SW_STOCKCTL_DB pointing at PostgreSQL.
source "$(dirname "$0")/../lib/common.sh"
if [ -n "${SW_STOCKCTL_DB:-}" ]; then export STOCKWATCH_DB=$SW_STOCKCTL_DB; fi

# run NAME ARGS...: stdout to $T/NAME.out, stderr to $T/NAME.err, code to $T/NAME.rc
run() {
  local name=$1; shift
  local rc=0
  stockctl "$@" > "$T/$name.out" 2> "$T/$name.err" || rc=$?
  echo "$rc" > "$T/$name.rc"
}
same_outcome() {  # DESCRIPTION A B
  expect_eq "$1: same stdout" "$(cat "$T/$2.out")" "$(cat "$T/$3.out")"
  expect_eq "$1: same stderr" "$(cat "$T/$2.err")" "$(cat "$T/$3.err")"
  expect_eq "$1: same exit code" "$(cat "$T/$2.rc")" "$(cat "$T/$3.rc")"
}

stockctl init > /dev/null

# Twice in a row: one user, the same output.
run a1 user add alice@example.com --request-id add-alice
run a2 user add alice@example.com --request-id add-alice
same_outcome "user add repeated" a1 a2
expect_eq "first add succeeded" 0 "$(cat "$T/a1.rc")"
expect_eq "the output is the first one" "added user alice@example.com" "$(cat "$T/a2.out")"
expect_eq "one user" 1 "$(stockctl user ls --json | wc -l)"
# Without the id the same command is a new request: it fails (65).
expect_code "user add without the id" 65 stockctl user add alice@example.com

# The id from the environment; --json on the repeat does not change the
# stored output.
STOCKWATCH_REQUEST_ID=watch-1 run w1 watch add alice@example.com AAPL --low 150 --high 200
STOCKWATCH_REQUEST_ID=watch-1 run w2 --json watch add alice@example.com AAPL --low 150 --high 200
same_outcome "watch add repeated (env id)" w1 w2
expect_eq "one watch" 1 "$(stockctl watch ls --json | wc -l)"

# An update repeated after another change does not undo that change.
run s1 --request-id set-1 watch set alice@example.com AAPL --high 210
stockctl watch set alice@example.com AAPL --high 220 > /dev/null
run s2 --request-id set-1 watch set alice@example.com AAPL --high 210
same_outcome "watch set repeated" s1 s2
expect_eq "the later change stays" 220 "$(stockctl watch ls --json | jq .high)"

# A failure is an outcome too: repeated, it fails the same way, even when
# it would succeed now (bob's telegram id 5 is taken, then freed).
stockctl user add tmp@example.com --telegram-id 5 > /dev/null
run f1 --request-id add-bob-bad user add bob@example.com --telegram-id 5
stockctl user rm tmp@example.com > /dev/null
run f2 --request-id add-bob-bad user add bob@example.com --telegram-id 5
same_outcome "failed request repeated" f1 f2
expect_eq "the failure is 65" 65 "$(cat "$T/f1.rc")"
check "the failure names the field" grep -q "telegram_id" "$T/f2.err"
expect_eq "bob was not added" "" "$(stockctl user ls --json | jq -r 'select(.email=="bob@example.com") | .email')"

# user rm repeated after the user came back: the second rm does nothing.
run r1 --request-id rm-alice user rm alice@example.com
stockctl user add alice@example.com > /dev/null
run r2 --request-id rm-alice user rm alice@example.com
same_outcome "user rm repeated" r1 r2
expect_eq "alice (re-added) is still there" 1 "$(stockctl user ls --json | grep -c alice)"

# 8 processes at once with one id: one effect, 8 identical outcomes.
for i in 1 2 3 4 5 6 7 8; do
  run "race$i" --request-id race-1 --json user add dave@example.com --telegram-id 4242 &
done
wait
for i in 2 3 4 5 6 7 8; do same_outcome "racer $i" race1 "race$i"; done
expect_eq "the race succeeded" 0 "$(cat "$T/race1.rc")"
expect_eq "the race's output is the record" '{"type":"user","email":"dave@example.com","telegram_id":4242,"interval":0}' \
  "$(cat "$T/race1.out")"
expect_eq "exactly one dave" 1 "$(stockctl user ls --json | grep -c dave)"

# 8 processes with 8 ids adding watches for the same user at once: each is
# its own request, all succeed (no lost writes, no busy errors).
for i in 1 2 3 4 5 6 7 8; do
  run "many$i" --request-id "many-$i" watch add dave@example.com "T$i" --low "$i" &
done
wait
for i in 1 2 3 4 5 6 7 8; do expect_eq "concurrent request $i" 0 "$(cat "$T/many$i.rc")"; done
expect_eq "8 watches" 8 "$(stockctl watch ls --email dave@example.com --json | wc -l)"

# Queries take an id too: the repeat prints the first answer.
run q1 --request-id q-1 watch ls --email dave@example.com
stockctl watch rm dave@example.com T1 > /dev/null
run q2 --request-id q-1 watch ls --email dave@example.com
same_outcome "query repeated" q1 q2
# An id is bound to the request it was given with: the same id with another
# command or other arguments exits 65 and changes nothing.
export STOCKWATCH_REQUEST_ID=abc
run b1 user add a@example.com
run b2 user add b@example.com
run b3 watch add b@example.com AAPL
run b4 watch add a@example.com AAPL --low 1
run b5 user add a@example.com
unset STOCKWATCH_REQUEST_ID
expect_eq "the first request ran" "added user a@example.com" "$(cat "$T/b1.out")"
for r in b2 b3 b4; do
  expect_eq "$r: another request with id abc is refused" 65 "$(cat "$T/$r.rc")"
  expect_eq "$r: prints nothing" "" "$(cat "$T/$r.out")"
  expect_eq "$r: says why" "stockctl: request id abc was used for a different request" \
    "$(cat "$T/$r.err")"
done
same_outcome "the same request again" b1 b5
expect_eq "b was never created" "" "$(stockctl user ls --json | jq -r 'select(.email=="b@example.com") | .email')"
expect_eq "a has no watch" 0 "$(stockctl watch ls --email a@example.com --json | wc -l)"
# Another request with a refused id did not take the id over.
run b6 --request-id abc user add a@example.com
same_outcome "the id still answers its first request" b1 b6

# quote ingest: the fingerprint covers the input's bytes, from a file or a pipe.
echo '{"type":"quote","ticker":"QQ","price":1,"ts":"2024-01-02T15:00:00Z"}' > "$T/q1.jsonl"
echo '{"type":"quote","ticker":"QQ","price":2,"ts":"2024-01-02T15:01:00Z"}' > "$T/q2.jsonl"
run i1 quote ingest "$T/q1.jsonl" --request-id ing1
run i2 quote ingest "$T/q2.jsonl" --request-id ing1
expect_eq "ingest: first stored" "stored 1 quote" "$(cat "$T/i1.out")"
expect_eq "ingest: other input with the same id is refused" 65 "$(cat "$T/i2.rc")"
check "ingest: says why" grep -q "request id ing1 was used for a different request" "$T/i2.err"
expect_eq "ingest: q2 was not stored" 1 "$(stockctl quote last QQ --json | jq .price)"
rc=0; stockctl quote ingest --request-id ing1 < "$T/q1.jsonl" > "$T/i3.out" 2> "$T/i3.err" || rc=$?
echo "$rc" > "$T/i3.rc"
same_outcome "ingest: the same bytes on stdin are the same request" i1 i3
rc=0; cat "$T/q1.jsonl" | stockctl quote ingest --request-id ing1 > "$T/i4.out" 2> "$T/i4.err" || rc=$?
echo "$rc" > "$T/i4.rc"
same_outcome "ingest: the same bytes through a pipe are the same request" i1 i4
rc=0; cat "$T/q2.jsonl" | stockctl quote ingest --request-id ing2 > "$T/i5.out" 2> "$T/i5.err" || rc=$?
expect_eq "ingest from a pipe with a new id stores it" "stored 1 quote" "$(cat "$T/i5.out")"
expect_eq "ingest from a pipe: q2 stored" 2 "$(stockctl quote last QQ --json | jq .price)"

# An outcome stored by a version without fingerprints (schema 1) still
# answers its repeat, which binds the id to that request.
sql() {
  if [ -n "${SW_STOCKCTL_DB:-}" ]; then psql -qAtX -v ON_ERROR_STOP=1 "$SW_STOCKCTL_DB" -c "$1"
  else sqlite3 "${STOCKWATCH_DB#sqlite:}" "$1"; fi
}
run o1 --request-id old-1 user add old@example.com
current=$(sql "SELECT max(version) FROM schema_version")
# Back to schema 1: undo what the later migrations added (2: the requests'
# fingerprint; 3: the outbox's retry columns; 4: the dead letters, and the
# delivery log's layout; 5: the move columns and windows).
if [ -n "${SW_STOCKCTL_DB:-}" ]; then
  sql "ALTER TABLE watches DROP COLUMN move, DROP COLUMN within_s, DROP COLUMN direction;
       ALTER TABLE watch_states DROP COLUMN move, DROP COLUMN move_ref; DROP TABLE move_windows"
  sql "DROP TABLE dead_letters; CREATE INDEX deliveries_by_email ON deliveries(email)"
else
  sql "ALTER TABLE watches DROP COLUMN move; ALTER TABLE watches DROP COLUMN within_s;
       ALTER TABLE watches DROP COLUMN direction; ALTER TABLE watch_states DROP COLUMN move;
       ALTER TABLE watch_states DROP COLUMN move_ref; DROP TABLE move_windows"
  sql "DROP TABLE dead_letters; DROP TABLE deliveries;
       CREATE TABLE deliveries(alert_id TEXT NOT NULL, channel TEXT NOT NULL, email TEXT,
         ts INTEGER NOT NULL, PRIMARY KEY(alert_id, channel)) WITHOUT ROWID;
       CREATE INDEX deliveries_by_email ON deliveries(email)"
fi
sql "ALTER TABLE requests DROP COLUMN fingerprint; ALTER TABLE outbox DROP COLUMN attempts;
     ALTER TABLE outbox DROP COLUMN first_try; UPDATE schema_version SET version = 1"
run o2 --request-id old-1 user add old@example.com
same_outcome "an old outcome is returned after the upgrade" o1 o2
expect_eq "the store was upgraded" "$current" "$(sql "SELECT max(version) FROM schema_version")"
run o3 --request-id old-1 user add other@example.com
expect_eq "the repeat bound the old id" 65 "$(cat "$T/o3.rc")"

expect_code "an over-long request id is a usage error" 64 stockctl --request-id "$(printf 'x%.0s' $(seq 300))" user ls
finish
