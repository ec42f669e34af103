#!/bin/sh
# The whole job once, as cron runs it: every watched ticker is fetched (or
# replayed), stored, checked and delivered; flock keeps runs from overlapping
# and turns "still running" into exit 75 (try later), like a rate limit.
#
#   SOURCE=yahoo TARGETS="telegram: mailto:" examples/pipelines/cron-job.sh
set -eu
lock=${LOCK:-${TMPDIR:-/tmp}/stockwatch-cron.lock}
source=${SOURCE:-yahoo}
targets=""
for t in ${TARGETS:-file:/dev/stderr}; do targets="$targets --to $t"; done
# shellcheck disable=SC2086  # $targets is a list of options
exec flock -n -E 75 "$lock" sh -c "stock-collect -q --source '$source' | stock-alert | stock-notify $targets"
