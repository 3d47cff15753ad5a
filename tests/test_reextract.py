"""The raw page archive (WARC) and `seedwatch reextract`: real site on 127.0.0.1, real DuckDB,
real WARC files; re-extraction runs with the site gone (it reads the archive, not the network)."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
from warcio.archiveiterator import ArchiveIterator

from extractors.article import extract_many
from seedwatch import pipeline
from seedwatch.reextract import reextract
from seedwatch.rescore import rescore
from warehouse.snapshot import snapshot_path
from seedwatch.sitesrv import SiteServer
from tests.conftest import FIXTURES, write_config
from tests.test_pipeline import query

OLD = "trafilatura 0.1 (an older extractor)"


def _first_run(cfg):
    """Poll, fetch (archived), then store as an older extractor would have: it failed on the
    talks page (feed text stands in) and did poorly on the others."""
    wh = pipeline.warehouse_for(cfg)
    run_id = pipeline.new_run_id()
    states = pipeline.register_feeds(wh, cfg, run_id)
    pipeline.store_polls(wh, pipeline.poll(cfg, states), run_id)
    pending = pipeline.next_pending(wh, 100)
    pages = pipeline.fetch_batch(cfg, pending)
    poor = {link: {"text": "Menu Home World Subscribe Login " * 10, "extractor": OLD}
            for link, res in pages.items() if res.outcome == "ok" and "talks" not in link}
    articles, log = pipeline.assemble_articles(cfg, pending, pages, poor, run_id)
    pipeline.store_batch(wh, pipeline.load_detectors(cfg), articles, log)
    return pages


def test_reextract_upgrades_articles_from_the_archive(config_for, tmp_path):
    with SiteServer(FIXTURES / "site") as srv:
        cfg = config_for([f"{srv.base}/feeds/wire.xml"])
        pages = _first_run(cfg)
    ok = {link: res for link, res in pages.items() if res.outcome == "ok"}
    assert len(ok) == 2  # talks and stocks; the third link is missing (404), not archived
    before = dict(query(cfg, "SELECT title, text_source FROM articles"))
    assert before["North Korea proposes border talks with South Korea"] == "feed_summary"
    assert before["Stocks rise on chip demand"] == "page"

    # The WARC files are standard: warcio reads every record, bodies as fetched.
    archive = pipeline.archive_for(cfg)
    records = {}
    for f in archive.root.rglob("*.warc.gz"):
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type == "response":
                    records[rec.rec_headers.get_header("WARC-Target-URI")] = rec.content_stream().read()
    assert {res.final_url: res.content for res in ok.values()} == records
    assert query(cfg, "SELECT count(*) FROM page_archive")[0][0] == 2

    started = datetime.now(timezone.utc)
    report = reextract(cfg, workers=1)  # the site is down now
    assert (report.examined, report.upgraded, report.missing) == (2, 2, 0)
    after = {t: (src, text, ext, why, upd) for t, src, text, ext, why, upd in query(
        cfg, "SELECT title, text_source, text, extractor, fallback_reason, updated_at FROM articles")}
    expected = {res.final_url: ex["text"] for res, ex in
                zip(ok.values(), extract_many([(r.content, r.final_url) for r in ok.values()]))}
    talks = after["North Korea proposes border talks with South Korea"]
    assert talks[0] == "page" and talks[1] in expected.values() and talks[3] is None
    stocks = after["Stocks rise on chip demand"]
    assert stocks[2] != OLD and "Subscribe Login" not in stocks[1] and stocks[1] in expected.values()
    # Hand-off to rescoring: the upgraded texts are newer than their scores.
    stale = query(cfg, "SELECT count(*) FROM articles a JOIN scores s USING (article_id) "
                       "WHERE a.updated_at > s.scored_at")[0][0]
    assert stale == 2
    # Untouched: the article whose page was missing keeps its feed text.
    assert after["Page that is missing"][0] == "feed_summary" and after["Page that is missing"][4] is None
    # Readers see the upgrade at once: reextract refreshed the (incremental) read snapshot.
    snap = duckdb.connect(str(snapshot_path(cfg.warehouse.path)), read_only=True)
    try:
        assert dict(snap.execute("SELECT title, text FROM articles").fetchall()) == \
            {t: v[1] for t, v in after.items()}
    finally:
        snap.close()
    # `rescore --since` the re-extraction takes exactly the upgraded articles (their news is
    # older than that), and their verdicts are then newer than their texts.
    summary = rescore(cfg, since=started)
    assert summary.articles == 2
    assert query(cfg, "SELECT count(*) FROM articles a JOIN scores s USING (article_id) "
                      "WHERE a.updated_at > s.scored_at")[0][0] == 0

    again = reextract(cfg, workers=1)
    assert (again.upgraded, again.unchanged) == (0, 2)
    future = reextract(cfg, since=datetime.now(timezone.utc) + timedelta(days=1), workers=1)
    assert future.examined == 0

    # Retention: 100 days later the day folders and their index rows are gone.
    cfg90 = cfg.replace(archive=cfg.archive.__class__(retention_days=90))
    wh = pipeline.warehouse_for(cfg90)
    assert pipeline.prune_archive(wh, cfg90, datetime.now(timezone.utc) + timedelta(days=100))
    assert not list(archive.root.rglob("*.warc.gz"))
    assert query(cfg, "SELECT count(*) FROM page_archive")[0][0] == 0


def test_archive_off_and_cli_errors(config_for, tmp_path):
    with SiteServer(FIXTURES / "site") as srv:
        cfg = config_for([f"{srv.base}/feeds/wire.xml"], archive={"enabled": False})
        _first_run(cfg)
    assert not Path(cfg.warehouse.path).with_name("warehouse.archive").exists()
    assert query(cfg, "SELECT count(*) FROM page_archive")[0][0] == 0
    path = write_config(tmp_path / "seedwatch.toml", cfg)
    done = subprocess.run([sys.executable, "-m", "seedwatch.cli", "reextract", "--config", str(path),
                           "--since", "yesterday"], capture_output=True, text=True)
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2 and "--since" in last and "not a date" in last and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "seedwatch.cli", "reextract", "--config", str(path),
                           "--since", "2026-01-01"], capture_output=True, text=True)
    assert done.returncode == 0 and "re-extracted 0 archived pages" in done.stdout


def test_unwritable_archive_loses_no_article(config_for, tmp_path):
    """The archive folder cannot be made (a file stands in its way): the pages are stored
    unarchived, with a warning, and the run goes on."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with SiteServer(FIXTURES / "site") as srv:
        cfg = config_for([f"{srv.base}/feeds/wire.xml"], archive={"path": str(blocker / "archive")})
        wh = pipeline.warehouse_for(cfg)
        run_id = pipeline.new_run_id()
        states = pipeline.register_feeds(wh, cfg, run_id)
        pipeline.store_polls(wh, pipeline.poll(cfg, states), run_id)
        result = pipeline.process_batch(wh, cfg, pipeline.load_detectors(cfg),
                                        pipeline.next_pending(wh, 100), run_id)
    assert result.articles == 3
    assert query(cfg, "SELECT count(*), count(*) FILTER (text_source = 'page') FROM articles")[0] == (3, 2)
    assert query(cfg, "SELECT count(*) FROM page_archive")[0][0] == 0
