#!/usr/bin/python3
"""An SMTP sink for stock-notify's tests (aiosmtpd; run with /usr/bin/python3).

Accepts mail on 127.0.0.1 (plain SMTP, no STARTTLS: stock-notify needs
--smtp-insecure for it) and appends each message to --log FILE as one JSON
line:
  {"mail_from", "rcpt_tos", "to", "from", "subject", "date", "message_id",
   "mime_version", "content_type", "alert_ids", "body", "crlf": true when
   every line ended in CRLF, "auth_user", "t"}
With --auth-user U and --auth-password-file F, AUTH (PLAIN/LOGIN) is
required and a wrong password gets "535 5.7.8 Authentication credentials
invalid" (without --auth-user, the server offers no AUTH at all); with
--oauth2-token-file F as well, AUTH XOAUTH2 with
"user=U^Aauth=Bearer TOKEN^A^A" is accepted too. --p451 answers that share
of messages with a temporary 451.

  smtp_sink.py --port-file F --log FILE [--auth-user U --auth-password-file F]
               [--oauth2-token-file F]
"""
import base64
import email
import email.policy
import logging
import os
import random
import socket
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import fakelib  # noqa: E402


class Sink:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.log = fakelib.JsonLog(args.log)
        self.token = None
        if args.oauth2_token_file:
            with open(args.oauth2_token_file, encoding="utf-8") as f:
                self.token = f.readline().rstrip("\r\n")

    async def auth_XOAUTH2(self, server, args):
        if len(args) == 2:
            resp = base64.b64decode(args[1])
        else:
            resp = await server.challenge_auth("")
            if resp is MISSING:
                return AuthResult(success=False, handled=True)
        fields = dict(p.split("=", 1) for p in resp.decode().split("\x01") if "=" in p)
        ok = self.token is not None and fields.get("auth") == "Bearer " + self.token and \
            fields.get("user") == self.args.auth_user
        return AuthResult(success=ok, handled=False,
                          auth_data=LoginPassword(fields.get("user", "").encode(), b""))

    async def handle_DATA(self, server, session, envelope):
        if self.rng.random() < self.args.p451:
            return "451 4.3.0 Try again later"
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        lines = raw.split(b"\n")
        crlf = all(line.endswith(b"\r") for line in lines[:-1])
        body = msg.get_content() if not msg.is_multipart() else ""
        entry = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "to": str(msg["To"]),
            "from": str(msg["From"]),
            "subject": str(msg["Subject"]),
            "date": str(msg["Date"]),
            "message_id": str(msg["Message-ID"]),
            "mime_version": str(msg["MIME-Version"]),
            "content_type": str(msg["Content-Type"]),
            "alert_ids": str(msg["X-Stockwatch-Alert-Ids"] or ""),
            "body": body,
            "crlf": crlf,
            "auth_user": session.auth_data.login.decode() if session.auth_data else None,
        }
        self.log.write(entry)
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = fakelib.parser(__doc__)
    ap.add_argument("--auth-user")
    ap.add_argument("--auth-password-file")
    ap.add_argument("--oauth2-token-file")
    ap.add_argument("--p451", type=float, default=0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    # Plain AUTH without TLS is the point of a local test sink: no warnings.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    kwargs = {}
    if args.auth_user:
        with open(args.auth_password_file, encoding="utf-8") as f:
            password = f.readline().rstrip("\r\n")
        user = args.auth_user.encode()

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and \
                auth_data.password == password.encode()
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        kwargs = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    port = args.port or free_port()
    ctl = Controller(Sink(args), hostname="127.0.0.1", port=port, **kwargs)
    ctl.start()
    fakelib.write_port_file(args.port_file, port)
    fakelib.wait_for_stop()
    ctl.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
