#!/usr/bin/env bash
# Percent-move watches across restarts: the quotes cut in three parts, one
# stock-alert run per part, write exactly the alerts of one uninterrupted
# run, with the move states and the windows' prices kept in the store
# (SQLite, or PostgreSQL through SW_STOCKCTL_DB as integration/0102 runs it)
# and in a --state file. Without them the restarted runs differ: a window
# would forget the prices before the restart. Level mode keeps the windows.
source "$(dirname "$0")/../lib/common.sh"
db=${SW_STOCKCTL_DB:-sqlite:$T/a.db}

# 600 quotes on three tickers over two trading days (prev_close changes at
# quote 300), random walks that move a few percent within the windows.
$PY - "$T" <<'PY'
import random, sys
d = sys.argv[1]
random.seed(11)
p = {"AAA": 100.0, "BBB": 50.0, "CCC": 10.0}
close = dict(p)
with open(d + "/quotes.jsonl", "w") as f:
    for i in range(600):
        if i == 300:
            close = dict(p)  # a new day: yesterday's last price is the close
        t = random.choice(sorted(p))
        p[t] = max(0.5, p[t] * (1 + random.gauss(0, 0.01)))
        day, s = (1, i * 60) if i < 300 else (2, (i - 300) * 60)
        f.write('{"type":"quote","ticker":"%s","price":%.2f,"prev_close":%.2f,"ts":"2026-11-%02dT%02d:%02d:00Z"}\n'
                % (t, p[t], close[t], 26 + day, 9 + s // 3600, s // 60 % 60))
PY
head -n 200 "$T/quotes.jsonl" > "$T/part1.jsonl"
sed -n 201,420p "$T/quotes.jsonl" > "$T/part2.jsonl"
tail -n +421 "$T/quotes.jsonl" > "$T/part3.jsonl"

stockctl --db "$db" init > /dev/null
stockctl --db "$db" user add ann@example.com --telegram-id 1 > /dev/null
stockctl --db "$db" user add bob@example.com > /dev/null
stockctl --db "$db" watch add ann@example.com AAA --move 2% --within 1h > /dev/null
stockctl --db "$db" watch add bob@example.com AAA --move 3% > /dev/null
stockctl --db "$db" watch add ann@example.com BBB --move 1.5% --within 30m --up > /dev/null
stockctl --db "$db" watch add bob@example.com BBB --low 45 --move 4% --within 3h --down > /dev/null
stockctl --db "$db" watch add ann@example.com CCC --move 2.5% --within 2h > /dev/null
stockctl --db "$db" watch add bob@example.com CCC --move 1% --down > /dev/null
stockctl --db "$db" watch ls --json > "$T/watches.jsonl"
check "the watch file lists the six watches" test "$(wc -l < "$T/watches.jsonl")" -eq 6

# The reference: one uninterrupted run.
stock-alert --watches "$T/watches.jsonl" -i "$T/quotes.jsonl" -o "$T/expected.jsonl"
n=$(wc -l < "$T/expected.jsonl")
check "the reference run has many move alerts ($n)" test "$n" -ge 15
check "up and down alerts, windowed and day-change" \
  test "$(jq -r '"\(.condition) \(.within // 0 | if . > 0 then "window" else "day" end)"' \
    "$T/expected.jsonl" | sort -u | wc -l)" -eq 4
for k in 2 3; do
  from=$(head -n 1 "$T/part$k.jsonl" | jq -r .ts)
  check "the reference alerts in part $k too" \
    test "$(jq -r --arg from "$from" 'select(.ts >= $from) | .id' "$T/expected.jsonl" | wc -l)" -ge 1
done

restarted() {  # restarted LABEL ARGS...: one run per part
  local label=$1; shift
  : > "$T/$label.out"
  for k in 1 2 3; do
    stock-alert "$@" -i "$T/part$k.jsonl" -o "$T/$label.$k" 2> "$T/$label.err" ||
      fail "$label: run $k exits $?"
    cat "$T/$label.$k" >> "$T/$label.out"
  done
}
compare() {  # compare LABEL: the restarted runs wrote the reference's alerts
  if cmp -s "$T/expected.jsonl" "$T/$1.out"; then
    pass "$1: three runs wrote exactly the alerts of one run ($n)"
  else
    fail "$1: alerts differ from an uninterrupted run:"
    diff "$T/expected.jsonl" "$T/$1.out" >&2 || true
  fi
}

restarted store --db "$db"
compare store
case $db in
  sqlite:*)
    f=${db#sqlite:}
    check "store: the windows are in move_windows" \
      test "$(sqlite3 "$f" 'SELECT count(*) FROM move_windows')" -eq 3
    check "store: move states are in watch_states" \
      test "$(sqlite3 "$f" 'SELECT count(*) FROM watch_states WHERE move <> 0')" -ge 1 ;;
esac
restarted state-file --watches "$T/watches.jsonl" --state "$T/alert.state"
compare state-file
check "state-file: it holds move_window lines" grep -q '"type":"move_window","ticker":"AAA"' "$T/alert.state"
check "state-file: and move states" grep -q '"moved":"' "$T/alert.state"

restarted none --watches "$T/watches.jsonl"
check "without saved states and windows the restarted runs differ" \
  test "$(cmp -s "$T/expected.jsonl" "$T/none.out"; echo $?)" -ne 0

# Level mode keeps no states but does keep the windows.
stock-alert --watches "$T/watches.jsonl" --mode level -i "$T/quotes.jsonl" -o "$T/level-expected.jsonl"
restarted level --watches "$T/watches.jsonl" --mode level --state "$T/level.state"
if cmp -s "$T/level-expected.jsonl" "$T/level.out"; then
  pass "level: three runs with --state wrote the alerts of one run ($(wc -l < "$T/level.out"))"
else
  fail "level: alerts differ from an uninterrupted run"
  diff "$T/level-expected.jsonl" "$T/level.out" >&2 || true
fi
check "level: the state file has windows, no watch states" \
  test "$(grep -c move_window "$T/level.state")" -ge 3 -a "$(grep -c watch_state "$T/level.state")" -eq 0
finish
