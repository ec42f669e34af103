#!/usr/bin/env bash
# stockwatch demo: users, watches and a recorded day of quotes in a throwaway
# SQLite database, then the last value, averages and a chart.
#
#   SW_BIN=build/bin examples/demo.sh
#
# Builds nothing: SW_BIN is the directory with the programs (default: the
# ones on PATH). Leaves nothing behind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${SW_BIN:-}" ]; then
  export PATH="$SW_BIN:$PATH"
fi
command -v stockctl > /dev/null || { echo "demo.sh: stockctl not found (set SW_BIN)" >&2; exit 69; }

demo=$(mktemp -d "${TMPDIR:-/tmp}/stockwatch-demo.XXXXXX")
trap 'rm -rf "$demo"' EXIT
export STOCKWATCH_DB="sqlite:$demo/stockwatch.db"
unset STOCKWATCH_CONFIG STOCKWATCH_REQUEST_ID
export XDG_CONFIG_HOME="$demo/config"   # ignore the user's own config file

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }
note() { printf '\n# %s\n' "$*"; }
# A pipeline, printed as typed (paths shortened) and run by the shell.
pipe() { printf '\n%s$ %s%s\n' "$bold" "${1//$demo/\$DEMO}" "$plain"; sh -c "$1"; }

note "A fresh database in $demo"
step stockctl init

note "Three users, some with a Telegram chat id"
step stockctl user add alice@example.com --telegram-id 111111111
step stockctl user add bob@example.com
step stockctl user add carol@example.com --telegram-id 333333333
step stockctl user set bob@example.com --interval 5m

note "Watches: a band, or just one side"
step stockctl watch add alice@example.com AAPL --low 226 --high 229
step stockctl watch add alice@example.com BTC-USD --high 68500
step stockctl watch add bob@example.com MSFT --low 410 --high 420
step stockctl watch add carol@example.com ^GSPC --low 5900
step stockctl watch add carol@example.com aapl --high 230
note "Percent moves: the day's change from the previous close, or within a window"
step stockctl watch add bob@example.com BTC-USD --move 2%
step stockctl watch add carol@example.com MSFT --move 0.8% --within 2h --down
step stockctl watch ls

note "Validation names the field (exit 65)"
step stockctl watch add bob@example.com NVDA --low 150 --high 140 || true

note "At-most-once: the same request id twice registers dave once"
step stockctl user add dave@example.com --request-id signup-42
step stockctl user add dave@example.com --request-id signup-42
step stockctl user ls

note "The main job: collect a recorded day (replayed), store it, alert on crossings, notify"
pipe "stock-collect --source replay:$here/quotes-sample.jsonl | stock-alert | stock-notify --to file:$demo/messages.txt > $demo/deliveries.jsonl"
step cat "$demo/messages.txt"
step jq -c '{alert_id, channel, status}' "$demo/deliveries.jsonl"

note "Edge-triggered: the same day again stores nothing new and alerts nobody twice"
pipe "stock-collect --source replay:$here/quotes-sample.jsonl | stock-alert | wc -l"

note "The last stored value and averages: from the database, never a live fetch"
step stockctl quote last AAPL
step stockctl quote avg AAPL -n 12
step stockctl --json quote avg BTC-USD -n 96
step stockctl quote history MSFT --limit 5

note "A chart of the stored prices"
step stockctl quote history AAPL --plot
step stockctl quote history BTC-USD --plot --height 8

note "A simulated feed (seeded random walk) continuing the stored history, 30 cycles, same pipeline"
pipe "stock-collect --source sim --seed 7 --count 30 | stock-alert | stock-notify --to file:/dev/stderr > /dev/null"
step stockctl quote history AAPL --limit 3

note "user rm removes the user and everything of theirs"
step stockctl user rm alice@example.com
step stockctl watch ls
