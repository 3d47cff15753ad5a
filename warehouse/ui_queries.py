"""The SQL of the web UI, the Atom feed and `seedwatch stories`: reads of the snapshot only.

`SnapshotReader` gives each request a cursor on the read snapshot (`snapshot.py`). The
connection to a snapshot is kept open while that snapshot file stays the same (same inode), so
a page costs a query, not a file open; when the flow swaps in a new snapshot (atomic rename),
the next request opens the new file and the old connection is closed once its last request
ends. Before the first snapshot exists a request opens the main file read-only and closes it at
once, as `seedwatch sql` does.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb

from warehouse.query import Source, open_sealed, reading
from warehouse.snapshot import snapshot_path

Con = duckdb.DuckDBPyConnection
_AT = "coalesce(a.published, a.first_seen)"


def _dicts(cur: Con) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


# --- connections -------------------------------------------------------------------------------

class _Shared:
    def __init__(self, con: Con, ident: tuple[int, int, int]):
        self.con, self.ident, self.users = con, ident, 0


class SnapshotReader:
    """Read connections for a web app's requests; see the module's docstring.

    DuckDB keeps one database instance per path and process: while a connection to the old
    snapshot is open, connecting to the same path again would return the old file's instance. So
    when a new snapshot appears, new requests wait (briefly: requests take milliseconds) for the
    ones still reading the old copy, the old connection is closed, and then the new one opened."""

    DRAIN_SECONDS = 10.0

    def __init__(self, warehouse: str | Path):
        self.warehouse = Path(warehouse)
        self._cond = threading.Condition()
        self._current: _Shared | None = None

    def _acquire(self) -> _Shared | None:
        snap = snapshot_path(self.warehouse)
        try:
            st = os.stat(snap)
        except FileNotFoundError:
            st = None
        with self._cond:
            cur = self._current
            if st is None and cur is None:
                return None
            ident = cur.ident if st is None else (st.st_dev, st.st_ino, st.st_mtime_ns)
            if cur is not None and cur.ident != ident:
                self._cond.wait_for(lambda: cur.users == 0, timeout=self.DRAIN_SECONDS)
                if self._current is cur:
                    if cur.users == 0:
                        cur.con.close()
                        self._current = None
                    else:  # a request stuck on the old copy: keep serving it a while longer
                        cur.users += 1
                        return cur
            if self._current is None:
                # Sealed like every reader (no file access beyond the snapshot); the same
                # settings also let other readers in this process open the same file.
                self._current = _Shared(open_sealed(snap), ident)
            self._current.users += 1
            return self._current

    def _release(self, shared: _Shared) -> None:
        with self._cond:
            shared.users -= 1
            self._cond.notify_all()

    @contextlib.contextmanager
    def connect(self) -> Iterator[tuple[Source, Con]]:
        """(what is read, a cursor) for one request."""
        shared = self._acquire()
        if shared is None:
            with reading(self.warehouse) as (source, con):
                yield source, con
            return
        try:
            cursor = shared.con.cursor()
            try:
                yield Source(snapshot_path(self.warehouse), "snapshot"), cursor
            finally:
                cursor.close()
        finally:
            self._release(shared)

    def close(self) -> None:
        with self._cond:
            if self._current is not None and self._current.users == 0:
                self._current.con.close()
            self._current = None


# --- filters -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoryFilter:
    topic: str | None = None
    language: str | None = None
    outlet: str | None = None
    since: date | datetime | None = None   # first seen on or after (a date: that UTC day)
    until: date | None = None              # first seen on or before this UTC day
    min_score: float | None = None
    q: str | None = None                   # words in the headline or any article title

    def where(self) -> tuple[str, dict[str, Any]]:
        parts, params = ["TRUE"], {}
        if self.topic:
            parts.append("st.topic = $topic")
            params["topic"] = self.topic
        if self.language:
            parts.append("EXISTS (SELECT 1 FROM story_members m WHERE m.story_id = st.story_id "
                         "AND m.language = $language)")
            params["language"] = self.language
        if self.outlet:
            parts.append("list_contains(st.outlets, $outlet)")
            params["outlet"] = self.outlet
        if self.since is not None:
            if isinstance(self.since, datetime):
                parts.append("st.first_seen >= $since")
                params["since"] = self.since
            else:
                parts.append("CAST(timezone('UTC', st.first_seen) AS DATE) >= $since")
                params["since"] = self.since
        if self.until is not None:
            parts.append("CAST(timezone('UTC', st.first_seen) AS DATE) <= $until")
            params["until"] = self.until
        if self.min_score is not None:
            parts.append("coalesce(st.max_score, 0) >= $min_score")
            params["min_score"] = float(self.min_score)
        if self.q:
            parts.append("(contains(lower(coalesce(st.headline, '')), lower($q)) OR EXISTS ("
                         "SELECT 1 FROM story_members m JOIN articles a USING (article_id) "
                         "WHERE m.story_id = st.story_id AND contains(lower(coalesce(a.title, '')), lower($q))))")
            params["q"] = self.q
        return " AND ".join(parts), params


# --- stories -----------------------------------------------------------------------------------

def topics(con: Con) -> list[str]:
    return [t for (t,) in con.execute(
        "SELECT DISTINCT topic FROM stories UNION SELECT DISTINCT topic FROM scores ORDER BY 1").fetchall()]


def filter_choices(con: Con) -> dict[str, list[str]]:
    """Values offered in the filters: topics, languages and outlets of stories."""
    langs = [v for (v,) in con.execute("SELECT DISTINCT language FROM story_members "
                                       "WHERE language IS NOT NULL ORDER BY 1").fetchall()]
    outlets = [v for (v,) in con.execute("SELECT DISTINCT unnest(outlets) AS o FROM stories "
                                         "ORDER BY 1").fetchall() if v is not None]
    return {"topics": topics(con), "languages": langs, "outlets": outlets}


def _story_rows(con: Con, ids: Sequence[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = _dicts(con.execute("""
        SELECT st.story_id, st.topic, st.headline, st.headline_article_id, st.first_seen,
               st.last_updated, st.outlets, st.article_count, st.max_score, st.updated_at,
               (SELECT list_sort(list_distinct(list(m.language))) FROM story_members m
                WHERE m.story_id = st.story_id AND m.language IS NOT NULL) AS languages,
               (SELECT a.canonical_url FROM articles a WHERE a.article_id = st.headline_article_id) AS headline_url
        FROM stories st WHERE list_contains($ids, st.story_id)""", {"ids": list(ids)}))
    order = {sid: i for i, sid in enumerate(ids)}
    return sorted(rows, key=lambda r: order[r["story_id"]])


def list_stories(con: Con, flt: StoryFilter = StoryFilter(), limit: int = 25, offset: int = 0
                 ) -> tuple[list[dict[str, Any]], int]:
    """(a page of stories newest first, how many match the filter in all)."""
    where, params = flt.where()
    total = con.execute(f"SELECT count(*) FROM stories st WHERE {where}", params).fetchall()[0][0]
    ids = [r for (r,) in con.execute(
        f"SELECT st.story_id FROM stories st WHERE {where} "
        f"ORDER BY st.first_seen DESC, st.story_id LIMIT {int(limit)} OFFSET {int(offset)}",
        params).fetchall()]
    return _story_rows(con, ids), int(total)


def story(con: Con, story_id: str) -> dict[str, Any] | None:
    """A story with all its articles (time order), each with its latest verdict on the topic."""
    rows = _story_rows(con, [story_id])
    if not rows:
        return None
    st = rows[0]
    arts = _dicts(con.execute(f"""
        WITH m AS (SELECT * FROM story_members WHERE story_id = $id),
        s AS (SELECT sc.* FROM scores sc JOIN m ON sc.article_id = m.article_id AND sc.topic = m.topic
              QUALIFY row_number() OVER (PARTITION BY sc.article_id
                                         ORDER BY sc.scored_at DESC, sc.detector_version DESC) = 1)
        SELECT m.article_id, m.joined_by, m.similarity, m.article_at, m.language AS member_language,
               a.title, a.language, a.canonical_url, a.published, a.first_seen, a.text_source,
               o.outlet, g.dup_group_id, g.method AS dup_method, g.similarity AS dup_similarity,
               s.score, s.decision, s.explanation, s.detector_version
        FROM m JOIN articles a USING (article_id)
        LEFT JOIN article_outlets o USING (article_id)
        LEFT JOIN article_groups g USING (article_id)
        LEFT JOIN s ON s.article_id = m.article_id
        ORDER BY m.article_at, m.article_id""", {"id": story_id}))
    for a in arts:
        a["explanation"] = _json(a["explanation"]) or {}
    st["articles"] = arts
    return st


def story_article_ids(con: Con, story_id: str) -> tuple[str, list[str]] | None:
    """(topic, article ids) of a story, or None when there is no such story."""
    rows = con.execute("SELECT topic FROM stories WHERE story_id = ?", [story_id]).fetchall()
    if not rows:
        return None
    row = rows[0]
    ids = [r for (r,) in con.execute("SELECT article_id FROM story_members WHERE story_id = ? "
                                     "ORDER BY article_at, article_id", [story_id]).fetchall()]
    return row[0], ids


def article_topic_known(con: Con, article_id: str, topic: str) -> bool:
    """Whether the article exists and was scored on (or placed in a story of) the topic."""
    return bool(con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM scores WHERE article_id = $a AND topic = $t "
        "UNION ALL SELECT 1 FROM story_members WHERE article_id = $a AND topic = $t)",
        {"a": article_id, "t": topic}).fetchall()[0][0])


def stories_with_articles(con: Con, topic: str | None = None, since: date | datetime | None = None,
                          limit: int = 100) -> list[dict[str, Any]]:
    """Stories newest first (by first seen) with their articles: `seedwatch stories`, Atom."""
    rows, _ = list_stories(con, StoryFilter(topic=topic, since=since), limit=limit)
    if not rows:
        return rows
    arts = _dicts(con.execute("""
        WITH m AS (SELECT * FROM story_members WHERE list_contains($ids, story_id)),
        s AS (SELECT sc.article_id, sc.topic, sc.score FROM scores sc
              JOIN m ON sc.article_id = m.article_id AND sc.topic = m.topic
              QUALIFY row_number() OVER (PARTITION BY sc.article_id, sc.topic
                                         ORDER BY sc.scored_at DESC, sc.detector_version DESC) = 1)
        SELECT m.story_id, m.article_id, m.article_at, a.title, a.language, a.canonical_url,
               o.outlet, s.score
        FROM m JOIN articles a USING (article_id)
        LEFT JOIN article_outlets o USING (article_id)
        LEFT JOIN s ON s.article_id = m.article_id AND s.topic = m.topic
        ORDER BY m.article_at, m.article_id""", {"ids": [r["story_id"] for r in rows]}))
    by: dict[str, list[dict[str, Any]]] = {}
    for a in arts:
        by.setdefault(a.pop("story_id"), []).append(a)
    for r in rows:
        r["articles"] = by.get(r["story_id"], [])
    return rows


# --- coverage ----------------------------------------------------------------------------------

def coverage(con: Con, days: int, by: str = "language", topic: str | None = None,
             today: date | None = None) -> tuple[list[date], dict[str, list[int]]]:
    """Matches per UTC day of publication (first sighting when undated) over the last `days`
    days up to `today`, by language or by outlet: (the days, {series: count per day})."""
    if by not in ("language", "outlet"):
        raise ValueError("by must be 'language' or 'outlet'")
    today = today or datetime.now(timezone.utc).date()
    start = today - timedelta(days=days - 1)
    series = "coalesce(a.language, '?')" if by == "language" else "coalesce(o.outlet, '?')"
    rows = con.execute(f"""
        SELECT CAST(timezone('UTC', {_AT}) AS DATE) AS day, {series} AS k, count(DISTINCT a.article_id) AS n
        FROM latest_scores s JOIN articles a USING (article_id)
        LEFT JOIN article_outlets o USING (article_id)
        WHERE s.decision AND ($topic IS NULL OR s.topic = $topic)
          AND CAST(timezone('UTC', {_AT}) AS DATE) BETWEEN $start AND $today
        GROUP BY ALL""", {"topic": topic, "start": start, "today": today}).fetchall()
    axis = [start + timedelta(days=i) for i in range(days)]
    index = {d: i for i, d in enumerate(axis)}
    out: dict[str, list[int]] = {}
    for day, k, n in rows:
        out.setdefault(k, [0] * days)[index[day]] += int(n)
    return axis, dict(sorted(out.items(), key=lambda kv: (-sum(kv[1]), kv[0])))


# --- feeds, alerts, runs -----------------------------------------------------------------------

def feeds(con: Con) -> list[dict[str, Any]]:
    return _dicts(con.execute("SELECT * FROM feed_health"))


def alerts(con: Con, limit: int = 200) -> list[dict[str, Any]]:
    return _dicts(con.execute(f"SELECT * FROM alert_status LIMIT {int(limit)}"))


def alert_totals(con: Con) -> list[dict[str, Any]]:
    return _dicts(con.execute("""
        SELECT channel, status, count(*) AS alerts, sum(attempts)::INT AS attempts,
               sum(failed_attempts)::INT AS failed, max(last_attempt_at) AS last_attempt
        FROM alert_status GROUP BY ALL ORDER BY channel, status"""))


def failed_attempts(con: Con, limit: int = 100) -> list[dict[str, Any]]:
    return _dicts(con.execute(f"""
        SELECT t.alert_id, a.channel, a.title, t.attempt, t.attempted_at, t.response
        FROM alert_attempts t LEFT JOIN alerts a USING (alert_id)
        WHERE NOT t.ok ORDER BY t.attempted_at DESC LIMIT {int(limit)}"""))


def runs(con: Con, limit: int = 100) -> list[dict[str, Any]]:
    rows = _dicts(con.execute(f"""
        SELECT h.*, r.summary -> 'stage_seconds' AS stage_seconds
        FROM run_history h JOIN runs r USING (run_id) ORDER BY h.started_at DESC LIMIT {int(limit)}"""))
    for r in rows:
        r["stage_seconds"] = _json(r["stage_seconds"]) or {}
        r["feed_outcomes"] = _json(r["feed_outcomes"]) or {}
    return rows


def disabled_feed(con: Con, feed_id: str) -> bool | None:
    """Whether the feed is disabled; None when there is no such feed."""
    row = con.execute("SELECT disabled FROM feeds WHERE feed_id = ?", [feed_id]).fetchall()
    return None if not row else bool(row[0][0])
