"""The read snapshot: a consistent view of the warehouse for SQL sessions and other tools.

DuckDB lets one process write a file, or many read it, never both. The flow writes the main
file in short transactions; after each run it refreshes `<name>.snapshot.duckdb` and swaps it in
atomically (rename). Readers open the snapshot read-only, so an open SQL prompt never blocks
the flow, and a reader that has the old snapshot open keeps reading it undisturbed.

Two ways to refresh it (`[warehouse] snapshot_mode`):

* `incremental` (default, `readside.py`): the run's changes are written as Parquet parts and the
  snapshot is a small catalog of views over them; the cost follows what the run changed.
* `copy`: the whole database is copied (`COPY FROM DATABASE`); the cost follows its size.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

from warehouse.db import STORAGE_COMPATIBILITY


def snapshot_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem}.snapshot{path.suffix or '.duckdb'}")


def _temporary(path: str | Path) -> list[Path]:
    """The files a snapshot copy writes before it is swapped in (the copy and its WAL)."""
    tmp = snapshot_path(path).with_name(snapshot_path(path).name + ".tmp")
    return [tmp, tmp.with_name(tmp.name + ".wal")]


def remove_leftovers(path: str | Path) -> None:
    """Delete a half-written copy left by a failed or killed refresh (it may be what fills
    the disk)."""
    for p in _temporary(path):
        try:
            p.unlink(missing_ok=True)
        except OSError:
            pass


def refresh_snapshot(con: duckdb.DuckDBPyConnection, path: str | Path, mode: str = "incremental") -> Path:
    """Refresh the snapshot of the open warehouse `con` (the file at `path`); returns its path.
    On failure (a full disk) the half-written catalog or copy is deleted and the old snapshot
    stays."""
    if mode == "incremental":
        from warehouse.readside import ReadSide
        remove_leftovers(path)
        try:
            ReadSide(path, snapshot_path(path)).refresh(con)
        except BaseException:
            remove_leftovers(path)
            raise
        return snapshot_path(path)
    return copy_snapshot(con, path)


def copy_snapshot(con: duckdb.DuckDBPyConnection, path: str | Path) -> Path:
    """Copy the open warehouse `con` (the file at `path`) into its snapshot; returns its path.
    On failure (a full disk) the half-written copy is deleted and the old snapshot stays."""
    target = snapshot_path(path)
    tmp = _temporary(path)[0]
    remove_leftovers(path)
    source = con.execute("SELECT current_database()").fetchone()[0]
    quoted = str(tmp).replace("'", "''")
    try:
        con.execute(f"ATTACH '{quoted}' AS seedwatch_snapshot (STORAGE_VERSION '{STORAGE_COMPATIBILITY}')")
        try:
            con.execute(f'COPY FROM DATABASE "{source}" TO seedwatch_snapshot')
        except BaseException:
            try:
                con.execute("DETACH seedwatch_snapshot")
            except duckdb.Error:
                pass  # the copy's error is the one to report
            raise
        con.execute("DETACH seedwatch_snapshot")
        os.replace(tmp, target)
    except BaseException:
        remove_leftovers(path)
        raise
    return target
