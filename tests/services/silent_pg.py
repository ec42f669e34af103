#!/usr/bin/env python3
"""A PostgreSQL server that never answers, for the tests of timeouts and stops.

    silent_pg.py --port-file FILE [--mode accept|login] [--log FILE]

Listens on 127.0.0.1 (--port, default a free one; written to FILE).
  accept: accepts connections and says nothing.
  login:  answers the start-up (SSL refused, no password asked, the usual
          parameters, ready for queries), then reads every query and never
          answers one.
Each event goes to --log as one line: "accepted", "login", "query".
"""
import os
import socket
import struct
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import fakelib  # noqa: E402

SSL_REQUEST = 80877103
GSS_REQUEST = 80877104


def log_line(path, text):
    if path:
        with open(path, "a") as f:
            f.write(text + "\n")


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def message(kind, payload):
    return kind + struct.pack("!I", len(payload) + 4) + payload


def login(conn, args):
    while True:
        (length,) = struct.unpack("!I", read_exact(conn, 4))
        body = read_exact(conn, length - 4)
        code = struct.unpack("!I", body[:4])[0]
        if code in (SSL_REQUEST, GSS_REQUEST):
            conn.sendall(b"N")
            continue
        break
    out = message(b"R", struct.pack("!I", 0))  # AuthenticationOk
    for k, v in (("server_version", "15.0"), ("client_encoding", "UTF8"),
                 ("standard_conforming_strings", "on"), ("integer_datetimes", "on"),
                 ("DateStyle", "ISO, MDY")):
        out += message(b"S", k.encode() + b"\0" + v.encode() + b"\0")
    out += message(b"K", struct.pack("!II", 4242, 4242))
    out += message(b"Z", b"I")
    conn.sendall(out)
    log_line(args.log, "login")
    while True:
        kind = read_exact(conn, 1)
        (length,) = struct.unpack("!I", read_exact(conn, 4))
        read_exact(conn, length - 4)
        if kind == b"X":  # Terminate
            return
        log_line(args.log, "query")


def serve(conn, args):
    log_line(args.log, "accepted")
    try:
        if args.mode == "login":
            login(conn, args)
        else:
            while conn.recv(4096):
                pass
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


def main():
    ap = fakelib.parser(__doc__, log=False)
    ap.add_argument("--mode", choices=["accept", "login"], default="accept")
    ap.add_argument("--log")
    args = ap.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(16)
    fakelib.write_port_file(args.port_file, srv.getsockname()[1])
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, args), daemon=True).start()


if __name__ == "__main__":
    main()
