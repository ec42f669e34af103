#!/usr/bin/env bash
# The circuit breaker seen from outside, against the fake quote server
# that counts requests: 500s open it after N failures and later calls fail
# fast (no requests); after the cool-down exactly one probe; closed again when
# the server recovers. A 429 Retry-After is honoured; 429 without it, slow
# calls and timeouts count as failures. SIGTERM stops --every cleanly (exit 0).
source "$(dirname "$0")/../lib/common.sh"

source "$(dirname "$0")/../lib/fake_quotes.sh"
count_lines() { grep -c -- "$1" "$2" || true; }
distinct_tickers() { jq -r .ticker "$1" | sort -u | wc -l; }
# at_least N COMMAND...: COMMAND prints a number >= N (for wait_for, which
# must re-run the command rather than test a value expanded once).
at_least() { local n=$1; shift; [ "$("$@")" -ge "$n" ]; }
TEN=T0,T1,T2,T3,T4,T5,T6,T7,T8,T9

start_fake --default 500
common=(--no-store --source-url "$U" --no-batch -j 1 --retries 0)

# --- 500s, one run: opens after 3, the other 7 fail fast -----------------------
code=0
stock-collect "${common[@]}" --tickers "$TEN" --breaker-failures 3 > "$T/out" 2> "$T/err" || code=$?
expect_eq "500s: exit 69 (source unavailable)" 69 "$code"
expect_eq "500s: nothing emitted" 0 "$(wc -c < "$T/out")"
expect_eq "500s: exactly 3 requests reached the server" 3 "$(stats .requests)"
check "500s: the breaker opening is logged" grep -q "yahoo: circuit open after 3 consecutive failures (last: HTTP 500)" "$T/err"
expect_eq "500s: the first three tickers name the error" "T0 T1 T2" \
  "$(grep ': HTTP 500$' "$T/err" | cut -d' ' -f2 | tr -d : | tr '\n' ' ' | sed 's/ $//')"
expect_eq "500s: the other seven failed fast, each on its own line" 7 \
  "$(count_lines 'circuit open (yahoo): not called' "$T/err")"

# Retries are calls too: 2 tickers x (1 + 2 retries) with the threshold above that.
reset
code=0
stock-collect --no-store --source-url "$U" --no-batch -j 1 --retries 2 --tickers A,B \
  --breaker-failures 10 > /dev/null 2> "$T/err" || code=$?
expect_eq "retries: exit 69" 69 "$code"
expect_eq "retries: 1 + 2 attempts per ticker" '{"A":3,"B":3}' "$(stats .by_ticker)"
check "retries: the error says how many attempts" grep -q '^stock-collect: A: HTTP 500 (after 3 attempts)$' "$T/err"

# -v tells the calls made from those the open breaker refused, retries apart.
reset
stock-collect --no-store --source-url "$U" --no-batch -j 1 --retries 2 --tickers A,B,C \
  --breaker-failures 3 -v > /dev/null 2> "$T/err" || true
expect_eq "summary: 3 calls made, their 3 retries refused" \
  "stock-collect: yahoo: 0 of 3 tickers quoted, 3 not; 3 calls made; circuit open: 3 retries not made" \
  "$(grep 'tickers quoted' "$T/err" | sed 's/; [0-9]* ms$//')"
reset
stock-collect --no-store --source-url "$U" --no-batch -j 1 --retries 1 --tickers A \
  --breaker-failures 5 -v > /dev/null 2> "$T/err" || true
expect_eq "summary: a retry made is counted as one" \
  "stock-collect: yahoo: 0 of 1 tickers quoted, 1 not; 2 calls made (1 retry)" \
  "$(grep 'tickers quoted' "$T/err" | sed 's/; [0-9]* ms$//')"

# --- 500s in a service: fail fast, one probe per cool-down, closed on recovery --
reset
stock-collect "${common[@]}" --tickers "$TEN" --breaker-failures 3 --breaker-cooldown 1500ms \
  --every 200ms -v > "$T/svc.out" 2> "$T/svc.err" &
svc=$!
on_exit "kill $svc"
wait_for "the breaker to open" 20 grep -q "circuit open after 3" "$T/svc.err"
expect_eq "service: 3 requests when it opened" 3 "$(stats .requests)"
wait_for "a cycle failing fast while open" 20 grep -q "0 calls made; circuit open: 10 calls not made" "$T/svc.err"
expect_eq "service: no request while open" 3 "$(stats .requests)"
wait_for "the first probe to fail" 20 grep -q "circuit open again: the probe failed (HTTP 500)" "$T/svc.err"
expect_eq "service: one probe after the cool-down, nothing else" 4 "$(stats .requests)"
check "service: the half-open state is logged" grep -q "yahoo: circuit half-open: cool-down over, one probe call" "$T/svc.err"
wait_for "the second probe to fail" 20 at_least 2 count_lines 'circuit open again' "$T/svc.err"
expect_eq "service: one more probe after the next cool-down" 5 "$(stats .requests)"
config '{"default": "ok"}'
wait_for "the breaker to close" 20 grep -q "yahoo: circuit closed: the probe succeeded" "$T/svc.err"
wait_for "quotes for all ten tickers" 20 at_least 10 distinct_tickers "$T/svc.out"
kill -TERM "$svc"
code=0
wait "$svc" || code=$?
expect_eq "service: SIGTERM ends it with exit 0" 0 "$code"
expect_eq "service: all output is quote records" "$(wc -l < "$T/svc.out")" \
  "$(jq -c 'select(.type == "quote" and .source == "yahoo")' "$T/svc.out" | wc -l)"

# --- 429 with Retry-After: open at once, for that long -------------------------
reset
config '{"default": "429:2"}'
code=0
stock-collect "${common[@]}" --tickers A,B,C --breaker-failures 5 > /dev/null 2> "$T/err" || code=$?
expect_eq "429+Retry-After: exit 75 (try later)" 75 "$code"
expect_eq "429+Retry-After: one request, then nothing" 1 "$(stats .requests)"
check "429+Retry-After: the ticker says rate limited" grep -q '^stock-collect: A: rate limited (HTTP 429, Retry-After 2 s)$' "$T/err"
check "429+Retry-After: the breaker says why it opened" grep -q "circuit open: rate limited (HTTP 429, Retry-After 2 s); the source asked to wait 2 s (Retry-After)" "$T/err"
expect_eq "429+Retry-After: the others were not called" 2 "$(count_lines 'circuit open (yahoo): not called' "$T/err")"

# Honoured in a service: the next request comes no sooner than 2 s later.
reset
config '{"default": "429:2"}'
stock-collect "${common[@]}" --tickers A,B,C --every 100ms -v > "$T/svc.out" 2> "$T/svc.err" &
svc=$!
on_exit "kill $svc"
wait_for "the first 429" 20 at_least 1 stats .requests
config '{"default": "ok"}'
wait_for "quotes after the wait" 20 at_least 3 distinct_tickers "$T/svc.out"
kill -TERM "$svc"
wait "$svc" || true
gap=$(curl -s "$U/_stats" | jq '.log[1].t - .log[0].t')
check "429+Retry-After: the second request waited out the Retry-After (gap ${gap}s)" \
  $PY -c "import sys; sys.exit(0 if $gap >= 1.9 else 1)"

# An HTTP-date Retry-After works the same way.
reset
config '{"default": "429date:30"}'
code=0
stock-collect "${common[@]}" --tickers A,B > /dev/null 2> "$T/err" || code=$?
expect_eq "429 with a date: exit 75" 75 "$code"
expect_eq "429 with a date: one request" 1 "$(stats .requests)"
check "429 with a date: about 30 s" grep -Eq 'Retry-After (29|30|31) s' "$T/err"

# --- 429 without Retry-After: an ordinary failure ------------------------------
reset
config '{"default": "429"}'
code=0
stock-collect "${common[@]}" --tickers A,B,C,D --breaker-failures 2 > /dev/null 2> "$T/err" || code=$?
expect_eq "429: exit 75" 75 "$code"
expect_eq "429: the breaker opened after 2 failures" 2 "$(stats .requests)"
check "429: the ticker says rate limited" grep -q '^stock-collect: A: rate limited (HTTP 429)$' "$T/err"

# --- slow calls: successful but slower than --slow-call --------------------------
reset
config '{"default": "ok", "delay_ms": 300}'
code=0
stock-collect "${common[@]}" --tickers A,B,C,D --slow-call 100ms --breaker-failures 2 \
  > "$T/out" 2> "$T/err" || code=$?
expect_eq "slow calls: exit 75 (breaker open)" 75 "$code"
expect_eq "slow calls: the slow answers are still emitted" "A B" "$(jq -r .ticker "$T/out" | tr '\n' ' ' | sed 's/ $//')"
check "slow calls: they opened the breaker" grep -q "circuit open after 2 consecutive failures (last: slow call: " "$T/err"
expect_eq "slow calls: no more requests" 2 "$(stats .requests)"

# --- timeouts ---------------------------------------------------------------------
reset
config '{"default": "ok", "delay_ms": 3000}'
code=0
stock-collect "${common[@]}" --tickers A --timeout 300ms > /dev/null 2> "$T/err" || code=$?
expect_eq "timeout: exit 69" 69 "$code"
check "timeout: reported" grep -Eq '^stock-collect: A: timed out after [0-9]+ ms$' "$T/err"
config '{"delay_ms": 0}'

# --- unreachable source ---------------------------------------------------------
code=0
stock-collect --no-store --source-url "http://127.0.0.1:1" --tickers A --retries 1 > /dev/null 2> "$T/err" || code=$?
expect_eq "unreachable: exit 69" 69 "$code"
check "unreachable: reported" grep -q '^stock-collect: A: cannot reach the source: .* (after 2 attempts)$' "$T/err"

# --- SIGTERM while a request is in flight ----------------------------------------
config '{"default": "ok", "delay_ms": 5000}'
stock-collect "${common[@]}" --tickers A --every 1m > "$T/out" 2> "$T/err" &
svc=$!
wait_for "the request to be in flight" 20 at_least 1 stats .requests
kill -TERM "$svc"
code=0
wait "$svc" || code=$?
expect_eq "SIGTERM mid-request: exit 0" 0 "$code"
expect_eq "SIGTERM mid-request: no error reported for the aborted call" 0 "$(wc -c < "$T/err")"
finish
