#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each on its
# committed seed corpus. Crashes are written to $OUT/<target>-crash-*; the
# run fails if any target crashes.
#   run.sh SECONDS        explore: each target for SECONDS (random seed)
#   run.sh --runs N       reproducible (make test): N inputs each, seed 1
set -euo pipefail
limit=(-max_total_time="${1:-20}")
if [ "${1:-}" == "--runs" ]; then limit=(-runs="${2:?--runs needs a count}" -seed=1); fi
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-$(mktemp -d /tmp/sw-fuzz.XXXXXX)}
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$src/lib" -DSTOCKWATCH_VERSION=\"fuzz\")
libs=(-lsimdjson -lfmt -lcurl)
status=0
for target in "$src"/tests/fuzz/*_fuzz.cc; do
  name=$(basename "$target" _fuzz.cc)
  # Each target names the library folders (lib/stockwatch/LAYERS) it needs
  # on a "// layers:" line; it is built from every source in them.
  extra=()
  for layer in $(sed -n 's#^// layers: ##p' "$target"); do
    mapfile -t -O "${#extra[@]}" extra < <(find "$src/lib/stockwatch/$layer" -name '*.cc' | sort)
  done
  [ ${#extra[@]} -gt 0 ] || { echo "fuzz $name: no // layers: line" >&2; exit 1; }
  echo "== fuzz $name: building"
  clang++ "${flags[@]}" "$target" "${extra[@]}" "${libs[@]}" -o "$out/$name" 2> "$out/$name.build.log" ||
    { cat "$out/$name.build.log"; exit 1; }
  corpus="$src/tests/fuzz/corpus/$name"
  mkdir -p "$out/$name.corpus"
  echo "== fuzz $name: ${limit[*]}"
  if ! (cd "$out" && ./"$name" "${limit[@]}" -max_len=4096 -timeout=10 \
          -artifact_prefix="$out/$name-" "$out/$name.corpus" "$corpus" > "$out/$name.log" 2>&1); then
    echo "fuzz $name: CRASH (see below and $out)"; tail -40 "$out/$name.log"; status=1
  else
    grep -E "^(#[0-9]+: |Done)" "$out/$name.log" | tail -1
  fi
done
[ -n "${FUZZ_OUT:-}" ] || rm -rf "$out"
exit $status
