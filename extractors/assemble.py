"""Turning a feed entry, its fetched page and the extraction into one article row."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from extractors.article import EXTRACTOR, content_hash, parse_published
from extractors.dates import checked_date
from extractors.feeds import FeedEntry
from extractors.http import FetchResult
from extractors.language import guess_language


def choose_text(entry: FeedEntry, page_text: str, min_chars: int) -> tuple[str, str]:
    """The best text available and where it came from: page, feed content, summary or title."""
    if len(page_text) >= min_chars:
        return page_text, "page"
    candidates = [(page_text, "page"), (entry.content, "feed_content"), (entry.summary, "feed_summary")]
    text, source = max(candidates, key=lambda c: len(c[0] or ""))
    if text:
        return text, source
    return entry.title or "", "title"


def build_article(entry: FeedEntry, feed_id: str, page: FetchResult | None,
                  extracted: dict[str, Any] | None, min_chars: int, run_id: str,
                  now: datetime) -> dict[str, Any]:
    """An `articles` row (the warehouse adds the id). Every entry with a link gives one,
    even when its page failed: the feed's own text stands in, and `text_source` says so."""
    ex = extracted or {}
    text, source = choose_text(entry, ex.get("text") or "", min_chars)
    title = entry.title or ex.get("title") or ""
    if source != "page" and not entry.title and ex.get("title"):
        title = ex["title"]
    language = ex.get("language") if source == "page" else None
    language = language or guess_language(f"{title}\n{text}", entry.language)
    published, note = published_of(entry, ex.get("published"), now)
    return {
        "canonical_url": entry.canonical_url,
        "url": page.final_url if page is not None and page.outcome == "ok" else entry.link,
        "feed_id": feed_id,
        "title": title,
        "text": text,
        "text_source": source,
        "extractor": ex.get("extractor", EXTRACTOR) if source == "page" else None,
        "author": ex.get("author"),
        "site": ex.get("site"),
        "published": published,
        "published_note": note,
        "language": language,
        "content_hash": content_hash(text),
        "first_seen": now,
        "run_id": run_id,
        "fallback_reason": None if source == "page" else fallback_reason(page, ex, min_chars),
    }


def published_of(entry: FeedEntry, page_date: str | None, now: datetime
                 ) -> tuple[datetime | None, str | None]:
    """(published, note): the feed's date, else the page's; a date out of range is dropped and
    noted (`extractors.dates`), and then the first-seen time stands in."""
    if entry.published is not None:
        return entry.published, None
    when, page_note = checked_date(parse_published(page_date), now)
    note = entry.published_note
    if when is not None and note:
        note = note.replace("first-seen time used", "page date used")
    return when, note or page_note


def fallback_reason(page: FetchResult | None, ex: dict[str, Any], min_chars: int) -> str:
    """Why the feed's own text stands in for the page's (one line, stored with the article)."""
    if page is None:
        return "the entry has no link to fetch"
    if page.outcome != "ok":
        return (page.error or f"page {page.outcome}")[:300]
    if ex.get("error"):
        return f"extraction failed: {ex['error']}"[:300]
    return f"page text shorter than {min_chars} characters"
