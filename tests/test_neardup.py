"""Near-duplicate detection: MinHash/LSH functions, and groups stored and found via band keys."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb

from detection import neardup
from seedwatch.grouping import group_articles
from warehouse.db import Warehouse
from warehouse.store import insert_articles

FIRST = ("North Korea on Tuesday proposed high-level talks with South Korea at the border village of "
         "Panmunjom, its first offer of dialogue in years, the unification ministry said. The proposal "
         "came in a message sent through the liaison channel in the morning, officials said, adding "
         "that Seoul was reviewing the offer and would respond soon after consulting allies.")
UPDATE = ("(LEAD) " + FIRST + " Seoul later accepted the offer and proposed that the talks be held "
          "on Nov. 26, a ministry spokesman told reporters.")
OTHER = ("Stocks in Seoul closed higher on Tuesday as chip makers rallied on strong demand for memory, "
         "while the won weakened against the dollar and foreign investors sold shares for a third day.")


def test_update_is_a_near_duplicate_and_other_news_is_not():
    a, b, c = (neardup.sketch(i, t) for i, t in (("a", FIRST), ("b", UPDATE), ("c", OTHER)))
    assert neardup.similarity(a.signature, b.signature) >= neardup.THRESHOLD
    assert neardup.similarity(a.signature, c.signature) < 0.2
    assert set(a.bands) & set(b.bands) and not set(a.bands) & set(c.bands)
    assert neardup.sketch("t", "Koreas talk") is None  # too short to compare
    assert neardup.tokens("(2nd LD) Koreas (종합2보)") == ["koreas"]


def test_assign_groups_exact_then_minhash_then_unique():
    items = [{"article_id": i, "content_hash": h, "sketch": neardup.sketch(i, t)}
             for i, h, t in (("a", "h1", FIRST), ("b", "h2", UPDATE), ("c", "h1", FIRST), ("d", "h3", OTHER))]
    got = {x.article_id: (x.group_id, x.method) for x in neardup.assign_groups(items, {}, {}, {})}
    assert got == {"a": ("a", "unique"), "b": ("a", "minhash"), "c": ("a", "exact"), "d": ("d", "unique")}


def _article(aid: str, text: str, when: datetime) -> dict:
    return {"article_id": aid, "canonical_url": f"https://example.org/{aid}", "title": aid, "text": text,
            "text_source": "page", "content_hash": f"hash-{aid}", "first_seen": when, "published": when}


def test_groups_are_stored_and_later_runs_match_through_band_keys(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    t0 = datetime(2026, 11, 17, tzinfo=timezone.utc)
    with wh.transaction() as con:
        insert_articles(con, [_article("first", FIRST, t0), _article("other", OTHER, t0)])
    assert group_articles(wh).grouped == 2
    with wh.transaction() as con:  # a later run: the update arrives
        insert_articles(con, [_article("update", UPDATE, t0 + timedelta(hours=2))])
    report = group_articles(wh)
    assert (report.grouped, report.duplicates) == (1, 1)
    assert group_articles(wh).grouped == 0
    con = duckdb.connect(str(wh.path), read_only=True)
    rows = dict((r[0], r[1:]) for r in con.execute(
        "SELECT article_id, dup_group_id, method, matched_id FROM article_groups").fetchall())
    assert rows["update"] == ("first", "minhash", "first") and rows["other"][:2] == ("other", "unique")
    assert con.execute("SELECT count(*) FROM neardup_bands").fetchone()[0] == 3 * neardup.BANDS
    con.close()
