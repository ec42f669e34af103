#!/usr/bin/env bash
# Config file: keys are long option names; precedence flag > env > file > default;
# [program] sections; an unknown key in this program's section exits 78 naming file:line.
source "$(dirname "$0")/../lib/common.sh"
printf '%s\n' '{"type":"quote","ticker":"AAA","price":1,"ts":"2026-11-27T14:30:00Z"}' > "$T/in.jsonl"
cat > "$T/cfg.toml" <<CFG
# comment
[sw_cat]
output = "$T/from-file.jsonl"   # trailing comment
[stock-alert]
output = "$T/not-for-sw_cat.jsonl"
CFG
expect_code "config file is read" 0 sw_cat -c "$T/cfg.toml" -i "$T/in.jsonl"
check "a key in the program's section applies" test -s "$T/from-file.jsonl"
check "another program's section is ignored" test ! -e "$T/not-for-sw_cat.jsonl"
expect_code "flag beats file" 0 sw_cat -c "$T/cfg.toml" -i "$T/in.jsonl" -o "$T/from-flag.jsonl"
check "the flag's output was used" test -s "$T/from-flag.jsonl"
expect_code "STOCKWATCH_CONFIG names the file" 0 env STOCKWATCH_CONFIG="$T/cfg.toml" sw_cat -i "$T/in.jsonl" -o "$T/o2.jsonl"
mkdir -p "$T/config/stockwatch"
printf '[sw_cat]\noutput = "%s"\n' "$T/xdg.jsonl" > "$T/config/stockwatch/config.toml"
expect_code "the XDG default file is read" 0 sw_cat -i "$T/in.jsonl"
check "XDG config applied" test -s "$T/xdg.jsonl"
rm "$T/config/stockwatch/config.toml"

printf '[sw_cat]\noutput = "x"\ntreshold = 3\n' > "$T/bad.toml"
code=0; sw_cat -c "$T/bad.toml" -i "$T/in.jsonl" 2> "$T/err" || code=$?
expect_eq "unknown key in the program's section" 78 "$code"
check "the error names file:line and the key" grep -q "^sw_cat: $T/bad.toml:3: unknown key \"treshold\"" "$T/err"
printf 'treshold = 3\n[sw_cat]\n' > "$T/top.toml"
expect_code "unknown top-level key (maybe another program's) is ignored" 0 sw_cat -c "$T/top.toml" -i "$T/in.jsonl" -o /dev/null
printf '[sw_cat]\noutput\n' > "$T/syntax.toml"
expect_code "a line without = is a config error" 78 sw_cat -c "$T/syntax.toml" -i "$T/in.jsonl"
expect_code "a missing config file is a config error" 78 sw_cat -c "$T/none.toml" -i "$T/in.jsonl"

if [ -x "$SW_BIN/stockctl" ]; then
  # env beats file, file beats default (observed through which database gets the user).
  printf 'db = "sqlite:%s"\n' "$T/file.db" > "$T/db.toml"
  unset STOCKWATCH_DB
  expect_code "db from the file" 0 stockctl -c "$T/db.toml" user add file@example.com
  check "the file's database was used" test -e "$T/file.db"
  expect_code "db from env beats the file" 0 env STOCKWATCH_DB="sqlite:$T/env.db" stockctl -c "$T/db.toml" user add env@example.com
  check "the env database was used" test -e "$T/env.db"
  expect_eq "the file's database got only its user" "file@example.com" \
    "$(stockctl --db "sqlite:$T/file.db" --json user ls | jq -r .email)"
  expect_code "flag beats env" 0 env STOCKWATCH_DB="sqlite:$T/env.db" stockctl --db "sqlite:$T/flag.db" -c "$T/db.toml" user add flag@example.com
  check "the flag's database was used" test -e "$T/flag.db"
else
  fail "stockctl is not built"
fi
finish
