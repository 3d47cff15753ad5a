"""Issue 11.4: text that leaves the program carries no live markup and no control characters.

`plain()` used to strip tags before unescaping, so `&lt;script&gt;` became `<script>` in alerts;
ANSI escape sequences and NUL bytes passed into alerts and `seedwatch sql --csv`."""
from __future__ import annotations

import csv
import io
import json
import re

import duckdb
import pytest

from alerts.render import plain, story_alert
from seedwatch import pipeline
from seedwatch.cli import main
from tests.conftest import write_config
from tests.test_alerts import _posts, _store_articles
from tests.test_page_retries import PAGE

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LIVE = re.compile(r"<\s*/?\s*[a-z!]", re.I)


@pytest.mark.parametrize("raw", [
    "&lt;script&gt;alert(1)&lt;/script&gt; Talks agreed",
    "&amp;lt;img src=x onerror=alert(1)&amp;gt; Talks agreed",
    "<<script>script>alert(1)<</script>/script> Talks agreed",
    "&#60;b&#62;bold&#60;/b&#62; Talks agreed",
    "\x1b[31mRED\x1b[0m Talks\x00 agreed\x07",
    "&#27;[2J&#x1b;]0;title\x07 Talks agreed",
    "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\ Talks agreed",
    "Talks\u202eagreed\u2066",
])
def test_plain_leaves_no_markup_nor_control_characters(raw):
    out = plain(raw)
    assert not LIVE.search(out), out
    assert not CONTROL.search(out), repr(out)
    assert "\u202e" not in out and "\u2066" not in out
    assert "Talks" in out and "agreed" in out
    if "\x1b" in raw:  # a raw escape sequence goes whole, not just its ESC
        assert "[31m" not in out and "[2J" not in out and "]0;" not in out and "8;;" not in out


def test_plain_keeps_ordinary_text():
    assert plain("Koreas agree: 3 < 5 &amp; AT&T > none, 남북 회담") == "Koreas agree: 3 < 5 & AT&T > none, 남북 회담"
    assert plain("  two\n\tlines  ") == "two lines"


HOSTILE = "&lt;script&gt;alert(1)&lt;/script&gt;"


def feed(base: str) -> str:
    # Encoded three times: feedparser and the feed's HTML-to-text each decode once, and the
    # title stored is then entity-encoded markup, as a page's <title> can give.
    title = "&amp;amp;lt;script&amp;amp;gt;alert(1)&amp;amp;lt;/script&amp;amp;gt; Koreas agree to talks"
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>{title}</title>'
            f"<link>{base}/a.html</link><guid>a</guid><description>Talks.</description></item></channel></rss>")


def test_webhook_alert_and_csv_are_clean(httpserver, config_for, tmp_path, capsys):
    base = httpserver.url_for("")[:-1]
    httpserver.expect_request("/feed.xml").respond_with_data(feed(base), content_type="application/rss+xml")
    httpserver.expect_request("/a.html").respond_with_data(PAGE, content_type="text/html")
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    cfg = config_for([f"{base}/feed.xml"], alerts=[{"url": f"json://127.0.0.1:{httpserver.port}/hook"}])
    _store_articles(cfg)
    con = duckdb.connect(cfg.warehouse.path)
    try:
        assert con.execute("SELECT title FROM articles").fetchone()[0].startswith(HOSTILE)
        # ANSI, NUL and bell in stored text, as a hostile page can give
        con.execute("UPDATE articles SET title = title || chr(27) || '[2J' || chr(0) || chr(7) || ' (update)',"
                    " site = chr(27) || ']0;owned' || chr(7)")
    finally:
        con.close()
    wh = pipeline.warehouse_for(cfg)
    pipeline.queue_alerts(wh, cfg)
    assert pipeline.deliver(wh, cfg).sent == 1
    (post,) = _posts(httpserver)
    for text in (post["title"], post["message"]):
        assert "Koreas agree to talks" in text
        assert not LIVE.search(text), text
        assert not CONTROL.search(text), repr(text)
    # the same text through `seedwatch sql --csv`
    config = write_config(tmp_path / "seedwatch.toml", cfg)
    capsys.readouterr()
    assert main(["sql", "--config", str(config), "--csv", "SELECT title, site FROM articles"]) == 0
    out = capsys.readouterr().out
    assert not CONTROL.search(out.replace("\n", "")), repr(out)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[1][0].endswith("[2J (update)") is False and "(update)" in rows[1][0]
    # JSON lines escape control characters; the escaped text is clean too
    assert main(["sql", "--config", str(config), "--json", "SELECT title FROM articles"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert not CONTROL.search(line["title"]), repr(line["title"])


def test_story_alert_body_is_clean():
    story = {"topic": "t", "headline": "\x1b[1mBig\x1b[0m &lt;b&gt;news&lt;/b&gt;", "outlets": ["\x00Wire"],
             "explanation": json.dumps({"summary": "why\x1b[5m", "passage": "&lt;a href=x&gt;p&lt;/a&gt;"}),
             "articles": [{"outlet": "W\x07", "title": "T\x1b[0m", "canonical_url": "http://x/\x1b[0m"}]}
    title, body = story_alert("t", story)
    for text in (title, body):
        assert not LIVE.search(text) and not CONTROL.search(text.replace("\n", "")), repr(text)
