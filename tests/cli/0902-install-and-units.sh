#!/usr/bin/env bash
# `make install` layout (binaries, man pages, completions, examples) and the
# example systemd units pass `systemd-analyze verify`.
source "$(dirname "$0")/../lib/common.sh"
build=$(dirname "$SW_BIN")
DESTDIR="$T/dest" cmake --install "$build" --prefix /usr/local > "$T/install.log" 2>&1 || { cat "$T/install.log"; fail "cmake --install"; }
root="$T/dest/usr/local"
for p in stockctl stock-collect stock-alert stock-notify; do
  check "installs bin/$p" test -x "$root/bin/$p"
  check "installs man1/$p.1" test -s "$root/share/man/man1/$p.1"
  check "installs the bash completion for $p" test -e "$root/share/bash-completion/completions/$p"
done
check "installs examples under share/doc" test -d "$root/share/doc/stockwatch/examples/systemd"
check "no test helper is installed" test ! -e "$root/bin/sw_cat"

# The completion script completes subcommands and flags from --help.
out=$(bash -c 'source "$1/completions/stockwatch.bash"; COMP_WORDS=(stockctl us); COMP_CWORD=1; _stockwatch_complete; echo "${COMPREPLY[@]}"' _ "$SW_SRC")
expect_eq "completion of 'stockctl us'" "user" "$out"
out=$(bash -c 'source "$1/completions/stockwatch.bash"; COMP_WORDS=(stock-alert --hyst); COMP_CWORD=1; _stockwatch_complete; echo "${COMPREPLY[@]}"' _ "$SW_SRC")
expect_eq "completion of 'stock-alert --hyst'" "--hysteresis" "$out"

# Every long-running unit talks to systemd: readiness and a watchdog.
for u in "$SW_SRC"/examples/systemd/*.service; do
  grep -q '^Type=oneshot' "$u" && continue
  check "$(basename "$u") is Type=notify" grep -q '^Type=notify$' "$u"
  check "$(basename "$u") has a watchdog" grep -Eq '^WatchdogSec=[0-9]+(s|min)$' "$u"
done

if command -v systemd-analyze > /dev/null; then
  mkdir -p "$T/units"
  for u in "$SW_SRC"/examples/systemd/*.service "$SW_SRC"/examples/systemd/*.timer; do
    [ -e "$u" ] || continue
    sed "s|/usr/local/bin/|$SW_BIN/|g" "$u" > "$T/units/$(basename "$u")"
  done
  for u in "$T"/units/*; do
    code=0
    systemd-analyze verify --man=no "$u" > "$T/verify.log" 2>&1 || code=$?
    if [ "$code" -eq 0 ] && ! grep -q . "$T/verify.log"; then
      pass "systemd-analyze verify $(basename "$u")"
    else
      fail "systemd-analyze verify $(basename "$u") (exit $code): $(cat "$T/verify.log")"
    fi
  done
else
  fail "systemd-analyze is missing (make deps installs systemd)"
fi
finish
