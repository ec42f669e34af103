#!/usr/bin/env bash
# stock-collect --market-hours: the sessions Yahoo's chart meta reports are
# kept in the store; a ticker whose market is closed is skipped, but for one
# quote after the close; crypto is always asked, an unknown session too; a
# cycle with every market closed makes no request and exits 0. The calendar
# is faked with STOCKWATCH_NOW (the fake serves AAPL's recorded session,
# 2025-06-13 13:30Z to 20:00Z, for every ticker). stockctl quote last says
# when a ticker's market is closed.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/fake_quotes.sh"

start_fake
export STOCKWATCH_SOURCE_URL="$U"
db="sqlite:$T/store.db"
stockctl --db "$db" init > /dev/null

collect() {  # collect NOW LABEL ARGS...: one run at calendar time NOW, into $T/q.LABEL, $T/e.LABEL
  local now=$1 label=$2 rc=0
  shift 2
  reset
  STOCKWATCH_NOW="$now" stock-collect --db "$db" -v --no-batch "$@" > "$T/q.$label" 2> "$T/e.$label" || rc=$?
  expect_eq "$label: exit 0" 0 "$rc"
}
asked() { curl -s "$U/_stats" | jq -r '.by_ticker | keys | join(",")'; }

# Sessions unknown: every ticker asked; the sessions are stored.
collect 2025-06-13T15:00:00Z unknown --market-hours --tickers AAPL,MSFT,BTC-USD
expect_eq "unknown: 3 requests" 3 "$(stats .requests)"
check "unknown: AAPL's session is in the store" \
  bash -c "sqlite3 '$T/store.db' \"SELECT value FROM kv WHERE key = 'session:AAPL'\" | jq -e '.start == 1749821400 and .end == 1749844800 and .tz == \"America/New_York\" and .gmtoffset == -14400'"

# Open: every ticker asked.
collect 2025-06-13T16:00:00Z open --market-hours --tickers AAPL,MSFT,BTC-USD
expect_eq "open: 3 requests" 3 "$(stats .requests)"
expect_eq "quote last while open: no market note" "" "$(STOCKWATCH_NOW=2025-06-13T16:00:00Z stockctl --db "$db" quote last AAPL | grep -i 'market closed')"
expect_eq "quote last --json while open: open" open "$(STOCKWATCH_NOW=2025-06-13T16:00:00Z stockctl --db "$db" quote last AAPL --json | jq -r .market)"

# The first cycle after the close still asks (one quote after the close).
collect 2025-06-13T20:30:00Z after-close --market-hours --tickers AAPL,MSFT,BTC-USD
expect_eq "after the close: 3 requests" 3 "$(stats .requests)"

# Then closed: only the crypto pair is asked.
collect 2025-06-13T21:00:00Z closed --market-hours --tickers AAPL,MSFT,BTC-USD
expect_eq "closed: 1 request" 1 "$(stats .requests)"
expect_eq "closed: only BTC-USD asked" BTC-USD "$(asked)"
check "closed: says how many it skipped" grep -q 'market-hours: 2 of 3 ticker(s) skipped' "$T/e.closed"

# Every market closed: no request at all, exit 0, said at info.
collect 2025-06-13T22:00:00Z all-closed --market-hours --tickers AAPL,MSFT
expect_eq "all closed: no request" 0 "$(stats .requests)"
expect_eq "all closed: no quote" 0 "$(wc -l < "$T/q.all-closed")"
check "all closed: says so" grep -q "every ticker's market is closed: no request" "$T/e.all-closed"

# An unknown ticker among closed ones is asked.
collect 2025-06-13T22:00:00Z new --market-hours --tickers AAPL,NEWCO
expect_eq "a new ticker: asked alone" NEWCO "$(asked)"

# Without --market-hours (the default) a closed market is asked as ever.
collect 2025-06-13T22:00:00Z default --tickers AAPL,MSFT
expect_eq "without --market-hours: 2 requests" 2 "$(stats .requests)"

# stockctl quote last says the market is closed, in text and JSON.
out=$(STOCKWATCH_NOW=2025-06-13T22:00:00Z stockctl --db "$db" quote last AAPL)
check "quote last: market closed since the close" grep -q 'market closed since 2025-06-13T20:00:00Z (America/New_York); opens 2025-06-14T13:30:00Z' <<< "$out"
json=$(STOCKWATCH_NOW=2025-06-13T22:00:00Z stockctl --db "$db" quote last AAPL --json)
expect_eq "quote last --json: market closed" closed "$(jq -r .market <<< "$json")"
expect_eq "quote last --json: next open" 2025-06-14T13:30:00Z "$(jq -r .market_opens_at <<< "$json")"
expect_eq "quote last --json: still the quote record" quote/AAPL "$(jq -r '.type + "/" + .ticker' <<< "$json")"
expect_eq "quote last --json: crypto is 24h" 24h "$(STOCKWATCH_NOW=2025-06-13T22:00:00Z stockctl --db "$db" quote last BTC-USD --json | jq -r .market)"

# stockctl status lists the watched tickers whose market is closed.
stockctl --db "$db" user add ann@example.com > /dev/null
stockctl --db "$db" watch add ann@example.com AAPL --high 1000 > /dev/null
stockctl --db "$db" watch add ann@example.com BTC-USD --high 1000 > /dev/null
STOCKWATCH_NOW=2025-06-13T22:00:00Z stockctl --db "$db" status > "$T/status" || true
check "status: AAPL's market closed" grep -q '^closed markets: 1 ticker(s): AAPL$' "$T/status"
# While its market is closed, a quote is stale only when it is older than
# --stale before the close: AAPL's (14:15, the close at 20:00) is not with
# 6h, it is with 5h; BTC-USD, never quoted here, is.
expect_eq "status --json --stale 6h: a closed market's quote from before the close is not stale" '["BTC-USD"]' \
  "$(STOCKWATCH_NOW=2025-06-13T22:00:00Z stockctl --db "$db" status --stale 6h --json | jq -c '[.stale[].ticker]' || true)"
expect_eq "status --json --stale 5h: it is" '["AAPL","BTC-USD"]' \
  "$(STOCKWATCH_NOW=2025-06-13T22:00:00Z stockctl --db "$db" status --stale 5h --json | jq -c '[.stale[].ticker]' || true)"
expect_eq "status --json: closed_markets" '["AAPL"]' \
  "$(STOCKWATCH_NOW=2025-06-13T22:00:00Z stockctl --db "$db" status --json | jq -c .closed_markets || true)"
STOCKWATCH_NOW=2025-06-13T16:00:00Z stockctl --db "$db" status > "$T/status" || true
check "status while open: none closed" grep -q '^closed markets: none known$' "$T/status"

# The next day (a guess: the ended session rolled forward) asks again.
collect 2025-06-14T14:00:00Z next-day --market-hours --tickers AAPL,MSFT
expect_eq "next day: 2 requests" 2 "$(stats .requests)"

# A bad fake clock is a configuration error; --market-hours needs an HTTP source.
rc=0; STOCKWATCH_NOW=tomorrow stock-collect --db "$db" --tickers AAPL > /dev/null 2> "$T/err" || rc=$?
expect_eq "bad STOCKWATCH_NOW: exit 78" 78 "$rc"
check "bad STOCKWATCH_NOW: named" grep -q 'STOCKWATCH_NOW: not an RFC 3339 time' "$T/err"
rc=0; stock-collect --no-store --source sim --tickers AAPL --market-hours > /dev/null 2> "$T/err" || rc=$?
expect_eq "--market-hours with the simulator: exit 64" 64 "$rc"
finish
