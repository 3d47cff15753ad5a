"""Parsing fetched feed bytes into entries (never `feedparser.parse(url)`: it has no timeout)."""
from __future__ import annotations

import calendar
import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import feedparser

from extractors.urls import canonical_url

# A DOCTYPE that declares entities is the vehicle of "billion laughs"-style expansion: drop it.
_DOCTYPE_WITH_ENTITIES = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.S | re.I)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t\r\f\v]+")
# Dates more than this far ahead are treated as wrong and replaced by the time of fetching.
FUTURE_TOLERANCE = timedelta(days=1)


class FeedError(ValueError):
    """The body is not a feed (HTML page, empty body, unparseable XML)."""


@dataclass
class FeedEntry:
    guid: str | None
    link: str | None
    canonical_url: str | None
    title: str
    summary: str
    content: str
    published: datetime | None
    language: str | None


@dataclass
class ParsedFeed:
    title: str
    language: str | None
    entries: list[FeedEntry]
    warning: str | None  # set when the feed parsed only after recovering from an error


def html_to_text(value: str) -> str:
    """Plain text from a feed's HTML fragment."""
    text = _TAGS.sub(" ", value or "")
    text = html.unescape(text)
    lines = (_SPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _date(entry: feedparser.FeedParserDict, fetched_at: datetime) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        when = datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
    except (OverflowError, ValueError):
        return None
    return fetched_at if when > fetched_at + FUTURE_TOLERANCE else when


def _content(entry: feedparser.FeedParserDict) -> str:
    parts = [c.get("value", "") for c in entry.get("content", []) or []]
    return html_to_text(max(parts, key=len)) if parts else ""


def _entry(e: feedparser.FeedParserDict, lang: str | None, fetched_at: datetime) -> FeedEntry:
    link = (e.get("link") or "").strip() or None
    if link and not link.lower().startswith(("http://", "https://")):
        link = None
    guid = (e.get("id") or "").strip() or None
    return FeedEntry(
        guid=guid,
        link=link,
        canonical_url=canonical_url(link) if link else None,
        title=html_to_text(e.get("title", "")),
        summary=html_to_text(e.get("summary", "")),
        content=_content(e),
        published=_date(e, fetched_at),
        language=lang,
    )


def parse_feed(body: bytes, content_type: str | None = None, base_url: str | None = None,
               fetched_at: datetime | None = None) -> ParsedFeed:
    """Parse feed bytes; raise FeedError with a reason when the body holds no feed."""
    if not body or not body.strip():
        raise FeedError("empty body")
    fetched_at = fetched_at or datetime.now(timezone.utc)
    body = _DOCTYPE_WITH_ENTITIES.sub(b"", body, count=1)
    headers = {"content-type": content_type} if content_type else {}
    if base_url:
        headers["content-location"] = base_url
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False,
                              resolve_relative_uris=True)
    version = parsed.get("version") or ""
    if not version and not parsed.entries:
        reason = str(parsed.get("bozo_exception") or "no RSS/Atom structure found")
        head = body.lstrip()[:200].lower()
        if head.startswith((b"<!doctype html", b"<html")):
            reason = "an HTML page, not a feed"
        raise FeedError(f"not a feed: {reason}"[:300])
    lang = (parsed.feed.get("language") or "").split("-")[0].lower() or None
    warning = None
    if parsed.get("bozo"):
        warning = f"recovered from: {parsed.get('bozo_exception')}"[:300]
    entries = [_entry(e, lang, fetched_at) for e in parsed.entries]
    return ParsedFeed(html_to_text(parsed.feed.get("title", "")), lang, entries, warning)
