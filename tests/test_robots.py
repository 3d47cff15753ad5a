"""robots.txt: a real site on 127.0.0.1 whose robots.txt refuses some paths, the real pipeline."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from extractors.http import FetchResult
from extractors.robots import RobotsPolicy, origin_of
from seedwatch import pipeline
from seedwatch.sitesrv import SiteServer, _Handler
from tests.test_pipeline import run_once

LONG = "Seoul and Pyongyang agreed to hold working-level talks at the truce village next week. " * 6


class _Recording(_Handler):
    """The static site, logging every path asked for; `robots_status` makes robots.txt fail."""

    def do_GET(self) -> None:  # noqa: N802
        self.server.seen.append(self.path)
        status = getattr(self.server, "robots_status", None)
        if self.path == "/robots.txt" and status:
            self.send_error(status)
            return
        super().do_GET()


def _site(root: Path, robots: str | None) -> None:
    (root / "news").mkdir(parents=True)
    (root / "private").mkdir()
    (root / "feeds").mkdir()
    for folder, name, title in (("news", "open.html", "Open page"), ("private", "closed.html", "Closed page")):
        (root / folder / name).write_text(f"<html><head><title>{title}</title></head><body><article>"
                                          f"<h1>{title}</h1><p>{LONG}</p></article></body></html>")
    items = "".join(f"<item><title>{t}</title><link>{{{{BASE}}}}/{p}</link><guid>{p}</guid>"
                    f"<description>Feed text of {t}: the Koreas agreed on talks.</description></item>"
                    for t, p in (("Open page", "news/open.html"), ("Closed page", "private/closed.html")))
    (root / "feeds" / "wire.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{items}</channel></rss>')
    if robots is not None:
        (root / "robots.txt").write_text(robots)


@pytest.fixture
def make_site(tmp_path):
    servers = []

    def start(robots: str | None, status: int | None = None) -> SiteServer:
        root = tmp_path / f"site{len(servers)}"
        _site(root, robots)
        srv = SiteServer(root)
        srv.httpd.RequestHandlerClass = _Recording
        srv.httpd.seen = []
        srv.httpd.robots_status = status
        servers.append(srv.__enter__())
        return srv

    yield start
    for srv in servers:
        srv.__exit__(None, None, None)


def _articles(cfg):
    con = duckdb.connect(cfg.warehouse.path, read_only=True)
    try:
        return {t: (src, why) for t, src, why in con.execute(
            "SELECT title, text_source, fallback_reason FROM articles").fetchall()}
    finally:
        con.close()


def test_refused_page_becomes_article_from_feed_text_with_the_reason(make_site, config_for):
    srv = make_site("User-agent: *\nDisallow: /private/\n")
    cfg = config_for([f"{srv.base}/feeds/wire.xml"])
    lines, _, _ = run_once(cfg)
    assert [l.outcome for l in lines] == ["ok"]
    arts = _articles(cfg)
    assert arts["Open page"] == ("page", None)
    source, why = arts["Closed page"]
    assert source == "feed_summary" and "robots.txt" in why and "disallows" in why
    assert "/private/closed.html" not in srv.httpd.seen  # never asked for
    assert srv.httpd.seen.count("/robots.txt") == 1  # once for the feed and both pages
    con = duckdb.connect(cfg.warehouse.path, read_only=True)
    log = con.execute("SELECT outcome, error_class, error FROM fetch_log WHERE url LIKE '%closed%'").fetchall()
    cached = con.execute("SELECT origin, rule, expires_at > now() + INTERVAL 23 HOUR FROM robots_txt").fetchall()
    con.close()
    assert log == [("skipped", "skip", why)]
    assert cached == [(srv.base, "rules", True)]

    # A new process (empty memory cache) reads the cached file from the warehouse: not fetched again.
    pipeline._ROBOTS.clear()
    run_once(cfg)
    assert srv.httpd.seen.count("/robots.txt") == 1


def test_a_feed_refused_for_seedwatch_is_recorded_as_failed(make_site, config_for):
    srv = make_site("User-agent: seedwatch\nDisallow: /feeds/\n\nUser-agent: *\nAllow: /\n")
    cfg = config_for([f"{srv.base}/feeds/wire.xml"])
    lines, _, _ = run_once(cfg)
    assert lines[0].outcome == "failed" and "robots.txt" in lines[0].reason
    assert "/feeds/wire.xml" not in srv.httpd.seen
    con = duckdb.connect(cfg.warehouse.path, read_only=True)
    health = con.execute("SELECT health, last_error FROM feed_health").fetchone()
    con.close()
    assert health[0] == "failing" and "disallows" in health[1]


def test_respect_robots_false_fetches_everything(make_site, config_for):
    srv = make_site("User-agent: *\nDisallow: /\n")
    cfg = config_for([f"{srv.base}/feeds/wire.xml"], fetch={"respect_robots": False})
    run_once(cfg)
    assert "/robots.txt" not in srv.httpd.seen
    assert {s for s, _ in _articles(cfg).values()} == {"page"}


def test_no_robots_file_allows_all_and_unreachable_one_refuses_for_now(make_site, config_for):
    srv = make_site(None)  # 404
    cfg = config_for([f"{srv.base}/feeds/wire.xml"])
    run_once(cfg)
    assert {s for s, _ in _articles(cfg).values()} == {"page"}

    down = make_site(None, status=503)
    cfg2 = config_for([f"{down.base}/feeds/wire.xml"], warehouse={"path": str(Path(cfg.warehouse.path).with_name("w2.duckdb"))})
    lines, _, _ = run_once(cfg2)
    # RFC 9309: an unreachable robots.txt means "fetch nothing"; a temporary failure, asked again.
    assert lines[0].outcome == "failed" and "unreachable" in lines[0].reason
    assert down.httpd.seen == ["/robots.txt"]


def _result(status, outcome="failed", body=None):
    return FetchResult("u", "u", outcome, status=status, content=body)


def test_policy_rules_and_expiry():
    p = RobotsPolicy(cache_hours=24)
    now = datetime.now(timezone.utc)
    o = origin_of("https://Example.org:443/a")
    assert o == "https://example.org" and origin_of("http://h:8080/x") == "http://h:8080"
    p._put(p._entry(o, _result(200, "ok", b"User-agent: *\nDisallow: /x/\nAllow: /x/ok$\n"), now))
    assert p.check("https://example.org/y") is None
    assert p.check("https://example.org/x/z")[1] == "skip"
    assert p.check("https://example.org/x/ok") is None  # longest match wins
    # Unreachable later: the known copy keeps applying, and is asked again in an hour.
    p._put(p._entry(o, _result(503), now))
    assert p.check("https://example.org/x/z")[1] == "skip" and p.check("https://example.org/y") is None
    assert p.stale_origins(["https://example.org/"], now + timedelta(minutes=61)) == [o]
    assert p.stale_origins(["https://example.org/"], now + timedelta(minutes=59)) == []
    # 401/403/404: no rules, everything allowed; 429: unreachable, nothing allowed.
    p._put(p._entry("http://a", _result(403), now))
    p._put(p._entry("http://b", _result(429), now))
    assert p.check("http://a/x") is None and p.check("http://b/x")[1] == "temporary"
    rows = p.take_new()
    assert {r["origin"] for r in rows} == {o, "http://a", "http://b"} and p.take_new() == []
    q = RobotsPolicy()
    q.load(rows)
    assert q.check("http://b/x")[1] == "temporary" and q.stale_origins(["http://a/z"]) == []
