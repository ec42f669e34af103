#!/usr/bin/python3
"""A fake Telegram Bot API for stock-notify's tests and benchmarks
(standard library only; run with /usr/bin/python3).

Serves, over HTTP/1.1 with keep-alive, under /bot<TOKEN>/:
  getMe        the bot (--username)
  sendMessage  JSON or form body {chat_id, text, parse_mode}; answers in the
               shapes of tests/data/apis/telegram_*.json:
                 200 ok with result.message_id
                 400 "Bad Request: chat not found"   for --unknown-chats
                 403 "Forbidden: bot was blocked by the user"  for --blocked-chats
                 400 "Bad Request: can't parse entities"  for HTML that
                     Telegram would refuse (bad tags, a bare & or <)
                 429 with parameters.retry_after when a rate limit is exceeded
               Rate limits (what Telegram documents): at most --rate messages
               in any sliding second overall, and per chat one message per
               1/--chat-rate seconds (less --tolerance for network jitter).
               Faults, drawn before anything else and never recorded as
               delivered: --p-drop (close the connection without an answer),
               --p500 (500), --p429 (429 with retry_after --retry-after).
  getUpdates   ?offset=&timeout= (query or JSON body): the updates of
               --updates FILE (re-read on every call, so a test can append)
               whose update_id >= offset; waits up to `timeout` seconds for
               one. A line of FILE is a full update object, or the short form
               {"chat_id": N, "text": "...", "update_id"?: N} (update_id
               defaults to 1000 + line number).
A wrong token gets 401 Unauthorized; an unknown method 404 Not Found.

Every request is appended to --log FILE as one JSON line:
  {"kind": "message", "chat_id", "text", "parse_mode", "message_id", "t"}   (delivered)
  {"kind": "429", "why": "rate"|"chat-rate"|"injected", "chat_id", "t"}
  {"kind": "500"|"drop"|"400"|"403"|"401", "chat_id"?, "t"}
  {"kind": "getUpdates", "offset", "timeout", "returned": [update ids], "t"}
  {"kind": "getMe", "t"}

  fake_telegram.py --port-file F --log FILE [--token T] [options]
"""
import collections
import html.parser
import json
import os
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import fakelib  # noqa: E402

LOCK = threading.Lock()
ARGS = None
FAULTS = None
WINDOW = collections.deque()  # times of the messages accepted in the last second
LAST_BY_CHAT = {}
NEXT_MESSAGE_ID = [1]
LOG = None


class HtmlCheck(html.parser.HTMLParser):
    """Telegram's HTML parse mode: a few tags, entities for & < > "."""

    ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
               "tg-spoiler", "span", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.error = None
        self.stack = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.ALLOWED:
            self.error = "unsupported start tag \"%s\"" % tag
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.error = "unexpected end tag \"%s\"" % tag
        else:
            self.stack.pop()

    def handle_entityref(self, name):
        if name not in ("lt", "gt", "amp", "quot"):
            self.error = "unsupported entity &%s;" % name

    def handle_data(self, data):
        if "&" in data:
            self.error = "bare & in text"


def html_error(text):
    # A '<' that does not open a tag is refused by Telegram as well.
    i = text.find("<")
    while i >= 0:
        rest = text[i + 1:i + 2]
        if not (rest.isalpha() or rest == "/"):
            return "bare < in text"
        i = text.find("<", i + 1)
    p = HtmlCheck()
    try:
        p.feed(text)
        p.close()
    except Exception as e:  # noqa: BLE001 - any parser failure is a refusal
        return str(e)
    if p.error:
        return p.error
    if p.stack:
        return "unclosed tag \"%s\"" % p.stack[-1]
    return None


def read_updates():
    if not ARGS.updates or not os.path.exists(ARGS.updates):
        return []
    out = []
    with open(ARGS.updates, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            u = json.loads(line)
            if "message" not in u and "chat_id" in u:
                chat = u["chat_id"]
                u = {
                    "update_id": u.get("update_id", 1000 + n),
                    "message": {
                        "message_id": n,
                        "from": {"id": chat, "is_bot": False, "first_name": "Test"},
                        "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"},
                        "date": int(time.time()),
                        "text": u["text"],
                    },
                }
            out.append(u)
    return out


class Handler(fakelib.Handler):
    def answer(self, status, obj):
        self.send(status, obj)

    def error(self, status, description, params=None):
        obj = {"ok": False, "error_code": status, "description": description}
        if params:
            obj["parameters"] = params
        self.answer(status, obj)

    def do_GET(self):
        self.route(b"")

    def do_POST(self):
        self.route(self.read_body())

    def params(self, body):
        url = urllib.parse.urlsplit(self.path)
        p = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        if body:
            ctype = self.headers.get("Content-Type", "")
            if ctype.startswith("application/json"):
                p.update(json.loads(body))
            else:
                p.update({k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()})
        return url.path, p

    def route(self, body):
        path, p = self.params(body)
        parts = path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return self.error(404, "Not Found")
        token, method = parts[0][3:], parts[1]
        if token != ARGS.token:
            LOG.write({"kind": "401"})
            return self.error(401, "Unauthorized")
        if method == "getMe":
            LOG.write({"kind": "getMe"})
            return self.answer(200, {"ok": True, "result": {
                "id": 7000000001, "is_bot": True, "first_name": "StockAlerts",
                "username": ARGS.username}})
        if method == "sendMessage":
            return self.send_message(p)
        if method == "getUpdates":
            return self.get_updates(p)
        return self.error(404, "Not Found")

    def send_message(self, p):
        try:
            chat = int(p.get("chat_id"))
        except (TypeError, ValueError):
            return self.error(400, "Bad Request: chat_id is empty")
        text = p.get("text", "")
        fault = FAULTS.draw()
        if fault == "drop":
            LOG.write({"kind": "drop", "chat_id": chat})
            self.close_connection = True
            return
        if fault == "500":
            LOG.write({"kind": "500", "chat_id": chat})
            return self.error(500, "Internal Server Error")
        if fault == "429":
            LOG.write({"kind": "429", "why": "injected", "chat_id": chat})
            return self.error(429, "Too Many Requests: retry after %d" % ARGS.retry_after,
                              {"retry_after": ARGS.retry_after})
        if chat in ARGS.unknown_chats:
            LOG.write({"kind": "400", "chat_id": chat})
            return self.error(400, "Bad Request: chat not found")
        if chat in ARGS.blocked_chats:
            LOG.write({"kind": "403", "chat_id": chat})
            return self.error(403, "Forbidden: bot was blocked by the user")
        if p.get("parse_mode") == "HTML":
            err = html_error(text)
            if err:
                LOG.write({"kind": "400", "chat_id": chat, "why": err})
                return self.error(400, "Bad Request: can't parse entities: " + err)
        with LOCK:
            now = time.monotonic()
            while WINDOW and WINDOW[0] <= now - 1.0:
                WINDOW.popleft()
            why = None
            if ARGS.rate > 0 and len(WINDOW) >= ARGS.rate:
                why = "rate"
            last = LAST_BY_CHAT.get(chat)
            if ARGS.chat_rate > 0 and last is not None and now - last < 1.0 / ARGS.chat_rate - ARGS.tolerance:
                why = why or "chat-rate"
            if why is None:
                WINDOW.append(now)
                LAST_BY_CHAT[chat] = now
                mid = NEXT_MESSAGE_ID[0]
                NEXT_MESSAGE_ID[0] += 1
        if why is not None:
            LOG.write({"kind": "429", "why": why, "chat_id": chat})
            return self.error(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        LOG.write({"kind": "message", "chat_id": chat, "text": text, "parse_mode": p.get("parse_mode"),
             "message_id": mid})
        self.answer(200, {"ok": True, "result": {
            "message_id": mid,
            "from": {"id": 7000000001, "is_bot": True, "first_name": "StockAlerts",
                     "username": ARGS.username},
            "chat": {"id": chat, "type": "private"},
            "date": int(time.time()),
            "text": text}})

    def get_updates(self, p):
        offset = int(p.get("offset", 0) or 0)
        timeout = float(p.get("timeout", 0) or 0)
        deadline = time.monotonic() + min(timeout, 60)
        while True:
            ups = [u for u in read_updates() if u["update_id"] >= offset]
            if ups or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        ups = ups[:100]
        LOG.write({"kind": "getUpdates", "offset": offset, "timeout": timeout,
             "returned": [u["update_id"] for u in ups]})
        self.answer(200, {"ok": True, "result": ups})


def main():
    global ARGS, LOG, FAULTS
    ap = fakelib.parser(__doc__)
    ap.add_argument("--token", default="123456:TEST-TOKEN")
    ap.add_argument("--username", default="my_stock_alert_bot")
    ap.add_argument("--rate", type=float, default=30, help="messages per sliding second overall (0: no limit)")
    ap.add_argument("--chat-rate", type=float, default=1, help="messages per second per chat (0: no limit)")
    ap.add_argument("--tolerance", type=float, default=0.05, help="seconds of jitter allowed per chat")
    fakelib.add_faults(ap)
    ap.add_argument("--unknown-chats", default="")
    ap.add_argument("--blocked-chats", default="")
    ap.add_argument("--updates")
    ARGS = ap.parse_args()
    ARGS.unknown_chats = {int(x) for x in ARGS.unknown_chats.split(",") if x}
    ARGS.blocked_chats = {int(x) for x in ARGS.blocked_chats.split(",") if x}
    FAULTS = fakelib.Faults(ARGS)
    LOG = fakelib.JsonLog(ARGS.log)
    fakelib.serve_http(Handler, ARGS)


if __name__ == "__main__":
    main()
