"""SQL for `seedwatch rescore`: stored articles to score again, what older detectors scored,
and alerts marked as not to be sent for stories that were already old news."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from warehouse.outbox import alert_key
from warehouse.store import Con, insert_rows

_AT = "coalesce(a.published, a.first_seen)"


def articles_to_rescore(con: Con, since: datetime | None, after: str | None,
                        limit: int) -> list[dict[str, Any]]:
    """Articles (oldest key first, keyset-paged by article_id) whose time is `since` or later,
    or whose text was replaced since then (`updated_at`: a page retry, `seedwatch reextract`)."""
    where, params = [], []
    if since is not None:
        where.append(f"({_AT} >= ? OR a.updated_at >= ?)")
        params += [since, since]
    if after is not None:
        where.append("a.article_id > ?")
        params.append(after)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    cur = con.execute(f"""
        SELECT a.article_id, a.canonical_url, a.title, a.text, a.language
        FROM articles a {clause} ORDER BY a.article_id LIMIT {int(limit)}""", params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def older_versions(con: Con, version: str, topics: Sequence[str]) -> dict[str, int]:
    """For each older detector version: how many (article, topic) pairs have it as their
    latest verdict, i.e. were never scored by `version`."""
    if not topics:
        return {}
    marks = ", ".join("?" for _ in topics)
    rows = con.execute(f"""
        SELECT detector_version, count(*) FROM (
            SELECT detector_version, row_number() OVER (
                PARTITION BY article_id, topic ORDER BY scored_at DESC, detector_version DESC) AS rn
            FROM scores WHERE topic IN ({marks})) WHERE rn = 1 AND detector_version <> ?
        GROUP BY detector_version ORDER BY detector_version""", [*topics, version]).fetchall()
    return {v: n for v, n in rows}


def stale_unalerted_stories(con: Con, topic: str, channel: str, kinds: Sequence[str],
                            first_seen_before: datetime) -> list[str]:
    """Stories of the topic whose news is older than the cut-off and that no alert of these
    kinds to this channel covers."""
    marks = ", ".join("?" for _ in kinds)
    return [r[0] for r in con.execute(f"""
        SELECT st.story_id FROM stories st WHERE st.topic = ? AND st.first_seen < ?
          AND NOT EXISTS (SELECT 1 FROM alert_stories l JOIN alerts al USING (alert_id)
                          WHERE l.story_id = st.story_id AND al.channel = ?
                            AND al.subject_kind IN ({marks}))
        ORDER BY st.story_id""", [topic, first_seen_before, channel, *kinds]).fetchall()]


def suppress_alerts(con: Con, channel: str, topic: str, kind: str, story_ids: Sequence[str],
                    now: datetime, reason: str) -> int:
    """Record, per story, an alert with status 'suppressed' that is never sent: the story is
    then covered for this channel, so no later run alerts it either."""
    rows = []
    for sid in story_ids:
        subject = sid if kind == "story" else f"suppressed:{sid}"
        rows.append({"alert_id": alert_key(channel, topic, kind, subject), "channel": channel,
                     "topic": topic, "subject_kind": kind, "subject_id": subject, "title": None,
                     "body": None, "status": "suppressed", "attempts": 0, "created_at": now,
                     "last_response": reason})
    cols = ("alert_id", "channel", "topic", "subject_kind", "subject_id", "title", "body",
            "status", "attempts", "created_at", "last_response")
    added = insert_rows(con, "alerts", rows, cols)
    insert_rows(con, "alert_stories", [{"alert_id": r["alert_id"], "story_id": sid}
                                       for r, sid in zip(rows, story_ids)], ("alert_id", "story_id"))
    return added


def latest_decisions(con: Con, article_ids: Sequence[str], topics: Sequence[str]) -> dict:
    """{(article_id, topic): decision} of the latest verdicts of these articles."""
    if not article_ids or not topics:
        return {}
    marks = ", ".join("?" for _ in article_ids)
    tmarks = ", ".join("?" for _ in topics)
    rows = con.execute(f"""
        SELECT article_id, topic, decision FROM scores
        WHERE article_id IN ({marks}) AND topic IN ({tmarks})
        QUALIFY row_number() OVER (PARTITION BY article_id, topic
                                   ORDER BY scored_at DESC, detector_version DESC) = 1""",
                       [*article_ids, *topics]).fetchall()
    return {(a, t): d for a, t, d in rows}
