"""One polling pass over the feeds, and one pass over new article pages.

Plain functions (asyncio inside, no Prefect) returning records the warehouse stores as they are.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from extractors.feeds import FeedBody, FeedEntry, FeedError, ParsedFeed, parse_many
from extractors.health import due, next_state
from extractors.schedule import poll_due
from extractors.http import PERMANENT, SKIP, FetchRequest, FetchResult, Fetcher
from seedwatch.config import FetchConfig


@dataclass
class FeedPoll:
    """What one feed gave in this run."""
    url: str
    feed_id: str
    name: str | None
    outcome: str  # ok | not_modified | failed | skipped
    reason: str | None = None
    entries: list[FeedEntry] = field(default_factory=list)
    fetch: FetchResult | None = None
    state: dict[str, Any] | None = None  # new fetch state, None when not fetched
    warning: str | None = None
    prior: dict[str, Any] | None = None  # the state before this poll (for the schedule)
    declared_interval_minutes: float | None = None


def poll_feeds(cfg: FetchConfig, states: Sequence[dict[str, Any]],
               now: datetime | None = None, robots: Any = None,
               max_interval: float | None = None,
               parse: Callable[[list[FeedBody]], list[ParsedFeed | FeedError]] = parse_many
               ) -> list[FeedPoll]:
    """Fetch every due feed (conditional GET) and parse it; one FeedPoll per feed, always.
    Due: not disabled nor backing off (health.due) and its next poll has come (schedule).
    `parse` parses the bodies fetched (`extractors.feeds.parse_many`, or the same on the
    worker processes: `extractors.pool.parse_feeds`)."""
    now = now or datetime.now(timezone.utc)
    polls: dict[str, FeedPoll] = {}
    requests = []
    for st in states:
        ok, why = due(st, now)
        if ok:
            ok, why = poll_due(st, now, max_interval)
        if not ok:
            polls[st["url"]] = FeedPoll(st["url"], st["feed_id"], st.get("name"), "skipped", why)
            continue
        requests.append(FetchRequest(st["url"], st.get("etag"), st.get("last_modified"), trusted=True))
    results = asyncio.run(_fetch(cfg, requests, robots=robots, trusted=True)) if requests else []
    fetched = [res for res in results if res.outcome == "ok"]
    parsed = dict(zip((res.url for res in fetched),
                      parse([(res.content or b"", res.content_type, res.final_url, now)
                             for res in fetched]) if fetched else []))
    by_url = {st["url"]: st for st in states}
    for res in results:
        polls[res.url] = _parse(by_url[res.url], res, now, parsed.get(res.url))
    return [polls[st["url"]] for st in states]


async def _fetch(cfg: FetchConfig, requests: list[FetchRequest], deadline: float | None = None,
                 robots: Any = None, trusted: bool = False) -> list[FetchResult]:
    """Fetch `requests` in order, stopping at `deadline` (see `Fetcher.fetch_all`); with a
    `robots` policy (extractors.robots), the robots.txt of each origin is fetched first when
    unknown or expired, and refused URLs are not requested."""
    async with Fetcher(cfg) as fetcher:
        if robots is None:
            return await fetcher.fetch_all(requests, deadline)
        await robots.refresh(fetcher, [r.url for r in requests], trusted=trusted)
        refused = {i: robots.check(r.url) for i, r in enumerate(requests)}
        allowed = [r for i, r in enumerate(requests) if not refused[i]]
        fetched = iter(await fetcher.fetch_all(allowed, deadline))
        return [_refused(r.url, *refused[i]) if refused[i] else next(fetched)
                for i, r in enumerate(requests)]


def _refused(url: str, reason: str, error_class: str) -> FetchResult:
    """The result of a URL robots.txt keeps us from: disallowed (skipped), or robots.txt itself
    unreachable (failed, temporary: the site is asked again on a later run)."""
    outcome = "skipped" if error_class == SKIP else "failed"
    return FetchResult(url, url, outcome, error_class=error_class, error=reason)


def _parse(state: dict[str, Any], res: FetchResult, now: datetime,
           parsed: ParsedFeed | FeedError | None) -> FeedPoll:
    # A configured feed that redirects somewhere refused (ftp:, a private address) has failed.
    outcome = "failed" if res.outcome == "skipped" else res.outcome
    poll = FeedPoll(state["url"], state["feed_id"], state.get("name"), outcome, res.error, fetch=res,
                    prior=state)
    if res.outcome != "ok":
        poll.state = next_state(state, res, now)
        return poll
    if parsed is None or isinstance(parsed, FeedError):
        why = str(parsed) if parsed is not None else "feed body not parsed"
        poll.outcome, poll.reason = "failed", why
        poll.state = next_state(state, res, now, error=why, error_class=PERMANENT)
        return poll
    poll.entries, poll.warning = parsed.entries, parsed.warning
    poll.declared_interval_minutes = parsed.declared_interval_minutes
    if state.get("language") is None and parsed.language:
        for e in poll.entries:
            e.language = e.language or parsed.language
    poll.state = next_state(state, res, now)
    return poll


def fetch_pages(cfg: FetchConfig, urls: Sequence[str], deadline: float | None = None,
                robots: Any = None) -> list[FetchResult]:
    """Fetch article pages (untrusted links: the private-address rule applies), stopping at
    `deadline` (a `time.time()` value; see `Fetcher.fetch_all`); with `robots`, a page its
    site's robots.txt disallows is not fetched (outcome skipped, with the reason)."""
    if not urls:
        return []
    return asyncio.run(_fetch(cfg, [FetchRequest(u) for u in urls], deadline, robots))
