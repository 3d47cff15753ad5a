"""`seedwatch feeds list|enable|disable`: feed health from the warehouse, and the hand switch.

A feed disabled automatically (see extractors/health.py) stays off until `feeds enable URL`,
which also clears its failure score and backoff so the next run fetches it.

A run holds the warehouse file while it writes. Meanwhile `feeds list` shows the feed states
of the read snapshot (as of the last run) and says so, and `feeds enable/disable` queue the
change in the warehouse's inbox, which the next run applies before it polls anything.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any

from seedwatch.config import Config
from warehouse import store
from warehouse.db import Warehouse, WarehouseLocked

# How long the commands wait for the file before they take the run's side door (the snapshot,
# the inbox): a run holds it for minutes, anything else for milliseconds.
BUSY_WAIT_SECONDS = 2.0

_COLUMNS = ["id", "feed", "url", "state", "last outcome", "failures", "score", "next fetch", "every",
            "last error"]


class FeedCommandError(Exception):
    """A feed named on the command line that the warehouse does not know."""


def feed_rows(cfg: Config) -> list[dict[str, Any]]:
    """Every configured feed with its stored state (never fetched: no state yet), then any feed
    stored but no longer configured. Only reads: a missing warehouse is not created
    (FeedCommandError), and nothing is written."""
    from warehouse.db import open_connection

    path = cfg.resolve(cfg.warehouse.path)
    if not path.is_file():
        raise FeedCommandError(f"no warehouse at {path} yet (the first `seedwatch run` creates it)")
    try:
        con = open_connection(path, read_only=True, lock_timeout=BUSY_WAIT_SECONDS)
    except WarehouseLocked:
        con = _snapshot_while_running(path)
    try:
        states = store.feed_states(con)
    finally:
        con.close()
    configured = {f.url: f for f in cfg.feeds}
    for url, f in configured.items():  # configured since the last run: no state yet
        states.setdefault(url, {"feed_id": store.key(url), "url": url, "name": f.name or None})
    order = list(configured) + sorted(set(states) - set(configured))
    return [{**states[u], "configured": u in configured} for u in order]


def _snapshot_while_running(path):
    """The read snapshot, for a warehouse a run is writing (FeedCommandError when none yet)."""
    from warehouse.query import open_sealed, source_for
    source = source_for(path)
    if source.kind != "snapshot":
        raise FeedCommandError(f"a run is writing {path} and there is no read snapshot yet: "
                               "try again when the run is over")
    print(f"seedwatch: a run is writing the warehouse: feed states as of its {source.describe()}",
          file=sys.stderr)
    return open_sealed(source.path)


def _state_word(row: dict[str, Any], now: datetime) -> str:
    if row.get("disabled"):
        return "disabled"
    after = row.get("next_fetch_after")
    if after is not None and after > now:
        return "backing off"
    return "active" if row.get("configured") else "not configured"


def _describe(row: dict[str, Any], now: datetime) -> list[Any]:
    # The later of the backoff and the adaptive schedule (extractors/schedule.py).
    after = max((t for t in (row.get("next_fetch_after"), row.get("next_poll_at")) if t is not None),
                default=None)
    every = row.get("poll_interval_minutes")
    error = row.get("disabled_reason") if row.get("disabled") else row.get("last_error")
    return [row.get("feed_id") or "", row.get("name") or "", row["url"], _state_word(row, now),
            row.get("last_outcome") or "never fetched",
            row.get("consecutive_failures") or 0, f"{row.get('failure_score') or 0:.1f}",
            f"{after:%Y-%m-%d %H:%M}" if after is not None and after > now else "",
            f"{every:g} min" if every else "", (error or "")[:120]]


def list_feeds(cfg: Config) -> int:
    from seedwatch.report import table

    now = datetime.now(timezone.utc)
    rows = feed_rows(cfg)
    table("Feeds", _COLUMNS, [_describe(r, now) for r in rows])
    disabled = sum(1 for r in rows if r.get("disabled"))
    print(f"{len(rows)} feeds, {disabled} disabled" + (" (re-enable with: seedwatch feeds enable ID-or-URL)"
                                                       if disabled else ""))
    return 0


def set_enabled(cfg: Config, feed: str, enabled: bool) -> int:
    wh = Warehouse(cfg.resolve(cfg.warehouse.path), BUSY_WAIT_SECONDS)
    try:
        with wh.transaction() as con:
            store.upsert_feeds(con, [{"url": f.url, "name": f.name, "language": f.language}
                                     for f in cfg.feeds])
            found = store.set_feed_enabled(con, feed, enabled)
    except WarehouseLocked:
        return _queue_switch(cfg, feed, enabled)
    if not found:
        raise FeedCommandError(f"no feed {feed!r} in the warehouse or the config "
                               "(give its URL or id, see: seedwatch feeds list)")
    print(f"{'enabled' if enabled else 'disabled'}: {feed}")
    return 0


def _queue_switch(cfg: Config, feed: str, enabled: bool) -> int:
    """A run holds the file: queue the switch in the inbox for the next run, if the feed is
    one the config or the snapshot knows."""
    from warehouse.feedback import queue_feed_disable, queue_feed_enable
    path = cfg.resolve(cfg.warehouse.path)
    known = {f.url: store.key(f.url) for f in cfg.feeds}
    try:
        con = _snapshot_while_running(path)
    except FeedCommandError:
        con = None
    if con is not None:
        try:
            known.update({url: row["feed_id"] for url, row in store.feed_states(con).items()})
        finally:
            con.close()
    feed_id = known.get(feed) or (feed if feed in known.values() else None)
    if feed_id is None:
        raise FeedCommandError(f"no feed {feed!r} in the snapshot or the config "
                               "(give its URL or id, see: seedwatch feeds list)")
    if enabled:
        queue_feed_enable(path, feed_id, source="cli")
    else:
        queue_feed_disable(path, feed_id, source="cli")
    print(f"{'enable' if enabled else 'disable'} queued: {feed} (a run is writing the warehouse; "
          "the next run applies it)")
    return 0


def feeds_command(cfg: Config, action: str, feed: str | None) -> int:
    """Entry point of `seedwatch feeds`; returns the exit status (2: a usage mistake)."""
    if action == "list":
        try:
            return list_feeds(cfg)
        except FeedCommandError as exc:
            print(f"seedwatch: {exc}", file=sys.stderr)
            return 1
    if not feed:
        print(f"seedwatch: error: feeds {action}: give the feed's URL or id", file=sys.stderr)
        return 2
    try:
        return set_enabled(cfg, feed, action == "enable")
    except FeedCommandError as exc:
        print(f"seedwatch: error: {exc}", file=sys.stderr)
        return 2

