#!/usr/bin/env bash
# Golden files for stock-alert (one loop over tests/data/alert):
#   NAME.watches.jsonl  the watches (--watches)
#   NAME.in.jsonl       the input; a line "#restart" ends one run and starts
#                       the next, with the same --state file
#   NAME.out.jsonl      the expected output, byte for byte (all runs in turn)
#   NAME.args           optional extra flags
#   NAME.exit           optional expected exit code (default 0)
#   NAME.err.grep       optional: every line must occur in stderr (fixed string)
#   NAME.stderr         optional: stderr must be exactly this
source "$(dirname "$0")/../lib/common.sh"
dir="$SW_SRC/tests/data/alert"
n=0
for watches in "$dir"/*.watches.jsonl; do
  name=$(basename "$watches" .watches.jsonl)
  n=$((n + 1))
  args=()
  [ -f "$dir/$name.args" ] && read -r -a args < "$dir/$name.args"
  want_exit=0
  [ -f "$dir/$name.exit" ] && want_exit=$(cat "$dir/$name.exit")
  : > "$T/$name.out"
  : > "$T/$name.err"
  code=0
  if grep -qx '#restart' "$dir/$name.in.jsonl"; then
    # One run per part, keeping the state file: no repeat, no miss.
    awk -v p="$T/$name.part." 'BEGIN{k=1} $0=="#restart"{k++; next} {print > (p k)}' "$dir/$name.in.jsonl"
    parts=$(grep -cx '#restart' "$dir/$name.in.jsonl")
    for k in $(seq 1 $((parts + 1))); do
      stock-alert --watches "$watches" --state "$T/$name.state" -i "$T/$name.part.$k" -o "$T/$name.part-out" \
        "${args[@]}" 2>> "$T/$name.err" || code=$?
      cat "$T/$name.part-out" >> "$T/$name.out"
    done
    check "$name: the state file was written atomically (no temp file left)" test ! -e "$T/$name.state.tmp"
  else
    stock-alert --watches "$watches" -i "$dir/$name.in.jsonl" -o "$T/$name.out" "${args[@]}" \
      2> "$T/$name.err" || code=$?
  fi
  expect_eq "$name: exit code" "$want_exit" "$code"
  if diff -u "$dir/$name.out.jsonl" "$T/$name.out" > "$T/$name.diff"; then
    pass "$name: output matches $name.out.jsonl"
  else
    fail "$name: output differs from $name.out.jsonl:"
    cat "$T/$name.diff" >&2
  fi
  if [ -f "$dir/$name.err.grep" ]; then
    while IFS= read -r want; do
      [ -z "$want" ] && continue
      if grep -qF -- "$want" "$T/$name.err"; then
        pass "$name: stderr has [$want]"
      else
        fail "$name: stderr lacks [$want]; stderr was:"
        cat "$T/$name.err" >&2
      fi
    done < "$dir/$name.err.grep"
  fi
  if [ -f "$dir/$name.stderr" ]; then
    check "$name: stderr is exactly $name.stderr" cmp -s "$dir/$name.stderr" "$T/$name.err"
  fi
done
check "at least 16 golden cases ran ($n)" test "$n" -ge 16

# The same input through stdin/stdout pipes gives the same output.
stock-alert --watches "$dir/edge.watches.jsonl" < "$dir/edge.in.jsonl" 2>/dev/null | cat > "$T/pipe.out"
check "edge through pipes matches edge.out.jsonl" cmp -s "$dir/edge.out.jsonl" "$T/pipe.out"
finish
