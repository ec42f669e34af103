#!/usr/bin/env bash
# Watch changes made while stock-alert runs take effect without a restart:
# stockctl watch set/add/rm and user rm on the store, and a rewritten
# --watches file, while stock-alert reads quotes from a fifo. Each change is
# made once the alerts of the quotes before it are out; --reload 0 checks for
# changes at the first quote after the input was idle.
source "$(dirname "$0")/../lib/common.sh"

q() { printf '{"type":"quote","ticker":"%s","price":%s,"ts":"2026-11-27T14:%02d:00Z"}\n' "$1" "$2" "$3"; }
lines() { wc -l < "$1"; }
has_lines() { [ "$(wc -l < "$1")" -ge "$2" ]; }  # re-evaluated by each wait_for try
# alerts FILE: "email ticker condition threshold" per alert
alerts() { jq -r '[.email, .ticker, .condition, .threshold] | join(" ")' "$1"; }

# start LABEL ARGS...: stock-alert reading the fifo $T/LABEL.fifo (fd 3) into $T/LABEL.out
start() {
  local label=$1; shift
  rm -f "$T/$label.fifo"; mkfifo "$T/$label.fifo"
  : > "$T/$label.out"
  stock-alert --reload 0 -v "$@" -i "$T/$label.fifo" -o "$T/$label.out" 2> "$T/$label.err" &
  pid=$!
  exec 3> "$T/$label.fifo"
}
# feed LABEL N QUOTE...: writes the quotes, waits until the output has N lines.
feed() {
  local label=$1 n=$2; shift 2
  local line
  for line in "$@"; do echo "$line" >&3; done
  wait_for "$label: $n alert(s)" 20 has_lines "$T/$label.out" "$n" || true
}
stop() {
  exec 3>&-
  local code=0
  wait "$pid" || code=$?
  expect_eq "$1: ends 0 at the end of its input" 0 "$code"
}

# ---- the store, changed with stockctl
stockctl init > /dev/null
stockctl user add ann@example.com --telegram-id 7 > /dev/null
stockctl watch add ann@example.com AAPL --low 150 --high 200 > /dev/null
start store
feed store 1 "$(q AAPL 201 1)"
expect_eq "store: the first crossing alerts" "ann@example.com AAPL above 200" "$(alerts "$T/store.out")"

stockctl watch set ann@example.com AAPL --high 210 > /dev/null
# 205 is inside the new band: no alert; 211 crosses the new high.
feed store 2 "$(q AAPL 205 2)" "$(q AAPL 211 3)"
expect_eq "store: watch set takes effect (205 inside the new band, 211 alerts)" \
  "ann@example.com AAPL above 210" "$(alerts "$T/store.out" | sed -n 2p)"
check "store: the alert carries the new band" \
  test "$(jq -r 'select(.threshold == 210) | "\(.low) \(.high)"' "$T/store.out")" == "150 210"

stockctl user add bob@example.com > /dev/null
stockctl watch add bob@example.com AAPL --high 100 > /dev/null
# Bob's new watch is already out at the next quote: a crossing; Ann stays above.
feed store 3 "$(q AAPL 212 4)"
expect_eq "store: watch add takes effect (a new watch's first quote outside alerts)" \
  "bob@example.com AAPL above 100" "$(alerts "$T/store.out" | sed -n 3p)"

stockctl watch rm ann@example.com AAPL > /dev/null
stockctl watch add ann@example.com MSFT --low 300 > /dev/null
# Ann's AAPL watch is gone: back inside and out again alerts nobody (Bob stays
# above 100); her new MSFT watch alerts.
feed store 4 "$(q AAPL 180 5)" "$(q AAPL 220 6)" "$(q MSFT 299 7)"
expect_eq "store: watch rm takes effect (only the new MSFT watch alerts)" \
  "ann@example.com MSFT below 300" "$(alerts "$T/store.out" | sed -n 4p)"

stockctl user rm bob@example.com > /dev/null
feed store 4 "$(q AAPL 50 8)" "$(q AAPL 150 9)"
stop store
expect_eq "store: user rm takes effect (nothing for Bob after it)" 4 "$(lines "$T/store.out")"
check "store: the reloads were logged" grep -q "watches reloaded from sqlite:" "$T/store.err"

# ---- a --watches file, replaced while stock-alert runs
w() { printf '{"type":"watch","email":"%s","ticker":"%s","low":%s,"high":%s}\n' "$@"; }
w ann@example.com AAPL 150 200 > "$T/watches.jsonl"
start file --watches "$T/watches.jsonl"
feed file 1 "$(q AAPL 201 1)"
{ w ann@example.com AAPL 150 210; w bob@example.com AAPL 50 100; } > "$T/watches.new"
mv "$T/watches.new" "$T/watches.jsonl"
feed file 3 "$(q AAPL 205 2)" "$(q AAPL 211 3)"
expect_eq "file: a replaced --watches file takes effect" \
  "ann@example.com AAPL above 200|bob@example.com AAPL above 100|ann@example.com AAPL above 210" \
  "$(alerts "$T/file.out" | paste -sd'|')"
# A broken new version keeps the watches in use.
echo '{"type":"watch","email":"nobody","ticker":"AAPL"}' > "$T/watches.bad"
mv "$T/watches.bad" "$T/watches.jsonl"
feed file 4 "$(q AAPL 140 4)"
stop file
expect_eq "file: a bad new version is reported and the old watches stay" \
  "ann@example.com AAPL below 150" "$(alerts "$T/file.out" | sed -n 4p)"
check "file: the bad line is named" grep -q "cannot reload the watches: .*watches.jsonl:1: email" "$T/file.err"

# ---- move watches: stock-alert holds a few quotes back while it loads what
# checking them reads; an idle input must still get every alert out at once.
mq() { printf '{"type":"quote","ticker":"%s","price":%s,"prev_close":100,"ts":"2026-11-27T14:%02d:00Z"}\n' "$1" "$2" "$3"; }
printf '{"type":"watch","email":"ann@example.com","ticker":"AAPL","move":5}\n' > "$T/moves.jsonl"
start moves --watches "$T/moves.jsonl"
feed moves 1 "$(mq AAPL 106 1)"
expect_eq "moves: the alert of the last quote read is out while the input stays open" \
  "ann@example.com AAPL up 105" "$(alerts "$T/moves.out")"
feed moves 2 "$(mq MSFT 50 2)" "$(mq AAPL 94 3)"
expect_eq "moves: and again after more input" "ann@example.com AAPL down 95" "$(alerts "$T/moves.out" | sed -n 2p)"
stop moves
finish
