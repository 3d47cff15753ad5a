"""Hostile web servers on 127.0.0.1 for the fault and crash tests, and a Prefect-free run.

`FaultServer` answers each path with a route: a fixture file (feeds/news under
tests/fixtures/faults) or a misbehaviour (stall, bomb, status code, redirect, hang-up).
It counts requests per path, so tests can show that nothing is fetched in a hot loop.
`run_plain` runs the stages of `flows.monitor.run_cycle` in order without Prefect; run as
`python -m tests.faultsrv CONFIG` it is the process the crash test kills.
"""
from __future__ import annotations

import gzip
import socket
import sys
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

FAULTS = Path(__file__).parent / "fixtures" / "faults"
CAP = 1_000_000  # fetch.max_bytes of the fault config
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8

Route = Callable[["_Handler"], None]


# --- answers --------------------------------------------------------------------------------

def send(h: "_Handler", status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
         headers: dict[str, str] | None = None, length: bool = True) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    if length:
        h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    _write(h, body)


def _write(h: "_Handler", data: bytes) -> bool:
    try:
        h.wfile.write(data)
        h.wfile.flush()
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def fixture(rel: str, ctype: str = "application/rss+xml; charset=utf-8", encoding: str | None = None) -> Route:
    """A fixture file; `encoding` re-encodes it (and the content type names no charset)."""
    def route(h: "_Handler") -> None:
        text = (FAULTS / rel).read_text(encoding="utf-8").replace("{{BASE}}", h.server.base)
        body = text.encode(encoding) if encoding else text.encode("utf-8")
        send(h, 200, body, "application/rss+xml" if encoding else ctype)
    return route


def status(code: int, retry_after: str | None = None) -> Route:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return lambda h: send(h, code, f"<h1>{code}</h1>".encode(), headers=headers)


def redirect(location: str, code: int = 302) -> Route:
    return lambda h: send(h, code, b"", headers={"Location": location.replace("{{BASE}}", h.server.base)})


def stall(h: "_Handler") -> None:
    """Promise 10 kB, send 100 bytes, then say nothing."""
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", "10000")
    h.end_headers()
    _write(h, b'<?xml version="1.0"?><rss version="2.0"><channel><title>stall</title>'.ljust(100))
    time.sleep(3)


def drip(h: "_Handler") -> None:
    """A byte every 0.2 s: never idle long enough for the read timeout, never done."""
    send_headers_only(h, "application/rss+xml")
    for _ in range(40):
        if not _write(h, b" "):
            return
        time.sleep(0.2)


def send_headers_only(h: "_Handler", ctype: str, headers: dict[str, str] | None = None) -> None:
    h.send_response(200)
    h.send_header("Content-Type", ctype)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()


def endless(h: "_Handler") -> None:
    """No Content-Length, and more bytes than the cap."""
    send_headers_only(h, "text/html; charset=utf-8")
    chunk = b"<p>" + b"padding " * 8000 + b"</p>\n"
    sent = 0
    while sent < CAP * 3 and _write(h, chunk):
        sent += len(chunk)


def oversize_declared(h: "_Handler") -> None:
    send_headers_only(h, "application/rss+xml", {"Content-Length": str(CAP * 50)})
    _write(h, b"<rss>" + b" " * 65536)


_BOMB: list[bytes] = []


def gzip_bomb(h: "_Handler") -> None:
    """About 50 kB on the wire, 50 MB decoded."""
    if not _BOMB:
        z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        zeros = b"\0" * 1_000_000
        _BOMB.append(b"".join([z.compress(zeros) for _ in range(50)] + [z.flush()]))
    send(h, 200, _BOMB[0], "application/rss+xml", headers={"Content-Encoding": "gzip"})


def bad_gzip(h: "_Handler") -> None:
    send(h, 200, b"\x1f\x8b\x08\x00this is not gzip at all" * 20, "application/rss+xml",
         headers={"Content-Encoding": "gzip"})


def hang_up(h: "_Handler") -> None:
    h.close_connection = True
    h.connection.shutdown(socket.SHUT_RDWR)


def empty(h: "_Handler") -> None:
    send(h, 200, b"", "application/rss+xml")


def gzipped_fixture(rel: str) -> Route:
    def route(h: "_Handler") -> None:
        body = (FAULTS / rel).read_text(encoding="utf-8").replace("{{BASE}}", h.server.base)
        send(h, 200, gzip.compress(body.encode()), "application/rss+xml", headers={"Content-Encoding": "gzip"})
    return route


def article_page(title: str, paragraphs: list[str]) -> bytes:
    paras = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><nav>Home | World</nav><article><h1>{title}</h1>\n{paras}\n</article>"
            f"<footer>Copyright.</footer></body></html>").encode("utf-8")


def generic_article(h: "_Handler") -> None:
    """Any other /news/NAME.html: a plain article about NAME."""
    name = Path(urlsplit(h.path).path).stem.replace("-", " ")
    para = (f"This is the report on {name}. Officials gave details of the events on Monday and "
            "said more information would follow later in the week, according to local media.")
    send(h, 200, article_page(f"Report on {name}", [para, para.replace("This is", "Here is"), para[::-1]]))


# --- the hostile catalogue ------------------------------------------------------------------

FEED_ROUTES: dict[str, Route] = {
    "/feeds/wire.xml": fixture("feeds/wire.xml"),
    "/feeds/odd-entries.atom": fixture("feeds/odd-entries.atom", "application/atom+xml; charset=utf-8"),
    "/feeds/gzipped.xml": gzipped_fixture("feeds/charset/euc-kr.xml"),
    "/feeds/malformed.xml": fixture("feeds/malformed.xml"),
    "/feeds/euc-kr.xml": fixture("feeds/charset/euc-kr.xml", encoding="euc-kr"),
    "/feeds/big5.xml": fixture("feeds/charset/big5.xml", encoding="big5"),
    "/feeds/shift-jis.xml": fixture("feeds/charset/shift-jis.xml", encoding="shift_jis"),
    "/feeds/not-xml": fixture("feeds/not-xml.txt", "text/plain"),
    "/feeds/html-page": fixture("feeds/html-page.html", "text/html; charset=utf-8"),
    "/feeds/laughs.xml": fixture("feeds/laughs.xml"),
    "/feeds/laughs-hidden.xml": fixture("feeds/laughs-hidden.xml"),
    "/feeds/xxe.xml": fixture("feeds/xxe.xml"),
    "/feeds/empty": empty,
    "/feeds/oversize": oversize_declared,
    "/feeds/endless": endless,
    "/feeds/gzip-bomb": gzip_bomb,
    "/feeds/bad-gzip": bad_gzip,
    "/feeds/stall": stall,
    "/feeds/drip": drip,
    "/feeds/hang-up": hang_up,
    "/feeds/404": status(404),
    "/feeds/410": status(410),
    "/feeds/500": status(500),
    "/feeds/429": status(429, "1"),
    "/feeds/503": status(503, "7200"),
    "/feeds/loop": redirect("{{BASE}}/feeds/loop"),
    "/feeds/to-ftp": redirect("ftp://127.0.0.1/feed.xml"),
    "/feeds/to-file": redirect("file:///etc/passwd", 301),
}

NEWS_ROUTES: dict[str, Route] = {
    "/news/talks.html": fixture("news/talks.html", "text/html; charset=utf-8"),
    "/news/stocks.html": fixture("news/stocks.html", "text/html; charset=utf-8"),
    "/news/empty.html": lambda h: send(h, 200, b""),
    "/news/photo.html": lambda h: send(h, 200, PNG),
    "/news/enormous.html": endless,
    "/news/stall.html": stall,
    "/news/gone.html": status(410),
    "/news/loop.html": redirect("{{BASE}}/news/loop.html"),
    "/news/to-ftp.html": redirect("ftp://127.0.0.1/story.html"),
    "/news/bomb.html": gzip_bomb,
}


# --- the server -----------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, fmt: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        with self.server.lock:
            self.server.hits[path] += 1
        delay = self.server.delay
        if delay:
            time.sleep(delay)
        route = self.server.routes.get(path)
        if route is None and path.startswith("/news/") and path.endswith(".html"):
            route = generic_article
        if route is None:
            send(self, 404, b"<h1>404</h1>")
            return
        route(self)


    def do_POST(self) -> None:  # noqa: N802 - a webhook receiver: /hook/ok answers 200, others 500
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with self.server.lock:
            self.server.posts.append((self.path, body))
        if urlsplit(self.path).path.startswith("/hook/ok"):
            send(self, 200, b"{}", "application/json")
        else:  # an unhelpful server that echoes the request, secrets and all
            send(self, 500, f"error handling {self.path} (auth {self.headers.get('Authorization')})".encode(),
                 "text/plain")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    base: str
    routes: dict[str, Route]
    hits: Counter
    posts: list
    lock: threading.Lock
    delay: float


class FaultServer:
    """`with FaultServer(routes) as srv:` serves `routes` (path → route) at `srv.base`."""

    def __init__(self, routes: dict[str, Route] | None = None, delay: float = 0.0):
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.routes = {**FEED_ROUTES, **NEWS_ROUTES} if routes is None else routes
        self.httpd.hits, self.httpd.lock, self.httpd.delay = Counter(), threading.Lock(), delay
        self.httpd.posts = []
        self.base = self.httpd.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def hits(self) -> Counter:
        return self.httpd.hits

    @property
    def posts(self) -> list[tuple[str, bytes]]:
        return self.httpd.posts

    def __enter__(self) -> "FaultServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def dead_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- one monitoring cycle without Prefect ---------------------------------------------------

def run_plain(cfg):
    """`flows.monitor.run_cycle` itself, with each Prefect task called as its plain function and
    a standard logger: the same stages in the same order, without starting a Prefect server."""
    import logging
    from unittest import mock

    import flows.monitor as monitor
    from prefect import Task

    tasks = {name: _plain(obj.fn) for name, obj in vars(monitor).items() if isinstance(obj, Task)}
    with mock.patch.multiple(monitor, get_run_logger=lambda: logging.getLogger("seedwatch.run"),
                             **tasks):
        return monitor.run_cycle(cfg)


def _plain(fn: Callable) -> Callable:
    """Call `fn` as Prefect would: arguments wrapped in `quote(...)` are unwrapped first."""
    from prefect.utilities.annotations import BaseAnnotation

    def unwrap(value: object) -> object:
        return value.unwrap() if isinstance(value, BaseAnnotation) else value

    return lambda *args, **kwargs: fn(*map(unwrap, args), **{k: unwrap(v) for k, v in kwargs.items()})


if __name__ == "__main__":
    from seedwatch.config import load_config

    from extractors.pool import shutdown

    try:
        result = run_plain(load_config(sys.argv[1]))
    finally:
        shutdown()
    print(f"new_articles={result.new_articles} alerts_sent={result.alerts_sent}", flush=True)


# --- a plain news site for the crash test ---------------------------------------------------

# Five distinct inter-Korean events; each is reported by two articles of the site.
_EVENTS = [
    ("North Korea proposes border talks at Panmunjom",
     ["North Korea proposed high-level talks with South Korea at the border village of Panmunjom, "
      "state media in Pyongyang reported, in an offer to ease military tension.",
      "South Korea's Unification Ministry said it welcomed the proposal and was reviewing a date "
      "for the inter-Korean talks at Panmunjom."]),
    ("Koreas agree to reunions of separated families",
     ["The two Koreas agreed to hold reunions of families separated by the Korean War at the "
      "Mount Kumgang resort, the Red Cross societies of Seoul and Pyongyang said.",
      "Hundreds of elderly South Koreans applied to meet relatives in the North during the "
      "family reunions agreed by the Red Cross talks."]),
    ("Inter-Korean liaison office reopens in Kaesong",
     ["The inter-Korean liaison office in the border city of Kaesong reopened, restoring a direct "
      "channel between the unification ministry in Seoul and officials of the North.",
      "Liaison officers of the two Koreas exchanged their first phone call through the reopened "
      "Kaesong office, the unification ministry said."]),
    ("Koreas to field joint team at Asian Games",
     ["North and South Korea will field a unified women's basketball team at the Asian Games, "
      "sports officials of both Koreas agreed after talks at Panmunjom.",
      "Athletes from Pyongyang arrived in Seoul to train with South Korean players for the joint "
      "inter-Korean team at the Asian Games."]),
    ("Leaders of the two Koreas plan a summit in Pyongyang",
     ["South Korea's president will travel to Pyongyang for a summit with North Korea's leader, "
      "the presidential office in Seoul announced after inter-Korean working-level talks.",
      "Preparations for the inter-Korean summit in Pyongyang began as an advance team from Seoul "
      "crossed the military demarcation line."]),
]
_OTHER = ["Shares of exporters rose for the {i}th session as demand for memory chips grew and the "
          "benchmark index closed higher in afternoon trading.",
          "Forecasters expect heavy rain on day {i} across the southern provinces, with strong winds "
          "along the coast and cooler air arriving over the weekend.",
          "The city council approved budget item {i} for new bus lanes and a renovated public library "
          "after a long debate on local taxes."]


def news_site(feeds: int = 3, per_feed: int = 10) -> dict[str, Route]:
    """`feeds` RSS feeds of `per_feed` articles each; every third article reports one of five
    inter-Korean events (so the site holds several matching stories), the others do not match."""
    routes: dict[str, Route] = {}
    for f in range(feeds):
        items = []
        for k in range(per_feed):
            i = f * per_feed + k
            if i % 3 == 0:
                event, paras = _EVENTS[(i // 3) % len(_EVENTS)]
                title, body = f"{event} (report {i})", paras + [f"Report {i} of the {event.lower()}."]
            else:
                title, body = f"Daily report {i}", [p.format(i=i) for p in _OTHER]
            page = article_page(title, body)
            routes[f"/news/a{i}.html"] = lambda h, page=page: send(h, 200, page)
            items.append(f"<item><title>{title}</title><link>{{{{BASE}}}}/news/a{i}.html</link>"
                         f"<guid>a{i}</guid><description>{body[0]}</description></item>")
        xml = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
               f"<title>Site {f}</title>{''.join(items)}</channel></rss>")
        routes[f"/feeds/site{f}.xml"] = (
            lambda h, xml=xml: send(h, 200, xml.replace("{{BASE}}", h.server.base).encode(), "application/rss+xml"))
    return routes
