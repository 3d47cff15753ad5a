"""The alert outbox: what must be sent is written first, then delivered, then marked."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence

import duckdb

from warehouse.store import insert_rows, key

Con = duckdb.DuckDBPyConnection
OUTBOX_COLUMNS = ("alert_id", "channel", "topic", "subject_kind", "subject_id", "title", "body",
                  "status", "attempts", "created_at", "next_attempt_at")


def alert_key(channel_id: str, topic: str, kind: str, subject_id: str) -> str:
    return key(channel_id, topic, kind, subject_id)


def enqueue(con: Con, alerts: Sequence[dict[str, Any]]) -> int:
    """Write alerts as pending; an alert already in the outbox is left as it is."""
    rows = [{**a, "alert_id": alert_key(a["channel"], a["topic"], a["subject_kind"], a["subject_id"]),
             "status": "pending", "attempts": 0} for a in alerts]
    return insert_rows(con, "alerts", rows, OUTBOX_COLUMNS)


def due_alerts(con: Con, channels: Sequence[str], now: datetime, max_attempts: int,
               limit: int = 500) -> list[dict[str, Any]]:
    """Pending or failed alerts of these channels whose next attempt is due."""
    if not channels:
        return []
    marks = ", ".join("?" for _ in channels)
    cur = con.execute(f"""
        SELECT alert_id, channel, topic, subject_kind, subject_id, title, body, attempts
        FROM alerts WHERE status IN ('pending', 'failed') AND channel IN ({marks})
          AND attempts < ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
        ORDER BY created_at LIMIT {int(limit)}""", [*channels, max_attempts, now])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def record_attempt(con: Con, alert_id: str, attempt: int, ok: bool, response: str,
                   now: datetime, retry_in: timedelta | None) -> None:
    """Store one delivery attempt and the alert's new status, in one transaction."""
    con.execute("INSERT INTO alert_attempts VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [alert_id, attempt, now, ok, response])
    con.execute("""UPDATE alerts SET attempts = ?, status = ?, last_response = ?,
                   delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END,
                   next_attempt_at = ? WHERE alert_id = ?""",
                [attempt, "delivered" if ok else "failed", response, ok, now,
                 None if ok or retry_in is None else now + retry_in, alert_id])


def delivery_counts(con: Con) -> dict[str, int]:
    return dict(con.execute("SELECT status, count(*) FROM alerts GROUP BY status").fetchall())
