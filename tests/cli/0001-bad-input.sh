#!/usr/bin/env bash
# The bad-input policy (docs/design.md, "Bad input") through the stream library:
# every bad line gets its own stderr line with its line number and a rejected
# record in the dead letter; every valid line comes through, in order.
source "$(dirname "$0")/../lib/common.sh"

$PY - "$T/in.jsonl" <<'PY'
import sys
q = lambda t, p: '{"type":"quote","ticker":"%s","price":%s,"ts":"2026-11-27T14:30:00Z"}' % (t, p)
lines = [
    q("AAA", "1.5").encode(),                                           # 1 valid
    b'{"type":"quote","ticker":"BAD",',                                 # 2 malformed JSON
    q("BBB", "2").encode(),                                             # 3 valid
    b'{"type":"quote","ticker":"BAD","price":"12","ts":"2026-11-27T14:30:00Z"}',  # 4 wrong type
    b'{"type":"quote","ticker":"BAD","price":12}',                      # 5 missing field
    b'{"type":"quote","ticker":"BAD","price":NaN,"ts":"2026-11-27T14:30:00Z"}',   # 6 NaN
    b'{"type":"quote","ticker":"BAD","price":Infinity,"ts":"2026-11-27T14:30:00Z"}',  # 7 Infinity
    b' \t\r',                                                          # 8 blank: skipped
    b'{"type":"quote","ticker":"' + b'A' * (10 << 20) + b'","price":1,"ts":"2026-11-27T14:30:00Z"}',  # 9 10 MB
    b'{"type":"quote","ticker":"B\xffD","price":1,"ts":"2026-11-27T14:30:00Z"}',  # 10 invalid UTF-8
    b'[{"type":"quote","ticker":"BAD","price":1,"ts":"2026-11-27T14:30:00Z"}]',  # 11 array
    q("CCC", "3.25").encode(),                                          # 12 valid
    b'{"type":"quote","ticker":"BAD","price":1e999,"ts":"2026-11-27T14:30:00Z"}',  # 13 overflow
    b'{"type":"heartbeat","n":1}',                                      # 14 other type: passed through
    b'{"type":"quote","ticker":"BAD","price":-5,"ts":"2026-11-27T14:30:00Z"}',   # 15 negative
]
open(sys.argv[1], "wb").write(b"\n".join(lines) + b"\n")
PY
bad_lines="2 4 5 6 7 9 10 11 13 15"

code=0
sw_cat --validate -i "$T/in.jsonl" -o "$T/out.jsonl" --dead-letter "$T/dead.jsonl" 2> "$T/err" || code=$?
expect_eq "with a dead letter the run succeeds" 0 "$code"
expect_eq "valid lines come through in order" \
  "AAA BBB CCC heartbeat" \
  "$(jq -r '.ticker // .type' "$T/out.jsonl" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "one stderr line per bad line" 10 "$(wc -l < "$T/err")"
for n in $bad_lines; do
  check "stderr names $T/in.jsonl:$n" grep -q "^sw_cat: $T/in.jsonl:$n: " "$T/err"
done
expect_eq "one rejected record per bad line, with its line number" \
  "$(echo $bad_lines)" "$(jq -r '.line' "$T/dead.jsonl" | tr '\n' ' ' | sed 's/ $//')"
check "rejected records say which program and why" \
  test "$(jq -r 'select(.program=="sw_cat" and (.error|length)>0) | .line' "$T/dead.jsonl" | wc -l)" -eq 10
check "the raw line is kept (wrong-type line verbatim)" \
  test "$(jq -r 'select(.line==4).raw' "$T/dead.jsonl")" == '{"type":"quote","ticker":"BAD","price":"12","ts":"2026-11-27T14:30:00Z"}'
check "the 10 MB line is kept whole" \
  test "$(jq -r 'select(.line==9).raw | length' "$T/dead.jsonl")" -gt $((10 << 20))
check "invalid UTF-8 is kept losslessly (base64)" \
  test "$(jq -r 'select(.line==10).raw_base64' "$T/dead.jsonl" | base64 -d | head -c 28 | od -An -tx1 | tr -d ' \n')" == \
       "$(printf '{"type":"quote","ticker":"B\xff' | od -An -tx1 | tr -d ' \n')"
grep -q "in.jsonl:6: invalid JSON" "$T/err" && pass "NaN is invalid JSON" || fail "NaN message: $(grep ':6:' "$T/err")"
grep -q "in.jsonl:4: price: not a number" "$T/err" && pass "wrong type names the field" || fail "field message"
grep -q "in.jsonl:5: ts: missing" "$T/err" && pass "missing field named" || fail "missing message"

check "a blank line is skipped, not rejected" bash -c "! grep -q ':8: ' '$T/err'"
# Blank lines alone are no bad input: exit 0 even without a dead letter.
code=0
printf '\n \n{"type":"x"}\n\n\t\n' | sw_cat --validate > "$T/blank.out" 2> "$T/blank.err" || code=$?
expect_eq "blank lines only: exit 0, nothing on stderr" "0 " "$code $(cat "$T/blank.err")"
expect_eq "blank lines only: the one record comes through" '{"type":"x"}' "$(cat "$T/blank.out")"

# Without a dead letter: same output, exit 65 at the end.
code=0
sw_cat --validate -i "$T/in.jsonl" -o "$T/out2.jsonl" 2> "$T/err2" || code=$?
expect_eq "without a dead letter, bad input exits 65" 65 "$code"
check "without a dead letter, valid lines still all come through" cmp -s "$T/out.jsonl" "$T/out2.jsonl"

# --strict: the first bad line is fatal.
code=0
sw_cat --validate --strict -i "$T/in.jsonl" -o "$T/out3.jsonl" 2> "$T/err3" || code=$?
expect_eq "--strict exits 65" 65 "$code"
expect_eq "--strict stops at line 2" "AAA" "$(jq -r .ticker "$T/out3.jsonl")"
check "--strict names the line" grep -q "^sw_cat: $T/in.jsonl:2: invalid JSON" "$T/err3"

# Through a pipe on stdin, with the input named "stdin".
code=0
sw_cat --validate < "$T/in.jsonl" > "$T/out4.jsonl" 2> "$T/err4" || code=$?
expect_eq "stdin input exits 65 without a dead letter" 65 "$code"
check "stdin is named in diagnostics" grep -q "^sw_cat: stdin:2: " "$T/err4"

# A missing input file: 66.
expect_code "missing input file" 66 sw_cat -i "$T/nope.jsonl" -o "$T/x"
# EPIPE on stdout is success.
code=0
( sw_cat --validate -i "$T/in.jsonl" --dead-letter "$T/dl2" 2>/dev/null; echo $? > "$T/epipe" ) | head -c 10 > /dev/null || true
expect_eq "a closed stdout pipe exits 0" 0 "$(cat "$T/epipe")"
finish
