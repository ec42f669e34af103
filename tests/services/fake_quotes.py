#!/usr/bin/python3
"""A fake Yahoo Finance + Stooq quote server for stock-collect's tests and
benchmarks (standard library only; run with /usr/bin/python3).

Serves, over HTTP/1.1 with keep-alive:
  GET /v8/finance/chart/TICKER?...   Yahoo chart (v8)
  GET /v7/finance/spark?symbols=A,B  Yahoo spark (flat "v8" shape, or v7 with --spark-shape v7)
  GET /q/l/?s=aapl.us,msft.us&...    Stooq CSV
from the recorded payloads in tests/data/apis: AAPL and MSFT exactly as
recorded, any other ticker with the price `--print-price TICKER` prints.

Per ticker behaviour (--ticker T=MODE, --default MODE, or POST /_config):
  ok            the payload
  404           unknown ticker (Yahoo 404 + chart.error; Stooq N/D row)
  400           Yahoo 400 with chart.error.description
  500, 503      server error (plain-text body)
  503:S         503 with Retry-After: S
  429           throttled, plain-text body, no Retry-After
  429:S         429 with Retry-After: S (seconds)
  429date:S     429 with Retry-After as an HTTP date S seconds ahead
  limit         Stooq's plain-text daily-limit answer (200)
  garbage       200 with an HTML page
  drop          close the connection without an answer
  huge:MB       200 with a JSON array of MB megabytes (Content-Length given)
  chunked:MB    the same, chunked (no length announced)
  endless       200 with a chunked JSON array that never ends
A batch (spark, Stooq) takes the worst mode among its tickers (404 tickers
are left out of a spark answer / get N/D rows). Delays: --delay-ms N for
every answer, --ticker-delay T=MS per ticker (a batch waits the longest).

Control and stats (not counted as requests):
  GET  /_stats   {"requests", "connections" (that carried requests), "by_kind",
                 "by_ticker", "log": [{"t" (monotonic s), "kind", "tickers", "status"}]}
  POST /_config  JSON {"default", "tickers": {T: MODE}, "delay_ms", "ticker_delay_ms": {T: MS}}
                 (keys given replace the current values)
  POST /_reset   zero the counters and the log

  fake_quotes.py --port 0 --port-file F [--fixtures DIR] ...   (writes the port to F)
  fake_quotes.py --print-price TICKER
"""
import copy
import email.utils
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
STATE = {
    "default": "ok",
    "tickers": {},
    "delay_ms": 0,
    "ticker_delay_ms": {},
    "spark_shape": "v8",
}
STATS = {"requests": 0, "connections": 0, "by_kind": {}, "by_ticker": {}, "log": []}
FIX = {}
MODE_RANK = {"ok": 0, "404": 1, "400": 2, "garbage": 3, "huge": 3, "chunked": 3, "endless": 3,
             "limit": 4, "429": 5, "500": 6, "503": 6, "drop": 7}
FILL = b"1," * 32768  # 64 KiB of a JSON array's elements


RECORDED = {"AAPL": 197.48, "MSFT": 477.71}  # Yahoo's recorded prices (chart, spark)


def price_of(ticker):
    """The Yahoo price served for a ticker (Stooq serves its own recorded
    rows for AAPL and MSFT)."""
    t = ticker.upper()
    if t in RECORDED:
        return RECORDED[t]
    s = sum((i + 1) * ord(c) for i, c in enumerate(t))
    return round(10 + (s * 37 % 99000) / 100.0, 2)


def load_fixtures(d):
    def rd(name):
        with open(os.path.join(d, name), "rb") as f:
            return f.read()
    FIX["chart_aapl"] = json.loads(rd("yahoo_chart_AAPL_1d_5m.json"))
    FIX["chart_404"] = rd("yahoo_chart_notfound_404.json")
    FIX["spark_v7"] = json.loads(rd("yahoo_spark_v7_AAPL_MSFT_1d_5m.json"))
    FIX["spark_v8"] = json.loads(rd("yahoo_spark_v8_AAPL_MSFT_1d_5m.json"))
    FIX["stooq"] = rd("stooq_quote_aapl_msft.csv").decode()


def mode_of(ticker):
    with LOCK:
        return STATE["tickers"].get(ticker.upper(), STATE["default"])


def delay_of(ticker):
    with LOCK:
        return STATE["ticker_delay_ms"].get(ticker.upper(), STATE["delay_ms"])


def worst(modes):
    return max(modes, key=lambda m: MODE_RANK.get(m.split(":")[0], 0)) if modes else "ok"


CHART_CACHE = {}


def chart_body(ticker):
    """The serialised chart for a ticker (cached: the benchmark asks for
    thousands, and the fake's own CPU time must not be what is measured)."""
    body = CHART_CACHE.get(ticker)
    if body is None:
        body = json.dumps(chart_for(ticker)).encode()
        CHART_CACHE[ticker] = body
    return body


def chart_for(ticker):
    if ticker == "AAPL":
        return FIX["chart_aapl"]
    doc = copy.deepcopy(FIX["chart_aapl"])
    r0 = doc["chart"]["result"][0]
    p = price_of(ticker)
    r0["meta"]["symbol"] = ticker
    r0["meta"]["regularMarketPrice"] = p
    r0["meta"]["previousClose"] = r0["meta"]["chartPreviousClose"] = round(p * 0.99, 2)
    r0["meta"]["longName"] = r0["meta"]["shortName"] = ticker + " Inc."
    r0["indicators"]["quote"][0]["close"][-1] = p
    return doc


def spark_for(tickers):
    shape = STATE["spark_shape"]
    if shape == "v7":
        results = []
        by_sym = {r["symbol"]: r for r in FIX["spark_v7"]["spark"]["result"]}
        for t in tickers:
            if t in by_sym:
                results.append(by_sym[t])
                continue
            r = copy.deepcopy(by_sym["AAPL"])
            r["symbol"] = t
            meta = r["response"][0]["meta"]
            meta["symbol"] = t
            meta["regularMarketPrice"] = price_of(t)
            r["response"][0]["indicators"]["quote"][0]["close"][-1] = price_of(t)
            results.append(r)
        return {"spark": {"result": results, "error": None}}
    out = {}
    for t in tickers:
        if t in FIX["spark_v8"]:
            out[t] = FIX["spark_v8"][t]
            continue
        e = copy.deepcopy(FIX["spark_v8"]["AAPL"])
        e["symbol"] = t
        e["close"][-1] = price_of(t)
        out[t] = e
    return out


def stooq_ticker(sym):
    s = sym.upper()
    return s[:-3] if s.endswith(".US") else s


def stooq_rows(symbols):
    recorded = {line.split(",")[0]: line for line in FIX["stooq"].splitlines()[1:] if line}
    rows = []
    for sym in symbols:
        t = stooq_ticker(sym)
        if mode_of(t) == "404":
            rows.append("%s,N/D,N/D,N/D,N/D,N/D,N/D,N/D" % sym.upper())
        elif sym.upper() in recorded:
            rows.append(recorded[sym.upper()])
        else:
            p = price_of(t)
            rows.append("%s,2025-06-13,22:00:10,%.2f,%.2f,%.2f,%.2f,1000" % (sym.upper(), p, p, p, p))
    return "Symbol,Date,Time,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n"


class Handler(fakelib.Handler):
    server_version = "fake-quotes/1"

    def count(self, kind, tickers, status):
        with LOCK:
            STATS["requests"] += 1
            if not getattr(self, "counted", False):  # one handler per connection
                self.counted = True
                STATS["connections"] += 1
            STATS["by_kind"][kind] = STATS["by_kind"].get(kind, 0) + 1
            for t in tickers:
                STATS["by_ticker"][t] = STATS["by_ticker"].get(t, 0) + 1
            STATS["log"].append({"t": time.monotonic(), "kind": kind, "tickers": tickers, "status": status})
            del STATS["log"][:-2000]

    def failure(self, mode, kind):
        """Answers a non-ok mode; returns True when it did."""
        name, _, arg = mode.partition(":")
        if name == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if name in ("500", "503"):
            hdr = [("Retry-After", arg)] if arg else []
            self.send(int(name), "Internal Server Error\n" if name == "500" else "Service Unavailable\n",
                      "text/plain", hdr)
            return True
        if name in ("429", "429date"):
            hdr = []
            if arg and name == "429":
                hdr = [("Retry-After", arg)]
            elif arg:
                hdr = [("Retry-After", email.utils.formatdate(time.time() + float(arg), usegmt=True))]
            self.send(429, "Too Many Requests\r\n", "text/plain", hdr)
            return True
        if name in ("huge", "chunked", "endless"):
            self.hostile(name, int(arg or 0) << 20)
            return True
        if name == "garbage":
            self.send(200, "<html><body>Please accept our cookies</body></html>", "text/html")
            return True
        if name == "limit":
            self.send(200, "Exceeded the daily hits limit", "text/plain")
            return True
        if name == "400":
            self.send(400, {"chart": {"result": None, "error": {
                "code": "Bad Request", "description": "Invalid input - fake 400"}}})
            return True
        return False

    def hostile(self, name, size):
        """A body far larger than any quote answer: `size` bytes of a JSON
        array (with its length, or chunked), or one that never ends."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if name == "huge":
            self.send_header("Content-Length", str(size + 3))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def put(data):
            if name == "huge":
                self.wfile.write(data)
            else:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        try:
            put(b"[")
            sent = 0
            while name == "endless" or sent < size:
                n = len(FILL) if name == "endless" else min(len(FILL), size - sent)
                put(FILL[:n])
                sent += n
            put(b"1]")
            if name != "huge":
                self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client stopped reading: what it should do
            pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if url.path == "/_stats":
            with LOCK:
                return self.send(200, json.loads(json.dumps(STATS)))
        if url.path.startswith("/v8/finance/chart/"):
            t = urllib.parse.unquote(url.path[len("/v8/finance/chart/"):]).upper()
            mode = mode_of(t)
            time.sleep(delay_of(t) / 1000.0)
            status = int(mode.split(":")[0]) if mode.split(":")[0].isdigit() else 200
            self.count("chart", [t], status)
            if self.failure(mode, "chart"):
                return
            if mode == "404":
                return self.send(404, FIX["chart_404"])
            return self.send(200, chart_body(t))
        if url.path == "/v7/finance/spark":
            tickers = [s.upper() for s in ",".join(q.get("symbols", [])).split(",") if s]
            mode = worst([mode_of(t) for t in tickers])
            time.sleep(max([delay_of(t) for t in tickers] or [0]) / 1000.0)
            self.count("spark", tickers, 0)
            if self.failure(mode, "spark"):
                return
            known = [t for t in tickers if mode_of(t) != "404"]
            if not known:
                return self.send(404, {"spark": {"result": None, "error": {
                    "code": "Not Found", "description": "No data found for spark symbols"}}})
            return self.send(200, spark_for(known))
        if url.path in ("/q/l/", "/q/l"):
            symbols = [s for s in ",".join(q.get("s", [])).split(",") if s]
            tickers = [stooq_ticker(s) for s in symbols]
            mode = worst([m for m in (mode_of(t) for t in tickers) if m != "404"])
            time.sleep(max([delay_of(t) for t in tickers] or [0]) / 1000.0)
            self.count("stooq", tickers, 0)
            if self.failure(mode, "stooq"):
                return
            return self.send(200, stooq_rows(symbols), "text/csv")
        self.send(404, {"error": "no such path"})

    def do_POST(self):
        body = self.read_body()
        if self.path == "/_config":
            cfg = json.loads(body or b"{}")
            with LOCK:
                for k in ("default", "delay_ms", "spark_shape"):
                    if k in cfg:
                        STATE[k] = cfg[k]
                if "tickers" in cfg:
                    STATE["tickers"] = {k.upper(): v for k, v in cfg["tickers"].items()}
                if "ticker_delay_ms" in cfg:
                    STATE["ticker_delay_ms"] = {k.upper(): v for k, v in cfg["ticker_delay_ms"].items()}
            return self.send(200, {"ok": True})
        if self.path == "/_reset":
            with LOCK:
                STATS.update({"requests": 0, "connections": 0, "by_kind": {}, "by_ticker": {}, "log": []})
            return self.send(200, {"ok": True})
        self.send(404, {"error": "no such path"})


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_fix = os.path.join(here, "..", "data", "apis")
    ap = fakelib.parser(__doc__.split("\n")[0], log=False, port_file_required=False)
    ap.add_argument("--fixtures", default=default_fix)
    ap.add_argument("--default", default="ok")
    ap.add_argument("--ticker", action="append", default=[], metavar="T=MODE")
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--ticker-delay", action="append", default=[], metavar="T=MS")
    ap.add_argument("--spark-shape", choices=["v7", "v8"], default="v8")
    ap.add_argument("--print-price", metavar="TICKER")
    a = ap.parse_args()
    if a.print_price:
        print(price_of(a.print_price))
        return
    load_fixtures(a.fixtures)
    STATE["default"] = a.default
    STATE["delay_ms"] = a.delay_ms
    STATE["spark_shape"] = a.spark_shape
    for kv in a.ticker:
        k, _, v = kv.partition("=")
        STATE["tickers"][k.upper()] = v
    for kv in a.ticker_delay:
        k, _, v = kv.partition("=")
        STATE["ticker_delay_ms"][k.upper()] = int(v)
    fakelib.serve_http(Handler, a)


if __name__ == "__main__":
    main()
