#!/usr/bin/env bash
# Private files whatever the umask: the store's directory is created 0700,
# the SQLite store and its -wal/-shm files 0600, and so are a new --state
# file and new dead letters (they hold emails, chat ids and raw input).
source "$(dirname "$0")/../lib/common.sh"

mode() { stat -c %a "$1"; }
umask 000  # the loosest: nothing may depend on the umask taking bits away

# The default store location, created on first use.
unset STOCKWATCH_DB
export XDG_DATA_HOME="$T/xdg/share"
stockctl user add ann@example.com --telegram-id 111 > /dev/null
stockctl watch add ann@example.com AAA --low 95 --high 105 > /dev/null
db="$XDG_DATA_HOME/stockwatch/stockwatch.db"
check "the store exists at the default place" test -s "$db"
expect_eq "the data directory is 0700" 700 "$(mode "$XDG_DATA_HOME/stockwatch")"
expect_eq "a missing parent of it is 0700 too" 700 "$(mode "$XDG_DATA_HOME")"
expect_eq "the store is 0600" 600 "$(mode "$db")"

# -wal and -shm exist while a program has the store open: stock-alert reads
# its watches from it and waits on a fifo.
mkfifo "$T/quotes.fifo"
stock-alert -i "$T/quotes.fifo" -o /dev/null 2> "$T/alert.err" &
pid=$!
on_exit "kill $pid 2>/dev/null"
exec 3> "$T/quotes.fifo"
echo '{"type":"quote","ticker":"AAA","price":100,"ts":"2026-11-27T10:00:00Z"}' >&3
if wait_for "the -wal and -shm files" 30 test -e "$db-wal" -a -e "$db-shm"; then
  expect_eq "the store's -wal file is 0600" 600 "$(mode "$db-wal")"
  expect_eq "the store's -shm file is 0600" 600 "$(mode "$db-shm")"
fi
exec 3>&-
wait "$pid" || fail "stock-alert on the store: exit $? ($(cat "$T/alert.err"))"

# A --db path in a directory that does not exist yet.
stockctl --db "sqlite:$T/new/place/x.db" init > /dev/null
expect_eq "--db: the new directory is 0700" 700 "$(mode "$T/new/place")"
expect_eq "--db: the new store is 0600" 600 "$(mode "$T/new/place/x.db")"
# An existing directory keeps its mode (it is the user's).
mkdir -m 755 "$T/public"
stockctl --db "sqlite:$T/public/y.db" init > /dev/null
expect_eq "--db: an existing directory keeps its mode" 755 "$(mode "$T/public")"
expect_eq "--db: the store in it is 0600" 600 "$(mode "$T/public/y.db")"

# The state file and dead letters.
echo '{"type":"watch","email":"ann@example.com","ticker":"AAA","low":95,"high":105}' > "$T/watches.jsonl"
printf '%s\n' '{"type":"quote","ticker":"AAA","price":110,"ts":"2026-11-27T10:00:00Z"}' 'not json' > "$T/quotes.jsonl"
stock-alert --watches "$T/watches.jsonl" --state "$T/alert.state" -i "$T/quotes.jsonl" \
  -o "$T/alerts.jsonl" --dead-letter "$T/dl-alert.jsonl" 2> /dev/null
expect_eq "a new --state file is 0600" 600 "$(mode "$T/alert.state")"
expect_eq "a new dead letter (stock-alert) is 0600" 600 "$(mode "$T/dl-alert.jsonl")"
echo 'not json' | stock-notify --to "file:$T/delivered.txt" -o /dev/null --dead-letter "$T/dl-notify.jsonl" 2> /dev/null
expect_eq "a new dead letter (stock-notify) is 0600" 600 "$(mode "$T/dl-notify.jsonl")"
echo 'not json' | stock-collect --no-store --source replay:- -o /dev/null --dead-letter "$T/dl-collect.jsonl" 2> /dev/null
expect_eq "a new dead letter (stock-collect) is 0600" 600 "$(mode "$T/dl-collect.jsonl")"
echo 'not json' | stockctl quote ingest --dead-letter "$T/dl-ctl.jsonl" > /dev/null 2>&1
expect_eq "a new dead letter (stockctl) is 0600" 600 "$(mode "$T/dl-ctl.jsonl")"

finish
