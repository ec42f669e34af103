#!/usr/bin/env bash
# Every program has --help (exit 0), --version, a man page, and every --flag its
# --help prints appears in its man page (so they cannot drift); bad flags exit 64.
# Every --help lists the exit codes of the man page; a subcommand's --help lists
# the program's own options too (they work after the subcommand), and so does
# bash completion, which also offers the values an option allows. The man
# pages render without troff warnings at usual widths.
source "$(dirname "$0")/../lib/common.sh"
n=0
for prog in stockctl stock-collect stock-alert stock-notify; do
  [ -x "$SW_BIN/$prog" ] || { fail "$prog is not built"; continue; }
  n=$((n + 1))
  man="$SW_SRC/man/$prog.1"
  check "$prog has a man page" test -s "$man"
  check "$prog has an scdoc source" test -s "$man.scd"
  expect_code "$prog --help" 0 "$prog" --help
  "$prog" --help > "$T/help" 2>&1 || true
  # --help of each subcommand too (stockctl user add --help, ...).
  for sub in $(sed -n '/^Subcommands:/,/^$/p' "$T/help" | awk 'NR>1 && NF {print $1}'); do
    "$prog" "$sub" --help >> "$T/help" 2>&1 || true
  done
  for flag in $(grep -oE -- '--[a-z][a-z0-9-]+' "$T/help" | sort -u); do
    [ "$flag" == "--help" ] && continue
    check "$prog: $flag is documented in man/$prog.1" grep -qE -- "${flag}([^a-z0-9-]|\$)" "$man"
  done
  # The exit codes: every one the man page lists is in --help.
  "$prog" --help > "$T/top-help"
  check "$prog --help has an exit status line" grep -q "^Exit status" "$T/top-help"
  codes=$(sed -n '/^# EXIT STATUS/,/^# /p' "$man.scd" | grep -oE '^\*[0-9]+\*' | tr -d '*' | sort -n | tr '\n' ' ')
  check "$prog: the man page lists exit codes" test -n "$codes"
  for c in $codes; do
    check "$prog --help lists exit code $c" grep -qE "^Exit status.*[ :]$c " "$T/top-help"
  done
  # No troff warning ("can't break line") at usual terminal widths.
  for width in 60 80 100; do
    expect_eq "$prog.1 renders at $width columns without warnings" "" \
      "$(groff -man -Tutf8 -rLL=${width}n -z "$man" 2>&1)"
  done
  expect_code "$prog --version" 0 "$prog" --version
  expect_code "$prog with an unknown flag" 64 "$prog" --no-such-flag
done
expect_eq "all four programs were checked" 4 "$n"

# Every subcommand's --help, at every level, lists the program's own options.
subcommands() {  # subcommands PROG [SUB...]: every subcommand path below, one per line
  local p=$1; shift
  local s
  for s in $("$p" "$@" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
    echo "$* $s"
    subcommands "$p" "$@" "$s"
  done
}
for prog in stockctl stock-notify; do
  top=$("$prog" --help | sed -n '/^Options:/,/^$/p' | grep -oE -- '^ +(-[A-Za-z],)?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*' | grep -v -- '--help')
  while read -r path; do
    # shellcheck disable=SC2086  # a path of words
    "$prog" $path --help > "$T/sub-help"
    for flag in $top; do
      check "$prog $path --help lists $flag" grep -qE -- "^ +(-[A-Za-z],)?$flag( |\$)" "$T/sub-help"
    done
  done < <(subcommands "$prog")
done
expect_eq "stockctl has 20 subcommand paths" 20 "$(subcommands stockctl | wc -l)"

# Bash completion (built from --help).
complete_words() {  # complete_words WORD...: what completing the last word offers
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _stockwatch_complete; echo "${COMPREPLY[*]}"' \
    _ "$SW_SRC/completions/stockwatch.bash" "$@"
}
out=$(complete_words stockctl user add --)
for flag in --json --db --request-id --telegram-id; do
  check "completion: stockctl user add $flag" grep -qw -- "$flag" <<<"$out"
done
expect_eq "completion: stock-alert --mode <TAB>" "edge level" "$(complete_words stock-alert --mode '')"
expect_eq "completion: stock-alert --mode l<TAB>" "level" "$(complete_words stock-alert --mode l)"
expect_eq "completion: stock-notify --webhook-format <TAB>" "alert apprise" "$(complete_words stock-notify --webhook-format '')"
expect_eq "completion: stockctl wa<TAB>" "watch" "$(complete_words stockctl wa)"
expect_eq "completion: stockctl watch <TAB>" "add set rm ls" "$(complete_words stockctl watch '')"
touch "$T/somefile.jsonl"
expect_eq "completion: a file name after an option that takes any value" "$T/somefile.jsonl" \
  "$(complete_words stock-alert --watches "$T/somefile")"
finish
