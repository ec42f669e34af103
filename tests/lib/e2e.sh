# shellcheck shell=bash
# Helpers for the end-to-end tests (tests/integration/07*-*.sh), on top of
# tests/lib/kafka.sh (which it sources).
# shellcheck disable=SC2034  # variables used by the sourcing scripts
# shellcheck source=tests/lib/kafka.sh
. "$(dirname "${BASH_SOURCE[0]}")/kafka.sh"

# The programs must not pick up the caller's store (nor, as common.sh sees
# to, its config or brokers): every command names its own.
unset STOCKWATCH_DB
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

# require_bins NAME...: every program is built.
require_bins() {
  local b
  for b in "$@"; do [ -x "$SW_BIN/$b" ] || die "$SW_BIN/$b is not built"; done
}

# E2E_TICKERS: two in each partition of an auto-created topic (4 partitions;
# librdkafka's default partitioner: CRC32 of the key), with the characters
# tickers may have.
E2E_TICKERS="AAPL,BTC-USD,META,SAP.DE,AMZN,^DJI,MSFT,EURUSD=X"

# make_watch_records SEED FILE: for 20 users, 4 watches each (80 in all)
# with bands 0.2 % to 1.4 % wide around the sim walk's first price of the
# ticker (seed SEED), some with only a low or only a high bound; written as
# "EMAIL TICKER LOW HIGH" lines ("-": no bound).
make_watch_records() {
  "$SW_BIN/stock-collect" --no-store --source sim --seed "$1" --count 1 --tickers "$E2E_TICKERS" \
    --sim-start 2026-01-01T00:00:00Z >"$T/first-prices.jsonl" || die "stock-collect sim failed"
  jq -r '"\(.ticker) \(.price)"' "$T/first-prices.jsonl" | awk '
    { t[NR - 1] = $1; p[NR - 1] = $2; n = NR }
    END {
      if (n != 8) { print "expected 8 first prices, got " n > "/dev/stderr"; exit 1 }
      for (i = 0; i < 20; i++) for (k = 0; k < 4; k++) {
        j = (i + 2 * k + int(i / 8)) % 8
        w = 0.002 + 0.003 * ((i + k) % 5)
        lo = sprintf("%.2f", p[j] * (1 - w)); hi = sprintf("%.2f", p[j] * (1 + w))
        if (hi + 0 <= lo + 0) hi = sprintf("%.2f", lo + 0.01)
        m = (i + k) % 4
        printf "u%02d@example.com %s %s %s\n", i, t[j], (m == 1 ? "-" : lo), (m == 2 ? "-" : hi)
      }
    }' >"$2" || die "cannot make the watches"
}

# watch_records_to_json FILE: the "EMAIL TICKER LOW HIGH" lines as watch records.
watch_records_to_json() {
  awk '{
    printf "{\"type\":\"watch\",\"email\":\"%s\",\"ticker\":\"%s\"", $1, $2
    if ($3 != "-") printf ",\"low\":%s", $3
    if ($4 != "-") printf ",\"high\":%s", $4
    print "}"
  }' "$1"
}

# topic_partitions TOPIC: the partition ids (also creates the topic on the
# mock cluster, which auto-creates topics with 4 partitions).
topic_partitions() {
  "$SW_BIN/kafka_offsets" -b "$BROKERS" -t "$1" | awk '{ print $1 }'
}

# dump_topic TOPIC FILE: every message value, partition by partition, each
# in offset order (the per-key order stock-alert sees).
dump_topic() {
  local p
  : >"$2"
  for p in $(topic_partitions "$1"); do
    kcat -C -b "$BROKERS" -t "$1" -p "$p" -o beginning -e -q -f '%s\n' >>"$2" ||
      die "kcat -C $1/$p failed"
  done
}

# group_lag TOPIC GROUP: records of TOPIC not committed by GROUP.
group_lag() { "$SW_BIN/kafka_offsets" -b "$BROKERS" -t "$1" -G "$2" --lag; }

# topic_size TOPIC: messages in TOPIC (sum of high - low watermarks).
topic_size() { "$SW_BIN/kafka_offsets" -b "$BROKERS" -t "$1" --lag; }

# alert_keys: "TS EMAIL TICKER CONDITION" of alert records on stdin (what a
# file target line starts with), then a tab and the id.
alert_keys() { jq -r '"\(.ts) \(.email) \(.ticker) \(.condition)\t\(.id)"'; }

# file_target_ids MAP FILE: the alert id of each line of a file target, in
# order, using MAP (alert_keys output); "?KEY" (blanks as _) for a line no
# alert explains.
file_target_ids() {
  awk -F'\t' 'NR == FNR { id[$1] = $2; next }
    { split($0, f, " "); k = f[1] " " f[2] " " f[3] " " f[4]
      if (k in id) print id[k]; else { gsub(/ /, "_", k); print "?" k } }' "$1" "$2"
}

# JQ_MS: a jq function `ms` turning "2026-01-01T00:00:00.123Z" into epoch ms.
# shellcheck disable=SC2016  # jq's $c, not the shell's
JQ_MS='def ms: capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$") as $c
  | ($c.s + "Z" | fromdateiso8601) * 1000 + ((($c.f // "0") + "00")[0:3] | tonumber);'

# rand_s LOW HIGH: a random number of seconds in [LOW, HIGH), 3 decimals.
rand_s() {
  local lo=$(($1 * 1000)) span=$((($2 - $1) * 1000))
  local ms=$((lo + (RANDOM * 32768 + RANDOM) % span))
  printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# compare_ids TARGET DELIVERED KILL_POS WINDOW: compares the ids in file
# DELIVERED (in delivery order) with $T/expected.ids (sorted) as
# multisets; 1 (with the differences on stderr) when they differ. A repeat
# is tolerated only for an id first delivered among the last WINDOW before
# stock-notify was killed (after KILL_POS deliveries) and once more after.
compare_ids() {
  local target=$1 delivered=$2 kill_pos=$3 window=$4
  awk -v k="$kill_pos" -v w="$window" '
    { n[$1]++; if (n[$1] == 1) first[$1] = NR; else if (n[$1] == 2) second[$1] = NR }
    END {
      for (id in n) {
        if (n[id] == 2 && first[id] > k - w && first[id] <= k && second[id] > k) {
          print id > "/dev/stderr"; tolerated++; print id
        } else {
          for (i = 0; i < n[id]; i++) print id
        }
      }
    }' "$delivered" 2>"$T/$target.tolerated" | LC_ALL=C sort >"$T/$target.ids"
  local tol missing extra unknown
  tol=$(wc -l <"$T/$target.tolerated")
  [ "$tol" -eq 0 ] || step "$target: $tol alert(s) repeated by the kill of stock-notify (acknowledged, not yet recorded): tolerated"
  missing=$(LC_ALL=C comm -23 "$T/expected.ids" "$T/$target.ids" | wc -l)
  extra=$(LC_ALL=C comm -13 "$T/expected.ids" "$T/$target.ids" | wc -l)
  if [ "$missing" -ne 0 ] || [ "$extra" -ne 0 ]; then
    {
      echo "$target: $missing expected alert(s) missing, $extra delivered that were not expected (or repeated):"
      LC_ALL=C comm -23 "$T/expected.ids" "$T/$target.ids" | head -n 5 | sed 's/^/  missing: /'
      LC_ALL=C comm -13 "$T/expected.ids" "$T/$target.ids" | head -n 5 | sed 's/^/  extra:   /'
      unknown=$(grep -c '^?' "$T/$target.ids" || true)
      [ "$unknown" -eq 0 ] || echo "  ($unknown line(s) match no expected alert at all)"
    } >&2
    return 1
  fi
}
