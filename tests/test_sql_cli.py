"""`seedwatch sql` and `seedwatch export` on a warehouse built from the fixture site."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from seedwatch import pipeline
from seedwatch.cli import main
from seedwatch.sitesrv import SiteServer
from tests.conftest import FIXTURES, REPO, make_config, write_config
from warehouse.export import export_parquet
from warehouse.snapshot import snapshot_path

VIEWS = ["recent_matches", "coverage_by_outlet_day", "feed_health", "alert_status", "run_history"]


def cycle(cfg) -> pipeline.RunSummary:
    """One monitoring cycle with the flow's plain functions, ending with the snapshot refresh."""
    wh = pipeline.warehouse_for(cfg)
    summary = pipeline.RunSummary(pipeline.new_run_id(), datetime.now(timezone.utc))
    states = pipeline.register_feeds(wh, cfg, summary.run_id)
    summary.feeds = pipeline.store_polls(wh, pipeline.poll(cfg, states), summary.run_id)
    summary.new_entries = sum(f.new_entries for f in summary.feeds)
    while pending := pipeline.next_pending(wh, 2):
        batch = pipeline.process_batch(wh, cfg, pipeline.load_detectors(cfg), pending, summary.run_id)
        summary.new_articles += batch.articles
        summary.matches += batch.matches
    pipeline.queue_alerts(wh, cfg)
    report = pipeline.deliver(wh, cfg)
    summary.alerts_sent, summary.alerts_failed = report.sent, report.failed
    pipeline.finish(wh, cfg, summary)
    return summary


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(config file, warehouse path) after one cycle over the fixture site."""
    tmp = tmp_path_factory.mktemp("sql")
    with SiteServer(FIXTURES / "site") as site:
        cfg = make_config(tmp, [f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"],
                          alerts=[{"url": f"jsonfile://{tmp / 'alerts.jsonl'}"}])
        cycle(cfg)
    return write_config(tmp / "seedwatch.toml", cfg), Path(cfg.warehouse.path)


def sql(config: Path, *args: str) -> tuple[int, str, str]:
    """The real command in a fresh process: (exit status, stdout, stderr)."""
    done = subprocess.run([sys.executable, "-m", "seedwatch.cli", "sql", "--config", str(config), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("view", VIEWS)
def test_every_documented_view_answers(built, capsys, view):
    config, _ = built
    assert main(["sql", "--config", str(config), f"SELECT * FROM {view}"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "┌" in out


def test_table_csv_and_json_output(built, capsys):
    config, _ = built
    assert main(["sql", "--config", str(config), "SELECT title, why FROM recent_matches"]) == 0
    assert "North Korea proposes border talks" in capsys.readouterr().out

    assert main(["sql", "--config", str(config), "--csv",
                 "SELECT outlet, health, consecutive_failures, disabled FROM feed_health"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 2 and {r["health"] for r in rows} == {"ok"}
    assert {r["disabled"] for r in rows} == {"false"}

    assert main(["sql", "--config", str(config), "--json",
                 "SELECT title, score, explanation, published FROM recent_matches"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) >= 2
    assert all(isinstance(r["explanation"], dict) and r["explanation"]["summary"] for r in lines)
    assert all(isinstance(r["score"], float) for r in lines)


def test_sql_error_is_one_line_with_exit_status_1(built):
    config, _ = built
    status, out, err = sql(config, "SELECT * FROM no_such_table")
    assert status == 1 and out == ""
    assert err.startswith("seedwatch: error: Catalog Error") and err.count("\n") == 1
    status, _, err = sql(config, "SELEKT 1")
    assert status == 1 and err.count("\n") == 1 and "Traceback" not in err
    status, _, err = sql(config, "DELETE FROM articles")  # read-only: nothing can be changed
    assert status == 1 and ("read-only" in err or "Can only delete from base table" in err)
    status, _, err = sql(config, "CREATE TABLE mine AS SELECT 1")  # the snapshot's tables are views
    assert status == 1 and "read-only" in err
    status, out, err = sql(config, "--csv", "SELECT count(*) AS n FROM articles")
    assert (status, out, err) == (0, "n\n5\n", "")


def test_interactive_prompt_reads_the_snapshot(built, tmp_path):
    config, _ = built
    script = ".tables\n.schema feed_health\nSELECT count(*) AS n\n  FROM articles;\n" \
             "SELECT * FROM nope;\n.mode csv\nSELECT 41 AS answer;\n.quit\nSELECT 'not run';\n"
    done = subprocess.run([sys.executable, "-m", "seedwatch.cli", "sql", "--config", str(config)],
                          input=script, capture_output=True, text=True, cwd=REPO, timeout=60,
                          env={**os.environ, "SEEDWATCH_SQL_HISTORY": str(tmp_path / "hist")})
    assert "reading snapshot" in done.stderr and "ago" in done.stderr and "one run old" in done.stderr
    for name in ["articles", "recent_matches", "feed_health", "alert_status"]:
        assert name in done.stdout
    assert "CREATE VIEW feed_health AS" in done.stdout
    assert "│     5 │" in done.stdout
    assert "answer\n41\n" in done.stdout and "not run" not in done.stdout
    assert done.stderr.count("seedwatch: error: Catalog Error") == 1
    assert done.returncode == 1  # piped input is a script; it had an error


def test_without_snapshot_the_main_file_is_read(built, tmp_path):
    config, path = built
    copy = tmp_path / "wh.duckdb"
    copy.write_bytes(path.read_bytes())
    cfg_text = config.read_text().replace(str(path), str(copy))
    alt = tmp_path / "alt.toml"
    alt.write_text(cfg_text)
    assert not snapshot_path(copy).exists()
    status, out, err = sql(alt, "--csv", "SELECT count(*) AS n FROM feed_health")
    assert (status, out, err) == (0, "n\n2\n", "")
    done = subprocess.run([sys.executable, "-m", "seedwatch.cli", "sql", "--config", str(alt)],
                          input=".source\n", capture_output=True, text=True, cwd=REPO, timeout=60)
    assert "no snapshot yet" in done.stderr and done.returncode == 0


def test_missing_warehouse_is_a_one_line_error(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[warehouse]\npath = "{tmp_path / "none.duckdb"}"\n[[feeds]]\nurl = "http://x/f.xml"\n')
    status, out, err = sql(cfg, "SELECT 1")
    assert status == 2 and err.startswith("seedwatch: error: no warehouse at") and err.count("\n") == 1


def test_export_round_trips_every_table(built, tmp_path):
    config, path = built
    counts = export_parquet(path, tmp_path / "out")
    con = duckdb.connect(str(snapshot_path(path)), read_only=True)
    try:
        # The snapshot's tables are views over Parquet parts (warehouse/readside.py), marked so.
        tables = {t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND "
            "(table_type = 'BASE TABLE' OR TABLE_COMMENT = 'seedwatch table (read snapshot)')").fetchall()}
        assert {"articles", "scores", "feeds", "stories"} <= tables
        assert set(counts) == tables and "recent_matches" not in counts
        for table, rows in counts.items():
            parquet = tmp_path / "out" / f"{table}.parquet"
            assert con.execute(f"SELECT count(*) FROM '{parquet}'").fetchone()[0] == rows
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == rows
        assert counts["articles"] == 5 and counts["scores"] == 5
        # Values survive too, JSON included.
        assert con.execute(f"SELECT count(*) FROM '{tmp_path / 'out' / 'scores.parquet'}' p "
                           "JOIN scores s USING (article_id) WHERE p.explanation::JSON ->> 'summary' "
                           "= s.explanation ->> 'summary' AND p.scored_at = s.scored_at").fetchone()[0] == 5
    finally:
        con.close()
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_export_command_prints_row_counts(built, tmp_path, capsys):
    config, _ = built
    assert main(["export", "--config", str(config), "--format", "parquet", str(tmp_path / "x")]) == 0
    assert "articles: 5 rows" in capsys.readouterr().out
