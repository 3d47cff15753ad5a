"""`seedwatch rescore` on a real warehouse built by the pipeline from a real local site."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb

from seedwatch import pipeline
from seedwatch.rescore import rescore
from tests.test_pipeline import query, run_once
from warehouse import rescore as rescore_sql
from detection.scoring import DETECTOR_VERSION


def _pretend_old_detector(cfg, version="concept-gate-1.2"):
    """Make every stored verdict look as if an older detector had made it, and had missed
    the talks story: the situation a detector upgrade leaves behind."""
    con = duckdb.connect(cfg.warehouse.path)
    try:
        con.execute("UPDATE scores SET detector_version = ?, scored_at = scored_at - INTERVAL 1 DAY",
                    [version])
        con.execute("UPDATE scores SET decision = false, score = 0.1 WHERE article_id IN ("
                    "SELECT article_id FROM articles WHERE title LIKE 'Seoul accepts%')")
        con.execute("DELETE FROM story_members; DELETE FROM stories; DELETE FROM alert_stories;"
                    " DELETE FROM alert_attempts; DELETE FROM alerts")
    finally:
        con.close()


def test_rescore_keeps_old_verdicts_and_places_new_matches(site, config_for, tmp_path):
    alerts = tmp_path / "alerts.jsonl"
    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"],
                     alerts=[{"url": f"jsonfile://{alerts}"}])
    run_once(cfg)
    _pretend_old_detector(cfg)
    alerts.write_text("")
    wh = pipeline.warehouse_for(cfg)
    with wh.transaction() as con:
        assert rescore_sql.older_versions(con, DETECTOR_VERSION, ["inter-korean-diplomacy"]) == {
            "concept-gate-1.2": 5}
    # Far in the future, every story is old news: nothing may be sent.
    later = datetime.now(timezone.utc) + timedelta(days=400)
    summary = rescore(cfg, now=later)
    assert summary.articles == 5 and summary.older_versions == {"concept-gate-1.2": 5}
    assert summary.changed >= 1 and summary.matches_after > summary.matches_before
    assert summary.alerts_sent == 0 and summary.stories_suppressed >= 1
    assert alerts.read_text() == ""
    # Old verdicts are kept beside the new ones; the latest is the current detector's.
    versions = dict(query(cfg, "SELECT detector_version, count(*) FROM scores GROUP BY 1"))
    assert versions == {"concept-gate-1.2": 5, DETECTOR_VERSION: 5}
    latest = query(cfg, "SELECT DISTINCT detector_version FROM latest_scores")
    assert latest == [(DETECTOR_VERSION,)]
    placed = query(cfg, "SELECT count(*) FROM story_members m JOIN articles a USING (article_id) "
                        "WHERE a.title LIKE 'Seoul accepts%'")[0][0]
    assert placed == 1
    suppressed = query(cfg, "SELECT count(*), min(last_response) FROM alerts WHERE status = 'suppressed'")
    assert suppressed[0][0] == summary.stories_suppressed
    assert "max_age_hours" in suppressed[0][1]
    # A later ordinary alert pass does not send the suppressed stories either.
    pipeline.queue_alerts(wh, cfg)
    assert pipeline.deliver(wh, cfg).sent == 0 and alerts.read_text() == ""
    # Rescoring again changes nothing and adds no rows.
    again = rescore(cfg, now=later)
    assert again.changed == 0 and again.older_versions == {}
    assert query(cfg, "SELECT count(*) FROM scores")[0][0] == 10


def test_rescore_alerts_recent_stories(site, config_for, tmp_path):
    alerts = tmp_path / "alerts.jsonl"
    cfg = config_for([f"{site.base}/feeds/wire.xml"], alerts=[{"url": f"jsonfile://{alerts}"}])
    run_once(cfg)
    _pretend_old_detector(cfg)
    alerts.write_text("")
    # The fixture news is dated; with a cut-off that covers it, rescored stories are alerted.
    cfg = cfg.replace(alert_settings=type(cfg.alert_settings)(max_age_hours=24 * 365 * 20))
    summary = rescore(cfg)
    assert summary.stories_suppressed == 0
    assert summary.alerts_sent >= 1
    sent = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert len(sent) == summary.alerts_sent


def test_old_match_is_not_placed_once_the_new_detector_says_no(site, config_for):
    cfg = config_for([f"{site.base}/feeds/daily.xml"])
    run_once(cfg)
    con = duckdb.connect(cfg.warehouse.path)
    try:
        # An older detector matched the typhoon story; the current one (latest) does not.
        art = con.execute("SELECT article_id FROM articles WHERE title LIKE 'Typhoon%'").fetchone()
        con.execute("""INSERT INTO scores SELECT article_id, topic, 0.9, true, explanation,
                       'concept-gate-1.2', scored_at - INTERVAL 1 DAY FROM scores WHERE article_id = ?""",
                    [art[0]])
        con.execute("DELETE FROM story_members WHERE article_id = ?", [art[0]])
    finally:
        con.close()
    pipeline.update_stories(pipeline.warehouse_for(cfg), cfg)
    assert query(cfg, "SELECT count(*) FROM story_members m JOIN articles a USING (article_id) "
                      "WHERE a.title LIKE 'Typhoon%'")[0][0] == 0


def test_alerts_table_with_max_age(tmp_path):
    from seedwatch.config import parse_config
    cfg = parse_config({"alerts": {"max_age_hours": 6, "channels": [{"url": "json://localhost"}]}})
    assert cfg.alert_settings.max_age_hours == 6 and cfg.alerts[0].url == "json://localhost"
    assert parse_config({"alerts": [{"url": "json://x"}]}).alert_settings.max_age_hours == 48


def test_analyst_labels_reach_the_detector_and_rescore(site, config_for):
    from warehouse.feedback import queue_feedback
    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"])
    run_once(cfg)
    wh = pipeline.warehouse_for(cfg)
    art, before = query(cfg, "SELECT a.article_id, s.score FROM scores s JOIN articles a USING (article_id) "
                             "WHERE a.title LIKE 'Seoul accepts%'")[0]
    queue_feedback(cfg.warehouse.path, "inter-korean-diplomacy", "not_relevant", [art])
    pipeline.ingest_inbox(wh, pipeline.new_run_id())
    (td,) = pipeline.load_detectors(cfg, wh)
    assert td.detector.version.endswith("+fb1") and td.detector.feedback_labels == 1
    summary = rescore(cfg)
    assert summary.detector == td.detector.version and summary.articles == 5
    after = query(cfg, "SELECT score FROM latest_scores WHERE article_id = ?".replace("?", f"'{art}'"))[0][0]
    assert after < before
    # The shipped model's verdicts are kept beside the adapted one's.
    assert {v for (v,) in query(cfg, "SELECT DISTINCT detector_version FROM scores")} == {
        DETECTOR_VERSION, td.detector.version}


def test_rescore_command_runs_the_flow(site, config_for, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path
    cfg = config_for([f"{site.base}/feeds/wire.xml"])
    run_once(cfg)
    _pretend_old_detector(cfg)
    config = tmp_path / "seedwatch.toml"
    config.write_text(f'[warehouse]\npath = "{cfg.warehouse.path}"\n\n[[feeds]]\n'
                      f'url = "{site.base}/feeds/wire.xml"\n', encoding="utf-8")
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    res = subprocess.run([sys.executable, "-m", "seedwatch.cli", "rescore", "--config", str(config),
                          "--since", "2000-01-01"], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parent.parent, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "rescored" in res.stdout and "concept-gate-1.2" in res.stdout
    bad = subprocess.run([sys.executable, "-m", "seedwatch.cli", "rescore", "--config", str(config),
                          "--since", "yesterday"], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parent.parent, env=env)
    assert bad.returncode != 0 and "--since" in bad.stderr and "Traceback" not in bad.stderr
