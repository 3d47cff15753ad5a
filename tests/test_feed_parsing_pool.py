"""Feeds are parsed on the extraction worker processes (`extractors.pool.parse_feeds`) while a
run polls them: the same parse, entry for entry, as in the flow's own process, with a body that
is no feed still giving its reason."""
from __future__ import annotations

import os
from datetime import datetime, timezone

from extractors import pool
from extractors.feeds import FeedError, parse_many

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def _rss(i: int) -> bytes:
    items = "".join(
        f"<item><title>Story {i}-{j}</title><link>/news/{i}/{j}.html</link>"
        f"<description>&lt;p&gt;Summary {j} of feed {i}&lt;/p&gt;</description>"
        f"<pubDate>Sat, 05 Dec 2026 0{j}:00:00 GMT</pubDate></item>" for j in range(5))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>'
            f"<language>ko</language><ttl>30</ttl>{items}</channel></rss>").encode()


def _feeds() -> list[tuple]:
    feeds = [(_rss(i), "application/rss+xml", f"http://site{i}.example/rss.xml", NOW) for i in range(30)]
    feeds.insert(7, (b"<!doctype html><html><body>not a feed</body></html>", "text/html",
                     "http://bad.example/", NOW))
    feeds.insert(12, (b"", "application/rss+xml", "http://empty.example/", NOW))
    return feeds


def _pid_of_parse(_feeds: list) -> list[int]:
    return [os.getpid()]


def test_parsing_on_the_workers_gives_what_parsing_here_gives():
    feeds = _feeds()
    here = parse_many(feeds)
    there = pool.parse_feeds(feeds, workers=2)
    assert len(there) == len(feeds)
    for a, b in zip(here, there):
        if isinstance(a, FeedError):
            assert isinstance(b, FeedError) and str(b) == str(a)
        else:
            assert b == a
    parsed = [p for p in there if not isinstance(p, FeedError)]
    assert len(parsed) == 30 and all(len(p.entries) == 5 for p in parsed)
    assert parsed[3].entries[0].link == "http://site3.example/news/3/0.html"  # resolved on the worker
    assert parsed[3].declared_interval_minutes == 30
    assert [str(there[7]).startswith("not a feed"), str(there[12])] == [True, "empty body"]


def test_the_work_runs_in_other_processes():
    pids = pool.run_many(_pid_of_parse, list(range(40)), workers=2).result()
    assert os.getpid() not in pids
    pool.shutdown()


def test_a_feed_the_parser_fails_on_is_that_feeds_failure(monkeypatch):
    import extractors.feeds as feeds

    real = feeds.parse_feed

    def fragile(body, *args):
        if b"Feed 2<" in body:
            raise RecursionError("maximum recursion depth exceeded")
        return real(body, *args)

    monkeypatch.setattr(feeds, "parse_feed", fragile)
    out = parse_many(_feeds()[:5])
    assert [type(p).__name__ for p in out] == ["ParsedFeed", "ParsedFeed", "FeedError", "ParsedFeed", "ParsedFeed"]
    assert str(out[2]) == "feed parser failed: RecursionError: maximum recursion depth exceeded"
