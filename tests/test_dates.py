"""Issue 11.1: feed dates outside a sane range (Go's zero time, before 1990, far in the future)
are unknown: the first-seen time is used, the replacement is recorded, and nothing stops the run."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb

from extractors.dates import EARLIEST, checked_date
from extractors.feeds import parse_feed
from tests.test_page_retries import PAGE
from tests.test_pipeline import query, run_once


def rss(base: str, items: list[tuple[str, str, str]]) -> str:
    body = "".join(f"<item><title>{title}</title><link>{base}{path}</link><guid>{path}</guid>"
                   f"<pubDate>{date}</pubDate><description>Koreas agree to talks.</description></item>"
                   for path, title, date in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


BAD = [("/zero.html", "Koreas agree to talks (zero date)", "Mon, 01 Jan 0001 00:00:00 +0000"),
       ("/old.html", "Koreas agree to talks (1983)", "Sat, 01 Jan 1983 00:00:00 +0000"),
       ("/far.html", "Koreas agree to talks (9999)", "Fri, 31 Dec 9999 23:59:59 +0000")]
GOOD = ("/good.html", "Koreas agree to talks", "Mon, 30 Nov 2026 09:00:00 +0000")


def test_checked_date_range():
    now = datetime(2026, 12, 4, tzinfo=timezone.utc)
    assert checked_date(datetime(2026, 12, 1, tzinfo=timezone.utc), now) == (datetime(2026, 12, 1, tzinfo=timezone.utc), None)
    assert checked_date(EARLIEST, now)[0] == EARLIEST
    assert checked_date(None, now) == (None, None)
    for bad in (datetime(1, 1, 1, tzinfo=timezone.utc), datetime(1989, 12, 31, tzinfo=timezone.utc),
                now + timedelta(days=1, seconds=1)):
        when, note = checked_date(bad, now)
        assert when is None and "first-seen time used" in note and bad.isoformat()[:10] in note
    # a naive datetime is taken as UTC, not refused
    assert checked_date(datetime(2026, 12, 1), now)[0] == datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_parse_feed_records_replaced_dates():
    now = datetime(2026, 12, 4, tzinfo=timezone.utc)
    parsed = parse_feed(rss("http://example.org", BAD + [GOOD]).encode(), "application/rss+xml", None, now)
    by_title = {e.title: e for e in parsed.entries}
    for _, title, raw in BAD:
        assert by_title[title].published is None
        assert "out of range" in by_title[title].published_note
    assert by_title[GOOD[1]].published == datetime(2026, 11, 30, 9, tzinfo=timezone.utc)
    assert by_title[GOOD[1]].published_note is None


def test_zero_date_entry_does_not_stop_grouping_or_alerts(httpserver, config_for, tmp_path):
    base = httpserver.url_for("")[:-1]
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(base, BAD + [GOOD]), content_type="application/rss+xml")
    for path, _, _ in BAD + [GOOD]:
        httpserver.expect_request(path).respond_with_data(PAGE, content_type="text/html")
    alerts = tmp_path / "alerts.jsonl"
    cfg = config_for([f"{base}/feed.xml"], alerts=[{"url": f"jsonfile://{alerts}"}])
    _, batches, report = run_once(cfg)  # raised OverflowError in story grouping before the fix
    rows = query(cfg, "SELECT title, published, published_note, first_seen FROM articles ORDER BY title")
    assert len(rows) == 4
    for title, published, note, first_seen in rows:
        if title == GOOD[1]:
            assert published.year == 2026 and note is None
        else:
            assert published is None and "first-seen time used" in note
    assert query(cfg, "SELECT count(*) FROM story_members")[0][0] == 4
    at = query(cfg, "SELECT min(article_at) FROM story_members")[0][0]
    assert at.year == 2026
    assert report.sent >= 1 and alerts.read_text().strip()
    # the entry keeps the same record
    assert query(cfg, "SELECT count(*) FROM entries WHERE published_note LIKE '%out of range%'")[0][0] == 3


def test_bad_dates_already_stored_are_repaired_by_the_migration(tmp_path):
    """A warehouse written before the fix may hold year-0001 dates: migration 006 clears them."""
    from warehouse.db import migrate
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, target=5)
    con.execute("""INSERT INTO articles (article_id, canonical_url, url, feed_id, title, text, text_source,
                   published, content_hash, first_seen, run_id) VALUES
                   ('a1', 'http://x/1', 'http://x/1', 'f', 't', 'x', 'page', TIMESTAMPTZ '0001-01-01 00:00:00+00',
                    'h', now(), 'r'),
                   ('a2', 'http://x/2', 'http://x/2', 'f', 't', 'x', 'page', TIMESTAMPTZ '2026-11-30 00:00:00+00',
                    'h', now(), 'r')""")
    migrate(con)
    rows = con.execute("SELECT article_id, published, published_note FROM articles ORDER BY 1").fetchall()
    con.close()
    assert rows[0][1] is None and "0001-01-01" in rows[0][2]
    assert rows[1][1].year == 2026 and rows[1][2] is None
