#!/usr/bin/python3
"""A webhook receiver for stock-notify's tests and benchmarks (standard
library only; run with /usr/bin/python3).

POST to any path over HTTP/1.1 with keep-alive. The body must be JSON
(else 400). Faults, drawn first and never recorded as delivered:
--p-drop (close the connection without an answer), --p500 (500), --p429
(429 with "Retry-After: --retry-after"). --status N answers every POST
with N (e.g. 400 or 401) without recording it.

Every request is appended to --log FILE as one JSON line:
  {"kind": "post", "path", "content_type", "idempotency_key", "body": <the JSON>, "t"}
  {"kind": "429"|"500"|"drop"|"status", "t"}
(--no-body leaves "body" out, for benchmarks.) --delay-ms N answers each
POST after N ms (a slow receiver). --endless-body answers each POST it
records with a 200 whose chunked body never ends (a hostile receiver).

  webhook_sink.py --port-file F --log FILE [options]
"""
import argparse
import json
import os
import random
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
RNG = random.Random()
ARGS = None
LOG = None


def log(entry):
    entry["t"] = round(time.time(), 6)
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    with LOCK:
        LOG.write(line)
        LOG.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's
        # algorithm and the client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # quiet
        pass

    def reply(self, status, body=b'{"ok":true}', headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if ARGS.delay_ms:
            time.sleep(ARGS.delay_ms / 1000)
        with LOCK:
            r = RNG.random()
        if r < ARGS.p_drop:
            log({"kind": "drop"})
            self.close_connection = True
            return
        r -= ARGS.p_drop
        if r < ARGS.p500:
            log({"kind": "500"})
            return self.reply(500, b'{"error":"injected"}')
        r -= ARGS.p500
        if r < ARGS.p429:
            log({"kind": "429"})
            return self.reply(429, b'{"error":"slow down"}', [("Retry-After", str(ARGS.retry_after))])
        if ARGS.status:
            log({"kind": "status", "status": ARGS.status})
            return self.reply(ARGS.status, b'{"error":"configured"}')
        try:
            body = json.loads(raw)
        except ValueError:
            return self.reply(400, b'{"error":"not JSON"}')
        entry = {"kind": "post", "path": self.path,
                 "content_type": self.headers.get("Content-Type"),
                 "idempotency_key": self.headers.get("Idempotency-Key")}
        if not ARGS.no_body:
            entry["body"] = body
        log(entry)
        if ARGS.endless_body:
            return self.endless()
        self.reply(200)

    def endless(self):
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b'{"ok":true,"padding":"' + b"x" * 65536 + b'"}'
        try:
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:  # the client stopped reading
            pass


def main():
    global ARGS, LOG
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--p429", type=float, default=0)
    ap.add_argument("--retry-after", type=int, default=1)
    ap.add_argument("--p500", type=float, default=0)
    ap.add_argument("--p-drop", type=float, default=0)
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-body", action="store_true")
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--endless-body", action="store_true")
    ARGS = ap.parse_args()
    RNG.seed(ARGS.seed)
    LOG = open(ARGS.log, "a", encoding="utf-8")
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
