#!/bin/sh
# No shared database: watches from a file (as `stockctl watch ls --json`
# prints them), edge states in a state file, quotes from a recording (or any
# source with --no-store), alerts rendered into a file. stock-notify keeps
# what it delivered (so a rerun sends nothing twice) in a small SQLite file
# next to the state.
#
#   examples/pipelines/store-less.sh [QUOTES] [WATCHES] [STATE] [MESSAGES]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
quotes=${1:-$here/quotes-sample.jsonl}
watches=${2:-$here/watches-sample.jsonl}
state=${3:-${TMPDIR:-/tmp}/stockwatch-alert.state}
messages=${4:-/dev/stderr}

stock-collect --no-store --source "replay:$quotes" |
  stock-alert --watches "$watches" --state "$state" |
  stock-notify --db "sqlite:$state.deliveries.db" --to "file:$messages"
