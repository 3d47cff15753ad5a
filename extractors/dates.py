"""Dates from feeds and pages are checked before anything computes with them.

Feeds carry impossible dates: Go's zero time (year 0001, emitted by Hugo), dates from before the
web, or years ahead. Such a date is treated as unknown: `published` stays NULL, so the first-seen
time stands in wherever an article's time is needed, and `published_note` records what the
source said and that it was replaced.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
FUTURE_TOLERANCE = timedelta(days=1)  # clocks and time zones are often a few hours off


def checked_date(when: datetime | None, now: datetime) -> tuple[datetime | None, str | None]:
    """(date, note): the date when it lies between 1990 and a day after `now`; otherwise None
    and a note saying what was replaced. A naive date is taken as UTC."""
    if when is None:
        return None, None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        if EARLIEST <= when <= now + FUTURE_TOLERANCE:
            return when, None
    except OverflowError:  # pragma: no cover - now + one day cannot overflow in practice
        pass
    why = "before 1990" if when < EARLIEST else "more than a day in the future"
    return None, f"date {when.isoformat()} out of range ({why}); first-seen time used"
