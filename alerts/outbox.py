"""Alert delivery through the warehouse outbox, one alert per story (or per digest).

1. `queue_story_alerts` writes, for every immediate channel, one pending alert per new story
   and, for hourly/daily channels, one digest per period of the stories new since the
   channel's last digest. Alert ids are keyed (channel, topic, kind, subject), so a rerun
   queues nothing twice, and a story never alerts the same channel twice.
2. `deliver_due` lists the due alerts, then for each one claims it alone (status 'sending'
   with a lease), sends it outside any transaction with its alert id as idempotency key, and
   records the channel's answer. Claiming one alert at a time keeps every claim within its
   lease however slow the channel is, so an overlapping run never takes over an alert still
   being sent (it skips alerts another run has claimed). A failed send is retried on later runs
   with exponential backoff; a claim left by a process that died is retried once its lease has
   run out (at-least-once: see docs/alerts.md).
"""
from __future__ import annotations

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
LEASE = timedelta(minutes=5)            # per alert: longer than any one send (apprise times out sooner)
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
    """Send every due alert of the configured channels, claiming each one just before its
    send (an alert another delivery claimed meanwhile is skipped); record each attempt. The
    record of one send and the claim of the next share a transaction."""
    fixed = now
    by_id = {ch.id: ch for ch in channels}
    with wh.connect() as con:
        due = outbox.due_ids(con, list(by_id), fixed or datetime.now(timezone.utc), MAX_ATTEMPTS,
                             alert_ids=alert_ids)
    report = DeliveryReport()
    sent: tuple[dict[str, Any], bool, str] | None = None  # the last send, not yet recorded
    for alert_id in [*due, None]:
        with wh.transaction() as con:
            if sent is not None:
                alert, ok, answer = sent
                outbox.record_attempt(con, alert["alert_id"], alert["attempts"], ok, answer,
                                      datetime.now(timezone.utc), retry_delay(alert["attempts"]))
            claimed = [] if alert_id is None else outbox.claim_due(
                con, list(by_id), fixed or datetime.now(timezone.utc), LEASE, MAX_ATTEMPTS,
                limit=1, alert_ids=[alert_id])
        if sent is not None:
            _tally(report, by_id[sent[0]["channel"]], sent[1], sent[2])
            sent = None
        if not claimed:
            continue  # delivered, or claimed by an overlapping run, since the list was read
        alert = claimed[0]
        ok, answer = _send_one(by_id[alert["channel"]], alert, sender)
        sent = (alert, ok, answer)
    return report


def _tally(report: DeliveryReport, channel: Channel, ok: bool, answer: str) -> None:
    if ok:
        report.sent += 1
    else:
        report.failed += 1
        report.errors.append(f"{channel.id}: {answer[-200:]}")
