#!/usr/bin/env bash
# Output files and planted symbolic links: another user (nobody) plants links
# in a sticky world-writable directory (like /tmp) pointing at a file of ours.
# The --state file is replaced through a fresh temporary file (never through
# a planted PATH.tmp) and may not be a link; dead letters, -o files and file:
# targets follow only links owned by us or by root, for every program.
source "$(dirname "$0")/../lib/common.sh"

if [ "$(id -u)" != 0 ]; then echo "FAIL - this test plants links as another user: run it as root" >&2; exit 1; fi
S=$(mktemp -d "${TMPDIR:-/tmp}/sw-sticky.XXXXXX")
on_exit "rm -rf '$S'"
chmod 1777 "$S"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
plant() { as_nobody ln -s "$2" "$S/$1"; }  # plant NAME TARGET: a link owned by nobody

echo 'keep me' > "$T/precious"; chmod 600 "$T/precious"
unchanged() { [ "$(cat "$T/precious")" == 'keep me' ]; }
refused() {  # refused DESCRIPTION ERRFILE: exit 77 was checked; the message names the link
  check "$1: the message says why" grep -q 'symbolic link owned by nobody' "$2"
  check "$1: our file is untouched" unchanged
}

cat > "$T/watches.jsonl" <<'EOF'
{"type":"watch","email":"ann@example.com","ticker":"AAA","low":95,"high":105}
EOF
cat > "$T/quotes.jsonl" <<'EOF'
{"type":"quote","ticker":"AAA","price":100,"ts":"2026-11-27T10:00:00Z"}
{"type":"quote","ticker":"AAA","price":110,"ts":"2026-11-27T10:01:00Z"}
EOF
echo 'not json' > "$T/bad.jsonl"

# --- the state file
plant alert.state.tmp "$T/precious"
rc=0; stock-alert --watches "$T/watches.jsonl" --state "$S/alert.state" -i "$T/quotes.jsonl" \
  -o "$T/alerts.jsonl" 2> "$T/err" || rc=$?
expect_eq "--state next to a planted alert.state.tmp: exit 0" 0 "$rc"
check "--state: our file is not overwritten through the planted PATH.tmp" unchanged
check "--state: the state file is a regular file" test -f "$S/alert.state" -a ! -L "$S/alert.state"
check "--state: it holds the state" grep -q '"state":"above"' "$S/alert.state"
check "--state: the planted link is left alone" test -L "$S/alert.state.tmp"
check "--state: no temporary file is left" test "$(find "$S" -name 'alert.state.tmp?*' | wc -l)" -eq 0

plant planted.state "$T/precious"
rc=0; stock-alert --watches "$T/watches.jsonl" --state "$S/planted.state" -i "$T/quotes.jsonl" \
  -o /dev/null 2> "$T/err" || rc=$?
expect_eq "--state that is a symbolic link: exit 77" 77 "$rc"
check "--state link: the message says why" grep -q 'planted.state: is a symbolic link' "$T/err"
check "--state link: it is left as it was" test -L "$S/planted.state"
check "--state link: our file is untouched" unchanged

# --- dead letters, -o and file: targets, in every program that writes them
plant dl-alert.jsonl "$T/precious"
rc=0; stock-alert --watches "$T/watches.jsonl" -i "$T/bad.jsonl" -o /dev/null \
  --dead-letter "$S/dl-alert.jsonl" 2> "$T/err" || rc=$?
expect_eq "stock-alert --dead-letter through a planted link: exit 77" 77 "$rc"
refused "stock-alert --dead-letter" "$T/err"

plant out-alert.jsonl "$T/precious"
rc=0; stock-alert --watches "$T/watches.jsonl" -i "$T/quotes.jsonl" -o "$S/out-alert.jsonl" 2> "$T/err" || rc=$?
expect_eq "stock-alert -o through a planted link: exit 77" 77 "$rc"
refused "stock-alert -o" "$T/err"

plant dl-notify.jsonl "$T/precious"
rc=0; stock-notify -i "$T/bad.jsonl" --to "file:$T/delivered.txt" -o /dev/null \
  --dead-letter "$S/dl-notify.jsonl" 2> "$T/err" || rc=$?
expect_eq "stock-notify --dead-letter through a planted link: exit 77" 77 "$rc"
refused "stock-notify --dead-letter" "$T/err"

stock-alert --watches "$T/watches.jsonl" -i "$T/quotes.jsonl" -o "$T/alerts.jsonl"
plant target.txt "$T/precious"
rc=0; stock-notify -i "$T/alerts.jsonl" --to "file:$S/target.txt" -o /dev/null 2> "$T/err" || rc=$?
expect_eq "stock-notify --to file: through a planted link: exit 77" 77 "$rc"
refused "stock-notify --to file:" "$T/err"
check "stock-notify --to file: the message names the target" grep -q "file:$S/target.txt: is a symbolic link" "$T/err"

plant dl-collect.jsonl "$T/precious"
rc=0; stock-collect --no-store --source "replay:$T/bad.jsonl" -o /dev/null \
  --dead-letter "$S/dl-collect.jsonl" 2> "$T/err" || rc=$?
expect_eq "stock-collect --dead-letter through a planted link: exit 77" 77 "$rc"
refused "stock-collect --dead-letter" "$T/err"

plant dl-ctl.jsonl "$T/precious"
rc=0; stockctl quote ingest --dead-letter "$S/dl-ctl.jsonl" "$T/bad.jsonl" > /dev/null 2> "$T/err" || rc=$?
expect_eq "stockctl quote ingest --dead-letter through a planted link: exit 77" 77 "$rc"
refused "stockctl quote ingest --dead-letter" "$T/err"

# --- links of our own (and root's, like /dev/stderr) are followed
: > "$T/mine.jsonl"
ln -s "$T/mine.jsonl" "$S/mine.jsonl"
rc=0; stock-alert --watches "$T/watches.jsonl" -i "$T/bad.jsonl" -o /dev/null \
  --dead-letter "$S/mine.jsonl" 2> /dev/null || rc=$?
expect_eq "a dead letter through our own link: exit 0" 0 "$rc"
check "a dead letter through our own link: the rejected line is there" \
  grep -q '"type":"rejected"' "$T/mine.jsonl"
rc=0; stock-alert --watches "$T/watches.jsonl" -i "$T/bad.jsonl" -o /dev/null \
  --dead-letter /dev/stderr 2> "$T/err" || rc=$?
expect_eq "--dead-letter /dev/stderr (root's link): exit 0" 0 "$rc"
check "--dead-letter /dev/stderr: the rejected line is there" grep -q '"type":"rejected"' "$T/err"

finish
