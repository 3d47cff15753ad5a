"""The read snapshot: a consistent copy of the warehouse for SQL sessions and other tools.

DuckDB lets one process write a file, or many read it, never both. The flow writes the main
file in short transactions; after each run it copies the whole database into
`<name>.snapshot.duckdb` and swaps it in atomically (rename). Readers open the snapshot
read-only, so an open SQL prompt never blocks the flow, and a reader that has the old copy
open keeps reading it undisturbed.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

from warehouse.db import STORAGE_COMPATIBILITY


def snapshot_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem}.snapshot{path.suffix or '.duckdb'}")


def refresh_snapshot(con: duckdb.DuckDBPyConnection, path: str | Path) -> Path:
    """Copy the open warehouse `con` (the file at `path`) into its snapshot; returns its path."""
    target = snapshot_path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    source = con.execute("SELECT current_database()").fetchone()[0]
    quoted = str(tmp).replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS seedwatch_snapshot (STORAGE_VERSION '{STORAGE_COMPATIBILITY}')")
    try:
        con.execute(f'COPY FROM DATABASE "{source}" TO seedwatch_snapshot')
    finally:
        con.execute("DETACH seedwatch_snapshot")
    os.replace(tmp, target)
    return target
