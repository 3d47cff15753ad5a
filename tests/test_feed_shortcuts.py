"""`extractors.feeds` makes feedparser cheaper (a remembered base-URI resolution, a flat copy of
content parameters). What feedparser returns must not change: every feed here is parsed with the
shortcuts and without them, and the two results compared in full."""
from __future__ import annotations

import copy
import time
from datetime import datetime, timezone
from pathlib import Path

import feedparser
import feedparser.mixin
import pytest

from extractors import feeds as feeds_mod
from tests.conftest import REPO

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
SHARED = REPO.parent / "shared" / "corpora" / "feeds"

# Bases that change inside the document (xml:base on the feed, an entry and its content),
# relative links and HTML content whose URIs are resolved, an image and a source element:
# the paths where the base URI and the content parameters are handled.
XML_BASE_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a.example/news/" xml:lang="en">
  <title type="html">A &amp;lt;b&amp;gt;feed&amp;lt;/b&amp;gt;</title>
  <subtitle type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Sub <a href="x.html">x</a></div></subtitle>
  <link href="/" rel="alternate"/>
  <id>tag:a.example,2026:feed</id>
  <updated>2026-12-05T10:00:00Z</updated>
  <entry xml:base="2026/">
    <title>One</title><link href="one.html"/><id>one</id>
    <updated>2026-12-05T09:00:00Z</updated>
    <summary type="html">&lt;a href="rel/a.html"&gt;a&lt;/a&gt; &lt;img src="i.png"&gt;</summary>
    <content type="html" xml:base="http://b.example/other/">&lt;p&gt;&lt;a href="p.html"&gt;p&lt;/a&gt;&lt;/p&gt;</content>
    <source><id>src</id><title>Source</title><link href="src.html"/></source>
  </entry>
  <entry xml:base="javascript:alert(1)//">
    <title>Two</title><link href="two.html"/><id>two</id>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Two <a href="t.html">t</a></p></div></content>
  </entry>
</feed>"""

RELATIVE_RSS = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Rel</title><link>/</link><description>d &lt;i&gt;x&lt;/i&gt;</description>
<image><url>/logo.png</url><title>logo</title><link>/</link></image>
<item><title>A &amp; B</title><link>/a.html?x=1&amp;y=2</link><guid isPermaLink="true">/a.html</guid>
<description>&lt;p&gt;See &lt;a href="/b.html"&gt;b&lt;/a&gt;&lt;/p&gt;</description>
<content:encoded><![CDATA[<p>Body <a href="c.html">c</a> <img src="//cdn.example/i.jpg"></p>]]></content:encoded>
<media:content url="/v.mp4" type="video/mp4"/>
<pubDate>Sat, 05 Dec 2026 08:00:00 GMT</pubDate></item>
</channel></rss>"""


def _documents() -> list[tuple[str, bytes]]:
    docs = [("xml-base.atom", XML_BASE_ATOM), ("relative.rss", RELATIVE_RSS)]
    fixtures = REPO / "tests" / "fixtures"
    for path in sorted([*fixtures.glob("*/feeds/*.*"), *fixtures.glob("*/feeds/*/*.*")]):
        docs.append((str(path.relative_to(fixtures)), path.read_bytes()))
    if SHARED.is_dir():  # real feeds from other projects' test suites, where present
        for path in sorted(SHARED.rglob("*")):
            if path.is_file():
                docs.append((str(path.relative_to(SHARED)), path.read_bytes()))
    return docs


def _plain(value: object) -> object:
    """The parse result as comparable data (an exception by its type and message)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not isinstance(value, time.struct_time):
        return [_plain(v) for v in value]
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return value


def _without_shortcuts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feedparser.mixin, "make_safe_absolute_uri", feeds_mod._safe_uri)
    monkeypatch.setattr(feedparser.mixin, "copy", copy)


def test_the_shortcuts_are_in_place():
    assert feedparser.mixin.make_safe_absolute_uri is feeds_mod._resolved_base
    assert feedparser.mixin.copy.deepcopy is feeds_mod._copied_params


def _parsed(body: bytes, base: str = "http://feeds.example/dir/feed.xml") -> tuple:
    """What feedparser returns for the body, and what `parse_feed` makes of it."""
    raw = feedparser.parse(body, response_headers={"content-location": base},
                           sanitize_html=False, resolve_relative_uris=True)
    try:
        ours = feeds_mod.parse_feed(body, None, base, NOW)
    except feeds_mod.FeedError as exc:
        ours = exc
    return _plain(raw), repr(ours)


def test_feed_parsing_shortcuts_return_what_feedparser_returns(monkeypatch):
    docs = _documents()
    assert len(docs) >= 15
    fast = [_parsed(body) for _, body in docs]
    _without_shortcuts(monkeypatch)
    differ = [name for (name, body), seen in zip(docs, fast) if _parsed(body) != seen]
    assert differ == []
    # The documents exercise both shortcuts: resolved links, and copied content parameters.
    one = feedparser.parse(XML_BASE_ATOM)
    assert one.entries[0].link == "http://a.example/news/2026/one.html"
    assert one.entries[0].content[0]["base"] == "http://b.example/other/"
    assert one.entries[1].link == "http://a.example/news/two.html"  # a javascript: base is refused


def test_copied_content_parameters_are_independent_and_nested_values_still_deepcopied():
    flat = feedparser.FeedParserDict(type="text/html", language=None, base="http://x.example/")
    out = feeds_mod._copied_params(flat)
    assert out == flat and out is not flat and type(out) is feedparser.FeedParserDict
    out["value"] = "v"
    assert "value" not in flat
    nested = feedparser.FeedParserDict(type="text/html", extra={"k": ["v"]})
    deep = feeds_mod._copied_params(nested)
    assert deep == nested and deep["extra"] is not nested["extra"]
