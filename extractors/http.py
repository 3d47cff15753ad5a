"""Polite, bounded HTTP fetching with aiohttp.

Every fetch ends in exactly one `FetchResult` with an outcome (ok, not_modified, failed,
skipped) and, on failure, a class (temporary, permanent, skip) decided by `classify` in one
place. Bounds: connect/read timeouts, a total deadline per fetch, a byte cap on the decoded
body (so a gzip bomb stops at the cap), a redirect limit with a scheme and address check on
every hop, a global and a per-host concurrency limit, and retries with backoff on 429/5xx
that honour Retry-After up to a ceiling.

Why aiohttp: the flow process fetches every page, and on a 2-core machine each millisecond it
spends is taken from extraction. aiohttp parses HTTP in C (llhttp); on 2,000 pages of the
benchmark's corpus, in batches of 200, it needed 0.35-0.53 ms of CPU a page where httpx, with
its pure-Python h11 parser and connection pool, needed 1.56-1.82 (docs/performance.md, issue 13
third pass). Bodies are read raw (`auto_decompress=False`) and decoded here, under the cap.
"""
from __future__ import annotations

import asyncio
import email.utils
import functools
import random
import ssl
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable
from urllib.parse import urljoin, urlsplit

import aiohttp
import certifi
from yarl import URL

from extractors.urls import UnsafeURL, check_address, check_scheme, strip_userinfo
from seedwatch.config import FetchConfig

TEMPORARY, PERMANENT, SKIP = "temporary", "permanent", "skip"
# The outcome of a page the run's page budget ran out before: not fetched, nothing recorded.
DEFERRED = "deferred"
BUDGET_USED = "page time budget used up"
_RETRY_STATUSES = {429, 500, 502, 503, 504}
_REDIRECTS = {301, 302, 303, 307, 308}
# Longest response header line and field accepted (aiohttp's default is 8 KB; some news sites
# send longer Content-Security-Policy or Set-Cookie lines).
_MAX_HEADER = 32_768


@dataclass
class FetchRequest:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    # Configured feed URLs are trusted (an intranet feed is fine); links found in feeds are not.
    trusted: bool = False


@dataclass
class FetchResult:
    url: str
    final_url: str
    outcome: str  # ok | not_modified | failed | skipped
    status: int | None = None
    # Left out of the repr: a page body is up to `max_bytes`, and asyncio formats the repr of
    # a finished `asyncio.run` task's result (this list: its first six items, twice) on its
    # way out, in the main thread (signal.getsignal's enum lookup): ~0.23 ms of CPU for each
    # bench page's repr, ~2.8 ms a batch.
    content: bytes | None = field(default=None, repr=False)
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error_class: str | None = None
    error: str | None = None
    retry_after: float | None = None
    duration_ms: float = 0.0
    fetched_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def nbytes(self) -> int:
        return len(self.content or b"")


class _TooLarge(Exception):
    pass


class TooManyRedirects(Exception):
    """More redirects than `[fetch] max_redirects` (a loop, usually)."""


class InvalidResponse(Exception):
    """Bytes that are not an HTTP response (a bad status line, a header that cannot be parsed)."""


class BadEncoding(Exception):
    """A compressed body that cannot be decoded, or an encoding we do not accept."""


class BoundedDecoder:
    """Decodes a gzip/deflate body chunk by chunk and never holds more than `limit` decoded
    bytes: a gzip bomb costs at most the cap, whatever its ratio (a decoder that inflates
    each network chunk whole turns a bomb's chunk into tens of megabytes)."""

    def __init__(self, content_encoding: str | None, limit: int):
        enc = (content_encoding or "").strip().lower()
        self.limit, self.total = limit, 0
        if enc in ("", "identity"):
            self._z = None
        elif enc in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif enc == "deflate":
            self._z = "deflate"  # zlib-wrapped or raw: decided by the first bytes
        else:
            raise BadEncoding(f"unsupported content-encoding {enc!r}")

    def feed(self, data: bytes) -> bytes:
        if self._z == "deflate":
            raw = not data or (data[0] & 0x0F) != 8
            self._z = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
        if self._z is None:
            return self._count(data)
        out = []
        try:
            while data:
                part = self._z.decompress(data, self.limit - self.total + 1)
                out.append(self._count(part))
                data = self._z.unconsumed_tail
        except zlib.error as exc:
            raise BadEncoding(f"corrupt compressed body: {exc}") from None
        return b"".join(out)

    def _count(self, part: bytes) -> bytes:
        self.total += len(part)
        if self.total > self.limit:
            raise _TooLarge(f"body is over the cap of {self.limit:,} bytes (decoded)")
        return part


def classify(status: int | None = None, exc: BaseException | None = None) -> str:
    """The one place that decides whether a failure is temporary, permanent or to skip."""
    if isinstance(exc, (UnsafeURL, _TooLarge)):
        return SKIP
    if isinstance(exc, (TooManyRedirects, BadEncoding, aiohttp.InvalidURL,
                        aiohttp.NonHttpUrlClientError)):
        return PERMANENT
    if exc is not None:  # timeouts, refused or broken connections, garbled responses
        return TEMPORARY
    if status is None:
        return TEMPORARY
    if status in _RETRY_STATUSES or status == 408:
        return TEMPORARY
    if status in (404, 410, 401, 403, 451) or 400 <= status < 500:
        return PERMANENT
    return TEMPORARY


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """Certificate verification on, against certifi's CA bundle (as browsers and httpx do), built
    once per process rather than once per Fetcher (one a batch of pages, one a feed poll):
    reading the CA bundle each time cost about 0.07 ms of CPU a page on 200-page batches.
    An SSLContext is not changed after this and may serve many connections at once."""
    return ssl.create_default_context(cafile=certifi.where())


class Fetcher:
    """Fetches many URLs concurrently within the configured bounds. Use it as `async with`,
    inside the event loop that runs its fetches; `ssl_context` replaces the default trust
    (certifi's bundle), e.g. for a private CA."""

    def __init__(self, cfg: FetchConfig, ssl_context: ssl.SSLContext | None = None):
        self.cfg = cfg
        self._ssl = ssl_context or _ssl_context()
        self._global = asyncio.Semaphore(cfg.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(cfg.per_host))
        self._host_checks: dict[str, str] = {}  # host -> "" (safe) or why it is refused
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Fetcher":
        # No pool limit of aiohttp's own: the semaphores above bound it. No proxies from the
        # environment, no cookies kept between pages, bodies raw (decoded under the cap here).
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ssl=self._ssl,
                                         ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(total=None, connect=None,
                                        sock_connect=self.cfg.connect_timeout_seconds,
                                        sock_read=self.cfg.read_timeout_seconds)
        headers = {"User-Agent": self.cfg.user_agent, "Accept-Encoding": "gzip, deflate"}
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=timeout, headers=headers, trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
            max_line_size=_MAX_HEADER, max_field_size=_MAX_HEADER)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch_all(self, requests: Iterable[FetchRequest], deadline: float | None = None
                        ) -> list[FetchResult]:
        """One result per request, in order. With `deadline` (a `time.time()` value), fetches
        still running then are stopped (failed, temporary: "page time budget used up") and
        those not started yet are `deferred`."""
        requests = list(requests)
        if deadline is None or not requests:
            return list(await asyncio.gather(*(self.fetch(r) for r in requests)))
        started: set[int] = set()
        tasks = [asyncio.ensure_future(self.fetch(r, started, i)) for i, r in enumerate(requests)]
        await asyncio.wait(tasks, timeout=max(0.0, deadline - time.time()))
        late = [t for t in tasks if not t.done()]
        for t in late:
            t.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        out = []
        for i, (req, t) in enumerate(zip(requests, tasks)):
            if not t.cancelled() and t.exception() is None:
                out.append(t.result())
            elif i in started:
                out.append(FetchResult(req.url, req.url, "failed", error_class=TEMPORARY,
                                       error=BUDGET_USED + ": still loading, fetched again on a later run"))
            else:
                out.append(FetchResult(req.url, req.url, DEFERRED, error=BUDGET_USED + " before it started"))
        return out

    async def fetch(self, req: FetchRequest, started: set[int] | None = None, index: int = 0
                    ) -> FetchResult:
        begun = time.monotonic()
        host = urlsplit(req.url).hostname or ""
        async with self._global, self._hosts[host]:
            if started is not None:
                started.add(index)
            result = await self._fetch_with_retries(req)
        result.duration_ms = (time.monotonic() - begun) * 1000
        return result

    async def _fetch_with_retries(self, req: FetchRequest) -> FetchResult:
        attempt = 0
        while True:
            try:
                async with asyncio.timeout(self.cfg.total_timeout_seconds):
                    result = await self._fetch_once(req)
            except BaseException as exc:  # noqa: BLE001 - every failure becomes a result
                if isinstance(exc, (KeyboardInterrupt, SystemExit, asyncio.CancelledError)):
                    raise
                result = _failure(req.url, exc)
            if result.outcome != "failed" or result.error_class != TEMPORARY or attempt >= self.cfg.retries:
                return result
            wait = self._backoff(attempt, result.retry_after)
            if wait is None:  # the server asked for longer than we wait within a run
                return result
            attempt += 1
            await asyncio.sleep(wait)

    def _backoff(self, attempt: int, retry_after: float | None) -> float | None:
        if retry_after is not None:
            return retry_after if retry_after <= self.cfg.max_retry_after_seconds else None
        return self.cfg.backoff_seconds * (2 ** attempt) * (0.5 + random.random())

    async def _check(self, url: str, allow_private: bool) -> None:
        """Scheme check inline; the private-address check resolves each host once per Fetcher
        (in a thread, since name resolution blocks), then answers from the cache."""
        check_scheme(url)
        if allow_private:
            return
        host = (urlsplit(url).hostname or "").lower()
        verdict = self._host_checks.get(host)
        if verdict is None:
            try:
                await asyncio.to_thread(check_address, url, False)
                verdict = ""
            except UnsafeURL as exc:
                verdict = str(exc)
            self._host_checks[host] = verdict
        if verdict:
            raise UnsafeURL(verdict)

    async def _fetch_once(self, req: FetchRequest) -> FetchResult:
        if self._session is None:
            raise RuntimeError("Fetcher used outside `async with`")
        url = req.url
        headers = {}
        if req.etag:
            headers["If-None-Match"] = req.etag
        if req.last_modified:
            headers["If-Modified-Since"] = req.last_modified
        for hop in range(self.cfg.max_redirects + 1):
            url = strip_userinfo(url)  # aiohttp would send user:password@ as Basic auth
            allow = self.cfg.allow_private_addresses or (req.trusted and hop == 0)
            await self._check(url, allow)
            try:
                target = URL(url)
            except (ValueError, TypeError) as exc:
                raise aiohttp.InvalidURL(url, str(exc)) from None
            try:
                async with self._session.get(target, headers=headers, allow_redirects=False) as resp:
                    if resp.status in _REDIRECTS:
                        location = resp.headers.get("location")
                        if not location:
                            return _http_failure(req.url, url, resp, "redirect without a Location header")
                        url = urljoin(url, location)
                        continue
                    return await self._read(req.url, url, resp)
            except aiohttp.ClientResponseError as exc:
                # Not an HTTP error status (those are answers, read above): aiohttp raises this
                # when the bytes that came back could not be parsed as a response.
                raise InvalidResponse(exc.message or "unparseable response") from None
        raise TooManyRedirects(f"more than {self.cfg.max_redirects} redirects")

    async def _read(self, original: str, url: str, resp: aiohttp.ClientResponse) -> FetchResult:
        if resp.status == 304:
            return FetchResult(original, url, "not_modified", status=304,
                               etag=resp.headers.get("etag"),
                               last_modified=resp.headers.get("last-modified"))
        if resp.status >= 400:
            return _http_failure(original, url, resp, f"HTTP {resp.status} {resp.reason or ''}".rstrip())
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.cfg.max_bytes:
            raise _TooLarge(f"body of {int(declared):,} bytes is over the cap of {self.cfg.max_bytes:,}")
        decoder = BoundedDecoder(resp.headers.get("content-encoding"), self.cfg.max_bytes)
        chunks = [decoder.feed(chunk) async for chunk in resp.content.iter_any()]
        return FetchResult(original, url, "ok", status=resp.status, content=b"".join(chunks),
                           content_type=resp.headers.get("content-type"),
                           etag=resp.headers.get("etag"),
                           last_modified=resp.headers.get("last-modified"))


def _http_failure(original: str, url: str, resp: aiohttp.ClientResponse, message: str) -> FetchResult:
    return FetchResult(original, url, "failed", status=resp.status,
                       error_class=classify(resp.status), error=message,
                       retry_after=parse_retry_after(resp.headers.get("retry-after")))


# What went wrong, in words, by exception class: the first class the exception is an instance
# of wins, so the narrower classes come first (aiohttp's timeouts are also TimeoutErrors, and
# only the per-fetch deadline raises a plain one).
_KINDS: list[tuple[type[BaseException] | tuple[type[BaseException], ...], str]] = [
    (aiohttp.ConnectionTimeoutError, "connect timeout"),
    (aiohttp.ServerTimeoutError, "read timeout (server stalled)"),
    (TimeoutError, "total time limit reached"),
    (aiohttp.ClientConnectorError, "connection failed"),
    ((aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError,
      ConnectionError), "server broke the connection"),
    (InvalidResponse, "invalid HTTP response"),
    (TooManyRedirects, "redirect loop or too many redirects"),
    (_TooLarge, "too large"),
    (UnsafeURL, "refused"),
    (BadEncoding, "undecodable body"),
    (aiohttp.InvalidURL, "invalid URL"),
]


def _kind(exc: BaseException) -> str:
    for types, words in _KINDS:
        if isinstance(exc, types):
            return words
    return type(exc).__name__


def _failure(url: str, exc: BaseException) -> FetchResult:
    cls = classify(exc=exc)
    kind = _kind(exc)
    detail = str(exc).strip()
    message = f"{kind}: {detail}" if detail and detail != kind else kind
    outcome = "skipped" if isinstance(exc, UnsafeURL) else "failed"
    return FetchResult(url, url, outcome, error_class=cls, error=message[:500])
