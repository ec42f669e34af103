#!/usr/bin/env bash
# stockctl status: healthy with fresh quotes and no breaker trouble (exit 0);
# degraded (exit 1) once the fake source opens the circuit breaker and a
# watched ticker's newest quote grows old; the same in --json.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/fake_quotes.sh"

stockctl user add alice@example.com > /dev/null
stockctl watch add alice@example.com AAPL --low 150 --high 200 > /dev/null
stockctl watch add alice@example.com MSFT --high 500 > /dev/null
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
old=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)
# AAPL quoted now, MSFT two hours ago.
printf '{"type":"quote","ticker":"%s","price":%s,"ts":"%s"}\n' AAPL 170 "$now" MSFT 400 "$old" |
  stockctl quote ingest > /dev/null

code=0
stockctl status --stale 3h > "$T/ok.txt" 2> "$T/ok.err" || code=$?
expect_eq "quotes within --stale, no breaker: exit 0" 0 "$code"
check "healthy: says so" grep -q '^status: *healthy$' "$T/ok.txt"
check "healthy: counts the users and watches" grep -Eq '^watches: +2 on 2 ticker' "$T/ok.txt"
check "healthy: no stale quote" grep -q '^stale quotes: none' "$T/ok.txt"
expect_eq "healthy --json" 'true 1 2 0' \
  "$(stockctl --json status --stale 3h | jq -r '"\(.healthy) \(.users) \(.watches) \(.stale | length)"')"

# The source fails: the breaker opens and stays open (kept in the store).
start_fake --default 500
code=0
stock-collect --source-url "$U" --no-batch -j 1 --retries 0 --breaker-failures 2 \
  --breaker-cooldown 1h > /dev/null 2> "$T/collect.err" || code=$?
expect_eq "the failing source: stock-collect exits 69" 69 "$code"

code=0
stockctl status --stale 30m > "$T/bad.txt" 2> "$T/bad.err" || code=$?
expect_eq "open breaker, stale ticker: exit 1" 1 "$code"
check "degraded: the open breaker with its next probe" \
  grep -Eq '^ +yahoo@http://127\.0\.0\.1:[0-9]+ +open +2 +20[0-9-]+T' "$T/bad.txt"
check "degraded: MSFT is stale" grep -Eq '^ +MSFT +20[0-9-]+T.*ago\)$' "$T/bad.txt"
check "degraded: AAPL is not" bash -c '! grep -q "^ *AAPL" "$1"' _ "$T/bad.txt"
check "degraded: the reasons" grep -q '^status: *degraded: 1 breaker(s) not closed, 1 stale ticker(s)$' "$T/bad.txt"
stockctl --json status --stale 30m > "$T/bad.json" || true
expect_eq "degraded --json: breaker and stale ticker" 'false open MSFT' \
  "$(jq -r '"\(.healthy) \(.breakers[0].state) \([.stale[].ticker] | join(","))"' "$T/bad.json")"
check "degraded --json: the next probe is a time" jq -e '.breakers[0].next_probe | test("^20")' "$T/bad.json"
# A wider --stale forgives the old quote, not the breaker.
code=0
stockctl status --stale 3h > /dev/null || code=$?
expect_eq "--stale 3h: still degraded by the breaker" 1 "$code"
expect_eq "default --stale (15m): MSFT is stale" MSFT "$(stockctl --json status | jq -r '[.stale[].ticker] | join(",")')"
expect_code "--stale must be a duration" 65 stockctl status --stale soon
finish
