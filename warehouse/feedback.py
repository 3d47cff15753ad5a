"""The analyst's feedback: the inbox the web UI appends to, its intake by the flow, and the
labelled articles of a topic for the detector and for evaluation.

The flow is the warehouse's only writer, and the UI must never wait for it or make it wait.
So a click in the UI is appended, as one JSON line, to the *inbox* next to the warehouse
(`warehouse.duckdb` -> `warehouse.inbox.jsonl`), under an exclusive `flock` and fsynced. The next
run reads the whole inbox and inserts every record it has not taken in yet (`ingest_inbox`),
keyed by the record's id, in one transaction: a record is never lost (the file is never
rewritten) and never taken in twice (a rerun inserts nothing). A line cut short by a crash has
no newline yet and is left for later; a line that is not a valid record is skipped and counted.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb

from warehouse.store import _registered, frame, insert_rows, key, set_feed_enabled

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

Con = duckdb.DuckDBPyConnection
LABELS = ("relevant", "not_relevant")
KINDS = ("feedback", "feed_enable", "feed_disable")
FEED_REQUESTS = ("feed_enable", "feed_disable")
MAX_ARTICLES_PER_CLICK = 10_000
FEEDBACK_COLUMNS = ("feedback_id", "click_id", "topic", "article_id", "story_id", "label",
                    "given_at", "source", "ingested_at", "run_id")


class InboxError(ValueError):
    """A record that cannot be queued (bad label, empty subject, ...)."""


def inbox_path(warehouse: str | Path) -> Path:
    """`<folder>/<name>.inbox.jsonl` for the warehouse `<folder>/<name>.duckdb`."""
    path = Path(warehouse)
    return path.with_name(f"{path.stem}.inbox.jsonl")


# --- the inbox file ------------------------------------------------------------------------------

@contextlib.contextmanager
def _locked(path: Path, flags: int, lock: int) -> Iterator[int]:
    fd = os.open(path, flags, 0o644)
    try:
        fcntl.flock(fd, lock)
        yield fd
    finally:
        os.close(fd)  # also releases the lock


def _now() -> datetime:
    return datetime.now(timezone.utc)


def append_record(warehouse: str | Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append one checked record to the inbox (durably); returns it with its id and time."""
    record = {"id": uuid.uuid4().hex, "at": _now().isoformat(), "source": "ui", **record}
    checked = parse_record(record)  # refuse what ingestion would refuse
    if checked is None:
        raise InboxError(f"not a valid inbox record: {record!r:.200}")
    line = (json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")
    path = inbox_path(warehouse)
    with _locked(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, fcntl.LOCK_EX) as fd:
        os.write(fd, line)
        os.fsync(fd)
    return checked


def queue_feedback(warehouse: str | Path, topic: str, label: str, article_ids: Sequence[str],
                   story_id: str | None = None, source: str = "ui") -> dict[str, Any]:
    """Queue a "relevant" / "not relevant" on articles (the articles of `story_id` for a story)."""
    return append_record(warehouse, {"kind": "feedback", "topic": topic, "label": label,
                                     "article_ids": list(article_ids), "story_id": story_id,
                                     "source": source})


def queue_feed_enable(warehouse: str | Path, feed_id: str, source: str = "ui") -> dict[str, Any]:
    """Queue "enable this feed again"; the next run applies it."""
    return append_record(warehouse, {"kind": "feed_enable", "feed_id": feed_id, "source": source})


def queue_feed_disable(warehouse: str | Path, feed_id: str, reason: str | None = None,
                       source: str = "cli") -> dict[str, Any]:
    """Queue "disable this feed"; the next run applies it."""
    return append_record(warehouse, {"kind": "feed_disable", "feed_id": feed_id,
                                     "reason": reason or "disabled by hand", "source": source})


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _text(value: Any, limit: int = 500) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit and "\x00" not in value else None


def parse_record(obj: Any) -> dict[str, Any] | None:
    """The record in a normal form, or None when it is not a valid inbox record."""
    if not isinstance(obj, dict) or obj.get("kind") not in KINDS:
        return None
    rid, at, source = _text(obj.get("id"), 64), _time(obj.get("at")), _text(obj.get("source"), 40)
    if rid is None or at is None or source is None:
        return None
    if obj["kind"] in FEED_REQUESTS:
        feed = _text(obj.get("feed_id"), 64)
        if feed is None:
            return None
        out = {"id": rid, "kind": obj["kind"], "at": at, "source": source, "feed_id": feed}
        if obj["kind"] == "feed_disable":
            out["reason"] = _text(obj.get("reason"), 200) or "disabled by hand"
        return out
    topic, label = _text(obj.get("topic"), 200), obj.get("label")
    ids = obj.get("article_ids")
    story = obj.get("story_id")
    if topic is None or label not in LABELS or not isinstance(ids, list) or not ids \
            or len(ids) > MAX_ARTICLES_PER_CLICK or not all(_text(i, 64) for i in ids) \
            or not (story is None or _text(story, 64)):
        return None
    return {"id": rid, "kind": "feedback", "at": at, "source": source, "topic": topic,
            "label": label, "article_ids": list(dict.fromkeys(ids)), "story_id": story}


@dataclass
class Inbox:
    records: list[dict[str, Any]]
    bad_lines: int = 0
    incomplete: bool = False  # a last line without its newline (being written, or cut by a crash)


def read_inbox(warehouse: str | Path) -> Inbox:
    """Every valid record of the inbox, in order (none when there is no inbox yet)."""
    path = inbox_path(warehouse)
    try:
        with _locked(path, os.O_RDONLY, fcntl.LOCK_SH) as fd:
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read()
    except FileNotFoundError:
        return Inbox([])
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    records, bad = [], 0
    for raw in lines:
        if not raw.strip():
            continue
        try:
            rec = parse_record(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError):
            rec = None
        if rec is None:
            bad += 1
        else:
            records.append(rec)
    return Inbox(records, bad, bool(tail.strip()))


# --- intake by the flow ----------------------------------------------------------------------------

@dataclass
class IngestReport:
    feedback: int = 0        # feedback rows stored by this intake
    requests: int = 0        # requests applied
    bad_lines: int = 0       # inbox lines that are not valid records (left in the file, skipped)


def feedback_rows(records: Sequence[dict[str, Any]], run_id: str | None, now: datetime
                  ) -> list[dict[str, Any]]:
    rows = []
    for r in records:
        if r["kind"] != "feedback":
            continue
        for aid in r["article_ids"]:
            rows.append({"feedback_id": key(r["id"], aid), "click_id": r["id"], "topic": r["topic"],
                         "article_id": aid, "story_id": r["story_id"], "label": r["label"],
                         "given_at": r["at"], "source": r["source"], "ingested_at": now,
                         "run_id": run_id})
    return rows


def ingest_records(con: Con, records: Sequence[dict[str, Any]], run_id: str | None = None,
                   now: datetime | None = None) -> IngestReport:
    """Store the feedback rows and apply the requests not taken in before (inside the caller's
    transaction). Idempotent: records already in the warehouse change nothing."""
    now = now or _now()
    report = IngestReport()
    report.feedback = insert_rows(con, "feedback", feedback_rows(records, run_id, now), FEEDBACK_COLUMNS)
    requests = [r for r in records if r["kind"] in FEED_REQUESTS]
    if requests:
        done = _known_requests(con, [r["id"] for r in requests])
        for r in requests:
            if r["id"] in done:
                continue
            enable = r["kind"] == "feed_enable"
            found = set_feed_enabled(con, r["feed_id"], enable, r.get("reason"))
            con.execute("INSERT INTO ui_requests VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        [r["id"], r["kind"], r["feed_id"], r["at"], now,
                         "applied" if found else "unknown target", run_id])
            done.add(r["id"])
            report.requests += 1
            log.info("feed %s %s (asked in the %s at %s)", r["feed_id"],
                     "enabled again" if enable else "disabled", r["source"], r["at"])
    return report


def _known_requests(con: Con, ids: Sequence[str]) -> set[str]:
    with _registered(con, "probe", frame(v=ids)):
        return {r for (r,) in con.execute(
            "SELECT request_id FROM ui_requests JOIN probe ON request_id = probe.v").fetchall()}


def ingest_inbox(con: Con, warehouse: str | Path, run_id: str | None = None) -> IngestReport:
    """Take in the inbox of the warehouse at `warehouse` (see `ingest_records`)."""
    inbox = read_inbox(warehouse)
    if inbox.bad_lines:
        log.warning("inbox %s: %d line(s) are not valid records and were skipped",
                    inbox_path(warehouse), inbox.bad_lines)
    report = ingest_records(con, inbox.records, run_id)
    report.bad_lines = inbox.bad_lines
    return report


# --- reading ---------------------------------------------------------------------------------------

def taken_in(con: Con, ids: Sequence[str]) -> set[str]:
    """Which of these inbox record ids the warehouse (or snapshot) `con` has taken in."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return set()
    with _registered(con, "probe", frame(v=ids)):
        rows = con.execute("""SELECT DISTINCT click_id FROM feedback JOIN probe ON click_id = probe.v
                              UNION SELECT request_id FROM ui_requests JOIN probe ON request_id = probe.v
                              """).fetchall()
    return {r for (r,) in rows}


def queued_records(con: Con, warehouse: str | Path) -> list[dict[str, Any]]:
    """Inbox records that `con` (usually the snapshot) does not have yet: clicks waiting for a run."""
    records = read_inbox(warehouse).records
    if not has_feedback_tables(con):
        return records
    done = taken_in(con, [r["id"] for r in records])
    return [r for r in records if r["id"] not in done]


def has_feedback_tables(con: Con) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = 'feedback' AND table_catalog = current_database()"
                            ).fetchall()[0][0])


def _queued_table(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    rows = feedback_rows(records, None, _now())
    return frame(**{c: [r[c] for r in rows] for c in
                    ("topic", "article_id", "story_id", "label", "given_at", "feedback_id")})


def feedback_list(con: Con, topic: str | None = None,
                  queued: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """Every label that counts (the latest per article and topic), newest first, with the
    article's title, outlet, and whether it still waits in the inbox (`queued`)."""
    stored = "SELECT topic, article_id, story_id, label, given_at, feedback_id, FALSE AS queued FROM feedback" \
        if has_feedback_tables(con) else \
        "SELECT NULL::TEXT topic, NULL::TEXT article_id, NULL::TEXT story_id, NULL::TEXT label, " \
        "NULL::TIMESTAMPTZ given_at, NULL::TEXT feedback_id, FALSE AS queued WHERE FALSE"
    with _registered(con, "queued_feedback", _queued_table(queued)):
        cur = con.execute(f"""
            WITH fb AS ({stored}
                        UNION ALL SELECT *, TRUE AS queued FROM queued_feedback),
            latest AS (SELECT * FROM fb WHERE $topic IS NULL OR topic = $topic
                       QUALIFY row_number() OVER (PARTITION BY topic, article_id
                           ORDER BY given_at DESC, (story_id IS NULL) DESC, queued DESC, feedback_id DESC) = 1)
            SELECT l.topic, l.article_id, l.story_id, l.label, l.given_at, l.queued,
                   a.title, a.text, a.language, o.outlet, a.canonical_url
            FROM latest l JOIN articles a USING (article_id)
            LEFT JOIN article_outlets o USING (article_id)
            ORDER BY l.given_at DESC, l.article_id""", {"topic": topic})
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


def labelled_items(con: Con, topic: str, queued: Sequence[dict[str, Any]] = ()
                   ) -> list[tuple[str, str, str, str | None, str, datetime]]:
    """The analyst's labelled articles of `topic`, oldest label first, as
    (article_id, title, text, lang, label, given_at); label is "relevant" or "not_relevant".

    One item per article: its latest label. `queued` adds inbox records not taken in yet (see
    `queued_records`). Works on the warehouse inside a run and on the snapshot."""
    rows = feedback_list(con, topic, queued)
    return [(r["article_id"], r["title"] or "", r["text"] or "", r["language"], r["label"], r["given_at"])
            for r in reversed(rows)]


def read_labelled_items(warehouse: str | Path, topic: str, include_queued: bool = True
                        ) -> list[tuple[str, str, str, str | None, str, datetime]]:
    """`labelled_items` read from the snapshot (never blocks the flow), with the clicks still
    waiting in the inbox unless `include_queued` is False."""
    from warehouse.query import reading

    with reading(warehouse) as (_, con):
        queued = queued_records(con, warehouse) if include_queued else []
        return labelled_items(con, topic, queued)
