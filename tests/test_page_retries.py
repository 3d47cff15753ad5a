"""A page that fails with a temporary error is fetched again on later runs and upgrades its article."""
from __future__ import annotations

import duckdb
from werkzeug import Response

from seedwatch import pipeline
from tests.test_pipeline import query, run_once

PAGE = """<!doctype html><html lang="en"><head><title>Koreas agree to talks</title></head><body>
<nav>Home | World</nav><article><h1>Koreas agree to talks</h1>
<p>North Korea and South Korea agreed on Monday to hold high-level talks at the border village of
Panmunjom next week, the Unification Ministry in Seoul said, after Pyongyang accepted the South's
offer of dialogue made last month.</p>
<p>The two Koreas will also discuss restoring the inter-Korean hotline and reuniting families
separated by the war, officials said. Seoul welcomed the North's answer as a step towards easing
military tension on the peninsula.</p></article><footer>Contact us</footer></body></html>"""


def feed(base: str, items: list[tuple[str, str]]) -> str:
    body = "".join(f"<item><title>{t}</title><link>{base}{path}</link><guid>{path}</guid>"
                   f"<description>Read more on our site.</description></item>" for path, t in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'


def make_due(cfg):
    con = duckdb.connect(cfg.warehouse.path)
    try:
        con.execute("UPDATE page_retries SET next_attempt_at = now() - INTERVAL 1 MINUTE")
    finally:
        con.close()


def test_temporary_page_failure_is_retried_and_rescored(httpserver, config_for):
    state = {"up": False}

    def page(_request):
        return Response(PAGE, content_type="text/html") if state["up"] else Response("busy", status=503)

    base = httpserver.url_for("")[:-1]
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed(base, [("/a.html", "Talks agreed"), ("/gone.html", "Gone story")]),
        content_type="application/rss+xml")
    httpserver.expect_request("/a.html").respond_with_handler(page)
    httpserver.expect_request("/gone.html").respond_with_data("no", status=404)
    cfg = config_for([f"{base}/feed.xml"])
    detectors = pipeline.load_detectors(cfg)
    wh = pipeline.warehouse_for(cfg)

    run_once(cfg)
    # Stored at once with the feed's text; only the temporary failure is queued again.
    assert query(cfg, "SELECT text_source FROM articles ORDER BY title") == \
        [("feed_summary",), ("feed_summary",)]
    assert query(cfg, "SELECT link FROM page_retries") == [(f"{base}/a.html",)]
    assert query(cfg, "SELECT decision FROM scores JOIN articles USING (article_id) "
                      "WHERE title = 'Talks agreed'") == [(False,)]
    # Not due yet: nothing is fetched.
    assert pipeline.retry_pages(wh, cfg, detectors, "r2") == 0

    make_due(cfg)
    assert pipeline.retry_pages(wh, cfg, detectors, "r3") == 0  # still 503: rescheduled
    assert query(cfg, "SELECT attempts, next_attempt_at > now() FROM page_retries") == [(1, True)]

    state["up"] = True
    make_due(cfg)
    assert pipeline.retry_pages(wh, cfg, detectors, "r4") == 1
    source, text = query(cfg, "SELECT text_source, text FROM articles WHERE title = 'Talks agreed'")[0]
    assert source == "page" and "Panmunjom" in text
    assert query(cfg, "SELECT count(*) FROM page_retries") == [(0,)]
    # Scored again (same detector version: the verdict is replaced, not duplicated).
    assert query(cfg, "SELECT count(*), bool_and(decision) FROM scores JOIN articles USING (article_id) "
                      "WHERE title = 'Talks agreed'") == [(1, True)]


def test_retries_give_up_after_the_last_attempt(httpserver, config_for):
    base = httpserver.url_for("")[:-1]
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed(base, [("/a.html", "Talks agreed")]), content_type="application/rss+xml")
    httpserver.expect_request("/a.html").respond_with_data("busy", status=503)
    cfg = config_for([f"{base}/feed.xml"])
    detectors = pipeline.load_detectors(cfg)
    wh = pipeline.warehouse_for(cfg)
    run_once(cfg)
    for _ in range(pipeline.PAGE_RETRY_MAX_ATTEMPTS):
        make_due(cfg)
        pipeline.retry_pages(wh, cfg, detectors, "r")
    assert query(cfg, "SELECT count(*) FROM page_retries") == [(0,)]
    assert query(cfg, "SELECT text_source FROM articles") == [("feed_summary",)]
    fetched = query(cfg, "SELECT count(*) FROM fetch_log WHERE kind = 'page'")[0][0]
    assert fetched == 1 + pipeline.PAGE_RETRY_MAX_ATTEMPTS
