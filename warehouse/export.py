"""`seedwatch export --format parquet DIR`: every warehouse table (not the derived views) as Parquet.

Reads the same file as `seedwatch sql` (the snapshot, else the main file read-only), on one
connection, so the exported tables are consistent with each other.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError
from warehouse.query import reading

# In the incremental snapshot every table is a view over Parquet parts, marked by its comment.
TABLES_SQL = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'main' AND table_catalog = current_database()
  AND (table_type = 'BASE TABLE' OR TABLE_COMMENT = 'seedwatch table (read snapshot)')
ORDER BY table_name"""


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def copy_table(con: duckdb.DuckDBPyConnection, table: str, out_dir: Path) -> int:
    """Write one table to `out_dir/<table>.parquet` (via a temporary name); returns its rows."""
    target = out_dir / f"{table}.parquet"
    tmp = out_dir / f".{table}.parquet.tmp"
    quoted = '"' + table.replace('"', '""') + '"'
    rows = con.execute(f"COPY {quoted} TO {_literal(tmp)} "
                       "(FORMAT parquet, COMPRESSION zstd)").fetchone()[0]
    os.replace(tmp, target)
    return int(rows)


def export_parquet(path: str | Path, out_dir: str | Path) -> dict[str, int]:
    """Export each base table of the warehouse at `path`; returns {table: rows written}."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(f"cannot create export folder {out_dir}: {exc.strerror}") from None
    with reading(path, sealed=False) as (_, con):  # the one reader that writes files
        tables = [t for (t,) in con.execute(TABLES_SQL).fetchall()]
        try:
            return {t: copy_table(con, t, out_dir) for t in tables}
        except (duckdb.Error, OSError) as exc:
            raise WarehouseError(f"export to {out_dir} failed: {exc}") from None
