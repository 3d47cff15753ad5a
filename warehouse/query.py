"""`seedwatch sql`: read-only SQL on the warehouse while the monitor writes it.

DuckDB lets one process write a file or many read it, never both. Queries therefore read the
snapshot that the flow refreshes after each run (`snapshot.py`): it never blocks the flow, and
the flow never blocks it; the price is that it is up to one run old. Before the first run has
finished there is no snapshot, and a query opens the main file read-only instead, waiting
briefly while the flow holds it (the flow in turn waits for the query; no write is lost).

Every statement opens a fresh connection and closes it at once, so an open prompt holds no
file between statements and always reads the latest snapshot.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, TextIO
from uuid import UUID

import duckdb

from seedwatch.safetext import clean
from warehouse.db import WarehouseError, damaged, is_damage, migrations, open_connection
from warehouse.snapshot import snapshot_path

# How long a read of the main file (no snapshot yet) waits for the flow's short transactions.
READ_LOCK_TIMEOUT = 15.0
# Table output shows at most this many rows (first and last halves); use --csv/--json for all.
MAX_TABLE_ROWS = 1000
FORMATS = ("table", "csv", "json")


# --- what is read ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """The file a query reads: the snapshot, or the main warehouse file when there is none."""
    path: Path
    kind: str  # "snapshot" | "warehouse"

    def age_seconds(self) -> float:
        return max(0.0, time.time() - self.path.stat().st_mtime)

    def describe(self) -> str:
        if self.kind == "snapshot":
            return (f"snapshot {self.path} (taken {_ago(self.age_seconds())} ago, after the last "
                    "run; up to one run old)")
        return (f"warehouse {self.path} read-only (no snapshot yet: live data; a query waits "
                "while the monitor writes)")


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def source_for(path: str | Path) -> Source:
    """The snapshot of the warehouse at `path` if there is one, else the warehouse itself."""
    path = Path(path)
    snap = snapshot_path(path)
    if snap.is_file():
        return Source(snap, "snapshot")
    if path.is_file():
        return Source(path, "warehouse")
    raise WarehouseError(f"no warehouse at {path} yet: run `seedwatch run` (or `seedwatch demo`) first")


# A query touches no file but the one it reads: no COPY ... TO (which could overwrite the
# warehouse itself), EXPORT DATABASE, ATTACH, read_text/read_csv of other files, extension
# downloads. Parquet goes through `seedwatch export`, which opens its own connection with
# `sealed=False`. At connect time no extension is installed or loaded; `seal` then shuts the
# rest (see there). DuckDB refuses to turn any of it back on within the connection.
SEALED = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
_SEAL_LOCK = threading.Lock()


def snapshot_files(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The Parquet files an incremental snapshot's views read (none for a copied snapshot or
    the main file): `warehouse.readside` lists them in its catalog."""
    from warehouse.readside import FILES_SCHEMA, FILES_TABLE
    known = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                        "AND schema_name = ? AND table_name = 'files'", [FILES_SCHEMA]).fetchone()[0]
    return [p for (p,) in con.execute(f"SELECT path FROM {FILES_TABLE}").fetchall()] if known else []


def seal(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Let `con` read its database file and the snapshot's own Parquet files (DuckDB
    `allowed_paths`) and no other file, then lock the configuration (no `SET` can reopen it,
    nor point profiling output at a file). Settings belong to the database instance, which
    DuckDB shares between the connections of one process to one file: the first seals it."""
    with _SEAL_LOCK:
        if con.execute("SELECT current_setting('lock_configuration')").fetchone()[0]:
            return con
        if con.execute("SELECT current_setting('enable_external_access')").fetchone()[0]:
            files = snapshot_files(con)
            if files:
                con.execute("SET allowed_paths = ?", [files])
            con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    return con


def open_sealed(path: str | Path, lock_timeout: float = READ_LOCK_TIMEOUT) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse or its snapshot that can read nothing else."""
    con = open_connection(path, read_only=True, lock_timeout=lock_timeout, settings=SEALED)
    try:
        return seal(con)
    except BaseException:
        con.close()
        raise


def _connect(source: Source, sealed: bool = True) -> duckdb.DuckDBPyConnection:
    if sealed:
        return open_sealed(source.path)
    return open_connection(source.path, read_only=True, lock_timeout=READ_LOCK_TIMEOUT)


# Statements `seedwatch sql` refuses before DuckDB sees them. External access is off, but
# DuckDB still lets COPY write over a file a connection may read (the database file itself,
# the snapshot's Parquet parts) when told not to use a temporary file.
_WRITING = {duckdb.StatementType.COPY, duckdb.StatementType.COPY_DATABASE,
            duckdb.StatementType.EXPORT, duckdb.StatementType.ATTACH,
            duckdb.StatementType.DETACH, duckdb.StatementType.LOAD}
_NESTED = re.compile(r"\b(copy|export|attach|detach|install|load)\b", re.IGNORECASE)


class StatementRefused(duckdb.PermissionException):
    pass


def refuse_writing(sql: str) -> None:
    """Raise StatementRefused when `sql` holds a statement that could write a file (also
    inside EXPLAIN ANALYZE or PREPARE, which would run it)."""
    for st in duckdb.extract_statements(sql):
        kind = st.type
        nested = kind in (duckdb.StatementType.EXPLAIN, duckdb.StatementType.PREPARE) and \
            _NESTED.search(st.query)
        if kind in _WRITING or nested:
            word = str(kind).rsplit(".", 1)[-1].replace("_", " ")
            if nested:
                word = f"{_NESTED.search(st.query).group(1).upper()} inside {word}"
            raise StatementRefused(f"{word} is disabled in seedwatch sql (it could write "
                                   "files); use `seedwatch export` for Parquet")


@contextlib.contextmanager
def reading(path: str | Path, sealed: bool = True
            ) -> Iterator[tuple[Source, duckdb.DuckDBPyConnection]]:
    """(what is read, a read-only connection to it), closed on exit. A sealed connection
    (the default, for user SQL) cannot read or write any other file.

    A read of the main file may wait for the lock while the flow finishes a run and writes the
    first snapshot; the snapshot then wins, so that a reader never sees newer data from the main
    file than from the snapshots after it (each read is at least as new as the one before)."""
    source = source_for(path)
    con = _connect(source, sealed)
    if source.kind == "warehouse" and snapshot_path(path).is_file():
        con.close()
        source = source_for(path)
        con = _connect(source, sealed)
    try:
        yield source, con
    finally:
        con.close()


def missing_versions(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Bundled migrations not yet in this file (an old snapshot, before the next run)."""
    try:
        done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    except duckdb.Error:
        done = set()
    return [v for v, _, _ in migrations() if v not in done]


def error_line(exc: BaseException) -> str:
    """DuckDB's message on one line, without the LINE/caret context."""
    parts = []
    for line in str(exc).splitlines():
        if line.startswith("LINE "):
            break
        if line.strip():
            parts.append(line.strip())
    return " ".join(parts) or exc.__class__.__name__


def _report_error(exc: duckdb.Error, con: duckdb.DuckDBPyConnection | None) -> None:
    message = error_line(exc)
    if con is not None and isinstance(exc, duckdb.CatalogException):
        behind = missing_versions(con)
        if behind:
            message += (f" (this copy lacks schema version {', '.join(map(str, behind))}: "
                        "it is refreshed after the monitor's next run)")
    print(f"seedwatch: error: {message}", file=sys.stderr)


# --- printing results ------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """A JSON-friendly form of a DuckDB value; strings lose escape sequences and control
    characters other than newline and tab (so no NUL or ESC reaches a terminal or file)."""
    if isinstance(value, str):
        return clean(value, keep="\n\t")
    if isinstance(value, (datetime, date, dtime)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (UUID, bytes)):
        return value.hex() if isinstance(value, bytes) else str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    """A CSV cell: empty for NULL, ISO times, lowercase booleans, JSON for nested values."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _batches(cur: duckdb.DuckDBPyConnection, size: int = 2000) -> Iterator[list[tuple]]:
    while rows := cur.fetchmany(size):
        yield rows


def _write_csv(cur: duckdb.DuckDBPyConnection, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([d[0] for d in cur.description])
    for rows in _batches(cur):
        writer.writerows([[_cell(v) for v in row] for row in rows])


def _write_json(cur: duckdb.DuckDBPyConnection, out: TextIO) -> None:
    """One JSON object per row; JSON columns are embedded as JSON, not as strings."""
    names = [d[0] for d in cur.description]
    is_json = [str(d[1]) == "JSON" for d in cur.description]
    for rows in _batches(cur):
        for row in rows:
            obj = {n: _plain(json.loads(v) if j and isinstance(v, str) else v)
                   for n, j, v in zip(names, is_json, row)}
            out.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def _table_width() -> int:
    # Off a terminal (pipes, CI logs) use a fixed width, like the other seedwatch tables.
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else 160


def print_result(con: duckdb.DuckDBPyConnection, sql: str, fmt: str) -> None:
    """Run `sql` and print its result (of the last statement) to stdout in `fmt`."""
    refuse_writing(sql)
    if fmt == "table":
        rel = con.sql(sql)
        if rel is not None:
            rel.show(max_rows=MAX_TABLE_ROWS, max_width=_table_width())
        return
    cur = con.execute(sql)
    if cur.description:
        (_write_csv if fmt == "csv" else _write_json)(cur, sys.stdout)
    sys.stdout.flush()


def execute(path: str | Path, sql: str, fmt: str) -> bool:
    """Run one query on the warehouse at `path` (its snapshot); print the result, or one error
    line. True on success."""
    with reading(path) as (source, con):
        try:
            print_result(con, sql, fmt)
        except duckdb.Error as exc:
            sys.stdout.flush()
            if is_damage(exc):  # what to do, not only DuckDB's checksum numbers
                print(f"seedwatch: error: {damaged(source.path, exc)}", file=sys.stderr)
            else:
                _report_error(exc, con)
            return False
    return True


def run_query(path: str | Path, sql: str, fmt: str = "table") -> int:
    """`seedwatch sql "QUERY"`: exit status 0 on success, 1 on an SQL error."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    try:
        return 0 if execute(path, sql, fmt) else 1
    except BrokenPipeError:  # `seedwatch sql ... | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def interactive(path: str | Path) -> int:
    """`seedwatch sql` without a query: the interactive prompt (see `warehouse.prompt`)."""
    from warehouse.prompt import Prompt
    return Prompt(Path(path)).loop()
