#!/usr/bin/env bash
# import / export: users and watches as JSON lines; export | import into a
# new database gives the same export; bad lines are rejected per the
# bad-input policy (exit 65 at the end, --strict, --dead-letter).
source "$(dirname "$0")/../lib/common.sh"
if [ -n "${SW_STOCKCTL_DB:-}" ]; then export STOCKWATCH_DB=$SW_STOCKCTL_DB; fi

cat > "$T/in.jsonl" <<'JSON'
{"type":"user","email":"alice@example.com","telegram_id":111111111,"interval":0}
{"type":"user","email":"bob@Example.com","interval":600}
{"type":"watch","email":"alice@example.com","ticker":"aapl","low":150,"high":200}
{"type":"watch","email":"alice@example.com","ticker":"BTC-USD","high":70000,"telegram_id":999}
{"type":"watch","email":"bob@example.com","ticker":"^GSPC","low":4000}
{"type":"quote","ticker":"AAPL","price":1,"ts":"2026-11-24T00:00:00Z"}
JSON
out=$(stockctl import "$T/in.jsonl")
expect_eq "import summary" "imported 2 users and 3 watches, skipped 1 record of other types" "$out"
stockctl export > "$T/export.jsonl"
expect_eq "export: users then watches" \
'{"type":"user","email":"alice@example.com","telegram_id":111111111,"interval":0}
{"type":"user","email":"bob@example.com","interval":600}
{"type":"watch","email":"alice@example.com","ticker":"AAPL","low":150,"high":200,"telegram_id":111111111}
{"type":"watch","email":"alice@example.com","ticker":"BTC-USD","high":70000,"telegram_id":111111111}
{"type":"watch","email":"bob@example.com","ticker":"^GSPC","low":4000}' "$(cat "$T/export.jsonl")"

# Import updates what exists (and is idempotent).
echo '{"type":"watch","email":"bob@example.com","ticker":"^GSPC","low":4100,"high":6000}' | stockctl import > /dev/null
expect_eq "import replaced the band" '4100 6000' "$(stockctl watch ls --email bob@example.com --json | jq -r '"\(.low) \(.high)"')"
stockctl import "$T/export.jsonl" > /dev/null
expect_eq "re-importing the export restores it" "$(cat "$T/export.jsonl")" "$(stockctl export)"

# export | import into another database.
if [[ "$STOCKWATCH_DB" == sqlite:* ]]; then
  stockctl export | stockctl --db "sqlite:$T/copy.db" import > /dev/null
  expect_eq "round trip through a second database" "$(stockctl export)" "$(stockctl --db "sqlite:$T/copy.db" export)"
fi

# Bad lines.
cat > "$T/bad.jsonl" <<'JSON'
{"type":"user","email":"carol@example.com"}
{"type":"user","email":"not an email"}
{"type":"watch","email":"ghost@example.com","ticker":"AAPL","low":1}
{"type":"watch","email":"carol@example.com","ticker":"MSFT","low":300,"high":200}
{"type":"user","email":"dave@example.com","telegram_id":111111111}
{oops
{"type":"watch","email":"carol@example.com","ticker":"MSFT","low":300}
JSON
rc=0; stockctl import "$T/bad.jsonl" > "$T/out" 2> "$T/err" || rc=$?
expect_eq "import with bad lines: exit 65" 65 "$rc"
expect_eq "summary" "imported 1 user and 1 watch, rejected 5 lines" "$(cat "$T/out")"
for l in 2 3 4 5 6; do check "line $l reported" grep -q "^stockctl: $T/bad.jsonl:$l: " "$T/err"; done
check "line 2: email" grep -q ":2: email: " "$T/err"
check "line 3: unknown owner" grep -q ":3: email: no such user" "$T/err"
check "line 4: band" grep -q ":4: high: " "$T/err"
check "line 5: telegram id taken" grep -q ":5: telegram_id: " "$T/err"
expect_eq "good lines imported" "carol@example.com MSFT 300" "$(stockctl watch ls --email carol@example.com --json | jq -r '"\(.email) \(.ticker) \(.low)"')"
expect_code "dave (bad telegram id) not imported" 65 stockctl user show dave@example.com

# --strict: nothing at all is imported.
echo '{"type":"user","email":"erin@example.com"}' > "$T/strict.jsonl"
echo 'nope' >> "$T/strict.jsonl"
expect_code "import --strict" 65 stockctl import --strict "$T/strict.jsonl"
expect_code "erin not imported under --strict" 65 stockctl user show erin@example.com
# --dead-letter: rejected lines kept, exit 0.
expect_code "import --dead-letter" 0 stockctl import --dead-letter "$T/dl.jsonl" "$T/bad.jsonl"
expect_eq "dead letter lines" "2 3 4 5 6" "$(jq -r .line "$T/dl.jsonl" | xargs)"
expect_eq "dead letter keeps the raw line" '{oops' "$(jq -r 'select(.line==6) | .raw' "$T/dl.jsonl")"
expect_code "import of a missing file" 66 stockctl import "$T/missing.jsonl"

# The same import with a request id twice: one outcome, printed twice.
rc1=0; stockctl import --request-id imp-1 "$T/bad.jsonl" > "$T/o1" 2> "$T/e1" || rc1=$?
rc2=0; stockctl import --request-id imp-1 "$T/bad.jsonl" > "$T/o2" 2> "$T/e2" || rc2=$?
expect_eq "repeated import: same exit code" "$rc1" "$rc2"
expect_eq "repeated import: same stdout" "$(cat "$T/o1")" "$(cat "$T/o2")"
expect_eq "repeated import: same stderr" "$(cat "$T/e1")" "$(cat "$T/e2")"

# A large import from a file works in batches (and shows no progress bar
# when stderr is not a terminal).
/usr/bin/python3 - "$T/big.jsonl" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for u in range(2000):
        f.write('{"type":"user","email":"u%d@example.com","telegram_id":%d}\n' % (u, 10**6 + u))
    for u in range(2000):
        for t in ("AAPL", "MSFT", "NVDA", "BTC-USD", "^GSPC", "EURUSD=X"):
            f.write('{"type":"watch","email":"u%d@example.com","ticker":"%s","low":%d,"high":%d}\n' % (u, t, u + 1, u + 1000))
PY
rc=0; stockctl import "$T/big.jsonl" > "$T/out" 2> "$T/err" || rc=$?
expect_eq "big import: exit 0" 0 "$rc"
expect_eq "big import: summary" "imported 2000 users and 12000 watches" "$(cat "$T/out")"
check "big import: nothing on stderr" test ! -s "$T/err"
expect_eq "big import: watches stored" 6 "$(stockctl watch ls --email u1999@example.com --json | wc -l)"

# SIGTERM while the import still reads: nothing imported, exit 143 (the
# import is all or nothing; a cron job must not take the stop for success).
# Stopped only once it waits for the next line (its handlers are set by then).
term_while_reading "$T/slow.fifo" '{"type":"user","email":"late@example.com"}' \
  stockctl import "$T/slow.fifo"
expect_eq "import stopped by SIGTERM: exit 143" 143 "$rc"
check "it says what was kept: nothing" grep -q "stopped by SIGTERM: nothing was imported" "$T/err"
expect_eq "the user read before the stop is not stored" "" "$(stockctl user ls --json | grep late@ || true)"

# With a request id, input that cannot be read twice (<(...), a FIFO) is
# hashed and imported from one copy: all of it imported, and the repeat
# answered from the stored outcome.
printf '%s\n' '{"type":"user","email":"piped@example.com"}' > "$T/piped.jsonl"
expect_eq "import --request-id <(...): imported" "imported 1 user and 0 watches" \
  "$(stockctl import --request-id imp-piped <(cat "$T/piped.jsonl"))"
expect_eq "the user is stored" 1 "$(stockctl user ls --json | grep -c piped@)"
expect_eq "the repeat gets the stored outcome" "imported 1 user and 0 watches" \
  "$(stockctl import --request-id imp-piped <(cat "$T/piped.jsonl"))"
finish
