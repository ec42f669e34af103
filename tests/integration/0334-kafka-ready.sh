#!/usr/bin/env bash
# Under a service manager (a fake NOTIFY_SOCKET) a Kafka consumer says
# READY=1 only once its group assigned it partitions: when READY arrives,
# the program has already logged the assignment (-v), for stock-alert and
# stock-notify; and while no broker answers (the group cannot be joined)
# READY never comes, up to the exit 69 of --broker-wait.
# Needs STOCKWATCH_TEST_BROKERS (a mock cluster; `make test` starts one).
source "$(dirname "$0")/../lib/common.sh"
require_env STOCKWATCH_TEST_BROKERS
BS=$STOCKWATCH_TEST_BROKERS
GX=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
id="$(date +%s%N)-$$"
topic="sw-ready-$id"

# under ERRFILE PROGRAM ARGS...: runs PROGRAM with NOTIFY_SOCKET and its
# stderr in ERRFILE; prints each notify message with "assigned" or
# "unassigned" (whether ERRFILE held an assignment line when it came);
# sends SIGTERM 1 s after READY=1; the last line is "exit N". Bounded: 60 s.
under() {
  $PY - "$@" <<'PYEOF'
import os, signal, socket, subprocess, sys, tempfile, time
errfile, cmd = sys.argv[1], sys.argv[2:]
d = tempfile.mkdtemp(prefix="sw-notify."); path = os.path.join(d, "n.sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(path); s.settimeout(0.1)
env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
with open(errfile, "w") as err:
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stderr=err)
term_at = None
end = time.monotonic() + 60
def assigned():
    with open(errfile) as f:
        return "assigned" if "assigned partition(s)" in f.read() else "unassigned"
def drain():
    try:
        while True:
            for m in s.recv(4096).decode().split("\n"):
                if m:
                    print(m, assigned(), flush=True)
                    if m == "READY=1" and term_at is None:
                        return True
    except socket.timeout:
        return False
while time.monotonic() < end and p.poll() is None:
    if drain() and term_at is None:
        term_at = time.monotonic() + 1
    if term_at is not None and time.monotonic() >= term_at:
        p.send_signal(signal.SIGTERM)
        term_at = float("inf")
if p.poll() is None:
    p.kill()
    print("timeout", flush=True)
code = p.wait(timeout=30)
drain()
print("exit %d" % code, flush=True)
os.unlink(path); os.rmdir(d)
PYEOF
}

cat > "$T/watches.jsonl" <<'W'
{"type":"watch","email":"a@example.com","ticker":"AAPL","low":150,"high":200}
W
printf '{"type":"quote","ticker":"AAPL","price":%s,"ts":"2026-11-27T14:3%s:00Z"}\n' 170 0 210 1 \
  | sw_cat --validate -i - -o "kafka:$topic" -b "$BS"

# The group joins: READY after the assignment was logged.
under "$T/alert.err" stock-alert -v --watches "$T/watches.jsonl" -i "kafka:$topic" -b "$BS" \
  -G "sw-ready-a-$id" "${GX[@]}" -o "$T/alerts.jsonl" > "$T/alert.notify"
expect_eq "stock-alert: READY=1 once, after the assignment" "READY=1 assigned" \
  "$(grep '^READY=' "$T/alert.notify")"
expect_eq "stock-alert: ends 0 on SIGTERM" "exit 0" "$(tail -n 1 "$T/alert.notify")"
check "stock-alert: STOPPING=1 after READY" bash -c 'sed -n "/^READY=1/,\$p" "$1" | grep -q "^STOPPING=1"' _ \
  "$T/alert.notify"

under "$T/notify.err" stock-notify -v -i "kafka:$topic" -b "$BS" -G "sw-ready-n-$id" "${GX[@]}" \
  --to "file:$T/sent.jsonl" -o /dev/null > "$T/notify.notify"
expect_eq "stock-notify: READY=1 once, after the assignment" "READY=1 assigned" \
  "$(grep '^READY=' "$T/notify.notify")"
expect_eq "stock-notify: ends 0 on SIGTERM" "exit 0" "$(tail -n 1 "$T/notify.notify")"

# No broker answers: the group cannot be joined, so never READY.
dead=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
under "$T/dead.err" stock-alert -v --watches "$T/watches.jsonl" -i "kafka:$topic" -b "127.0.0.1:$dead" \
  -G "sw-ready-d-$id" --broker-wait 3s -o /dev/null > "$T/dead.notify"
expect_eq "no broker: exit 69 after --broker-wait" "exit 69" "$(tail -n 1 "$T/dead.notify")"
expect_eq "no broker: never READY" "" "$(grep '^READY=' "$T/dead.notify" || true)"
finish
