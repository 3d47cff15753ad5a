"""The incremental read snapshot: after every refresh it holds exactly the warehouse's rows
(inserts, updates, re-scores), a refresh writes only what changed, parts get merged, and
retired files are deleted after their grace period. Real DuckDB files and Parquet parts."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb

from seedwatch import pipeline
from tests.test_pipeline import run_once
from warehouse import readside, store
from warehouse.readside import ReadSide, read_dir
from warehouse.snapshot import snapshot_path


def _differences(wh_path) -> dict[str, int]:
    """Rows in one and not the other, per table of the warehouse."""
    con = duckdb.connect(str(wh_path), read_only=True)
    snap = str(snapshot_path(wh_path)).replace("'", "''")
    con.execute(f"ATTACH '{snap}' AS s (READ_ONLY)")
    out = {}
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_schema = 'main' AND table_type = 'BASE TABLE'").fetchall()]
        for t in tables:
            a = con.execute(f"SELECT count(*) FROM (SELECT * FROM main.{t} EXCEPT ALL SELECT * FROM s.{t})").fetchone()[0]
            b = con.execute(f"SELECT count(*) FROM (SELECT * FROM s.{t} EXCEPT ALL SELECT * FROM main.{t})").fetchone()[0]
            if a or b:
                out[t] = a + b
    finally:
        con.close()
    return out


def _refresh(wh):
    with wh.connect() as con:
        return ReadSide(wh.path, snapshot_path(wh.path)).refresh(con)


def _article(i: int, now: datetime) -> dict:
    return {"canonical_url": f"https://example.org/a/{i}", "url": f"https://example.org/a/{i}",
            "feed_id": "f", "title": f"Article {i}", "text": f"text {i}", "text_source": "page",
            "content_hash": f"h{i}", "first_seen": now, "run_id": "r"}


def test_snapshot_follows_every_change_and_writes_only_changes(site, config_for, monkeypatch):
    monkeypatch.setattr(readside, "RETIRED_GRACE_SECONDS", 0.0)
    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"])
    run_once(cfg)
    wh = pipeline.warehouse_for(cfg)
    first = _refresh(wh)
    assert first["full"] and _differences(wh.path) == {}

    quiet = _refresh(wh)  # nothing changed: no part written
    assert not quiet["full"]
    with wh.connect() as con:
        # Tables this module does not track by time are written whole, and so is a run that
        # was still open at the last refresh (its end may carry an earlier time).
        small = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE'").fetchall() if t not in readside.SPECS]
        assert {"feeds", "pending", "page_retries", "robots_txt", "schema_migrations"} <= set(small)
        whole = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in small)
        open_runs = con.execute("SELECT count(*) FROM runs WHERE finished_at IS NULL").fetchone()[0]
        whole += open_runs
    assert quiet["rows"] == whole and quiet["tombstones"] == open_runs

    # An update (upgraded text), a re-score, and 20 refreshes of 10 new articles each.
    with wh.transaction() as con:
        aid = con.execute("SELECT article_id FROM articles ORDER BY article_id LIMIT 1").fetchall()[0][0]
        store.upgrade_articles(con, [{"article_id": aid, "url": "u", "text": "upgraded text",
                                      "text_source": "page", "content_hash": "new"}])
        row = con.execute("SELECT topic, detector_version FROM scores WHERE article_id = ?", [aid]).fetchall()[0]
        store.replace_scores(con, [{"article_id": aid, "topic": row[0], "detector_version": row[1],
                                    "score": 0.123, "decision": False, "explanation": {"summary": "re"},
                                    "scored_at": datetime.now(timezone.utc)}])
    up = _refresh(wh)
    assert up["tombstones"] == 2 + open_runs and _differences(wh.path) == {}
    for r in range(10):
        now = datetime.now(timezone.utc)
        with wh.transaction() as con:
            store.insert_articles(con, [_article(r * 10 + i, now) for i in range(10)])
        res = _refresh(wh)
        assert res["rows"] - whole == 10 and res["tombstones"] == open_runs, res
    assert _differences(wh.path) == {}
    con = duckdb.connect(str(snapshot_path(wh.path)), read_only=True)
    assert con.execute("SELECT text FROM articles WHERE article_id = ?", [aid]).fetchone()[0] == "upgraded text"
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 105
    assert con.execute("SELECT count(*) FROM recent_matches").fetchone()[0] >= 1  # derived views work
    con.close()

    m = json.loads((read_dir(wh.path) / "manifest.json").read_text())
    parts = m["tables"]["articles"]["parts"]
    # Eight parts of ten rows were merged into one of 80: 5 (first build), 1 (update), 80, 10, 10.
    assert [p["rows"] for p in parts] == [5, 1, 80, 10, 10]
    assert any("merged" in p["file"] for p in parts)
    listed = {p["file"] for e in m["tables"].values() for p in e["parts"]} | \
             {f for e in m["tables"].values() for f in e["tombs"]}
    on_disk = {str(p.relative_to(read_dir(wh.path))) for p in read_dir(wh.path).rglob("*.parquet")}
    assert on_disk == listed  # retired files are gone (grace 0 here)


def test_new_migration_rebuilds_and_crash_before_manifest_loses_nothing(site, config_for):
    cfg = config_for([f"{site.base}/feeds/wire.xml"])
    run_once(cfg)
    wh = pipeline.warehouse_for(cfg)
    _refresh(wh)
    manifest = read_dir(wh.path) / "manifest.json"
    saved = manifest.read_text()
    now = datetime.now(timezone.utc)
    with wh.transaction() as con:
        store.insert_articles(con, [_article(i, now) for i in range(3)])
    _refresh(wh)
    manifest.write_text(saved)  # as if the process died before the manifest was replaced
    again = _refresh(wh)
    assert not again["full"] and _differences(wh.path) == {}
    with wh.transaction() as con:  # a migration recorded: everything is written again
        con.execute("INSERT INTO schema_migrations VALUES (999, 'test', now())")
    assert _refresh(wh)["full"] and _differences(wh.path) == {}
    with wh.transaction() as con:
        con.execute("DELETE FROM schema_migrations WHERE version = 999")
    assert _refresh(wh)["full"]


def test_copy_mode_still_available(site, config_for):
    cfg = config_for([f"{site.base}/feeds/wire.xml"], warehouse={"snapshot_mode": "copy"})
    run_once(cfg)
    wh = pipeline.warehouse_for(cfg)
    from warehouse.snapshot import refresh_snapshot
    with wh.connect() as con:
        refresh_snapshot(con, wh.path, cfg.warehouse.snapshot_mode)
    assert not read_dir(wh.path).exists() and _differences(wh.path) == {}


def test_deletes_late_run_ends_and_rescores_reach_the_snapshot(site, config_for):
    """Changes that carry no newer timestamp still reach the snapshot: rows deleted (archive
    retention), a run closed with the time of its last fetch (an abandoned run), a verdict
    replaced by a rescore whose scoring time is in the past."""
    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"])
    run_once(cfg)  # its run is still open (run_once does not finish it)
    wh = pipeline.warehouse_for(cfg)
    _refresh(wh)
    with wh.transaction() as con:
        archived = con.execute("SELECT count(*) FROM page_archive").fetchone()[0]
        assert archived >= 2
        con.execute("DELETE FROM page_archive WHERE warc_offset = (SELECT min(warc_offset) FROM page_archive)").fetchall()
        closed = store.close_abandoned_runs(con, "a-later-run")
        assert closed
        aid, topic, version = con.execute(
            "SELECT article_id, topic, detector_version FROM scores ORDER BY article_id LIMIT 1").fetchall()[0]
        store.replace_scores(con, [{"article_id": aid, "topic": topic, "detector_version": version,
                                    "score": 0.5, "decision": True, "explanation": {"summary": "again"},
                                    "scored_at": datetime(2001, 1, 1, tzinfo=timezone.utc)}])
    res = _refresh(wh)
    assert not res["full"] and _differences(wh.path) == {}, _differences(wh.path)
    con = duckdb.connect(str(snapshot_path(wh.path)), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM page_archive").fetchone()[0] < archived
        assert con.execute("SELECT count(*) FROM runs WHERE finished_at IS NULL").fetchone()[0] == 0
        assert con.execute("SELECT score FROM scores WHERE article_id = ? AND topic = ?",
                           [aid, topic]).fetchone()[0] == 0.5
    finally:
        con.close()
