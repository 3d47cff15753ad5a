"""Opening the DuckDB warehouse: writer sessions, lock retries, versioned migrations.

DuckDB allows one writing process per file. A monitor run holds the file open while it
collects, and again while it groups and alerts (`writer_session`): every transaction there is
a cursor on the one held connection, so a batch pays neither for opening the file nor for the
checkpoint DuckDB runs when the last connection closes. SQL users and the UI read a snapshot (see
`readside.py`), so they never wait for the run and the run never waits for them. Outside a
run, each command opens the file for its own short transactions and retries while another
process holds it.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import random
import re
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Iterator

import duckdb

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

# The read snapshot stays readable by the 1.5.x DuckDB command-line client from PyPI. The main
# file does not use that format: under it DuckDB rewrites a table's unique indexes whole at
# every checkpoint (a 200-article write to a 100,000-article warehouse cost 1.1 s to close, to
# 0.01 s in the current format, which writes indexes incrementally). Files made before this
# change keep their format.
STORAGE_COMPATIBILITY = "v1.5.0"
_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or written."""


class WarehouseLocked(WarehouseError):
    """Another process held the write lock for longer than the timeout."""


class WarehouseDamaged(WarehouseError):
    """The file is truncated or corrupt: it needs a backup, its snapshot, or a fresh start."""


class DiskFull(WarehouseError):
    """A write failed for want of space."""


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower() and isinstance(exc, duckdb.IOException)


# How DuckDB says a file is damaged (truncated, overwritten, bad checksums).
_DAMAGE = ("could not read enough bytes", "corrupt database", "does not match stored checksum",
           "not a valid duckdb database", "is not a duckdb database", "invalid database file",
           "unexpected end of file", "magic bytes")
_NO_SPACE = ("no space left on device", "disk is full", "disk full", "errno 28", "enospc")


def is_damage(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.Error) and any(m in str(exc).lower() for m in _DAMAGE)


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == 28:
        return True
    return isinstance(exc, (duckdb.Error, OSError)) and any(m in str(exc).lower() for m in _NO_SPACE)


def _first_line(exc: BaseException) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)[:200]


def damaged(path: str | Path, exc: BaseException | str) -> WarehouseDamaged:
    from warehouse.snapshot import snapshot_path  # (snapshot imports this module)
    path = Path(path)
    detail = exc if isinstance(exc, str) else _first_line(exc)
    snap = snapshot_path(path)
    if path.name.endswith(".snapshot" + (path.suffix or ".duckdb")):
        advice = "it is rewritten after the monitor's next run that stores something; delete it meanwhile"
    elif snap.is_file() and path.with_name(f"{path.stem}.read").is_dir():
        # An incremental snapshot is a catalog of views over Parquet parts, not a copy.
        advice = ("restore it from a backup; its read snapshot (up to one run old) still answers "
                  "`seedwatch sql` and `seedwatch export`; or move it aside to start a new warehouse")
    elif snap.is_file():
        advice = (f"restore it from a backup, or from its read snapshot (up to one run old): "
                  f"cp {snap} {path}; or move it aside to start a new warehouse")
    else:
        advice = "restore it from a backup, or move it aside to start a new warehouse"
    return WarehouseDamaged(f"warehouse {path} is damaged ({detail}): {advice}")


def disk_full(path: str | Path, exc: BaseException | None = None) -> DiskFull:
    detail = f" ({_first_line(exc)})" if exc is not None else ""
    return DiskFull(f"disk full: cannot write the warehouse in {Path(path).parent}{detail}; free some "
                    "space there and run again (nothing stored is lost)")


def check_intact(path: str | Path, lock_timeout: float = 2.0) -> None:
    """Before a run: raise WarehouseDamaged when the file cannot be read, or is shorter than
    the blocks it says are in use (truncated). Skipped while another process writes it (it
    opened fine there) and while a write-ahead log is pending (its blocks are not on disk)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0 or Path(f"{path}.wal").exists():
        return
    try:
        con = open_connection(path, read_only=True, lock_timeout=lock_timeout)
    except WarehouseLocked:
        return
    try:
        rows = con.execute("SELECT block_size, used_blocks FROM pragma_database_size() "
                           "WHERE database_name = current_database()").fetchall()
        size = path.stat().st_size
        if rows and rows[0][1] and size < 3 * 4096 + rows[0][0] * rows[0][1]:
            raise damaged(path, f"the file is {size:,} bytes but holds {rows[0][1]} blocks of "
                                f"{rows[0][0]:,} bytes: truncated")
        con.execute("SELECT count(*) FROM schema_migrations").fetchall()
    except duckdb.Error as exc:
        if is_damage(exc):
            raise damaged(path, exc) from None
    finally:
        con.close()


# DuckDB keeps up to 128 MB of freed memory cached before it hands it back (its default
# allocator_flush_threshold); the flow opens the file for every transaction of a long run, and
# that cache was a good part of its peak memory.
ALLOCATOR = {"allocator_flush_threshold": "16MB"}


def open_connection(path: str | Path, read_only: bool = False,
                    lock_timeout: float = 60.0, settings: dict | None = None
                    ) -> duckdb.DuckDBPyConnection:
    """Connect, retrying with jittered backoff while another process holds the file.
    `settings` are DuckDB options fixed at connect time (e.g. enable_external_access)."""
    path = Path(path)
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"warehouse folder {path.parent} cannot be created: {exc.strerror}") from None
    if settings is None:
        shared = _session_cursor(path)
        if shared is not None:
            return shared
    config = dict(ALLOCATOR)
    config.update(settings or {})
    deadline = time.monotonic() + lock_timeout
    delay = 0.02
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            if is_damage(exc):
                raise damaged(path, exc) from None
            if is_disk_full(exc):
                raise disk_full(path, exc) from None
            if not _is_lock_error(exc):
                raise WarehouseError(f"cannot open warehouse {path}: {_first_line(exc)}") from None
            if time.monotonic() >= deadline:
                raise WarehouseLocked(f"warehouse {path} stayed locked by another process "
                                      f"for {lock_timeout:.0f}s") from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)
            continue
        return con


@functools.lru_cache(maxsize=1)
def _bundled_migrations() -> tuple[tuple[int, str, str], ...]:
    found = []
    for item in resources.files("warehouse.migrations").iterdir():
        m = _MIGRATION_NAME.match(item.name)
        if m:
            found.append((int(m.group(1)), m.group(2), item.read_text(encoding="utf-8")))
    return tuple(sorted(found))


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration, in order (read once a process)."""
    return list(_bundled_migrations())


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def _recorded_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    """Versions recorded in `schema_migrations`; none in a new file (asked without an error,
    which would end a transaction the caller had open)."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations' "
                       "AND database_name = current_database()").fetchall()[0][0]:
        return set()
    return {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(con: duckdb.DuckDBPyConnection, target: int | None = None) -> list[int]:
    """Apply each pending migration once, in order, each in its own transaction."""
    bundled = {version for version, _, _ in _bundled_migrations()}
    if target is None and bundled <= _recorded_versions(con):
        return []  # up to date: the common case, checked without writing
    con.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)""")
    # Pending = not recorded yet (not merely above the highest recorded version), so a migration
    # merged after a later-numbered one is still applied to warehouses already past it.
    done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done or (target is not None and version > target):
            continue
        con.execute("BEGIN")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
            con.execute("COMMIT")
        except Exception:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # already ended by the error, which is the one to report
            raise
        log.info("warehouse migrated to version %d (%s)", version, name)
        applied.append(version)
    return applied


# The run's held connection works with one DuckDB thread. Its statements are small (a batch of
# 200 articles, a probe of a few thousand keys), where a second thread buys nothing while the
# extraction workers keep every core busy, and each DuckDB thread keeps buffers of its own: in
# 4,000-page bench runs (A/B, two each) the flow's peak was 10-17 MB lower, for the same CPU
# and store time. Connections outside a run (readers, `seedwatch sql`) keep DuckDB's default.
WRITER_SETTINGS = {"threads": 1}

# Writer sessions of this process: resolved path -> the connection that holds the file open.
_sessions: dict[Path, duckdb.DuckDBPyConnection] = {}
_sessions_lock = threading.Lock()


def _session_cursor(path: Path) -> duckdb.DuckDBPyConnection | None:
    """A new cursor on this process's open session for `path`, if there is one. A cursor is a
    connection of its own to the same open database (own transactions, usable from another
    thread), without reading the file again; closing it leaves the database open."""
    with _sessions_lock:
        root = _sessions.get(path.resolve()) if _sessions else None
        return None if root is None else root.cursor()


@contextlib.contextmanager
def writer_session(path: str | Path, lock_timeout: float = 60.0) -> Iterator[None]:
    """Hold the warehouse file open while the block runs (a monitor run, under its run lock).
    Inside it, every `open_connection` of this process for the file gets a cursor on the held
    connection, except sealed readers (`settings`), which never share the writer's connection:
    DuckDB refuses them a second configuration of an open file, and they read the snapshot
    anyway. At the end the connection is closed, which checkpoints once. Nested sessions for
    one file share the outer one."""
    key = Path(path).resolve()
    with _sessions_lock:
        nested = key in _sessions
    if nested:
        yield
        return
    con = open_connection(path, lock_timeout=lock_timeout, settings=WRITER_SETTINGS)
    with _sessions_lock:
        _sessions[key] = con
    try:
        yield
    finally:
        with _sessions_lock:
            _sessions.pop(key, None)
        try:
            con.close()
        except duckdb.Error as exc:
            # The checkpoint at close failed: what was committed is in the write-ahead log,
            # which the next open replays; a full disk or damage is reported as such.
            if is_disk_full(exc):
                raise disk_full(path, exc) from None
            if is_damage(exc):
                raise damaged(path, exc) from None
            raise


class Warehouse:
    """The warehouse file: short transactions, on the run's held connection inside a
    `writer_session`, else on a connection of their own."""

    def __init__(self, path: str | Path, lock_timeout: float = 60.0):
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._migrated = False

    def session(self) -> contextlib.AbstractContextManager[None]:
        """Hold this warehouse open for a run: see `writer_session`."""
        return writer_session(self.path, self.lock_timeout)

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = open_connection(self.path, read_only=read_only, lock_timeout=self.lock_timeout)
        try:
            if not read_only and not self._migrated:
                migrate(con)
                self._migrated = True
            yield con
        except (duckdb.Error, OSError) as exc:
            if is_damage(exc):
                raise damaged(self.path, exc) from None
            if is_disk_full(exc):
                raise disk_full(self.path, exc) from None
            raise
        finally:
            con.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.connect() as con:
            con.execute("BEGIN")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # the error already ended the transaction: report the error, not this
                raise
