"""Issue 11.5: a flood of near-identical matching articles costs the grouping stage work in
proportion to the articles, not to their square. Counted in comparisons and stored band rows,
not timed (the timings are in `python -m bench.faults grouping`)."""
from __future__ import annotations

import duckdb

from bench.faults import store_flood
from detection import load_topic, neardup, stories
from seedwatch.grouping import update_stories
from tests.conftest import REPO
from warehouse.db import Warehouse

TOPIC = load_topic(REPO / "seeds" / "inter-korean-diplomacy.toml")
# The real ones, counted below: near-duplicate comparisons are made many at a time
# (`equal_positions`, one per candidate), or one by one (`similarity`) for odd signatures;
# a story comparison is `_similarity` (`_place` skips, uncounted, only pairs more than the
# 72-hour window apart, which a flood of one day has none of).
NEAR, NEAR_MANY, STORY = neardup.similarity, neardup.equal_positions, stories._similarity


def grouping_work(tmp_path, n: int, monkeypatch) -> dict:
    counts = {"neardup": 0, "story": 0}
    near, near_many, story = NEAR, NEAR_MANY, STORY

    def near_counted(a, b):
        counts["neardup"] += 1
        return near(a, b)

    def near_many_counted(sig, others):
        counts["neardup"] += len(others)
        return near_many(sig, others)

    def story_counted(a, pa, b, pb):
        counts["story"] += 1
        return story(a, pa, b, pb)

    monkeypatch.setattr(neardup, "similarity", near_counted)
    monkeypatch.setattr(neardup, "equal_positions", near_many_counted)
    monkeypatch.setattr(stories, "_similarity", story_counted)
    wh = Warehouse(tmp_path / f"flood{n}.duckdb")
    store_flood(wh, n, TOPIC.name)
    # and as many short ones (a title and a few words): no MinHash sketch, so each is its own
    # duplicate group and finds its story by comparison with the story's members
    store_flood(wh, n, TOPIC.name, words=9, site="short")
    report = update_stories(wh, {TOPIC.name: TOPIC.lexicon})
    con = duckdb.connect(str(wh.path), read_only=True)
    try:
        counts["band_rows"] = con.execute("SELECT count(*) FROM neardup_bands").fetchone()[0]
        counts["stories"] = con.execute("SELECT count(*) FROM stories").fetchone()[0]
    finally:
        con.close()
    counts["duplicates"], counts["placed"] = report.duplicates, report.placed
    return counts


def test_near_duplicate_flood_grows_linearly(tmp_path, monkeypatch):
    small = grouping_work(tmp_path, 300, monkeypatch)
    large = grouping_work(tmp_path, 1200, monkeypatch)  # four times as many
    # Every article is grouped and placed; the long ones are near-duplicates of each other.
    assert (small["placed"], large["placed"]) == (600, 2400)
    assert large["duplicates"] >= 1150 and large["stories"] <= 2
    # Quadratic work would grow 16-fold; linear work grows about 4-fold (a little more while
    # the capped candidate lists fill up).
    for what in ("neardup", "story", "band_rows"):
        assert large[what] <= 6 * max(small[what], 1), (what, small, large)
    # and each article costs a bounded number of comparisons (and near-duplicates and stories
    # were compared: a count of 0 would make the bounds above say nothing)
    assert small["neardup"] >= 300 and small["story"] > 0
    assert large["neardup"] <= 1200 * neardup.BANDS * getattr(neardup, "MAX_PER_BAND", 8)
    assert large["story"] <= 2400 * large["stories"] * getattr(stories, "REPRESENTATIVES", 8)
