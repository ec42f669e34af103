#!/usr/bin/env bash
# Checks the library's layers: every `#include "stockwatch/<folder>/..."` in
# lib/stockwatch/<layer>/ must name <layer> itself or a folder that <layer>'s
# line in lib/stockwatch/LAYERS lists, and a line may list only folders
# defined above it (so the layers cannot form a cycle). lib/ never includes
# common/ (the programs' CLI glue). Prints one line per violation and exits 1.
#   tests/layers.sh [ROOT]     (default: this checkout)
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
lib=$root/lib/stockwatch
layers=$lib/LAYERS
declare -A allowed
bad=0
complain() { echo "layers: $*"; bad=1; }

n=0
while IFS= read -r text; do
  n=$((n + 1))
  [[ $text =~ ^([a-z]+):(.*)$ ]] || continue
  layer=${BASH_REMATCH[1]}
  for dep in ${BASH_REMATCH[2]}; do
    [[ -n ${allowed[$dep]+x} ]] ||
      complain "lib/stockwatch/LAYERS:$n: $layer uses $dep, which is not defined above it"
  done
  allowed[$layer]=" $layer ${BASH_REMATCH[2]} "
done < "$layers"

for dir in "$lib"/*/; do
  name=$(basename "$dir")
  [[ -n ${allowed[$name]+x} ]] || complain "lib/stockwatch/$name/: a folder with no line in LAYERS"
done
for file in "$lib"/*.h "$lib"/*.cc; do
  [[ -e $file ]] && complain "${file#"$root"/}: outside any folder of lib/stockwatch"
done

while IFS= read -r hit; do
  file=${hit%%:*}
  rest=${hit#*:}
  line=${rest%%:*}
  text=${rest#*:}
  rel=${file#"$lib"/}
  layer=${rel%%/*}
  if [[ $text =~ \"common/ ]]; then
    complain "lib/stockwatch/$rel:$line: lib/ may not include the programs' common/ code"
    continue
  fi
  [[ $text =~ \"stockwatch/([a-z_]+)/ ]] || {
    complain "lib/stockwatch/$rel:$line: includes a header outside the folders: $text"
    continue
  }
  used=${BASH_REMATCH[1]}
  [[ ${allowed[$layer]:-} == *" $used "* ]] ||
    complain "lib/stockwatch/$rel:$line: $layer may not include stockwatch/$used/ (see lib/stockwatch/LAYERS)"
done < <(grep -rn --include='*.h' --include='*.cc' -E '^#include "(stockwatch|common)/' "$lib")
exit $bad
