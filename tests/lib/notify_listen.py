#!/usr/bin/python3
"""Runs a program under a fake service manager and prints what it said.

usage: notify_listen.py [--stdin FILE] [--term-after-status TEXT] [--for SECS] [--times]
                        -- PROGRAM ARGS...

Binds a datagram socket, starts PROGRAM with NOTIFY_SOCKET pointing at it
and WATCHDOG_USEC=200000, keeps PROGRAM's stdin open (the lines of --stdin
first, then nothing), and prints each notify message, one per line, in the
order received. Once READY=1 and a WATCHDOG=1 were seen (and a STATUS=
containing TEXT, if given), it sends SIGTERM and reads on until the
program exits. With --for, it sends SIGTERM after SECS seconds instead.
With --times, each message is preceded by the seconds since the start
("1.204 WATCHDOG=1"). The last line is "exit N". Every wait is bounded
(30 s).
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

args = sys.argv[1:]
stdin_file = None
status_text = None
term_after = None
times = False
while args and args[0] != "--":
    if args[0] == "--stdin":
        stdin_file = args[1]
        args = args[2:]
    elif args[0] == "--term-after-status":
        status_text = args[1]
        args = args[2:]
    elif args[0] == "--for":
        term_after = float(args[1])
        args = args[2:]
    elif args[0] == "--times":
        times = True
        args = args[1:]
    else:
        sys.exit("notify_listen.py: unknown option " + args[0])
cmd = args[1:]

d = tempfile.mkdtemp(prefix="sw-notify.")
path = os.path.join(d, "notify.sock")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(0.2)
env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="200000")
env.pop("WATCHDOG_PID", None)
p = subprocess.Popen(cmd, stdin=subprocess.PIPE, env=env)
if stdin_file:
    with open(stdin_file, "rb") as f:
        p.stdin.write(f.read())
    p.stdin.flush()

seen = []
termed = False
start = time.monotonic()
deadline = start + 30


def show(m):
    print("%.3f %s" % (time.monotonic() - start, m) if times else m, flush=True)


try:
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096).decode()
            for m in data.split("\n"):
                if m:
                    seen.append(m)
                    show(m)
        except socket.timeout:
            pass
        if p.poll() is not None:
            # Drain what was sent just before the exit.
            sock.settimeout(0.05)
            try:
                while True:
                    for m in sock.recv(4096).decode().split("\n"):
                        if m:
                            show(m)
            except socket.timeout:
                pass
            break
        ready = "READY=1" in seen
        wd = any(m == "WATCHDOG=1" for m in seen[seen.index("READY=1"):]) if ready else False
        st = status_text is None or any(m.startswith("STATUS=") and status_text in m for m in seen)
        if term_after is not None:
            due = time.monotonic() - start >= term_after
        else:
            due = ready and wd and st
        if not termed and due:
            p.send_signal(signal.SIGTERM)
            termed = True
    else:
        p.kill()
        print("timeout", flush=True)
    print("exit %d" % p.wait(timeout=30), flush=True)
finally:
    if p.poll() is None:
        p.kill()
    p.stdin.close()
    sock.close()
    os.unlink(path)
    os.rmdir(d)
