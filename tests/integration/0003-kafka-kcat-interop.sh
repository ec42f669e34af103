#!/usr/bin/env bash
# Interoperability with kcat, both ways: what kcat produces sw_cat reads
# byte for byte (payloads and keys), and what sw_cat produces kcat reads.
set -euo pipefail
# shellcheck source=tests/lib/kafka.sh
. "$(dirname "$0")/../lib/kafka.sh"
require_brokers
command -v kcat >/dev/null || die "kcat is not installed"

# Payloads sw_cat must not touch without --validate: unknown record types,
# non-ASCII text, escapes, nesting, a 20 kB record; keys with UTF-8.
step "making 1000 keyed records"
awk 'BEGIN {
  big = ""; for (i = 0; i < 2000; i++) big = big "0123456789"
  for (i = 1; i <= 1000; i++) {
    printf "%s\t", (i % 3 == 0) ? sprintf("\320\272\320\273\321\216\321\207-%d", i % 7) : sprintf("key-%d", i % 11)
    if (i % 4 == 0)      printf "{\"type\":\"quote\",\"ticker\":\"T%d\",\"price\":%d.5,\"ts\":\"2026-11-27T14:30:00Z\",\"source\":\"b\303\266rse \\\"%d\\\"\"}\n", i % 10, i, i
    else if (i % 4 == 1) printf "{\"type\":\"x-custom\",\"n\":%d,\"nested\":{\"a\":[1,2,{\"b\":null}]},\"s\":\"\\u00e9\\n\"}\n", i
    else if (i % 4 == 2) printf "{\"type\":\"alert\",\"email\":\"u%d@example.com\",\"note\":\"\342\202\254 %d\"}\n", i, i
    else                 printf "{\"type\":\"big\",\"i\":%d,\"data\":\"%s\"}\n", i, big
  }
}' >"$T/kv.tsv"
cut -f2- "$T/kv.tsv" >"$T/values.jsonl"

# ---- kcat -> sw_cat
t1=$(unique_name from-kcat)
t2=$(unique_name copy)
step "kcat produces kafka:$t1"
kcat -P -b "$BROKERS" -t "$t1" -K $'\t' <"$T/kv.tsv" || die "kcat -P failed"

step "sw_cat reads kafka:$t1 to a file: payloads byte-identical"
rc=0
timeout 180 "$SW_CAT" -i "kafka:$t1" -o "$T/read.jsonl" -b "$BROKERS" -G "$(unique_name g1)" \
  --exit-at-eof "${GROUP_X[@]}" || rc=$?
[ "$rc" -eq 0 ] || die "sw_cat consumer exited $rc"
same_lines "$T/values.jsonl" "$T/read.jsonl" || die "payloads read by sw_cat differ from kcat's"

step "sw_cat copies kafka:$t1 to kafka:$t2, kcat reads it: keys and payloads identical"
rc=0
timeout 180 "$SW_CAT" -i "kafka:$t1" -o "kafka:$t2" -b "$BROKERS" -G "$(unique_name g2)" \
  --exit-at-eof "${GROUP_X[@]}" || rc=$?
[ "$rc" -eq 0 ] || die "sw_cat copy exited $rc"
kcat -C -b "$BROKERS" -t "$t2" -o beginning -e -q -f '%k\t%s\n' >"$T/copied.tsv" ||
  die "kcat -C failed"
same_lines "$T/kv.tsv" "$T/copied.tsv" || die "keys or payloads changed on the way through sw_cat"

# ---- sw_cat -> kcat
t3=$(unique_name from-sw-cat)
step "sw_cat --validate produces quotes to kafka:$t3 (key: ticker)"
gen_quotes 2000 "$T/quotes.jsonl"
"$SW_CAT" --validate -i "$T/quotes.jsonl" -o "$T/quotes.valid.jsonl" || die "sw_cat --validate failed"
"$SW_CAT" --validate -i "$T/quotes.jsonl" -o "kafka:$t3" -b "$BROKERS" || die "sw_cat produce failed"

step "kcat -C -e reads kafka:$t3: payloads identical, key = the ticker"
kcat -C -b "$BROKERS" -t "$t3" -o beginning -e -q -f '%k\t%s\n' >"$T/kcat.tsv" || die "kcat -C failed"
awk '{ match($0, /"ticker":"[^"]*"/); printf "%s\t%s\n", substr($0, RSTART + 10, RLENGTH - 11), $0 }' \
  "$T/quotes.valid.jsonl" >"$T/quotes.expected.tsv"
same_lines "$T/quotes.expected.tsv" "$T/kcat.tsv" || die "kcat read other keys or payloads than sw_cat wrote"

finish
