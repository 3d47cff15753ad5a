"""`python -m bench.same_output`: two runs' stored results compared by page path."""
from __future__ import annotations

from datetime import datetime, timezone

from bench.same_output import main
from seedwatch.grouping import group_articles
from warehouse import store
from warehouse.db import Warehouse

TEXT = ("North Korea on Tuesday proposed high-level talks with South Korea at the border village "
        "of Panmunjom, its first offer of dialogue in years, the unification ministry said today.")


def _run(path, port: int, score: float) -> str:
    wh = Warehouse(path)
    when = datetime(2026, 12, 1, tzinfo=timezone.utc)
    arts = [{"canonical_url": f"http://127.0.0.1:{port}/news/{n}.html", "url": None, "feed_id": "f",
             "title": n, "text": TEXT + n, "text_source": "page", "content_hash": f"h-{n}",
             "first_seen": when, "published": when} for n in ("a", "b")]
    with wh.transaction() as con:
        store.insert_articles(con, arts)
        store.insert_scores(con, [{"article_id": store.article_key(a["canonical_url"]), "topic": "t",
                                   "score": score, "decision": score > 0.5, "explanation": {},
                                   "detector_version": "v", "scored_at": when} for a in arts])
    group_articles(wh)
    return str(path)


def test_runs_on_other_ports_compare_equal_and_a_changed_score_does_not(tmp_path, capsys):
    one, two = _run(tmp_path / "1.duckdb", 4001, 0.7), _run(tmp_path / "2.duckdb", 4002, 0.7)
    assert main([one, two]) == 0
    out = capsys.readouterr().out
    assert "groups: 2 / 2, the same" in out and "scores: 2 / 2, the same" in out
    other = _run(tmp_path / "3.duckdb", 4003, 0.4)
    assert main([one, other]) == 1
    assert "scores: 2 / 2, 4 differ" in capsys.readouterr().out
