"""robots.txt: one policy per origin (scheme, host, port), fetched once and cached until it expires.

The rules follow RFC 9309 (the robots exclusion protocol), parsed by Protego:

* 2xx: the file's rules apply to the product token `seedwatch` (else to `*`);
* 4xx other than 429 (no file, or it is forbidden): everything is allowed;
* 429, 5xx, a timeout or a network failure (the file is unreachable): everything is disallowed,
  for a short while, unless an earlier copy is known, which keeps applying;
* a fetched file is used for `robots_cache_hours` (24 by default, the RFC's ceiling);
* at most 500 KiB of a file is parsed (the RFC's minimum).

`RobotsPolicy` holds the cache. It knows nothing of the warehouse: the pipeline loads stored
entries into it (`load`) and stores what it fetched (`take_new`), so the cache outlives a run.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable
from urllib.parse import urlsplit

from protego import Protego

PRODUCT_TOKEN = "seedwatch"
MAX_ROBOTS_BYTES = 500 * 1024
UNREACHABLE_RETRY = timedelta(hours=1)  # an unreachable robots.txt is asked again after this

ALLOW_ALL, DISALLOW_ALL, RULES = "allow_all", "disallow_all", "rules"


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL (robots.txt is per origin), or None if it has no host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


@dataclass
class RobotsEntry:
    origin: str
    rule: str  # rules | allow_all | disallow_all
    status: int | None
    body: str | None
    error: str | None
    fetched_at: datetime
    expires_at: datetime

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)


class RobotsPolicy:
    """Which URLs robots.txt lets seedwatch fetch, by origin, with the cache's expiry."""

    def __init__(self, cache_hours: float = 24.0, token: str = PRODUCT_TOKEN):
        self.cache_for = timedelta(hours=cache_hours)
        self.token = token
        self._entries: dict[str, RobotsEntry] = {}
        self._parsed: dict[str, Any] = {}
        self._new: dict[str, RobotsEntry] = {}

    # --- cache ----------------------------------------------------------------------------
    def load(self, rows: Iterable[dict[str, Any]]) -> None:
        """Entries stored by earlier runs (rows of the warehouse's robots_txt table)."""
        for r in rows:
            self._put(RobotsEntry(**{k: r.get(k) for k in RobotsEntry.__dataclass_fields__}), new=False)

    def take_new(self) -> list[dict[str, Any]]:
        """Entries fetched since the last call, as rows to store."""
        rows = [e.row() for e in self._new.values()]
        self._new.clear()
        return rows

    def _put(self, entry: RobotsEntry, new: bool = True) -> None:
        self._entries[entry.origin] = entry
        self._parsed.pop(entry.origin, None)
        if new:
            self._new[entry.origin] = entry

    def stale_origins(self, urls: Iterable[str], now: datetime | None = None) -> list[str]:
        """Origins of these URLs whose robots.txt is unknown or expired."""
        now = now or datetime.now(timezone.utc)
        out = []
        for url in urls:
            o = origin_of(url)
            if o is None or o in out:
                continue
            e = self._entries.get(o)
            if e is None or e.expires_at <= now:
                out.append(o)
        return out

    # --- fetching -------------------------------------------------------------------------
    async def refresh(self, fetcher: Any, urls: Iterable[str], trusted: bool = False) -> None:
        """Fetch robots.txt of every origin of `urls` that is unknown or expired, concurrently,
        through `fetcher` (an `extractors.http.Fetcher`: same limits, checks and retries)."""
        from extractors.http import FetchRequest
        origins = self.stale_origins(urls)
        if not origins:
            return
        results = await asyncio.gather(*(fetcher.fetch(FetchRequest(f"{o}/robots.txt", trusted=trusted))
                                         for o in origins))
        now = datetime.now(timezone.utc)
        for origin, res in zip(origins, results):
            self._put(self._entry(origin, res, now))

    def _entry(self, origin: str, res: Any, now: datetime) -> RobotsEntry:
        keep = now + self.cache_for
        if res.outcome == "ok":
            body = (res.content or b"")[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
            return RobotsEntry(origin, RULES, res.status, body, None, now, keep)
        if res.outcome == "skipped":
            # The address itself is refused (a private address for a feed link): the page's own
            # fetch is refused with that reason, so robots.txt adds nothing.
            return RobotsEntry(origin, ALLOW_ALL, None, None, res.error, now, now + UNREACHABLE_RETRY)
        status = res.status
        if status is not None and 400 <= status < 500 and status != 429:
            return RobotsEntry(origin, ALLOW_ALL, status, None, None, now, keep)
        why = res.error or f"HTTP {status}"
        old = self._entries.get(origin)
        if old is not None and old.rule != DISALLOW_ALL:
            # Unreachable now, but a copy is known: it keeps applying until the file answers.
            return RobotsEntry(origin, old.rule, old.status, old.body,
                               f"unreachable ({why}); the copy of {old.fetched_at:%Y-%m-%d} applies",
                               now, now + UNREACHABLE_RETRY)
        return RobotsEntry(origin, DISALLOW_ALL, status, None, f"unreachable: {why}", now,
                           now + UNREACHABLE_RETRY)

    # --- decisions ------------------------------------------------------------------------
    def check(self, url: str) -> tuple[str, str] | None:
        """None when `url` may be fetched, else (reason, error class): `skip` when the rules
        disallow it, `temporary` when robots.txt is unreachable (asked again later)."""
        origin = origin_of(url)
        entry = self._entries.get(origin) if origin else None
        if entry is None or entry.rule == ALLOW_ALL:
            return None
        if entry.rule == DISALLOW_ALL:
            return (f"refused by robots.txt: {origin}/robots.txt is {entry.error or 'unreachable'}",
                    "temporary")
        parser = self._parsed.get(origin)
        if parser is None:
            try:
                parser = Protego.parse(entry.body or "")
            except Exception:  # noqa: BLE001 - a file Protego cannot read allows everything
                parser = Protego.parse("")
            self._parsed[origin] = parser
        try:
            allowed = parser.can_fetch(url, self.token)
        except Exception:  # noqa: BLE001
            allowed = True
        return None if allowed else (f"refused by robots.txt: {origin}/robots.txt disallows this path",
                                     "skip")
