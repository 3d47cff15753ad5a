"""The alert outbox: what must be sent is written first, then claimed, delivered and marked.

Statuses: pending (written, never tried), sending (claimed by a delivery until lease_until),
delivered, failed (retried at next_attempt_at while attempts < the maximum). A claim whose
lease ran out (the sending process died) is due again: see docs/alerts.md.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence

import duckdb
import pyarrow as pa

from warehouse.store import _registered, insert_rows, key

Con = duckdb.DuckDBPyConnection
OUTBOX_COLUMNS = ("alert_id", "channel", "topic", "subject_kind", "subject_id", "title", "body",
                  "status", "attempts", "created_at", "next_attempt_at")
_DUE = """((status IN ('pending', 'failed') AND (next_attempt_at IS NULL OR next_attempt_at <= $now))
           OR (status = 'sending' AND lease_until < $now))"""


def alert_key(channel_id: str, topic: str, kind: str, subject_id: str) -> str:
    return key(channel_id, topic, kind, subject_id)


def enqueue(con: Con, alerts: Sequence[dict[str, Any]]) -> int:
    """Write alerts as pending, with the stories each covers (`story_ids`); an alert already
    in the outbox is left as it is."""
    rows = [{**a, "alert_id": alert_key(a["channel"], a["topic"], a["subject_kind"], a["subject_id"]),
             "status": "pending", "attempts": 0} for a in alerts]
    added = insert_rows(con, "alerts", rows, OUTBOX_COLUMNS)
    links = [{"alert_id": r["alert_id"], "story_id": s} for r in rows for s in r.get("story_ids", ())]
    insert_rows(con, "alert_stories", links, ("alert_id", "story_id"))
    return added


def due_ids(con: Con, channels: Sequence[str], now: datetime, max_attempts: int,
            limit: int = 500, alert_ids: Sequence[str] | None = None) -> list[str]:
    """Ids of due alerts of these channels, oldest first, without claiming them."""
    if not channels:
        return []
    only = "AND alert_id IN (SELECT v FROM only_ids)" if alert_ids is not None else ""
    with _registered(con, "chans", pa.table({"v": list(channels)})), \
            _registered(con, "only_ids", pa.table({"v": pa.array(list(alert_ids or []), pa.string())})):
        return [r[0] for r in con.execute(f"""
            SELECT alert_id FROM alerts WHERE channel IN (SELECT v FROM chans)
            AND attempts < $max AND {_DUE} {only}
            ORDER BY created_at, alert_id LIMIT {int(limit)}""",
            {"now": now, "max": max_attempts}).fetchall()]


def claim_due(con: Con, channels: Sequence[str], now: datetime, lease: timedelta,
              max_attempts: int, limit: int = 500, alert_ids: Sequence[str] | None = None
              ) -> list[dict[str, Any]]:
    """Mark due alerts of these channels 'sending' until now + lease, counting the attempt;
    returns them. Call inside a transaction."""
    if not channels:
        return []
    only = "AND alert_id IN (SELECT v FROM only_ids)" if alert_ids is not None else ""
    with _registered(con, "chans", pa.table({"v": list(channels)})), \
            _registered(con, "only_ids", pa.table({"v": pa.array(list(alert_ids or []), pa.string())})):
        cur = con.execute(f"""
            UPDATE alerts SET status = 'sending', lease_until = $lease, attempts = attempts + 1
            WHERE alert_id IN (SELECT alert_id FROM alerts WHERE channel IN (SELECT v FROM chans)
                               AND attempts < $max AND {_DUE} {only}
                               ORDER BY created_at, alert_id LIMIT {int(limit)})
            RETURNING alert_id, channel, topic, subject_kind, subject_id, title, body, attempts""",
            {"now": now, "lease": now + lease, "max": max_attempts})
        cols = [d[0] for d in cur.description]
        return sorted((dict(zip(cols, r)) for r in cur.fetchall()), key=lambda a: a["alert_id"])


def record_attempt(con: Con, alert_id: str, attempt: int, ok: bool, response: str,
                   now: datetime, retry_in: timedelta | None) -> bool:
    """Store one delivery attempt and the alert's new status; False when the claim was lost
    (another delivery took the alert over after the lease ran out)."""
    con.execute("INSERT INTO alert_attempts VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [alert_id, attempt, now, ok, response])
    cur = con.execute("""UPDATE alerts SET status = ?, last_response = ?, lease_until = NULL,
                   delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END, next_attempt_at = ?
                   WHERE alert_id = ? AND status = 'sending' AND attempts = ? RETURNING alert_id""",
                      ["delivered" if ok else "failed", response, ok, now,
                       None if ok or retry_in is None else now + retry_in, alert_id, attempt])
    return bool(cur.fetchall())


def last_digest_at(con: Con, channel: str, topic: str) -> datetime | None:
    return con.execute("""SELECT max(created_at) FROM alerts WHERE channel = ? AND topic = ?
                          AND subject_kind = 'digest'""", [channel, topic]).fetchone()[0]
