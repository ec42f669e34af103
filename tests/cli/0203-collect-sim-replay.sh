#!/usr/bin/env bash
# stock-collect --source sim (a seeded, deterministic random walk) and
# --source replay:FILE (re-emits recorded quote lines; bad lines through the
# bad-input policy): valid quote records on stdout, and stored rows.
source "$(dirname "$0")/../lib/common.sh"

is_valid_stream() { sw_cat --validate --strict -i "$1" -o /dev/null 2> /dev/null; }
lines() { jq -r "$1" "$2" | tr '\n' ' ' | sed 's/ $//'; }

# --- sim -----------------------------------------------------------------------
sim=(stock-collect --no-store --source sim --tickers AAPL,MSFT,BTC-USD --count 4
     --sim-start 2026-11-27T14:30:00Z)
"${sim[@]}" --seed 7 > "$T/a" 2> "$T/err"
"${sim[@]}" --seed 7 > "$T/b"
"${sim[@]}" --seed 8 > "$T/c"
expect_eq "sim: 3 tickers x 4 cycles" 12 "$(wc -l < "$T/a")"
check "sim: valid quote records" is_valid_stream "$T/a"
check "sim: the same seed gives the same stream" cmp -s "$T/a" "$T/b"
check "sim: another seed gives another stream" bash -c "! cmp -s '$T/a' '$T/c'"
expect_eq "sim: nothing on stderr" 0 "$(wc -c < "$T/err")"
expect_eq "sim: timestamps step by --sim-step (1m) from --sim-start" \
  "2026-11-27T14:30:00Z 2026-11-27T14:31:00Z 2026-11-27T14:32:00Z 2026-11-27T14:33:00Z" \
  "$(lines 'select(.ticker == "MSFT") | .ts' "$T/a")"
expect_eq "sim: source and currency" "sim USD" "$(jq -r 'select(.ticker == "AAPL") | "\(.source) \(.currency)"' "$T/a" | sort -u)"
# A ticker's walk does not depend on which other tickers are simulated.
stock-collect --no-store --source sim --tickers MSFT --count 4 --sim-start 2026-11-27T14:30:00Z --seed 7 > "$T/msft"
expect_eq "sim: MSFT alone walks the same" "$(lines 'select(.ticker == "MSFT") | .price' "$T/a")" \
  "$(lines .price "$T/msft")"

# Stored: every simulated quote is in the store, newest first in history.
stock-collect --source sim --tickers AAPL,MSFT --count 3 --seed 5 > "$T/stored.out"
expect_eq "sim stored: quote last is the last emitted AAPL" \
  "$(jq -c 'select(.ticker == "AAPL")' "$T/stored.out" | tail -1 | jq -c '{price, ts}')" \
  "$(stockctl quote last AAPL --json | jq -c '{price, ts}')"
expect_eq "sim stored: every MSFT quote is in the history" \
  "$(jq -c 'select(.ticker == "MSFT") | {price, ts}' "$T/stored.out" | sort | tr '\n' ' ')" \
  "$(stockctl quote history MSFT --json | jq -c '{price, ts}' | sort | tr '\n' ' ')"

# --- replay --------------------------------------------------------------------
cat > "$T/rec.jsonl" <<'EOF'
{"type":"quote","ticker":"AAPL","price":197.48,"currency":"USD","ts":"2025-06-13T14:15:37Z","source":"yahoo"}
{"type":"quote","ticker":"msft","price":477.71,"ts":"2025-06-13T14:15:38Z","source":"yahoo","volume":3120441}
{"type":"quote","ticker":"AAPL","price":"oops","ts":"2025-06-13T14:15:39Z"}
{"type":"heartbeat","seq":1}
{"type":"quote","ticker":"AAPL","price":197.5,"ts":"2025-06-13T14:15:40Z","source":"yahoo","prev_close":199.2}
EOF
code=0
stock-collect --no-store --source "replay:$T/rec.jsonl" > "$T/out" 2> "$T/err" || code=$?
expect_eq "replay: a bad line and no dead letter: exit 65" 65 "$code"
expect_eq "replay: quotes re-emitted in order, other records passed through" \
  "quote:AAPL quote:MSFT heartbeat: quote:AAPL" "$(lines '"\(.type):\(.ticker // "")"' "$T/out")"
expect_eq "replay: the records are the recorded ones (fields kept, ticker normalised)" \
  "$(sed -n '1p;5p' "$T/rec.jsonl" | jq -cS .)" "$(jq -cS 'select(.ticker == "AAPL")' "$T/out")"
expect_eq "replay: MSFT keeps its volume" 3120441 "$(jq -r 'select(.ticker == "MSFT") | .volume' "$T/out")"
check "replay: the bad line is named with its line number" \
  grep -q "^stock-collect: $T/rec.jsonl:3: price: " "$T/err"
expect_eq "replay: one diagnostic line" 1 "$(wc -l < "$T/err")"

code=0
stock-collect --no-store --source "replay:$T/rec.jsonl" --dead-letter "$T/dead.jsonl" > /dev/null 2>&1 || code=$?
expect_eq "replay: with a dead letter: exit 0" 0 "$code"
expect_eq "replay: the dead letter holds the bad line" "rejected 3 stock-collect" \
  "$(jq -r '"\(.type) \(.line) \(.program)"' "$T/dead.jsonl")"

stock-collect --no-store --source replay --tickers MSFT -i - < "$T/rec.jsonl" > "$T/out" 2> /dev/null || true
expect_eq "replay from stdin (-i -), only --tickers: MSFT and the passed-through record" \
  "quote:MSFT heartbeat:" "$(lines '"\(.type):\(.ticker // "")"' "$T/out")"

# Pacing: 3 s of recording at 100x; the order and content are the same.
code=0
stock-collect --no-store --source "replay:$T/rec.jsonl" --pace 100 --dead-letter "$T/dead2.jsonl" \
  > "$T/paced" 2> /dev/null || code=$?
expect_eq "replay --pace: exit 0" 0 "$code"
stock-collect --no-store --source "replay:$T/rec.jsonl" --dead-letter "$T/dead3.jsonl" > "$T/unpaced" 2> /dev/null
check "replay --pace: same output as unpaced" cmp -s "$T/paced" "$T/unpaced"

# Stored (in a store of its own: "last" is by time, and the sim quotes are newer).
export STOCKWATCH_DB="sqlite:$T/replay.db"
stock-collect --source "replay:$T/rec.jsonl" --dead-letter "$T/dead4.jsonl" > /dev/null 2>&1
expect_eq "replay stored: quote last AAPL is the last recorded" "197.5 2025-06-13T14:15:40Z" \
  "$(stockctl quote last AAPL --json | jq -r '"\(.price) \(.ts)"')"
expect_eq "replay stored: AAPL history has both recorded quotes" 2 \
  "$(stockctl quote history AAPL --json | jq -c 'select(.source == "yahoo")' | wc -l)"

expect_code "replay: a missing file" 66 stock-collect --no-store --source "replay:$T/nope.jsonl"
expect_code "replay: --every does not apply" 64 stock-collect --no-store --source "replay:$T/rec.jsonl" --every 1m
expect_code "replay: --tickers - and the input both on stdin" 64 stock-collect --no-store --source replay --tickers -
expect_code "--pace without replay" 64 stock-collect --no-store --source sim --tickers A --pace 2
finish
