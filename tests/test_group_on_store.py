"""Near-duplicate groups are made as each batch is stored (`pipeline.store_batch`), while the
extraction workers are busy with the next batch, and they are the groups the end-of-run pass
(`grouping.group_articles`) gives the same articles."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb

from bench.faults import flood_texts
from extractors.article import content_hash
from seedwatch import pipeline
from seedwatch.grouping import group_articles
from warehouse import store
from warehouse.db import Warehouse

NOW = datetime.now(timezone.utc)


def _articles() -> list[dict]:
    """Near-identical long texts, one exact copy, distinct texts and a short one, in time order."""
    texts = flood_texts(12)
    texts.insert(5, texts[2])  # an exact copy of an earlier article
    texts += [f"Item {i}: " + " ".join(f"word{i}x{j}" for j in range(120)) for i in range(6)]
    texts.append("Too short for a sketch")
    rows = []
    for i, text in enumerate(texts):
        url = f"http://site.example/{i}.html"
        rows.append({"canonical_url": url, "url": url, "feed_id": "f", "title": f"Title {i}",
                     "text": text, "text_source": "page", "content_hash": content_hash(text),
                     "published": NOW - timedelta(minutes=len(texts) - i), "language": "en",
                     "first_seen": NOW, "run_id": "test"})
    return rows


def _groups(path) -> dict[str, tuple[str, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {a: (g, m) for a, g, m in con.execute(
            "SELECT article_id, dup_group_id, method FROM article_groups").fetchall()}
    finally:
        con.close()


def test_batches_are_grouped_as_stored_like_the_end_of_run_pass(tmp_path):
    rows = _articles()
    batches = [rows[i:i + 7] for i in range(0, len(rows), 7)]

    on_store = Warehouse(tmp_path / "on-store.duckdb")
    for batch in batches:
        pipeline.store_batch(on_store, [], [dict(r) for r in batch], [])
    grouped_as_stored = _groups(on_store.path)
    assert len(grouped_as_stored) == len(rows)  # every article has its group before any pass
    assert group_articles(on_store).grouped == 0  # nothing is left for the end of the run

    at_end = Warehouse(tmp_path / "at-end.duckdb")
    for batch in batches:
        with at_end.transaction() as con:
            store.insert_articles(con, [dict(r) for r in batch])
    assert group_articles(at_end).grouped == len(rows)
    assert grouped_as_stored == _groups(at_end.path)

    methods = [m for _, m in grouped_as_stored.values()]
    assert methods.count("exact") == 1 and methods.count("minhash") >= 8


def test_an_article_stored_again_keeps_its_group(tmp_path):
    rows = _articles()
    wh = Warehouse(tmp_path / "w.duckdb")
    pipeline.store_batch(wh, [], [dict(r) for r in rows[:10]], [])
    before = _groups(wh.path)
    # the same URLs again (another feed lists them) plus new ones
    pipeline.store_batch(wh, [], [dict(r) for r in rows[5:]], [])
    after = _groups(wh.path)
    assert {a: after[a] for a in before} == before
    assert len(after) == len(rows)
