"""Adaptive polling: two days of runs every 30 (simulated) minutes against a real 127.0.0.1 site
whose feeds publish hourly, daily, or declare a ttl; real pipeline stages, real DuckDB."""
from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from extractors.schedule import declared_interval, interval_minutes, observe, poll_due
from seedwatch import pipeline

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
MIN, MAX = 15.0, 720.0


class _Clocked(BaseHTTPRequestHandler):
    """/hourly.xml: an item every hour; /daily.xml: one a day; /ttl.xml: hourly, ttl 180.
    Items up to the server's simulated clock; ETag / 304 like a real site."""

    def log_message(self, *a):
        pass

    def do_GET(self):  # noqa: N802
        srv = self.server
        now, name = srv.clock, self.path.strip("/")
        srv.hits.setdefault(name, []).append(now)
        step = {"hourly.xml": timedelta(hours=1), "daily.xml": timedelta(days=1),
                "ttl.xml": timedelta(hours=1)}.get(name)
        if step is None:
            self.send_error(404)
            return
        k = int((now - (T0 - timedelta(days=2))) / step)
        items = "".join(
            f"<item><title>{name} {i}</title><guid>{name}-{i}</guid><link>http://127.0.0.1:9/{name}/{i}</link>"
            f"<pubDate>{format_datetime(T0 - timedelta(days=2) + i * step)}</pubDate></item>"
            for i in range(max(0, k - 15), k + 1))
        ttl = "<ttl>180</ttl>" if name == "ttl.xml" else ""
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{ttl}{items}</channel></rss>'.encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:12] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def clocked():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Clocked)
    srv.daemon_threads = True
    srv.clock, srv.hits = T0, {}
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_hourly_feed_is_polled_more_often_than_daily_one_within_bounds(clocked, config_for):
    base = f"http://127.0.0.1:{clocked.server_address[1]}"
    cfg = config_for([f"{base}/hourly.xml", f"{base}/daily.xml", f"{base}/ttl.xml"],
                     schedule={"min_feed_interval_minutes": MIN, "max_feed_interval_minutes": MAX},
                     fetch={"respect_robots": False})
    wh = pipeline.warehouse_for(cfg)
    now = T0
    while now < T0 + timedelta(days=2):
        clocked.clock = now
        run_id = pipeline.new_run_id()
        states = pipeline.register_feeds(wh, cfg, run_id)
        pipeline.store_polls(wh, pipeline.poll(cfg, states, now=now), run_id, cfg.schedule, now=now)
        now += timedelta(minutes=30)

    hits = clocked.hits
    hourly, daily, ttl = len(hits["hourly.xml"]), len(hits["daily.xml"]), len(hits["ttl.xml"])
    # 96 runs: the hourly feed about every hour, the daily one every 12 h (the maximum), the
    # ttl feed no more often than its declared 180 minutes.
    assert 40 <= hourly <= 60, hourly
    assert 4 <= daily <= 6, daily
    assert 14 <= ttl <= 18, ttl
    for name, least in (("hourly.xml", MIN), ("daily.xml", MAX), ("ttl.xml", 180.0)):
        gaps = [(b - a).total_seconds() / 60 for a, b in zip(hits[name][1:], hits[name][2:])]
        assert min(gaps) >= least * 0.9 - 30 and max(gaps) <= MAX, (name, gaps)

    con = duckdb.connect(cfg.warehouse.path, read_only=True)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT url, interval_minutes, next_poll_at, entries_per_day, declared_interval_minutes "
        "FROM feed_health").fetchall()}
    con.close()
    h, d, t = rows[f"{base}/hourly.xml"], rows[f"{base}/daily.xml"], rows[f"{base}/ttl.xml"]
    assert 45 <= h[0] <= 90 and d[0] == MAX and t[0] >= 180
    assert 18 <= h[2] <= 30 and 0.5 <= d[2] <= 2 and t[3] == 180
    assert all(r[1] > T0 + timedelta(days=2) - timedelta(minutes=30) for r in (h, d, t))


def test_quiet_polls_slow_a_feed_down_and_bounds_apply():
    now = T0
    state = {"last_success_at": now - timedelta(hours=1), "rate_entries": 4.0, "rate_hours": 4.0}
    busy = interval_minutes(*observe(state, 1, now), None, MIN, MAX)
    quiet = {**state}
    for i in range(12):  # twelve 304s, two hours apart
        quiet["rate_entries"], quiet["rate_hours"] = observe(quiet, 0, now + timedelta(hours=2 * i))
        quiet["last_success_at"] = now + timedelta(hours=2 * i)
    slow = interval_minutes(quiet["rate_entries"], quiet["rate_hours"], None, MIN, MAX)
    assert busy == 60.0 and slow > 3 * busy
    assert interval_minutes(100, 1, None, MIN, MAX) == MIN and interval_minutes(0, 50, None, MIN, MAX) == MAX
    assert interval_minutes(1, 1, 300, MIN, MAX) == 300 and interval_minutes(1, 1, 5000, MIN, MAX) == MAX
    assert declared_interval(None, "daily", "4") == 360 and declared_interval("30") == 30
    assert declared_interval("x", "fortnightly") is None
    later = {"next_poll_at": now + timedelta(hours=10), "poll_interval_minutes": 700.0,
             "last_fetched_at": now - timedelta(hours=2)}
    assert poll_due(later, now)[0] is False and "not due" in poll_due(later, now)[1]
    assert poll_due(later, now, 60)[0] is True  # the maximum was lowered since
