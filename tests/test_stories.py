"""Stories: matched articles grouped by event, across languages, incrementally."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from detection import load_topic
from detection.stories import Item, assign_stories, features
from tests.conftest import REPO
from tests.test_pipeline import query, run_once

LEX = load_topic(str(REPO / "seeds" / "inter-korean-diplomacy.toml")).lexicon
T0 = datetime(2026, 11, 19, 1, tzinfo=timezone.utc)

HOTLINE_EN = ("Koreas restore liaison hotline after three years",
              "North Korea answered a call on the inter-Korean liaison hotline on Wednesday, restoring the "
              "communication channel, the unification ministry said. The military hotline was also restored.")
HOTLINE_KO = ("남북 연락채널 3년 만에 복원", "북한이 19일 남북 연락채널 정기통화에 응답해 통신선이 복원됐다고 "
              "통일부가 밝혔다. 군 통신선도 함께 복원됐다.")
ENVOY_EN = ("Seoul to send special envoy to Pyongyang",
            "South Korea will send a special envoy to Pyongyang next week to prepare an inter-Korean summit, "
            "the presidential office said. The envoy will carry a letter from the president.")


def _item(aid, doc, lang, hours):
    return Item(aid, T0 + timedelta(hours=hours), lang, features(LEX, *doc))


def test_cross_language_reports_of_one_event_share_a_story():
    new = [_item("en", HOTLINE_EN, "en", 0), _item("ko", HOTLINE_KO, "ko", 1),
           _item("envoy", ENVOY_EN, "en", 2), _item("ko-late", HOTLINE_KO, "ko", 24 * 5)]
    placed = {p.article_id: p for p in assign_stories(new, [], lambda i: "s-" + i.article_id)}
    assert placed["ko"].story_id == "s-en" and placed["ko"].joined_by == "similar"
    assert placed["envoy"].story_id == "s-envoy"          # another event the same day
    assert placed["ko-late"].story_id == "s-ko-late"       # out of the time window


def test_duplicate_group_joins_the_story_of_its_group():
    old = _item("first", HOTLINE_EN, "en", 0)
    old.story_id, old.dup_group_id = "s1", "g1"
    dup = _item("copy", ENVOY_EN, "en", 3)  # different lead, but the same duplicate group
    dup.dup_group_id = "g1"
    [p] = assign_stories([dup], [old], lambda i: "new")
    assert (p.story_id, p.joined_by) == ("s1", "dup_group")


def test_stories_are_incremental_and_viewable(site, config_for):
    cfg = config_for([f"{site.base}/feeds/wire.xml"])
    run_once(cfg)
    first = query(cfg, "SELECT story_id, article_count FROM stories ORDER BY 1")
    cfg2 = config_for([f"{site.base}/feeds/wire.xml", f"{site.base}/feeds/daily.xml"])
    run_once(cfg2)  # a later run brings more articles: they join existing stories or start new ones
    second = dict(query(cfg2, "SELECT story_id, article_count FROM stories"))
    assert all(sid in second and second[sid] >= n for sid, n in first)
    matched = query(cfg2, "SELECT count(DISTINCT article_id) FROM scores WHERE decision")[0][0]
    assert sum(second.values()) == matched
    assert query(cfg2, "SELECT count(*) FROM story_articles")[0][0] == matched
    rows = query(cfg2, "SELECT story_id, first_outlet, first_at FROM story_first_outlet")
    assert len(rows) == len(second) and all(r[1] for r in rows)
    assert query(cfg2, "SELECT count(*) FROM article_groups")[0][0] == \
        query(cfg2, "SELECT count(*) FROM articles")[0][0]
