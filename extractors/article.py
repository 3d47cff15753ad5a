"""Article text and metadata from an HTML page, with trafilatura; used in worker processes."""
from __future__ import annotations

import hashlib
import importlib.metadata
import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from extractors.language import guess_language

# trafilatura (with lxml, htmldate, justext, courlan: ~26 MB) is imported where pages are
# extracted: in the worker processes (the pool's forkserver preloads it), and in the flow's
# own process only if it extracts a tiny batch itself. The flow imports this module for
# `content_hash` and the extractor's name, which need none of it.
EXTRACTOR = f"trafilatura {importlib.metadata.version('trafilatura')}"
_HTML_LANG = re.compile(rb"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z-]+)", re.I)
# Pages larger than this are cut before parsing: a news article is never this big.
MAX_HTML_BYTES = 5_000_000


@dataclass
class Extracted:
    text: str
    title: str | None
    author: str | None
    published: str | None  # ISO date or datetime as found on the page
    site: str | None
    language: str | None
    extractor: str
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _looks_binary(data: bytes) -> bool:
    head = data[:2048]
    return b"\x00" in head or head.startswith((b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04"))


def extract_article(html: bytes | str, url: str | None = None) -> Extracted:
    """Main text and metadata of one page. Never raises: problems go into `error`."""
    data = html.encode("utf-8") if isinstance(html, str) else html
    if not data.strip():
        return Extracted("", None, None, None, None, None, EXTRACTOR, "empty page")
    if _looks_binary(data):
        return Extracted("", None, None, None, None, None, EXTRACTOR, "binary content, not HTML")
    data = data[:MAX_HTML_BYTES]
    import trafilatura
    try:
        doc = trafilatura.bare_extraction(
            data, url=url, with_metadata=True, include_comments=False, include_tables=True,
            date_extraction_params={"original_date": True, "extensive_search": True},
        )
    except Exception as exc:  # noqa: BLE001 - a broken page must not stop the batch
        return Extracted("", None, None, None, None, None, EXTRACTOR, f"extraction failed: {exc}"[:300])
    m = _HTML_LANG.search(data[:5000])
    hint = m.group(1).decode("ascii", "ignore") if m else None
    if doc is None:
        return Extracted("", None, None, None, None, guess_language("", hint), EXTRACTOR,
                         "no article text found")
    text = doc.text or ""
    return Extracted(text, doc.title, doc.author, doc.date, doc.sitename,
                     guess_language(text, hint), EXTRACTOR, None if text else "no article text found")


def extract_many(pages: list[tuple[bytes, str | None]]) -> list[dict[str, Any]]:
    """Batch entry point for worker processes and Dask tasks (plain dicts pickle cheaply)."""
    return [extract_article(html, url).as_dict() for html, url in pages]


def content_hash(text: str) -> str:
    """Hash of the text with case, spacing and Unicode forms folded, for exact-duplicate keys."""
    norm = unicodedata.normalize("NFKC", text).lower()
    norm = " ".join(norm.split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def parse_published(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
