"""The alert outbox: what must be sent is written first, then claimed, delivered and marked.

Statuses: pending (written, never tried), sending (claimed by a delivery until lease_until),
delivered, failed (retried at next_attempt_at while attempts < the maximum). A claim whose
lease ran out (the sending process died) is due again: see docs/alerts.md.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence

import duckdb

from warehouse.store import _registered, frame, insert_rows, key

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
    with _registered(con, "chans", frame(v=channels)), \
            _registered(con, "only_ids", frame(v=alert_ids or [])):
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
    with _registered(con, "chans", frame(v=channels)), \
            _registered(con, "only_ids", frame(v=alert_ids or [])):
        cur = con.execute(f"""
            UPDATE alerts SET status = 'sending', lease_until = $lease, attempts = attempts + 1
            WHERE alert_id IN (SELECT alert_id FROM alerts WHERE channel IN (SELECT v FROM chans)
                               AND attempts < $max AND {_DUE} {only}
                               ORDER BY created_at, alert_id LIMIT {int(limit)})
            RETURNING alert_id, channel, topic, subject_kind, subject_id, title, body, attempts""",
            {"now": now, "lease": now + lease, "max": max_attempts})
        cols = [d[0] for d in cur.description]
        return sorted((dict(zip(cols, r)) for r in cur.fetchall()), key=lambda a: a["alert_id"])


def record_attempts(con: Con, attempts: Sequence[dict[str, Any]]) -> set[str]:
    """Store delivery attempts and each alert's new status, in two statements. Each attempt
    has `alert_id`, `attempt` (the claim's attempt number), `ok`, `response`, `at` and
    `retry_at` (when a failed alert is due again, or None). An alert's status only changes
    if the claim is still ours (`status = 'sending' AND attempts = attempt`); returns the ids
    for which it was (an id missing lost its claim to another delivery after the lease)."""
    if not attempts:
        return set()
    table = frame(alert_id=[a["alert_id"] for a in attempts],
                  attempt=[a["attempt"] for a in attempts],
                  attempted_at=[a["at"] for a in attempts],
                  ok=[bool(a["ok"]) for a in attempts],
                  response=[a["response"] for a in attempts],
                  retry_at=[None if a["ok"] else a["retry_at"] for a in attempts])
    with _registered(con, "tried", table):
        con.execute("""INSERT INTO alert_attempts SELECT alert_id, attempt, attempted_at, ok, response
                       FROM tried ON CONFLICT DO NOTHING""")
        cur = con.execute("""
            UPDATE alerts SET status = CASE WHEN t.ok THEN 'delivered' ELSE 'failed' END,
                   last_response = t.response, lease_until = NULL,
                   delivered_at = CASE WHEN t.ok THEN t.attempted_at ELSE alerts.delivered_at END,
                   next_attempt_at = t.retry_at
            FROM tried t
            WHERE alerts.alert_id = t.alert_id AND alerts.status = 'sending' AND alerts.attempts = t.attempt
            RETURNING alerts.alert_id""")
        return {r[0] for r in cur.fetchall()}


def extend_claims(con: Con, claims: Sequence[dict[str, Any]], lease_until: datetime) -> set[str]:
    """Move the lease of claimed alerts (`alert_id`, `attempts` as claimed) to `lease_until`;
    returns the ids still claimed by us (the others were taken over after their lease)."""
    if not claims:
        return set()
    table = frame(alert_id=[c["alert_id"] for c in claims],
                  attempts=[c["attempts"] for c in claims])
    with _registered(con, "held", table):
        cur = con.execute("""
            UPDATE alerts SET lease_until = $lease FROM held h
            WHERE alerts.alert_id = h.alert_id AND alerts.status = 'sending' AND alerts.attempts = h.attempts
            RETURNING alerts.alert_id""", {"lease": lease_until})
        return {r[0] for r in cur.fetchall()}


def last_digest_at(con: Con, channel: str, topic: str) -> datetime | None:
    return con.execute("""SELECT max(created_at) FROM alerts WHERE channel = ? AND topic = ?
                          AND subject_kind = 'digest'""", [channel, topic]).fetchone()[0]
