"""Reads and batched writes of the pipeline's stages. The only module of the flow that speaks SQL.

Writes go through columns that DuckDB scans in place (`INSERT ... SELECT FROM batch`, the batch
a dict of NumPy arrays: see `frame`), never row-by-row, and every insert is keyed with
`ON CONFLICT DO NOTHING` so a rerun or a retried batch stores nothing twice.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Sequence

import duckdb
import numpy as np

Con = duckdb.DuckDBPyConnection

ARTICLE_COLUMNS = (
    "article_id", "canonical_url", "url", "feed_id", "title", "text", "text_source", "extractor",
    "author", "site", "published", "language", "content_hash", "first_seen", "run_id",
    "published_note", "fallback_reason",
)
ENTRY_COLUMNS = (
    "entry_id", "feed_id", "guid", "link", "canonical_url", "title", "summary", "content",
    "language", "published", "first_seen", "run_id", "published_note",
)
FETCH_COLUMNS = (
    "run_id", "kind", "url", "feed_id", "status", "outcome", "error_class", "error", "bytes",
    "duration_ms", "fetched_at",
)
PENDING_COLUMNS = ENTRY_COLUMNS + ("article_url",)
SCORE_COLUMNS = (
    "article_id", "topic", "score", "decision", "explanation", "detector_version", "scored_at",
)
FEED_STATE_COLUMNS = (
    "feed_id", "etag", "last_modified", "last_fetched_at", "last_status", "last_outcome",
    "last_success_at", "last_error", "consecutive_failures", "failure_score", "next_fetch_after",
    "disabled", "disabled_reason",
    "next_poll_at", "poll_interval_minutes", "rate_entries", "rate_hours", "declared_interval_minutes",
)


def key(*parts: str) -> str:
    """A short stable id from one or more strings."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def now() -> datetime:
    return datetime.now(timezone.utc)


def _column(values: Iterable[Any]) -> np.ndarray:
    """One column of a `frame`: a 1-D object array (None is NULL), whatever the values hold."""
    values = values if isinstance(values, list) else list(values)
    col = np.empty(len(values), dtype=object)
    if any(isinstance(v, (list, tuple, np.ndarray)) for v in values):
        for i, v in enumerate(values):  # a slice assignment would broadcast the sequences
            col[i] = v
    else:
        col[:] = values
    return col


def frame(**columns: Iterable[Any]) -> dict[str, np.ndarray]:
    """Columns that DuckDB scans in place once the dict is registered: it reads each column's
    type from its values (str -> VARCHAR, int -> INTEGER or BIGINT, aware datetime ->
    TIMESTAMPTZ, a list of ints -> a LIST; a column of only None is NULL, which casts to any
    type on insert).

    Not Arrow: pyarrow costs the flow process 52 MB of memory when imported, and this path
    needs NumPy alone, which the near-duplicate sketches load anyway. For a batch of 200
    articles the insert took about the same time either way."""
    return {name: _column(values) for name, values in columns.items()}


def _batch(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> dict[str, np.ndarray]:
    data = {c: [r.get(c) for r in rows] for c in columns}
    for c, values in data.items():
        if any(isinstance(v, (dict, list)) for v in values):
            data[c] = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
    return frame(**data)


@contextlib.contextmanager
def _registered(con: Con, name: str, table: dict[str, np.ndarray]) -> Iterator[None]:
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


def insert_rows(con: Con, table: str, rows: Sequence[dict[str, Any]], columns: Sequence[str],
                on_conflict: str = "DO NOTHING") -> int:
    """Insert many rows in one statement from a `frame`; returns rows inserted."""
    if not rows:
        return 0
    cols = ", ".join(columns)
    conflict = f"ON CONFLICT {on_conflict}" if on_conflict else ""
    with _registered(con, "batch", _batch(rows, columns)):
        return con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM batch {conflict}").fetchone()[0]


def _values_in(con: Con, sql: str, values: Iterable[str]) -> set[str]:
    values = list(dict.fromkeys(v for v in values if v))
    if not values:
        return set()
    with _registered(con, "probe", frame(v=values)):
        return {r[0] for r in con.execute(sql).fetchall()}


# --- feeds -----------------------------------------------------------------------------------

def upsert_feeds(con: Con, feeds: Sequence[dict[str, Any]]) -> None:
    """Register configured feeds (url, name, language); keeps the fetch state of known ones."""
    rows = [{"feed_id": key(f["url"]), "url": f["url"], "name": f.get("name") or None,
             "language": f.get("language") or None} for f in feeds]
    if not rows:
        return
    with _registered(con, "batch", _batch(rows, ("feed_id", "url", "name", "language"))):
        con.execute("""
            INSERT INTO feeds (feed_id, url, name, language) SELECT feed_id, url, name, language
            FROM batch ON CONFLICT (feed_id) DO UPDATE SET name = excluded.name,
            language = excluded.language""")


def feed_states(con: Con, urls: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Fetch state of each feed by URL."""
    cur = con.execute("SELECT * FROM feeds ORDER BY url")
    cols = [d[0] for d in cur.description]
    states = {row[1]: dict(zip(cols, row)) for row in cur.fetchall()}
    return states if urls is None else {u: states[u] for u in urls if u in states}


def update_feed_states(con: Con, states: Sequence[dict[str, Any]]) -> None:
    if not states:
        return
    sets = ", ".join(f"{c} = b.{c}" for c in FEED_STATE_COLUMNS if c != "feed_id")
    with _registered(con, "batch", _batch(states, FEED_STATE_COLUMNS)):
        con.execute(f"UPDATE feeds SET {sets} FROM batch b WHERE feeds.feed_id = b.feed_id")


def set_feed_enabled(con: Con, url_or_id: str, enabled: bool, reason: str | None = None) -> int:
    """Enable or disable a feed by URL or id; re-enabling clears its failure history."""
    if enabled:
        sql = """UPDATE feeds SET disabled = FALSE, disabled_reason = NULL, consecutive_failures = 0,
                 failure_score = 0, next_fetch_after = NULL WHERE url = ? OR feed_id = ?"""
        params = [url_or_id, url_or_id]
    else:
        sql = "UPDATE feeds SET disabled = TRUE, disabled_reason = ? WHERE url = ? OR feed_id = ?"
        params = [reason or "disabled by hand", url_or_id, url_or_id]
    con.execute(sql, params)
    return con.execute("SELECT count(*) FROM feeds WHERE url = ? OR feed_id = ?",
                       [url_or_id, url_or_id]).fetchone()[0]


def log_fetches(con: Con, rows: Sequence[dict[str, Any]]) -> int:
    return insert_rows(con, "fetch_log", rows, FETCH_COLUMNS, on_conflict="")


# --- entries and articles --------------------------------------------------------------------

def entry_key(feed_id: str, guid: str | None, link: str | None, title: str | None) -> str:
    """Entries are keyed by feed and GUID (else link, else title): a feed that edits a title
    keeps its GUID, so the edit is not a new entry."""
    return key(feed_id, guid or link or title or "")


def insert_entries_by_feed(con: Con, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Store entries (known ones are skipped) in one statement, and queue the new ones whose
    article is not stored yet in `pending`; returns the number of new entries per feed_id."""
    rows = [{**r, "entry_id": r.get("entry_id") or entry_key(r["feed_id"], r.get("guid"),
                                                             r.get("link"), r.get("title"))}
            for r in rows]
    if not rows:
        return {}
    cols = ", ".join(ENTRY_COLUMNS)
    with _registered(con, "batch", _batch(rows, ENTRY_COLUMNS)):
        new = con.execute(f"INSERT INTO entries ({cols}) SELECT {cols} FROM batch "
                          "ON CONFLICT DO NOTHING RETURNING entry_id, feed_id").fetchall()
    by_feed: dict[str, int] = {}
    for _, feed_id in new:
        by_feed[feed_id] = by_feed.get(feed_id, 0) + 1
    new_ids = {entry_id for entry_id, _ in new}
    queue = {r["entry_id"]: {**r, "article_url": article_url_of_entry(r["entry_id"], r.get("canonical_url"))}
             for r in rows if r["entry_id"] in new_ids}
    known = known_articles(con, [q["article_url"] for q in queue.values()])
    insert_rows(con, "pending", [q for q in queue.values() if q["article_url"] not in known],
                PENDING_COLUMNS)
    return by_feed


def article_url_of_entry(entry_id: str, canonical_url: str | None) -> str:
    """The article key of an entry: its canonical link, or the entry itself when it has none."""
    return canonical_url or f"urn:seedwatch:entry:{entry_id}"


def pending_entries(con: Con, limit: int, after: tuple[Any, str] | None = None) -> list[dict[str, Any]]:
    """Entries whose article is not stored yet (new ones, or left over by a crashed run), one
    per article key, oldest first: read from the `pending` queue, so the cost follows the
    queue, not the warehouse. `after` = (first_seen, entry_id) of the last entry taken:
    continue after it (the next batch, while the previous one is not stored yet)."""
    where, params = "", []
    if after is not None:
        where = "AND (first_seen > ? OR (first_seen = ? AND entry_id > ?))"
        params = [after[0], after[0], after[1]]
    # The first entry of each article is picked from the key columns alone (arg_min over
    # (first_seen, entry_id), which is unique): a window numbering whole rows carried every
    # title, summary and body through its sort, 11 ms a batch against 6 with 10,000 queued.
    cur = con.execute(f"""
        SELECT * FROM pending
        WHERE entry_id IN (SELECT arg_min(entry_id, (first_seen, entry_id)) FROM pending
                           GROUP BY article_url) {where}
        ORDER BY first_seen, entry_id LIMIT {int(limit)}""", params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def known_articles(con: Con, canonical_urls: Iterable[str]) -> set[str]:
    """Which of these canonical URLs are already stored as articles."""
    return _values_in(con, "SELECT canonical_url FROM articles JOIN probe ON canonical_url = v",
                      canonical_urls)


def article_key(canonical: str) -> str:
    return key(canonical)


def insert_articles(con: Con, rows: Sequence[dict[str, Any]]) -> int:
    """Store articles (known ones are skipped) and take their entries off the `pending` queue."""
    rows = [{**r, "article_id": r.get("article_id") or article_key(r["canonical_url"])} for r in rows]
    # The conflict target matters: with no target DuckDB checks a row against both unique
    # indexes (article_id, canonical_url) by a path whose cost grows with the table (0.6 s for
    # 200 rows at 1M articles, against milliseconds). article_id is a hash of canonical_url,
    # so a conflict on one is a conflict on the other.
    added = insert_rows(con, "articles", rows, ARTICLE_COLUMNS, on_conflict="(article_id) DO NOTHING")
    if rows:
        with _registered(con, "done", frame(v=[r["canonical_url"] for r in rows])):
            con.execute("DELETE FROM pending WHERE article_url IN (SELECT v FROM done)")
    return added


def insert_scores(con: Con, rows: Sequence[dict[str, Any]]) -> int:
    return insert_rows(con, "scores", rows, SCORE_COLUMNS)


# --- runs ------------------------------------------------------------------------------------

def start_run(con: Con, run_id: str) -> None:
    con.execute("INSERT INTO runs (run_id, started_at) VALUES (?, now()) ON CONFLICT DO NOTHING",
                [run_id])


def finish_run(con: Con, run_id: str, summary: dict[str, Any]) -> None:
    con.execute("UPDATE runs SET finished_at = now(), summary = ? WHERE run_id = ?",
                [json.dumps(summary, ensure_ascii=False, default=str), run_id])


def close_abandoned_runs(con: Con, current_run_id: str) -> list[str]:
    """Mark `interrupted` every run without an end other than `current_run_id`: the caller holds
    the warehouse's run lock, so none of them is still going (its process died). Such a run
    ends at its last recorded fetch (or its start)."""
    open_runs = [r[0] for r in con.execute(
        "SELECT run_id FROM runs WHERE finished_at IS NULL AND run_id <> ?", [current_run_id]).fetchall()]
    if not open_runs:  # the usual case: no scan of the fetch log
        return []
    con.execute(
        """UPDATE runs SET finished_at = coalesce(
               (SELECT max(f.fetched_at) FROM fetch_log f WHERE f.run_id = runs.run_id), runs.started_at),
           summary = json_object('interrupted', true, 'closed_by', ?::TEXT)
           WHERE list_contains(?, run_id)""", [current_run_id, open_runs])
    return open_runs


def table_counts(con: Con, tables: Sequence[str] = ("feeds", "entries", "articles", "scores",
                                                      "alerts")) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def matches(con: Con, run_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Positive decisions, newest first; only those first stored by `run_id` when given."""
    where = "WHERE s.decision" + (" AND a.run_id = ?" if run_id else "")
    params: list[Any] = [run_id] if run_id else []
    cur = con.execute(f"""
        SELECT a.article_id, s.topic, s.score, a.title, a.canonical_url, f.name AS outlet,
               a.published, a.language, s.explanation
        FROM scores s JOIN articles a USING (article_id) LEFT JOIN feeds f ON f.feed_id = a.feed_id
        {where} ORDER BY s.score DESC LIMIT {int(limit)}""", params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


# --- raw page archive index --------------------------------------------------------------------

ARCHIVE_COLUMNS = ("article_id", "url", "final_url", "status", "content_type", "bytes", "fetched_at",
                   "warc_file", "warc_offset", "warc_length", "run_id")


def index_archived_pages(con: Con, rows: Sequence[dict[str, Any]]) -> int:
    return insert_rows(con, "page_archive", rows, ARCHIVE_COLUMNS)


def archived_locations(con: Con, since: datetime | None = None) -> list[dict[str, Any]]:
    """Where the latest archived page of each stored article is (fetched since `since`), in
    file order, so the archive is read sequentially."""
    cond, params = ("WHERE fetched_at >= ?", [since]) if since is not None else ("", [])
    cur = con.execute(f"""
        SELECT p.article_id, p.warc_file, p.warc_offset, p.warc_length, p.final_url
        FROM (SELECT * FROM page_archive {cond}
              QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY fetched_at DESC) = 1) p
        WHERE EXISTS (SELECT 1 FROM articles a WHERE a.article_id = p.article_id)
        ORDER BY p.warc_file, p.warc_offset""", params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def article_texts(con: Con, article_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored text, its source, extractor and hash of these articles, by id."""
    cols = ("article_id", "text", "text_source", "extractor", "content_hash")
    with _registered(con, "ids", frame(v=article_ids)):
        rows = con.execute(f"SELECT {', '.join(cols)} FROM articles JOIN ids ON article_id = v").fetchall()
    return {r[0]: dict(zip(cols, r)) for r in rows}


def forget_archive_days(con: Con, days: Sequence[str]) -> None:
    """Drop the index rows of deleted archive day folders ('YYYY/MM/DD')."""
    if days:
        with _registered(con, "gone", frame(v=[d + "/" for d in days])):
            con.execute("DELETE FROM page_archive WHERE EXISTS "
                        "(SELECT 1 FROM gone WHERE starts_with(page_archive.warc_file, gone.v))")


# --- robots.txt cache ---------------------------------------------------------------------

ROBOTS_COLUMNS = ("origin", "rule", "status", "body", "error", "fetched_at", "expires_at")


def robots_entries(con: Con) -> list[dict[str, Any]]:
    """Every cached robots.txt (one row per origin; a few thousand at most)."""
    cur = con.execute(f"SELECT {', '.join(ROBOTS_COLUMNS)} FROM robots_txt")
    return [dict(zip(ROBOTS_COLUMNS, r)) for r in cur.fetchall()]


def save_robots(con: Con, rows: Sequence[dict[str, Any]]) -> None:
    sets = ", ".join(f"{c} = excluded.{c}" for c in ROBOTS_COLUMNS if c != "origin")
    insert_rows(con, "robots_txt", rows, ROBOTS_COLUMNS, on_conflict=f"(origin) DO UPDATE SET {sets}")


# --- pages fetched again after a temporary failure -------------------------------------------

RETRY_COLUMNS = ("article_id", "link", "attempts", "next_attempt_at", "last_error", "created_at")
UPGRADE_COLUMNS = ("article_id", "url", "text", "text_source", "extractor", "author", "site",
                   "content_hash", "fallback_reason")


def schedule_page_retries(con: Con, rows: Sequence[dict[str, Any]]) -> int:
    """Queue pages to fetch again (an article already queued keeps its schedule)."""
    return insert_rows(con, "page_retries", rows, RETRY_COLUMNS)


def due_page_retries(con: Con, now: datetime, limit: int) -> list[dict[str, Any]]:
    cur = con.execute(f"""
        SELECT r.article_id, r.link, r.attempts, a.title, a.language, a.canonical_url, a.feed_id
        FROM page_retries r JOIN articles a USING (article_id)
        WHERE r.next_attempt_at <= ? ORDER BY r.next_attempt_at LIMIT {int(limit)}""", [now])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def upgrade_articles(con: Con, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the stand-in text of articles by their page's text."""
    if not rows:
        return
    sets = ", ".join(f"{c} = b.{c}" for c in UPGRADE_COLUMNS if c != "article_id")
    with _registered(con, "batch", _batch(rows, UPGRADE_COLUMNS)):
        con.execute(f"UPDATE articles SET {sets}, updated_at = now() FROM batch b "
                    "WHERE articles.article_id = b.article_id")


def replace_scores(con: Con, rows: Sequence[dict[str, Any]]) -> int:
    """Scores of re-scored articles: the same detector version's earlier verdict is replaced.
    `scored_at` is the transaction's time (SQL `now()`), never earlier than the caller's: the
    incremental read snapshot finds changed rows by their times (warehouse/readside.py)."""
    if not rows:
        return 0
    cols = ", ".join(SCORE_COLUMNS)
    picked = ", ".join("greatest(scored_at, now()) AS scored_at" if c == "scored_at" else c
                       for c in SCORE_COLUMNS)
    with _registered(con, "batch", _batch(rows, SCORE_COLUMNS)):
        return con.execute(
            f"INSERT INTO scores ({cols}) SELECT {picked} FROM batch "
            "ON CONFLICT (article_id, topic, detector_version) DO UPDATE SET score = excluded.score, "
            "decision = excluded.decision, explanation = excluded.explanation, "
            "scored_at = excluded.scored_at").fetchone()[0]


def finish_page_retries(con: Con, done: Sequence[str], again: Sequence[dict[str, Any]]) -> None:
    """Drop the retries that are over (page arrived, or given up); reschedule the others."""
    if done:
        with _registered(con, "done", frame(v=done)):
            con.execute("DELETE FROM page_retries WHERE article_id IN (SELECT v FROM done)")
    if again:
        cols = ("article_id", "attempts", "next_attempt_at", "last_error")
        with _registered(con, "batch", _batch(again, cols)):
            con.execute("""UPDATE page_retries SET attempts = b.attempts,
                           next_attempt_at = b.next_attempt_at, last_error = b.last_error
                           FROM batch b WHERE page_retries.article_id = b.article_id""")
