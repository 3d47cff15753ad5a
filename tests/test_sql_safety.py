"""Issue 11.2: `seedwatch sql` reads, and touches no other file: no COPY TO (the warehouse
itself, its snapshot or any path), no EXPORT DATABASE, no ATTACH of a new file, no read_text of
files outside the warehouse. Parquet goes through `seedwatch export` only."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_sql_cli import built, sql  # noqa: F401 - the module's warehouse fixture
from warehouse.snapshot import snapshot_path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def attacks(wh: Path, tmp: Path) -> list[tuple[str, Path | None]]:
    """(statement, a file or folder it would create or overwrite)."""
    return [
        (f"COPY (SELECT 'gone' AS x) TO '{wh}' (FORMAT csv)", None),
        (f"COPY (SELECT 'gone' AS x) TO '{snapshot_path(wh)}' (FORMAT csv)", None),
        (f"COPY articles TO '{tmp / 'out.csv'}' (FORMAT csv)", tmp / "out.csv"),
        (f"COPY articles TO '{tmp / 'out.parquet'}' (FORMAT parquet)", tmp / "out.parquet"),
        (f"EXPORT DATABASE '{tmp / 'dump'}'", tmp / "dump"),
        (f"ATTACH '{tmp / 'new.duckdb'}' AS other", tmp / "new.duckdb"),
        ("SELECT * FROM read_text('/etc/hostname')", None),
        ("SELECT * FROM read_csv('/etc/passwd')", None),
        (f"SELECT * FROM read_blob('{wh}')", None),
    ]


@pytest.mark.parametrize("n", range(9))
def test_sql_cannot_write_or_read_other_files(built, tmp_path, n):  # noqa: F811
    config, wh = built
    before = {p: digest(p) for p in (wh, snapshot_path(wh))}
    statement, creates = attacks(wh, tmp_path)[n]
    code, out, err = sql(config, statement)
    assert code == 1, (statement, out, err)
    assert err.startswith("seedwatch: error:") and len(err.strip().splitlines()) == 1
    assert "external access" in err.lower() or "disabled" in err.lower()
    assert "localhost" not in out and "root:" not in out
    assert {p: digest(p) for p in before} == before  # warehouse and snapshot untouched
    if creates is not None:
        assert not creates.exists()


def test_prompt_is_sealed_too_and_settings_cannot_reopen_it(built, tmp_path):  # noqa: F811
    config, wh = built
    size = wh.stat().st_size
    script = (f"SET enable_external_access = true;\n"
              f"COPY (SELECT 'gone' AS x) TO '{wh}' (FORMAT csv);\n"
              f"SELECT count(*) AS n FROM articles;\n.quit\n")
    done = subprocess.run([sys.executable, "-m", "seedwatch.cli", "sql", "--config", str(config)],
                          input=script, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert wh.stat().st_size == size
    assert "gone" not in wh.read_bytes()[:16].decode("latin-1")
    assert " n " in done.stdout or "│ n" in done.stdout  # the read still works
    assert done.stderr.count("error:") >= 2


def test_reads_and_export_still_work(built, tmp_path):  # noqa: F811
    config, wh = built
    code, out, _ = sql(config, "SELECT count(*) AS n FROM articles", "--csv")
    assert code == 0 and int(out.splitlines()[1]) > 0
    done = subprocess.run([sys.executable, "-m", "seedwatch.cli", "export", "--config", str(config),
                           str(tmp_path / "pq")], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pq" / "articles.parquet").stat().st_size > 0


def _parts(wh: Path) -> dict[Path, str]:
    from warehouse.readside import read_dir
    return {p: digest(p) for p in sorted(read_dir(wh).rglob("*.parquet"))}


def test_incremental_snapshot_reads_its_parts_and_nothing_else(built, tmp_path):  # noqa: F811
    """The snapshot is a catalog of views over Parquet parts: a sealed reader reads exactly
    those files. DuckDB lets COPY write over a file the connection may read when told not to
    use a temporary file; seedwatch sql refuses COPY (also inside EXPLAIN ANALYZE) outright."""
    config, wh = built
    parts = _parts(wh)
    files = {p: digest(p) for p in (wh, snapshot_path(wh))}
    assert parts, "the default snapshot is incremental: Parquet parts beside the warehouse"
    code, out, err = sql(config, "--csv", "SELECT (SELECT count(*) FROM articles) AS a, "
                         "(SELECT count(*) FROM stories) AS s, (SELECT count(*) FROM recent_matches) AS m")
    assert code == 0, err
    a, s, m = map(int, out.splitlines()[1].split(","))
    assert a == 5 and s >= 1 and m >= 1
    part = next(iter(parts))
    for statement in (f"COPY (SELECT 1 AS x) TO '{part}' (FORMAT parquet, USE_TMP_FILE false)",
                      f"EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{part}' (FORMAT parquet, USE_TMP_FILE false)",
                      f"COPY (SELECT 1 AS x) TO '{snapshot_path(wh)}' (FORMAT csv, USE_TMP_FILE false)",
                      f"COPY (SELECT 1 AS x) TO '{wh}' (FORMAT csv, USE_TMP_FILE false)",
                      f"SELECT * FROM read_parquet('{part.parent}/*.parquet')",
                      f"SELECT * FROM read_text('{part.parent.parent.parent / 'manifest.json'}')",
                      "SET profiling_output = '/tmp/seedwatch-profile.txt'",
                      "SELECT * FROM read_csv('/etc/passwd')"):
        code, out, err = sql(config, statement)
        assert code == 1 and err.startswith("seedwatch: error:"), (statement, out, err)
        assert "disabled" in err.lower() or "locked" in err.lower(), (statement, err)
    assert _parts(wh) == parts and {p: digest(p) for p in files} == files
    assert not Path("/tmp/seedwatch-profile.txt").exists()


def test_ui_reader_is_sealed_on_the_incremental_snapshot(built):  # noqa: F811
    import duckdb
    from warehouse.ui_queries import SnapshotReader
    _, wh = built
    reader = SnapshotReader(wh)
    try:
        with reader.connect() as (source, con):
            assert source.kind == "snapshot"
            assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
            assert con.execute("SELECT count(*) FROM stories").fetchone()[0] >= 1
            with pytest.raises(duckdb.Error, match="disabled"):
                con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
            with pytest.raises(duckdb.Error):
                con.execute("SET enable_external_access = true")
    finally:
        reader.close()
