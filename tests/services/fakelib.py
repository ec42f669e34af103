"""What the fake services of tests/services share (standard library only).

The fakes (fake_quotes.py, fake_telegram.py, webhook_sink.py, smtp_sink.py,
silent_pg.py) run as `/usr/bin/python3 tests/services/NAME.py`, from any
directory; each puts its own folder first on sys.path and imports this:

  parser(doc, ...)        argparse with --port, --port-file (and --log)
  add_faults(ap), Faults  --p-drop/--p500/--p429/--retry-after/--seed, drawn
                          in that order for each request
  JsonLog(path)           appends one JSON line per event, with "t"
  write_port_file(p, n)   the port, written atomically (rename)
  Handler, Server         a quiet HTTP/1.1 keep-alive handler and a
                          threading server on 127.0.0.1
  serve_http(h, args)     runs it until SIGTERM (exit 0)
  wait_for_stop()         blocks until SIGTERM or SIGINT
"""
import argparse
import json
import os
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parser(doc, log=True, port_file_required=True):
    """An argument parser with --port (default 0: a free one), --port-file
    and, unless log is False, a required --log FILE."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=port_file_required)
    if log:
        ap.add_argument("--log", required=True)
    return ap


def add_faults(ap):
    """The fault options of the HTTP fakes (see Faults)."""
    ap.add_argument("--p429", type=float, default=0)
    ap.add_argument("--retry-after", type=int, default=1)
    ap.add_argument("--p500", type=float, default=0)
    ap.add_argument("--p-drop", type=float, default=0)
    ap.add_argument("--seed", type=int, default=1)


class Faults:
    """Injected faults, one draw per request from a seeded generator."""

    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()

    def draw(self):
        """"drop" (close without an answer), "500", "429" or None, with the
        probabilities --p-drop, --p500 and --p429."""
        with self.lock:
            r = self.rng.random()
        for kind, p in (("drop", self.args.p_drop), ("500", self.args.p500), ("429", self.args.p429)):
            if r < p:
                return kind
            r -= p
        return None


class JsonLog:
    """A log of one JSON object a line, each stamped with "t" (epoch s) and
    flushed at once, so that a test can read it while the fake runs."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8")

    def write(self, entry):
        entry["t"] = round(time.time(), 6)
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self.lock:
            self.file.write(line)
            self.file.flush()


def write_port_file(path, port):
    """Writes the port to path through a rename: a reader that sees the file
    sees it whole."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, no request log on stderr."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY the
    # body waits for the client's delayed ACK (~40 ms) on a kept-alive
    # connection, which is the fake's cost, not the client's.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, body, ctype="application/json", headers=()):
        """Answers with body (bytes, str, or a dict or list sent as JSON)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients connect at once: the default 5 drops SYNs


def serve_http(handler, args):
    """Serves handler on 127.0.0.1:args.port, writes the port to
    args.port_file (when given), and runs until SIGTERM or SIGINT (exit 0)."""
    srv = Server(("127.0.0.1", args.port), handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.port_file:
        write_port_file(args.port_file, srv.server_address[1])
    try:
        srv.serve_forever(poll_interval=0.1)
    except (KeyboardInterrupt, SystemExit):
        pass


def wait_for_stop():
    """Blocks until SIGTERM or SIGINT."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
