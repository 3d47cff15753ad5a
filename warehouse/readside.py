"""The incremental read snapshot: what a run added, as Parquet parts, behind a small catalog file.

The full copy (`snapshot.copy_snapshot`) costs time in proportion to the whole warehouse. Here a
refresh costs what the run changed:

* `<name>.read/` beside the warehouse holds Parquet files. Each big table is a list of *parts*:
  the first refresh writes all its rows, every later one only the rows changed since the
  previous refresh (each table says how to find them: `SPECS`). Every row carries `_seq`, the
  number of the refresh that wrote it.
* A row that changed after it was written (an article's text upgraded, a score replaced, a
  story grown, an alert delivered) is written again in the new part, and its key goes to a
  *tombstone* file with the new `_seq`: the view hides the older copies.
* Small tables (feeds, queues, robots.txt, schema_migrations, and any table this module does
  not know, such as ones added by later migrations) are written whole every refresh.
* `<name>.snapshot.duckdb`, the file readers open (`seedwatch sql`, the DuckDB CLI, export),
  is rebuilt each refresh: no data, only views: one per table over its files, then the
  warehouse's own views (recent_matches, feed_health, ...) with their SQL, which then read the
  table views. It is written beside and swapped in with a rename, so a reader keeps the catalog
  it opened; files it may still list are deleted only an hour after they left the manifest.
* Parts are merged as they accumulate (8 of a size into one, size-tiered), so a table keeps a few
  dozen files; parts of more than `MERGE_MAX_ROWS` rows are left alone, so a merge is bounded too.
* `manifest.json` records the parts, tombstones, the watermark (the time of the last export),
  the schema version, each table's row count and where the folder is. A missing or unreadable
  manifest, a new migration or a moved folder rebuilds everything once; a table whose row count
  no longer adds up (rows deleted, as archive retention does to `page_archive`) is written
  whole again.
* Readers are sealed (`warehouse.query.open_sealed`): the catalog lists its Parquet files in
  `seedwatch_read.files`, a reader allows exactly those (DuckDB `allowed_paths`) and then turns
  external access off, so user SQL reads the snapshot and no other file.

Change capture is by time: a row counts as changed when one of its timestamps is after the
previous refresh's transaction began, or when it was "open" at the previous refresh (a run not
finished yet: `Spec.open`), since closing it may set a time from the past. The flow writes before it refreshes, and DuckDB lets one
process at a time hold the file, so another writer (a CLI command) either committed before the
refresh began or starts after it ended. A writer that takes a timestamp in Python, then waits
for the file across a whole refresh, would be missed: writers outside the flow set their
timestamps in SQL (`now()`).
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

log = logging.getLogger(__name__)

MERGE_FANOUT = 8
MERGE_MAX_ROWS = 2_000_000
RETIRED_GRACE_SECONDS = 3600.0
TABLE_COMMENT = "seedwatch table (read snapshot)"
FILES_SCHEMA = "seedwatch_read"
FILES_TABLE = f"{FILES_SCHEMA}.files"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Spec:
    # Rows to write again: SQL conditions over the table (any of them), `{wm}` is the previous
    # watermark. Kept apart, not OR-ed, so that DuckDB can push each into the scan and skip
    # the row groups (and the text columns) the condition excludes.
    changed: str | tuple[str, ...]
    born: str | None = None  # None: rows never change once written (no tombstones needed)
    key: tuple[str, ...] = ()
    # Rows that may still change without a newer timestamp; their keys are kept in the
    # manifest and those rows are written again by the next refresh.
    open: str | None = None

    def changed_sql(self, wm: str) -> list[str]:
        """The conditions made exclusive (each also excludes the earlier ones), for UNION ALL."""
        conds = [self.changed] if isinstance(self.changed, str) else list(self.changed)
        conds = [c.format(wm=wm) for c in conds]
        return [" AND ".join([f"({c})"] + [f"coalesce(NOT ({e}), TRUE)" for e in conds[:i]])
                for i, c in enumerate(conds)]


SPECS: dict[str, Spec] = {
    "entries": Spec("first_seen > {wm}"),
    "fetch_log": Spec("fetched_at > {wm}"),
    "article_groups": Spec("grouped_at > {wm}"),
    "article_sketches": Spec("seen_at > {wm}"),
    "neardup_bands": Spec("seen_at > {wm}"),
    "story_members": Spec("joined_at > {wm}"),
    "alert_attempts": Spec("attempted_at > {wm}"),
    "alert_stories": Spec("alert_id IN (SELECT alert_id FROM alerts WHERE created_at > {wm})"),
    "page_archive": Spec("fetched_at > {wm}"),
    "articles": Spec(("first_seen > {wm}", "updated_at > {wm}"), "first_seen > {wm}", ("article_id",)),
    "scores": Spec("scored_at > {wm}",
                   "article_id IN (SELECT article_id FROM articles WHERE first_seen > {wm})",
                   ("article_id", "topic", "detector_version")),
    "alerts": Spec(("created_at > {wm}", "delivered_at > {wm}", "status IN ('pending', 'sending')",
                    "alert_id IN (SELECT alert_id FROM alert_attempts WHERE attempted_at > {wm})"),
                   "created_at > {wm}", ("alert_id",)),
    "stories": Spec(("created_at > {wm}", "updated_at > {wm}"), "created_at > {wm}", ("story_id",)),
    "runs": Spec(("started_at > {wm}", "finished_at > {wm}"), "started_at > {wm}", ("run_id",),
                 open="finished_at IS NULL"),
}


def read_dir(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem}.read")


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _lit(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _level(rows: int) -> int:
    return int(math.log(max(rows, 1), MERGE_FANOUT))


class ReadSide:
    """The Parquet parts and catalog of the warehouse at `path` (used by the single writer)."""

    def __init__(self, path: str | Path, catalog: str | Path):
        # Absolute paths: the views name their files, and readers allow exactly those.
        self.path = Path(os.path.abspath(path))
        self.dir = read_dir(self.path)
        self.catalog = Path(os.path.abspath(catalog))
        self.manifest_path = self.dir / "manifest.json"

    # --- manifest ---------------------------------------------------------------------------
    def _load(self) -> dict[str, Any] | None:
        try:
            m = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return m if m.get("version") == MANIFEST_VERSION else None

    def _save(self, m: dict[str, Any]) -> None:
        tmp = self.manifest_path.with_name("manifest.json.tmp")
        tmp.write_text(json.dumps(m, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, self.manifest_path)

    # --- refresh ----------------------------------------------------------------------------
    def refresh(self, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        """Write what changed since the last refresh and swap in a new catalog. Returns timings
        and counts (what `make bench` prints). On one DuckDB thread: each thread of a Parquet
        COPY holds its own row groups and scan buffers, and the first (full) build of a
        10,000-article warehouse grew a fresh process by 247 MB on two threads, 110 MB on one;
        later refreshes write only what a run added."""
        threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
        con.execute("SET threads = 1")
        try:
            return self._refresh(con)
        finally:
            con.execute(f"SET threads = {int(threads)}")

    def _refresh(self, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        started = time.perf_counter()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "parts").mkdir(exist_ok=True)
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' AND table_catalog = current_database() "
            "ORDER BY table_name").fetchall()]
        version = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
        m = self._load()
        full = m is None or m.get("schema_version") != version or m.get("tables_known") != sorted(
            t for t in tables if t in SPECS) or m.get("root") != str(self.dir)
        if full:
            old = m
            m = {"version": MANIFEST_VERSION, "schema_version": version, "seq": 0, "watermark": None,
                 "tables": {}, "retired": [], "tables_known": sorted(t for t in tables if t in SPECS),
                 "root": str(self.dir)}
            if old and old.get("root") != str(self.dir):
                old = None  # a moved folder: the old file names mean nothing here
            if old:  # everything the old catalog listed is retired, not deleted at once
                m["retired"] = old.get("retired", []) + [
                    {"file": f, "at": time.time()} for f in _files_of(old)]
        seq = m["seq"] + 1
        written = {"rows": 0, "files": 0, "tombstones": 0, "merged_rows": 0}
        con.execute("BEGIN")
        try:
            wm_now = con.execute("SELECT now()").fetchone()[0]
            wm = m["watermark"]
            for t in tables:
                self._export(con, t, m, seq, None if full else wm, written)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        m["seq"], m["watermark"] = seq, str(wm_now)
        export_s = time.perf_counter() - started
        for t in tables:
            self._compact(con, t, m, written)
        # Tables dropped from the warehouse leave the catalog.
        for t in [t for t in m["tables"] if t not in tables]:
            self._retire(m, _files_of({"tables": {t: m["tables"].pop(t)}}))
        self._write_catalog(con, m)
        self._save(m)
        self._collect(m)
        return {"full": full, "seq": seq, "seconds": round(time.perf_counter() - started, 4),
                "export_seconds": round(export_s, 4), **written}

    def _new_file(self, table: str, kind: str, seq: int) -> tuple[str, Path]:
        rel = f"parts/{table}/{seq:08d}-{kind}-{uuid.uuid4().hex[:6]}.parquet"
        p = self.dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return rel, p

    def _copy(self, con: duckdb.DuckDBPyConnection, select: str, target: Path) -> int:
        # Row groups of 4,096 rows (the default is 122,880): DuckDB buffers a whole row group
        # per column before writing it, so a table of long texts would be held whole.
        return int(con.execute(f"COPY ({select}) TO {_lit(target)} "
                               "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 4096)").fetchone()[0])

    def _export(self, con, table: str, m: dict, seq: int, wm: str | None, written: dict) -> None:
        spec = SPECS.get(table)
        entry = m["tables"].setdefault(table, {"parts": [], "tombs": []})
        qt = _q(table)
        count = con.execute(f"SELECT count(*) FROM {qt}").fetchone()[0]
        if spec is not None and wm is not None and "count" in entry:
            added = self._export_changes(con, table, spec, entry, seq, wm, written)
            if entry["count"] + added == count:
                entry["count"] = count
                self._note_open(con, table, spec, entry)
                return
            # Rows went missing (deleted), or new keys arrived for old rows: write it whole.
            log.info("read snapshot: %s written whole (%d rows expected, %d found)",
                     table, entry["count"] + added, count)
        # Whole table: small tables every time, every table on a full build.
        rel, p = self._new_file(table, "all", seq)
        rows = self._copy(con, f"SELECT *, {seq}::BIGINT AS _seq FROM {qt}", p)
        self._retire(m, [x["file"] for x in entry["parts"]] + entry["tombs"])
        entry["parts"], entry["tombs"] = [{"file": rel, "rows": rows, "seq": seq}], []
        entry["mode"] = "parts" if spec is not None else "whole"
        entry["count"] = rows
        written["rows"] += rows
        written["files"] += 1
        if spec is not None:
            self._note_open(con, table, spec, entry)

    def _note_open(self, con, table: str, spec: Spec, entry: dict) -> None:
        if spec.open is not None:
            keys = ", ".join(_q(k) for k in spec.key)
            entry["open"] = [list(map(str, r)) for r in con.execute(
                f"SELECT {keys} FROM {_q(table)} WHERE {spec.open}").fetchall()]

    def _export_changes(self, con, table: str, spec: Spec, entry: dict, seq: int, wm: str,
                        written: dict) -> int:
        """Write the rows changed since `wm` as a part (and tombstones for the older copies);
        returns how many rows the table gained by them (new rows, not rewritten ones)."""
        qt = _q(table)
        w = f"TIMESTAMPTZ {_lit(wm)}"
        alternatives = spec.changed_sql(w)
        if entry.get("open"):  # rows open at the last refresh, however their times look now
            keys = ", ".join(_q(k) for k in spec.key)
            listed = ", ".join("(" + ", ".join(_lit(v) for v in k) + ")" for k in entry["open"])
            opened = f"({keys}) IN (SELECT * FROM (VALUES {listed}))"
            alternatives += [f"({opened}) AND " + " AND ".join(f"coalesce(NOT ({a}), TRUE)"
                                                               for a in alternatives)]
        rel, p = self._new_file(table, "part", seq)
        select = " UNION ALL ".join(f"SELECT *, {seq}::BIGINT AS _seq FROM {qt} WHERE {c}" for c in alternatives)
        rows = self._copy(con, select, p)
        if rows == 0:
            p.unlink(missing_ok=True)
            return 0
        entry["parts"].append({"file": rel, "rows": rows, "seq": seq})
        written["rows"] += rows
        written["files"] += 1
        if spec.born is None:
            return rows
        keys = ", ".join(_q(k) for k in spec.key)
        trel, tp = self._new_file(table, "tomb", seq)
        n = self._copy(con, " UNION ALL ".join(
            f"SELECT {keys}, {seq}::BIGINT AS _seq FROM {qt} WHERE {c} AND NOT ({spec.born.format(wm=w)})"
            for c in alternatives), tp)
        if n:
            entry["tombs"].append(trel)
            written["tombstones"] += n
        else:
            tp.unlink(missing_ok=True)
        return rows - n

    def _compact(self, con, table: str, m: dict, written: dict) -> None:
        """Merge the newest parts while MERGE_FANOUT of them share a size level."""
        entry = m["tables"].get(table)
        if not entry:
            return
        spec = SPECS.get(table)
        while True:
            parts = entry["parts"]
            tail = []
            for part in reversed(parts):
                if part["rows"] >= MERGE_MAX_ROWS or (tail and _level(part["rows"]) != _level(tail[0]["rows"])):
                    break
                tail.insert(0, part)
            if len(tail) < MERGE_FANOUT:
                break
            files = "[" + ", ".join(_lit(self.dir / x["file"]) for x in tail) + "]"
            select = f"SELECT * FROM read_parquet({files})"
            if spec is not None and spec.key:
                keys = ", ".join(_q(k) for k in spec.key)
                select += f" QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY _seq DESC) = 1"
            rel, p = self._new_file(table, "merged", tail[-1]["seq"])
            rows = self._copy(con, select, p)
            written["merged_rows"] += rows
            entry["parts"] = parts[:len(parts) - len(tail)] + [{"file": rel, "rows": rows, "seq": tail[-1]["seq"]}]
            self._retire(m, [x["file"] for x in tail])
        if len(entry["tombs"]) >= MERGE_FANOUT and spec is not None:
            keys = ", ".join(_q(k) for k in spec.key)
            files = "[" + ", ".join(_lit(self.dir / f) for f in entry["tombs"]) + "]"
            rel, p = self._new_file(table, "tombs", m["seq"])
            self._copy(con, f"SELECT {keys}, max(_seq) AS _seq FROM read_parquet({files}) GROUP BY ALL", p)
            self._retire(m, entry["tombs"])
            entry["tombs"] = [rel]

    def _retire(self, m: dict, files: list[str]) -> None:
        now = time.time()
        m["retired"] += [{"file": f, "at": now} for f in files]

    def _collect(self, m: dict) -> None:
        """Delete retired files once no reader can still be listing them."""
        keep, now = [], time.time()
        for r in m["retired"]:
            if now - r["at"] >= RETIRED_GRACE_SECONDS:
                (self.dir / r["file"]).unlink(missing_ok=True)
            else:
                keep.append(r)
        # Files no manifest lists (a refresh that died before saving its manifest) go too.
        known = set(_files_of(m)) | {r["file"] for r in keep}
        for f in (self.dir / "parts").rglob("*.parquet"):
            rel = str(f.relative_to(self.dir))
            if rel not in known and now - f.stat().st_mtime >= RETIRED_GRACE_SECONDS:
                f.unlink(missing_ok=True)
        if len(keep) != len(m["retired"]):
            m["retired"] = keep
            self._save(m)

    # --- the catalog readers open -----------------------------------------------------------
    def _write_catalog(self, con: duckdb.DuckDBPyConnection, m: dict) -> None:
        from warehouse.db import STORAGE_COMPATIBILITY
        views = con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal "
                            "AND schema_name = 'main' AND database_name = current_database() "
                            "ORDER BY view_oid").fetchall()
        tmp = self.catalog.with_name(self.catalog.name + ".tmp")
        tmp.unlink(missing_ok=True)
        cat = duckdb.connect(str(tmp), config={"storage_compatibility_version": STORAGE_COMPATIBILITY})
        try:
            cat.execute("BEGIN")
            for table, entry in sorted(m["tables"].items()):
                cat.execute(table_view_sql(self.dir, table, entry, SPECS.get(table)))
                cat.execute(f"COMMENT ON VIEW {_q(table)} IS {_lit(TABLE_COMMENT)}")
            # The files the views read: what a sealed reader allows (warehouse.query.open_sealed).
            cat.execute(f"CREATE SCHEMA {FILES_SCHEMA}")
            cat.execute(f"CREATE TABLE {FILES_TABLE} (path TEXT NOT NULL)")
            cat.execute(f"INSERT INTO {FILES_TABLE} SELECT unnest(?::TEXT[])",
                        [sorted({str(self.dir / f) for f in _files_of(m)})])
            cat.execute("COMMIT")
            # The warehouse's views, each after the views it reads: in dependency order, in one
            # transaction; should that fail, one by one in passes until none is left.
            ordered = _dependency_order(views)
            try:
                cat.execute("BEGIN")
                for _, sql in ordered:
                    cat.execute(sql)
                cat.execute("COMMIT")
                todo = []
            except duckdb.Error:
                cat.execute("ROLLBACK")
                todo = ordered
            while todo:
                failed = []
                for name, sql in todo:
                    try:
                        cat.execute(sql)
                    except duckdb.CatalogException:
                        failed.append((name, sql))
                if len(failed) == len(todo):
                    for name, _ in failed:
                        log.warning("read snapshot: view %s skipped: it reads a missing relation", name)
                    break
                todo = failed
        finally:
            cat.close()
        os.replace(tmp, self.catalog)


def table_view_sql(root: Path, table: str, entry: dict, spec: Spec | None) -> str:
    files = "[" + ", ".join(_lit(root / x["file"]) for x in entry["parts"]) + "]"
    body = f"SELECT * EXCLUDE (_seq) FROM read_parquet({files}) p"
    if entry.get("tombs") and spec is not None and spec.key:
        tombs = "[" + ", ".join(_lit(root / f) for f in entry["tombs"]) + "]"
        on = " AND ".join(f"t.{_q(k)} = p.{_q(k)}" for k in spec.key)
        body += f" WHERE NOT EXISTS (SELECT 1 FROM read_parquet({tombs}) t WHERE {on} AND t._seq > p._seq)"
    return f"CREATE VIEW {_q(table)} AS {body}"


def _dependency_order(views: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Views ordered so that each comes after the views its SQL names."""
    names = {n for n, _ in views}
    deps = {n: {o for o in names if o != n and re.search(rf"\b{re.escape(o)}\b", sql)} for n, sql in views}
    by_name, done, out = dict(views), set(), []

    def visit(n: str, path: frozenset) -> None:
        if n in done or n in path:
            return
        for d in sorted(deps[n]):
            visit(d, path | {n})
        done.add(n)
        out.append((n, by_name[n]))

    for n, _ in views:
        visit(n, frozenset())
    return out


def _files_of(m: dict) -> list[str]:
    out = []
    for entry in m.get("tables", {}).values():
        out += [x["file"] for x in entry.get("parts", [])] + list(entry.get("tombs", []))
    return out
