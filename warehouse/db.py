"""Opening the DuckDB warehouse: short connections, lock retries, versioned migrations.

DuckDB allows one writing process per file. The flow therefore opens the file only for
short batched transactions and retries while another process holds the lock; SQL users
read a snapshot (see `snapshot.py`) so they never hold the writer's file open.
"""
from __future__ import annotations

import contextlib
import logging
import random
import re
import time
from importlib import resources
from pathlib import Path
from typing import Iterator

import duckdb

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

# Files stay readable by the 1.5.x DuckDB command-line client from PyPI.
STORAGE_COMPATIBILITY = "v1.5.0"
_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or written."""


class WarehouseLocked(WarehouseError):
    """Another process held the write lock for longer than the timeout."""


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower() and isinstance(exc, duckdb.IOException)


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
    config = {} if read_only else {"storage_compatibility_version": STORAGE_COMPATIBILITY}
    config.update(settings or {})
    deadline = time.monotonic() + lock_timeout
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise WarehouseError(f"cannot open warehouse {path}: {exc}") from None
            if time.monotonic() >= deadline:
                raise WarehouseLocked(f"warehouse {path} stayed locked by another process "
                                      f"for {lock_timeout:.0f}s") from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration, in order."""
    found = []
    for item in resources.files("warehouse.migrations").iterdir():
        m = _MIGRATION_NAME.match(item.name)
        if m:
            found.append((int(m.group(1)), m.group(2), item.read_text(encoding="utf-8")))
    return sorted(found)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(con: duckdb.DuckDBPyConnection, target: int | None = None) -> list[int]:
    """Apply each pending migration once, in order, each in its own transaction."""
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
            con.execute("ROLLBACK")
            raise
        log.info("warehouse migrated to version %d (%s)", version, name)
        applied.append(version)
    return applied


class Warehouse:
    """The warehouse file; every write is a short transaction on a fresh connection."""

    def __init__(self, path: str | Path, lock_timeout: float = 60.0):
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._migrated = False

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = open_connection(self.path, read_only=read_only, lock_timeout=self.lock_timeout)
        try:
            if not read_only and not self._migrated:
                migrate(con)
                self._migrated = True
            yield con
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
                con.execute("ROLLBACK")
                raise
