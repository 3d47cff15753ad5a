"""Adaptive polling: each feed's next poll follows how often it really publishes.

Pure functions over a feed's stored state, like `health.py`. The rule (our own, after the
ideas of Miniflux's entry-frequency scheduler and Media Cloud's rss-fetcher):

* The feed's publishing rate is an exponentially weighted count of new entries over the hours
  watched (`rate_entries / rate_hours`, each decayed with a time constant of three days), so
  a feed that goes quiet slows down within days and one that wakes up speeds up at once.
  The first poll estimates it from the spread of the entries' publication dates.
* A poll answered 304 (or with no new entry) adds hours and no entries: the rate falls.
* The interval aims at about one new entry per poll: 60 / (entries per hour) minutes, never
  shorter than what the feed declares (RSS `<ttl>`, `sy:updatePeriod` / `sy:updateFrequency`),
  and always within `[schedule] min_feed_interval_minutes` .. `max_feed_interval_minutes`.
* Failures keep the backoff of `health.py` (`next_fetch_after`); the interval is not learned
  from them.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Iterable

TIME_CONSTANT_HOURS = 72.0  # how fast old observations fade
FIRST_POLL_WINDOW = timedelta(days=7)  # entries older than this do not inform the first estimate
DUE_SLACK = 0.1  # a feed due within 10% of its interval is polled now (runs come at fixed times)
PERIOD_MINUTES = {"hourly": 60.0, "daily": 1440.0, "weekly": 10080.0, "monthly": 43200.0,
                  "yearly": 525600.0}


def declared_interval(ttl: Any = None, update_period: Any = None, update_frequency: Any = None
                      ) -> float | None:
    """Minutes between updates a feed declares about itself (RSS ttl, syndication module)."""
    out = []
    try:
        if ttl not in (None, ""):
            minutes = float(str(ttl).strip())
            if 0 < minutes < 10 * 525600:
                out.append(minutes)
    except ValueError:
        pass
    period = PERIOD_MINUTES.get(str(update_period or "").strip().lower())
    if period:
        try:
            freq = float(str(update_frequency).strip()) if update_frequency not in (None, "") else 1.0
        except ValueError:
            freq = 1.0
        out.append(period / freq if freq > 0 else period)
    return max(out) if out else None


def first_estimate(published: Iterable[datetime | None], now: datetime) -> tuple[float, float]:
    """(entries, hours) from one feed document: its dated entries of the last week."""
    dates = sorted(d for d in published if d is not None and now - FIRST_POLL_WINDOW <= d <= now)
    if len(dates) < 2:
        return 0.0, 0.0
    hours = max((now - dates[0]).total_seconds() / 3600.0, 1.0)
    return float(len(dates) - 1), hours


def observe(state: dict[str, Any], new_entries: int, now: datetime,
            published: Iterable[datetime | None] = ()) -> tuple[float, float]:
    """The feed's (rate_entries, rate_hours) after a successful poll that found `new_entries`."""
    last = state.get("last_success_at") or state.get("last_fetched_at")
    entries, hours = state.get("rate_entries"), state.get("rate_hours")
    if last is None or not hours:
        return first_estimate(published, now)
    dt = max((now - last).total_seconds() / 3600.0, 0.0)
    decay = math.exp(-dt / TIME_CONSTANT_HOURS)
    return (entries or 0.0) * decay + new_entries, hours * decay + dt


def interval_minutes(rate_entries: float | None, rate_hours: float | None, declared: float | None,
                     min_minutes: float, max_minutes: float) -> float:
    """Minutes until the next poll for a feed with this rate, within the bounds."""
    if not rate_hours:
        wanted = min_minutes  # nothing known yet: poll often until the rate is learned
    elif not rate_entries or rate_entries <= 0:
        wanted = max_minutes
    else:
        wanted = 60.0 * rate_hours / rate_entries
    if declared:
        wanted = max(wanted, declared)
    return round(min(max(wanted, min_minutes), max_minutes), 2)


def schedule(state: dict[str, Any], outcome: str, new_entries: int, now: datetime,
             min_minutes: float, max_minutes: float, declared: float | None = None,
             published: Iterable[datetime | None] = ()) -> dict[str, Any]:
    """The schedule columns of a feed after one poll (outcome ok, not_modified or failed)."""
    if outcome not in ("ok", "not_modified"):
        # Backoff (health.next_state) decides when a failing feed is tried again.
        return {"next_poll_at": state.get("next_poll_at"), "rate_entries": state.get("rate_entries"),
                "rate_hours": state.get("rate_hours"),
                "poll_interval_minutes": state.get("poll_interval_minutes"),
                "declared_interval_minutes": state.get("declared_interval_minutes")}
    entries, hours = observe(state, new_entries, now, published)
    if declared is None and outcome == "not_modified":
        declared = state.get("declared_interval_minutes")  # a 304 carries no document to read
    minutes = interval_minutes(entries, hours, declared, min_minutes, max_minutes)
    return {"next_poll_at": now + timedelta(minutes=minutes), "rate_entries": entries,
            "rate_hours": hours, "poll_interval_minutes": minutes,
            "declared_interval_minutes": declared}


def poll_due(state: dict[str, Any], now: datetime, max_minutes: float | None = None
             ) -> tuple[bool, str | None]:
    """Whether the schedule wants the feed polled now (backoff and disabling are `health.due`)."""
    nxt = state.get("next_poll_at")
    if nxt is None:
        return True, None
    interval = state.get("poll_interval_minutes") or 0.0
    if max_minutes is not None:
        interval = min(interval, max_minutes)  # bounds lowered since: the new maximum applies
        last = state.get("last_fetched_at")
        if last is not None and last + timedelta(minutes=max_minutes) <= now:
            return True, None
    if nxt - timedelta(minutes=interval * DUE_SLACK) <= now:
        return True, None
    return False, f"not due: next poll at {nxt:%Y-%m-%d %H:%M} UTC (every {interval:g} min)"
