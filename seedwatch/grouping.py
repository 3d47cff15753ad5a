"""The grouping stage: duplicate groups for new articles, then stories for new matches.

Works from what the warehouse holds (articles without a group, matches without a story),
so a run that died half-way is finished by the next one. Each batch is one transaction.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from detection import neardup, stories
from warehouse import stories as sql
from warehouse.db import Warehouse
from warehouse.store import article_key, key

NEARDUP_WINDOW = timedelta(days=30)   # near-duplicates are looked for among recent articles
BATCH = 1000
MIN_EXACT_CHARS = 80                  # shorter texts (titles, empty bodies) are no exact duplicates


@dataclass
class GroupingReport:
    grouped: int = 0
    duplicates: int = 0
    placed: int = 0
    new_stories: int = 0


def _new_item(row: dict[str, Any]) -> dict[str, Any]:
    text = row["text"] or ""
    exact = row["content_hash"] if len(text.strip()) >= MIN_EXACT_CHARS else f"short:{row['article_id']}"
    return {"article_id": row["article_id"], "content_hash": exact,
            "sketch": neardup.sketch(row["article_id"], text)}


def group_batch(wh: Warehouse, rows: list[dict[str, Any]], now: datetime) -> list[neardup.Assignment]:
    """Duplicate groups of these ungrouped articles, stored in one transaction."""
    items = [_new_item(r) for r in rows]
    with wh.transaction() as con:
        return _assign_and_store(con, items, now)


def _assign_and_store(con: Any, items: list[dict[str, Any]], now: datetime) -> list[neardup.Assignment]:
    keys = [k for it in items if it["sketch"] for k in it["sketch"].bands]
    hashes = sql.groups_of_hashes(con, [it["content_hash"] for it in items])
    bands, sigs = sql.band_candidates(con, keys, now - NEARDUP_WINDOW, neardup.MAX_PER_BAND)
    found = neardup.assign_groups(items, hashes, bands, sigs)
    # Band rows only where the article is kept as a candidate: a key shared by a flood of
    # near-identical texts holds MAX_PER_BAND rows, not one per article.
    sketches = [{"article_id": it["article_id"], "signature": it["sketch"].signature,
                 "bands": a.bands} for it, a in zip(items, found) if it["sketch"]]
    sql.store_groups(con, [{**vars(a), "dup_group_id": a.group_id} for a in found], sketches, now)
    return found


def _key_of(article: dict[str, Any]) -> str:
    """The article's id as `store.insert_articles` gives it."""
    return article.get("article_id") or article_key(article["canonical_url"])


def _at(article: dict[str, Any]) -> datetime:
    when = article.get("published") or article["first_seen"]
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def group_stored(con: Any, articles: Sequence[dict[str, Any]], now: datetime
                 ) -> list[neardup.Assignment]:
    """Duplicate groups of a batch of articles just stored, inside the batch's own transaction
    (`con`), oldest first as `group_articles` takes them. A run does this while the extraction
    workers work on the next batch, instead of for all its articles at the end, when nothing
    else runs. Articles that already have a group (stored before) are left as they are;
    anything left ungrouped (a run that died between batches) is taken by `group_articles`."""
    by_id = {_key_of(a): a for a in articles}
    todo = sorted(sql.ungrouped_of(con, list(by_id)), key=lambda i: (_at(by_id[i]), i))
    if not todo:
        return []
    items = [_new_item({**by_id[i], "article_id": i}) for i in todo]
    return _assign_and_store(con, items, now)


def group_articles(wh: Warehouse, now: datetime | None = None) -> GroupingReport:
    """Give every ungrouped article its duplicate group."""
    now = now or datetime.now(timezone.utc)
    report = GroupingReport()
    # Opening and closing the file costs about as much CPU as sketching a hundred articles,
    # so each batch's transaction also reads the next batch, and one row beyond the batch
    # says whether there is one; the sketches are still made with the file closed.
    with wh.connect() as con:
        rows = sql.ungrouped_articles(con, BATCH + 1)
    while rows:
        items, more = [_new_item(r) for r in rows[:BATCH]], len(rows) > BATCH
        with wh.transaction() as con:
            found = _assign_and_store(con, items, now)
            rows = sql.ungrouped_articles(con, BATCH + 1) if more else []
        report.grouped += len(found)
        report.duplicates += sum(1 for a in found if a.method != "unique")
    return report


def _item(row: dict[str, Any], feats: dict | None = None) -> stories.Item:
    f = feats if feats is not None else row.get("features")
    if isinstance(f, str):
        f = json.loads(f)
    return stories.Item(row["article_id"], row["at"], row.get("language"), f or {},
                        row.get("dup_group_id"), row.get("story_id"))


def place_topic(wh: Warehouse, topic: str, lexicon: Any, rows: list[dict[str, Any]],
                now: datetime) -> list[stories.Placement]:
    """Place one topic's new matches into stories, in one transaction."""
    new = [_item(r, stories.features(lexicon, r["title"] or "", r["text"] or "")) for r in rows]
    since = min(i.at for i in new) - timedelta(hours=stories.WINDOW_HOURS)
    with wh.transaction() as con:
        open_ = [_item(m) for m in sql.open_members(con, topic, since)]
        placed = stories.assign_stories(new, open_, lambda i: key(topic, i.article_id))
        by_id = {i.article_id: i for i in new}
        sql.add_members(con, [{"article_id": p.article_id, "topic": topic, "story_id": p.story_id,
                               "joined_by": p.joined_by, "similarity": p.similarity,
                               "article_at": by_id[p.article_id].at,
                               "language": by_id[p.article_id].language,
                               "features": by_id[p.article_id].features} for p in placed], now)
    return placed


def update_stories(wh: Warehouse, lexicons: dict[str, Any], now: datetime | None = None
                   ) -> GroupingReport:
    """Duplicate groups first, then every unplaced match of a known topic into a story."""
    now = now or datetime.now(timezone.utc)
    report = group_articles(wh, now)
    with wh.connect() as con:
        rows = sql.unstoried_matches(con, 100_000)
    for topic in sorted({r["topic"] for r in rows}):
        if topic not in lexicons:
            continue  # a topic no longer configured: its matches wait
        placed = place_topic(wh, topic, lexicons[topic], [r for r in rows if r["topic"] == topic], now)
        report.placed += len(placed)
        report.new_stories += sum(1 for p in placed if p.joined_by == "new")
    return report


def lexicons_of(detectors: Sequence[Any]) -> dict[str, Any]:
    """Topic name -> lexicon, from pipeline.TopicDetector objects."""
    return {td.name: td.detector.topic.lexicon for td in detectors}
