"""Feed health: one failure score per feed, backoff after failures, disabling after sustained ones.

Pure functions over the feed's stored state, so the policy is testable without a network.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from extractors.http import PERMANENT, TEMPORARY, FetchResult

# A hard error (404, 410, not a feed) weighs three temporary ones (timeouts, 5xx).
WEIGHTS = {PERMANENT: 3.0, TEMPORARY: 1.0, "skip": 3.0}
DISABLE_SCORE = 24.0
DISABLE_MIN_FAILURES = 8
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=6)
DECAY_ON_SUCCESS = 0.5


def due(state: dict[str, Any], now: datetime) -> tuple[bool, str | None]:
    """Whether a feed should be fetched now, and why not when it should not."""
    if state.get("disabled"):
        return False, f"disabled: {state.get('disabled_reason') or 'by hand'}"
    after = state.get("next_fetch_after")
    if after is not None and after > now:
        return False, f"backing off until {after:%Y-%m-%d %H:%M} UTC"
    return True, None


def next_state(state: dict[str, Any], result: FetchResult, now: datetime,
               error: str | None = None, error_class: str | None = None) -> dict[str, Any]:
    """The feed's state after one fetch (and parse: a parse error is passed in `error`)."""
    new = {k: state.get(k) for k in ("feed_id", "etag", "last_modified", "last_success_at",
                                     "disabled", "disabled_reason")}
    new.update(last_fetched_at=now, last_status=result.status)
    failed = result.outcome in ("failed", "skipped") or error is not None
    if not failed:
        new.update(last_outcome=result.outcome, last_success_at=now, last_error=None,
                   consecutive_failures=0, next_fetch_after=None,
                   failure_score=(state.get("failure_score") or 0.0) * DECAY_ON_SUCCESS)
        new["etag"] = result.etag or state.get("etag")
        new["last_modified"] = result.last_modified or state.get("last_modified")
        return new
    cls = error_class or result.error_class or TEMPORARY
    failures = (state.get("consecutive_failures") or 0) + 1
    score = (state.get("failure_score") or 0.0) + WEIGHTS.get(cls, 1.0)
    wait = min(BACKOFF_BASE * (2 ** (failures - 1)), BACKOFF_MAX)
    if result.retry_after:
        wait = max(wait, timedelta(seconds=result.retry_after))
    new.update(last_outcome="failed", last_error=error or result.error,
               consecutive_failures=failures, failure_score=score, next_fetch_after=now + wait)
    if score >= DISABLE_SCORE and failures >= DISABLE_MIN_FAILURES:
        new.update(disabled=True, disabled_reason=f"{failures} failures in a row, last: "
                   f"{(error or result.error or '')[:200]}")
    return new
