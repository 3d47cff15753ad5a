"""Alert delivery through the warehouse outbox, one alert per story (or per digest).

1. `queue_story_alerts` writes, for every immediate channel, one pending alert per new story
   and, for hourly/daily channels, one digest per period of the stories new since the
   channel's last digest. Alert ids are keyed (channel, topic, kind, subject), so a rerun
   queues nothing twice, and a story never alerts the same channel twice.
2. `deliver_due` lists the due alerts, then claims them (status 'sending' with a lease) just
   before their sends, sends each outside any transaction with its alert id as idempotency
   key, and records the channel's answer. Claims and records are grouped while the channel
   answers fast and are made one alert at a time when it is slow; the lease of claimed
   alerts not sent yet is renewed whenever sends are recorded, so no claim outlives its lease
   however slow the channel is, and an overlapping run never takes over an alert still being
   sent (it skips alerts another run has claimed). A failed send is retried on later runs
   with exponential backoff; a claim left by a process that died is retried once its lease has
   run out (at-least-once: see docs/alerts.md).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from alerts.channels import Channel, send
from alerts.render import digest_alert, story_alert
from warehouse import outbox
from warehouse import stories as story_sql
from warehouse.db import Warehouse

MAX_ATTEMPTS = 10
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=2)
LEASE = timedelta(minutes=5)            # renewed before every send: longer than any one send (apprise times out sooner)
CLAIM_MAX = 32                          # alerts claimed in one transaction, while the channel is fast
RECORD_WITHIN = timedelta(seconds=0.25)  # a send is recorded (or the next claim renewed) this soon after it
NEW_STORY_WINDOW = timedelta(days=2)    # a channel added later is not flooded with old stories
DIGEST_PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}

Sender = Callable[..., tuple[bool, str]]


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def retry_delay(attempt: int) -> timedelta:
    return min(RETRY_BASE * (2 ** max(attempt - 1, 0)), RETRY_MAX)


def period_label(mode: str, now: datetime) -> str:
    """The digest period `now` falls in: '2026-11-19T14h' (hourly) or '2026-11-19' (daily)."""
    now = now.astimezone(timezone.utc)
    return now.strftime("%Y-%m-%dT%Hh") if mode == "hourly" else now.strftime("%Y-%m-%d")


def plan_story_alert(channel: Channel, story: dict[str, Any], now: datetime) -> dict[str, Any]:
    title, body = story_alert(story["topic"], story)
    return {"channel": channel.id, "topic": story["topic"], "subject_kind": "story",
            "subject_id": story["story_id"], "title": title, "body": body, "created_at": now,
            "next_attempt_at": None, "story_ids": [story["story_id"]]}


def plan_digest(channel: Channel, topic: str, stories: Sequence[dict[str, Any]],
                now: datetime) -> dict[str, Any]:
    label = period_label(channel.mode, now)
    title, body = digest_alert(topic, list(stories), f"{channel.mode} ({label})")
    return {"channel": channel.id, "topic": topic, "subject_kind": "digest", "subject_id": label,
            "title": title, "body": body, "created_at": now, "next_attempt_at": None,
            "story_ids": [s["story_id"] for s in stories]}


def _plan_channel(con: Any, ch: Channel, topics: Sequence[str], now: datetime) -> list[dict]:
    rows = []
    kinds = ("story",) if ch.mode == "immediate" else ("digest",)
    for topic in topics:
        if ch.mode != "immediate":
            last = outbox.last_digest_at(con, ch.id, topic)
            if last is not None and period_label(ch.mode, last) == period_label(ch.mode, now):
                continue  # this period's digest was written already
        ids = story_sql.stories_without_alert(con, ch.id, topic, kinds, now - NEW_STORY_WINDOW)
        if not ids:
            continue
        stories = story_sql.story_details(con, ids)
        if ch.mode == "immediate":
            rows += [plan_story_alert(ch, s, now) for s in stories]
        else:
            rows.append(plan_digest(ch, topic, stories, now))
    return rows


def queue_story_alerts(wh: Warehouse, channels: Sequence[Channel], topics: Sequence[str],
                       now: datetime | None = None) -> int:
    """Write the alerts that are due for new stories as pending; returns alerts written."""
    now = now or datetime.now(timezone.utc)
    if not channels or not topics:
        return 0
    with wh.transaction() as con:
        rows = [r for ch in channels for r in _plan_channel(con, ch, topics, now)]
        return outbox.enqueue(con, rows)


def _send_one(channel: Channel, alert: dict[str, Any], sender: Sender) -> tuple[bool, str]:
    try:
        return sender(channel, alert["title"], alert["body"], alert_id=alert["alert_id"])
    except Exception as exc:  # noqa: BLE001 - a broken channel must not stop the others
        return False, f"{type(exc).__name__}: {exc}"[:500]


def deliver_due(wh: Warehouse, channels: Sequence[Channel], sender: Sender = send,
                now: datetime | None = None, alert_ids: Sequence[str] | None = None
                ) -> DeliveryReport:
    """Send every due alert of the configured channels, claiming alerts just before their
    sends (an alert another delivery claimed meanwhile is skipped) and recording each
    attempt soon after it.

    Claims and records are grouped by time, so that a fast channel does not pay a
    transaction per alert and a slow one keeps the guarantees of claiming one at a time:
    the next claim takes twice as many alerts as the last (up to CLAIM_MAX) while a group's
    sends take under RECORD_WITHIN, and one alert again as soon as they take longer. Before
    any send, attempts that ended more than RECORD_WITHIN ago are recorded, in the same
    transaction that renews the lease of the group's alerts not sent yet. So every send
    starts under a lease renewed at most RECORD_WITHIN plus one send ago, and a crash can
    only leave unrecorded the sends of the last RECORD_WITHIN (and the one in flight), which
    carry their alert id for the receiver to drop a repeat. A channel whose messages cannot
    carry the id (chat services) has each send recorded right after it."""
    fixed = now
    by_id = {ch.id: ch for ch in channels}
    with wh.connect() as con:
        due = outbox.due_ids(con, list(by_id), fixed or datetime.now(timezone.utc), MAX_ATTEMPTS,
                             alert_ids=alert_ids)
    report = DeliveryReport()
    tried: list[dict[str, Any]] = []  # sent, not recorded yet

    def flush(claim: Sequence[str] = (), renew: Sequence[dict[str, Any]] = ()) -> tuple[list, set]:
        """One transaction: record what was tried, renew the lease of `renew`, claim `claim`."""
        at = fixed or datetime.now(timezone.utc)
        with wh.transaction() as con:
            outbox.record_attempts(con, tried)
            kept = outbox.extend_claims(con, renew, at + LEASE) if renew else set()
            claimed = outbox.claim_due(con, list(by_id), at, LEASE, MAX_ATTEMPTS, limit=len(claim),
                                       alert_ids=list(claim)) if claim else []
        for t in tried:
            _tally(report, by_id[t["channel"]], t["ok"], t["response"])
        tried.clear()
        return claimed, kept

    order = {alert_id: i for i, alert_id in enumerate(due)}
    size, start = 1, 0
    while start < len(due):
        group, _ = flush(claim=due[start:start + size])
        group.sort(key=lambda a: order[a["alert_id"]])
        start += size
        mine = {a["alert_id"] for a in group}
        began = recorded = time.monotonic()
        for i, alert in enumerate(group):
            if tried and time.monotonic() - recorded > RECORD_WITHIN.total_seconds():
                _, mine = flush(renew=[a for a in group[i:] if a["alert_id"] in mine])
                recorded = time.monotonic()
            if alert["alert_id"] not in mine:
                continue  # taken over after its lease ran out (this process stalled): not ours
            channel = by_id[alert["channel"]]
            ok, answer = _send_one(channel, alert, sender)
            at = datetime.now(timezone.utc)
            tried.append({"alert_id": alert["alert_id"], "attempt": alert["attempts"],
                          "channel": alert["channel"], "ok": ok, "response": answer, "at": at,
                          "retry_at": at + retry_delay(alert["attempts"])})
            if not channel.carries_alert_id:
                # A receiver that cannot drop a repeat (chat services): recorded at once, so
                # a crash can leave only this one send unrecorded.
                _, mine = flush(renew=[a for a in group[i + 1:] if a["alert_id"] in mine])
                recorded = time.monotonic()
        quick = time.monotonic() - began <= RECORD_WITHIN.total_seconds()
        size = min(CLAIM_MAX, size * 2) if quick else 1
    if tried:
        flush()
    return report


def _tally(report: DeliveryReport, channel: Channel, ok: bool, answer: str) -> None:
    if ok:
        report.sent += 1
    else:
        report.failed += 1
        report.errors.append(f"{channel.id}: {answer[-200:]}")
