"""Issue 11.6: slow pages do not hold up a run. Within `[fetch] page_budget_seconds` the run
takes what has arrived; pages still loading go to the page-retry queue (their articles are
stored with the feed's text and can alert at once), pages not started wait for the next run."""
from __future__ import annotations

import time


from bench.faults import SLOW_PAGES, SlowSite
from tests.conftest import make_config
from tests.test_pipeline import query
from tests.faultsrv import run_plain

BUDGET = 3.0


def test_slowloris_pages_do_not_delay_the_healthy_feeds_alert(tmp_path):
    with SlowSite() as site:
        base = f"http://127.0.0.1:{site.port}"
        cfg = make_config(tmp_path, [f"{base}/healthy.xml", f"{base}/slow.xml"],
                          fetch={"page_budget_seconds": BUDGET, "read_timeout_seconds": 20.0,
                                 "total_timeout_seconds": 30.0, "per_host": 2},
                          alerts=[{"url": f"json://127.0.0.1:{site.port}/hook"}])
        t = time.monotonic()
        summary = run_plain(cfg)
        took = time.monotonic() - t
        # The slow pages would hold the run for their 30 s total timeout (two rounds of two,
        # per host): the run stopped waiting at the budget instead, and alerted.
        assert took < 30, took
        assert summary.alerts_sent == 1 and len(site.alerts) == 1
        assert site.alerts[0] - t < 30
        assert summary.page_budget_used_up
        assert summary.pages_deferred == SLOW_PAGES - 2  # per_host = 2 were loading
    talks = query(cfg, "SELECT text_source FROM articles WHERE title = 'Koreas agree to talks'")
    assert talks == [("page",)]
    # the two pages loading at the budget: stored with the feed's text, queued for a retry
    slow = query(cfg, "SELECT a.text_source, r.attempts FROM articles a JOIN page_retries r USING (article_id)")
    assert slow == [("feed_summary", 0)] * 2
    logged = query(cfg, "SELECT outcome, error_class, error FROM fetch_log WHERE url LIKE '%/slow/%'")
    assert len(logged) == 2 and all(o == "failed" and c == "temporary" and "budget" in e for o, c, e in logged)
    # the pages not started are still pending, nothing lost
    assert query(cfg, "SELECT count(*) FROM pending")[0][0] == SLOW_PAGES - 2
    assert query(cfg, "SELECT count(*) FROM articles")[0][0] == 3


def test_budget_zero_means_no_budget():
    from seedwatch import pipeline
    from seedwatch.config import parse_config
    cfg = parse_config({"fetch": {"page_budget_seconds": 0}})
    assert pipeline.page_deadline(cfg) is None and pipeline.budget_left(None)
    assert pipeline.page_deadline(parse_config({})) is not None
