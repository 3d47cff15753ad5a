"""Alert delivery through the warehouse outbox.

1. `plan_*` turns matches into alert rows; the flow writes them (pending) in the same run.
2. `deliver_due` sends every due alert, each outside any transaction, and records the answer
   right after. A failed send is retried on later runs with exponential backoff.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from alerts.channels import Channel, send
from alerts.render import article_alert
from warehouse import outbox
from warehouse.db import Warehouse

MAX_ATTEMPTS = 10
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=2)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def retry_delay(attempt: int) -> timedelta:
    return min(RETRY_BASE * (2 ** max(attempt - 1, 0)), RETRY_MAX)


def plan_article_alerts(channels: Sequence[Channel], topic: str, articles: Sequence[dict[str, Any]],
                        now: datetime) -> list[dict[str, Any]]:
    """One pending alert per (immediate channel, matched article)."""
    rows = []
    for ch in channels:
        if ch.mode != "immediate":
            continue
        for art in articles:
            title, body = article_alert(topic, art)
            rows.append({"channel": ch.id, "topic": topic, "subject_kind": "article",
                         "subject_id": art["article_id"], "title": title, "body": body,
                         "created_at": now, "next_attempt_at": None})
    return rows


def deliver_due(wh: Warehouse, channels: Sequence[Channel],
                sender: Callable[[Channel, str, str], tuple[bool, str]] = send,
                now: datetime | None = None) -> DeliveryReport:
    """Send every due alert of the configured channels; record each attempt."""
    now = now or datetime.now(timezone.utc)
    by_id = {ch.id: ch for ch in channels}
    with wh.connect() as con:
        due = outbox.due_alerts(con, list(by_id), now, MAX_ATTEMPTS)
    report = DeliveryReport()
    for alert in due:
        channel = by_id[alert["channel"]]
        try:
            ok, answer = sender(channel, alert["title"], alert["body"])
        except Exception as exc:  # noqa: BLE001 - a broken channel must not stop the others
            ok, answer = False, f"{type(exc).__name__}: {exc}"[:500]
        attempt = alert["attempts"] + 1
        with wh.transaction() as con:
            outbox.record_attempt(con, alert["alert_id"], attempt, ok, answer,
                                  datetime.now(timezone.utc), retry_delay(attempt))
        if ok:
            report.sent += 1
        else:
            report.failed += 1
            report.errors.append(f"{channel.id}: {answer[-200:]}")
    return report
