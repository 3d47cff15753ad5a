"""Parsing fetched feed bytes into entries (never `feedparser.parse(url)`: it has no timeout)."""
from __future__ import annotations

import calendar
import codecs
import copy
import functools
import hashlib
import html
import importlib.util
import io
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import repeat

import charset_normalizer
import feedparser
import feedparser.api
import feedparser.mixin
import feedparser.urls
from feedparser.util import FeedParserDict

from extractors.dates import checked_date
from extractors.schedule import declared_interval
from extractors.urls import canonical_url, strip_userinfo

# A DOCTYPE that declares entities is the vehicle of "billion laughs"-style expansion: drop it.
# Searched only in the prolog (the first bytes), so a hostile body cannot make the search slow.
_DOCTYPE_WITH_ENTITIES = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.S | re.I)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
PROLOG_BYTES = 65_536
_XML_ENCODING = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.I)
# Guesses for undeclared bytes: multi-byte and non-Latin code pages are kept; a guess of one of
# the many Latin code pages is replaced by windows-1252, the usual truth for Western feeds.
_LATIN_GUESSES = {"cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "latin_1", "iso8859_2",
                  "iso8859_3", "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14",
                  "iso8859_15", "iso8859_16", "mac_roman", "mac_latin2", "mac_iceland", "mac_turkish"}
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t\r\f\v]+")

# feedparser asks xml.sax for the libxml2 driver before expat on every parse; where that driver
# is not installed (it never is here), the failed import costs more than parsing a short feed,
# and expat is what the parse gets anyway.
if importlib.util.find_spec("drv_libxml2") is None:
    feedparser.api.PREFERRED_XML_PARSERS = [
        p for p in feedparser.api.PREFERRED_XML_PARSERS if p != "drv_libxml2"]


# feedparser made cheaper where it repeats work, without changing what it returns (the test
# `test_feed_parsing_shortcuts_return_what_feedparser_returns` parses the fixtures and the
# shared feed corpus both ways). Together ~27% of a bench feed's parse (2.63 -> 1.91 ms):
# * each start tag resolves the current base URI against itself again (`make_safe_absolute_uri`:
#   a regular expression and urllib's urljoin), the same two strings tag after tag: the answer
#   is a pure function of them, so it is remembered;
# * each title, summary and content copies the content parameters with copy.deepcopy; they are
#   a flat dict of strings, which an item-by-item copy reproduces exactly (deepcopy rebuilds a
#   FeedParserDict the same way: a new one, then each item set). Anything else is deepcopied.
_safe_uri = feedparser.urls.make_safe_absolute_uri  # the original, where it is defined
_remembered_uri = functools.lru_cache(maxsize=256)(_safe_uri)
_FLAT = (str, int, float, bool, type(None))


def _resolved_base(base: object, rel: object = None) -> object:
    try:
        return _remembered_uri(base, rel)
    except TypeError:  # an unhashable argument: not remembered
        return _safe_uri(base, rel)


def _copied_params(value: object, memo: object = None) -> object:
    if type(value) is FeedParserDict and all(isinstance(v, _FLAT) for v in value.values()):
        out = FeedParserDict()
        for k, v in value.items():
            out[k] = v
        return out
    return copy.deepcopy(value, memo)


if getattr(feedparser.mixin, "copy", None) is copy:
    feedparser.mixin.make_safe_absolute_uri = _resolved_base
    feedparser.mixin.copy = type(copy)("feedparser_copy")
    feedparser.mixin.copy.deepcopy = _copied_params
    feedparser.mixin.copy.copy = copy.copy


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
    published_note: str | None = None  # set when the source's date was out of range and dropped


@dataclass
class ParsedFeed:
    title: str
    language: str | None
    entries: list[FeedEntry]
    warning: str | None  # set when the feed parsed only after recovering from an error
    # Minutes between updates the feed declares (RSS <ttl>, sy:updatePeriod/updateFrequency).
    declared_interval_minutes: float | None = None


def html_to_text(value: str) -> str:
    """Plain text from a feed's HTML fragment."""
    text = value or ""
    if "<" in text:
        text = _TAGS.sub(" ", text)
    lines = html.unescape(text).splitlines()
    if len(lines) == 1:  # titles and most summaries: no join needed
        return _SPACE.sub(" ", lines[0]).strip()
    return "\n".join(filter(None, map(str.strip, map(_SPACE.sub, repeat(" "), lines))))


def _date(entry: feedparser.FeedParserDict, fetched_at: datetime) -> tuple[datetime | None, str | None]:
    """(published, note); see `extractors.dates.checked_date`."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None, None
    try:
        when = datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        raw = entry.get("published") or entry.get("updated") or ""
        return None, f"date {str(raw)[:60]!r} cannot be represented; first-seen time used"
    return checked_date(when, fetched_at)


def _content(entry: feedparser.FeedParserDict) -> str:
    parts = [c.get("value", "") for c in entry.get("content", []) or []]
    return html_to_text(max(parts, key=len)) if parts else ""


def _entry(e: feedparser.FeedParserDict, lang: str | None, fetched_at: datetime) -> FeedEntry:
    link = (e.get("link") or "").strip() or None
    if link and not link.lower().startswith(("http://", "https://")):
        link = None
    link = strip_userinfo(link) if link else None
    guid = (e.get("id") or "").strip() or None
    published, note = _date(e, fetched_at)
    return FeedEntry(
        guid=guid,
        link=link,
        canonical_url=canonical_url(link) if link else None,
        title=html_to_text(e.get("title", "")),
        summary=html_to_text(e.get("summary", "")),
        content=_content(e),
        published=published,
        language=lang,
        published_note=note,
    )


def _declared_encoding(body: bytes, content_type: str | None) -> str | None:
    """The charset named by the HTTP header, a byte-order mark or the XML declaration."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return name
    m = _HEADER_CHARSET.search(content_type or "")
    if m is None:
        m = _XML_ENCODING.match(body[:512])
        if m is not None:
            return m.group(1).decode("ascii")
        return None
    return m.group(1)


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return False
    return True


def normalise_charset(body: bytes, content_type: str | None) -> tuple[bytes, str | None, str | None]:
    """(body, content type, note): bytes that are not valid in their declared charset (UTF-8 when
    none is declared) are re-encoded as UTF-8 from a guessed charset, e.g. an EUC-KR, Big5 or
    Shift-JIS feed that names no charset. Valid bodies pass through untouched."""
    declared = _declared_encoding(body, content_type)
    if _decodes(body, declared or "utf-8"):
        return body, content_type, None
    best = charset_normalizer.from_bytes(body[:PROLOG_BYTES * 4]).best()
    guess = best.encoding if best is not None else "cp1252"
    if guess in _LATIN_GUESSES:
        guess = "cp1252"
    text = body.decode(guess, errors="replace")
    text = re.sub(r"^\ufeff?\s*<\?xml[^>]*\?>", '<?xml version="1.0" encoding="utf-8"?>', text, count=1)
    note = f"charset {declared or 'undeclared'} did not fit the bytes; decoded as {guess}"
    return text.encode("utf-8"), "application/xml; charset=utf-8", note


def refuse_entities(body: bytes) -> bytes:
    """Drop a DOCTYPE with an internal subset; refuse a body that still declares entities
    (entity expansion is how "billion laughs" and external-entity attacks work)."""
    head, rest = body[:PROLOG_BYTES], body[PROLOG_BYTES:]
    head = _DOCTYPE_WITH_ENTITIES.sub(b"", head, count=1)
    if _ENTITY_DECL.search(head):
        raise FeedError("not a feed: declares XML entities (refused, entity expansion is unsafe)")
    return head + rest


def _content_key(e: FeedEntry) -> str:
    digest = hashlib.sha256(f"{e.title}\x1f{e.summary}\x1f{e.content}".encode("utf-8")).hexdigest()
    return f"seedwatch:content:{digest[:16]}"


def distinct_entries(entries: list[FeedEntry]) -> list[FeedEntry]:
    """Exact repeats dropped; a GUID shared by entries with different links is not an identity
    (some sites give every item the same one), so those entries lose it and are keyed by link.
    An entry with no GUID, link or title is keyed by its text."""
    links_of: dict[str, set[str | None]] = {}
    for e in entries:
        if e.guid:
            links_of.setdefault(e.guid, set()).add(e.canonical_url)
    out, seen = [], set()
    for e in entries:
        if e.guid and len(links_of[e.guid]) > 1 and e.canonical_url:
            e.guid = None
        if not (e.guid or e.link or e.title):
            e.guid = _content_key(e)
        ident = (e.guid, e.canonical_url, e.title)
        if ident not in seen:
            seen.add(ident)
            out.append(e)
    return out


def parse_feed(body: bytes, content_type: str | None = None, base_url: str | None = None,
               fetched_at: datetime | None = None) -> ParsedFeed:
    """Parse feed bytes; raise FeedError with a reason when the body holds no feed."""
    if not body or not body.strip():
        raise FeedError("empty body")
    fetched_at = fetched_at or datetime.now(timezone.utc)
    body = refuse_entities(body)
    body, content_type, charset_note = normalise_charset(body, content_type)
    headers = {"content-type": content_type} if content_type else {}
    if base_url:
        headers["content-location"] = base_url
    # As a stream: feedparser takes bytes or str for a file name to open first (a body naming
    # a local file would be read from disk), which also costs a system call per feed.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False,
                              resolve_relative_uris=True)
    version = parsed.get("version") or ""
    if not version and not parsed.entries:
        reason = str(parsed.get("bozo_exception") or "no RSS/Atom structure found")
        head = body.lstrip()[:200].lower()
        if head.startswith((b"<!doctype html", b"<html")):
            reason = "an HTML page, not a feed"
        raise FeedError(f"not a feed: {reason}"[:300])
    lang = (parsed.feed.get("language") or "").split("-")[0].lower() or None
    notes = [charset_note] if charset_note else []
    if parsed.get("bozo") and not charset_note:
        notes.append(f"recovered from: {parsed.get('bozo_exception')}")
    entries = distinct_entries([_entry(e, lang, fetched_at) for e in parsed.entries])
    warning = "; ".join(notes)[:300] or None
    declared = declared_interval(parsed.feed.get("ttl"), parsed.feed.get("sy_updateperiod"),
                                 parsed.feed.get("sy_updatefrequency"))
    return ParsedFeed(html_to_text(parsed.feed.get("title", "")), lang, entries, warning, declared)


FeedBody = tuple[bytes, "str | None", "str | None", "datetime | None"]


def parse_many(feeds: list[FeedBody]) -> list[ParsedFeed | FeedError]:
    """`parse_feed` on many (body, content type, base URL, fetched at) tuples, in order; a body
    that holds no feed gives its FeedError instead of raising, and so does one the parser
    itself fails on (that feed is recorded as failed, the others go on). The batch entry
    point for the extraction worker processes, which are idle while the feeds are polled."""
    out: list[ParsedFeed | FeedError] = []
    for body, ctype, base, at in feeds:
        try:
            out.append(parse_feed(body, ctype, base, at))
        except FeedError as exc:
            out.append(exc)
        except Exception as exc:  # noqa: BLE001 - one feed's parser failure is that feed's
            out.append(FeedError(f"feed parser failed: {type(exc).__name__}: {exc}"[:300]))
    return out
