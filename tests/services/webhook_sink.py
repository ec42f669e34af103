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
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import fakelib  # noqa: E402

ARGS = None
LOG = None
FAULTS = None


class Handler(fakelib.Handler):
    def reply(self, status, body=b'{"ok":true}', headers=()):
        self.send(status, body, "application/json", headers)

    def do_POST(self):
        raw = self.read_body()
        if ARGS.delay_ms:
            time.sleep(ARGS.delay_ms / 1000)
        fault = FAULTS.draw()
        if fault:
            LOG.write({"kind": fault})
        if fault == "drop":
            self.close_connection = True
            return
        if fault == "500":
            return self.reply(500, b'{"error":"injected"}')
        if fault == "429":
            return self.reply(429, b'{"error":"slow down"}', [("Retry-After", str(ARGS.retry_after))])
        if ARGS.status:
            LOG.write({"kind": "status", "status": ARGS.status})
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
        LOG.write(entry)
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
    global ARGS, LOG, FAULTS
    ap = fakelib.parser(__doc__)
    fakelib.add_faults(ap)
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--no-body", action="store_true")
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--endless-body", action="store_true")
    ARGS = ap.parse_args()
    FAULTS = fakelib.Faults(ARGS)
    LOG = fakelib.JsonLog(ARGS.log)
    fakelib.serve_http(Handler, ARGS)


if __name__ == "__main__":
    main()
