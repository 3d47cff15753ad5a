"""The pipeline's stages on a real local site and a real DuckDB file, without Prefect."""
from __future__ import annotations

import json

import duckdb

from seedwatch import pipeline


def run_once(cfg):
    wh = pipeline.warehouse_for(cfg)
    run_id = pipeline.new_run_id()
    states = pipeline.register_feeds(wh, cfg, run_id)
    lines = pipeline.store_polls(wh, pipeline.poll(cfg, states), run_id)
    batches = []
    while pending := pipeline.next_pending(wh, 2):  # small batches: several per run
        batches.append(pipeline.process_batch(wh, cfg, pipeline.load_detectors(cfg), pending, run_id))
    pipeline.queue_alerts(wh, cfg)
    report = pipeline.deliver(wh, cfg)
    return lines, batches, report


def query(cfg, sql):
    con = duckdb.connect(cfg.warehouse.path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_cycle_stores_each_article_once_and_reruns_add_nothing(site, config_for, tmp_path):
    alerts = tmp_path / "alerts.jsonl"
    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"],
                     alerts=[{"url": f"jsonfile://{alerts}"}])
    lines, batches, report = run_once(cfg)
    assert [l.outcome for l in lines] == ["ok", "ok"]
    # 6 entries, but the talks story is in both feeds (different tracking parameters): 5 articles.
    assert query(cfg, "SELECT count(*) FROM entries")[0][0] == 6
    assert query(cfg, "SELECT count(*), count(DISTINCT canonical_url) FROM articles")[0] == (5, 5)
    assert sum(b.articles for b in batches) == 5 and len(batches) == 3
    # Every article has one score per topic, with an explanation.
    rows = query(cfg, "SELECT a.title, s.decision, s.explanation FROM scores s JOIN articles a USING (article_id)")
    assert len(rows) == 5
    decided = {title: decision for title, decision, _ in rows}
    assert decided["North Korea proposes border talks with South Korea"] is True
    assert decided["Seoul accepts Pyongyang's offer of talks"] is True
    assert decided["Stocks rise on chip demand"] is False
    assert decided["Typhoon approaches southern coast"] is False
    assert all(json.loads(expl)["summary"] for _, _, expl in rows)
    sent = report.sent
    # One alert per story, not per matched article: matches of one event share a story.
    stories = query(cfg, "SELECT count(*), sum(article_count) FROM stories")[0]
    assert stories[1] == sum(1 for d in decided.values() if d)
    assert sent == stories[0] >= 1
    assert len(alerts.read_text().splitlines()) == sent

    lines2, batches2, report2 = run_once(cfg)
    assert [l.outcome for l in lines2] == ["not_modified", "not_modified"]
    assert batches2 == [] and report2.sent == 0
    assert query(cfg, "SELECT count(*) FROM articles")[0][0] == 5
    assert query(cfg, "SELECT count(*) FROM entries")[0][0] == 6
    assert len(alerts.read_text().splitlines()) == sent


def test_missing_page_falls_back_to_feed_text_and_is_logged(site, config_for):
    cfg = config_for([f"{site.base}/feeds/wire.xml"])
    run_once(cfg)
    src, text = query(cfg, "SELECT text_source, text FROM articles WHERE title = 'Page that is missing'")[0]
    assert src == "feed_summary" and "unification minister" in text
    status, outcome = query(cfg, "SELECT status, outcome FROM fetch_log WHERE url LIKE '%missing.html'")[0]
    assert (status, outcome) == (404, "failed")
    page_src = query(cfg, "SELECT text_source, extractor FROM articles WHERE title LIKE 'Stocks%'")[0]
    assert page_src[0] == "page" and page_src[1].startswith("trafilatura")


def test_canonical_url_strips_tracking_parameters(site, config_for):
    cfg = config_for([f"{site.base}/feeds/wire.xml"])
    run_once(cfg)
    urls = [r[0] for r in query(cfg, "SELECT canonical_url FROM articles")]
    assert f"{site.base}/news/talks.html" in urls
    assert not any("utm_" in u for u in urls)


def test_pending_entries_are_picked_up_after_a_crash(site, config_for):
    """Entries stored but whose articles were never written (a crash) are processed next run."""
    cfg = config_for([f"{site.base}/feeds/daily.xml"])
    wh = pipeline.warehouse_for(cfg)
    run_id = pipeline.new_run_id()
    states = pipeline.register_feeds(wh, cfg, run_id)
    pipeline.store_polls(wh, pipeline.poll(cfg, states), run_id)  # ...then the process dies
    assert query(cfg, "SELECT count(*) FROM articles")[0][0] == 0
    lines, batches, _ = run_once(cfg)
    assert lines[0].outcome == "not_modified"  # the feed gives nothing new...
    assert query(cfg, "SELECT count(*) FROM articles")[0][0] == 3  # ...but nothing was lost


def test_quiet_runs_refresh_an_old_snapshot_only(site, config_for):
    import os
    import time as _time
    from warehouse.snapshot import snapshot_path

    cfg = config_for([f"{site.base}/feeds/daily.xml"])
    run_once(cfg)
    wh = pipeline.warehouse_for(cfg)
    quiet = pipeline.RunSummary(pipeline.new_run_id(), pipeline.datetime.now(pipeline.timezone.utc))
    with wh.transaction() as con:
        pipeline.store.start_run(con, quiet.run_id)
    pipeline.finish(wh, cfg, quiet)  # creates the first snapshot
    snap = snapshot_path(wh.path)
    first = snap.stat().st_mtime
    pipeline.finish(wh, cfg, quiet)  # nothing new, snapshot fresh: no copy
    assert snap.stat().st_mtime == first
    old = _time.time() - 2 * 3600
    os.utime(snap, (old, old))
    pipeline.finish(wh, cfg, quiet)  # nothing new, but the snapshot is two hours old
    assert snap.stat().st_mtime > old + 3600


def test_the_run_summary_lists_matches_without_their_texts(site, config_for):
    cfg = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"])
    _, batches, _ = run_once(cfg)
    summary = pipeline.RunSummary(pipeline.new_run_id(), pipeline.datetime.now(pipeline.timezone.utc))
    for b in batches:
        summary.matches += b.matches
    summary.feeds.append(pipeline.FeedLine("wire", "u", "ok", None, 3, 3))
    assert summary.matches, "the site's talks stories match"
    stored = dict(query(cfg, "SELECT a.title, s.score FROM scores s JOIN articles a USING (article_id) "
                             "WHERE s.decision"))
    out = summary.as_dict()
    # Each match: what `seedwatch run` lists, with the stored score; no text, no explanation.
    for m in out["matches"]:
        assert set(m) == set(pipeline.MATCH_FIELDS)
        assert m["score"] == stored[m["title"]] and m["decision"] is True
    assert {m["title"] for m in out["matches"]} == set(stored)
    assert out["feeds"] == [{"name": "wire", "url": "u", "outcome": "ok", "reason": None,
                             "entries": 3, "new_entries": 3}]
    # Plain copies: changing the returned data leaves the summary as it was.
    out["matches"][0]["title"] = "changed"
    out["stage_seconds"]["x"] = 1.0
    assert summary.matches[0]["title"] != "changed" and "x" not in summary.stage_seconds
    brief = summary.as_dict(brief=True)
    assert "matches" not in brief and "feeds" not in brief and brief["run_id"] == summary.run_id


def test_a_run_keeps_older_objects_out_of_full_collections_until_it_ends():
    import gc
    import weakref

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    gone = weakref.ref(a)
    del a, b
    before = gc.get_freeze_count()
    with pipeline.frozen_heap():
        assert gc.get_freeze_count() > before
        gc.collect()
        assert gone() is not None  # older than the run: not walked while it lasts
        made = Node()
        made.me = made
        made_ref = weakref.ref(made)
        del made
        gc.collect()
        assert made_ref() is None  # what the run itself makes is collected as usual
    assert gc.get_freeze_count() == before
    gc.collect()
    assert gone() is None  # and after the run, the older garbage too
