#!/usr/bin/env bash
# Runs every benchmark (bench/*.sh) and writes one markdown report.
# Usage: bench/run-all.sh [BIN_DIR] [REPORT]   (make bench)
# Each benchmark prints its own markdown (tables with the comparison points:
# jq, kcat, psql \copy, the ideal fan-out) and generates its data in /tmp.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export SW_BIN=$(cd "${1:-$here/../build/bin}" && pwd)
report=${2:-$here/REPORT.md}
export SW_SRC=$(cd "$here/.." && pwd)
{
  echo "# stockwatch benchmark report"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "- commit: $(git -C "$SW_SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
} > "$report"
status=0
for b in "$here"/*.sh; do
  name=$(basename "$b" .sh)
  case $name in run-all | lib) continue ;; esac  # lib.sh: the shared preamble
  echo "== $name" >&2
  {
    echo "## $name"
    echo
    echo "Command: \`bench/$name.sh\`"
    echo
  } >> "$report"
  if ! bash "$b" >> "$report" 2> "/tmp/bench-$name.err"; then
    echo "$name FAILED (stderr in /tmp/bench-$name.err)" >&2
    { echo; echo "**failed**: see /tmp/bench-$name.err"; } >> "$report"
    status=1
  fi
  echo >> "$report"
done
echo "report: $report" >&2
exit $status
