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


def _reference_placements(new, open_members, threshold=0.45):
    """`assign_stories` as first written: every representative scored with the plain
    cosine and time decay, no cached sums and no window shortcut."""
    import math

    from detection import stories as st

    def cos(a, b):
        num = sum(v * b.get(k, 0.0) for k, v in a.items())
        den = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
        return num / den if den else 0.0

    def sim(a, b):
        hours = abs((a.at - b.at).total_seconds()) / 3600
        if hours > st.WINDOW_HOURS:
            return 0.0
        c = cos(a.features.get("concepts", {}), b.features.get("concepts", {}))
        if a.language and a.language == b.language:
            c = (c + cos(a.features.get("words", {}), b.features.get("words", {}))) / 2
        return c * math.exp(-hours / st.DECAY_HOURS)

    reps, groups, out = {}, {}, []

    def add(i):
        r = reps.setdefault(i.story_id, [])
        r.append(i)
        if len(r) > st.REPRESENTATIVES:
            del r[1]
    for m in sorted(open_members, key=lambda i: (i.at, i.article_id)):
        add(m)
        if m.dup_group_id:
            groups.setdefault(m.dup_group_id, m.story_id)
    for item in sorted(new, key=lambda i: (i.at, i.article_id)):
        if item.dup_group_id and item.dup_group_id in groups:
            placed = (item.article_id, groups[item.dup_group_id], "dup_group", 1.0)
        else:
            best = None
            for m in (m for r in reps.values() for m in r):
                s = sim(item, m)
                if s >= threshold and (best is None or s > best[0]):
                    best = (s, m.story_id)
            placed = ((item.article_id, "s-" + item.article_id, "new", None) if best is None
                      else (item.article_id, best[1], "similar", round(best[0], 4)))
        out.append(placed)
        item.story_id = placed[1]
        add(item)
        if item.dup_group_id:
            groups.setdefault(item.dup_group_id, placed[1])
    return out


def test_story_placement_matches_the_plain_definition_on_random_items():
    """The cached sums of squares and the window shortcut in `_place` change no placement and
    no similarity, also at exactly WINDOW_HOURS apart and just beyond."""
    import random

    from detection import stories as st

    rng = random.Random(13)
    concepts, words = [f"c{i}" for i in range(8)], [f"w{i}" for i in range(12)]
    base = datetime(2026, 12, 1, tzinfo=timezone.utc)
    window = timedelta(hours=st.WINDOW_HOURS)
    offsets = [timedelta(hours=rng.uniform(0, 400)) for _ in range(300)]
    # pairs right at the edge of the window, one microsecond inside and outside
    offsets += [offsets[i] + window + timedelta(microseconds=d) for i in range(20) for d in (-1, 0, 1)]

    def make(n, prefix):
        items = []
        for i in range(n):
            feats = {"concepts": {c: round(rng.uniform(0.1, 3), 4) for c in rng.sample(concepts, 3)},
                     "words": {w: rng.randint(1, 3) for w in rng.sample(words, 4)}}
            items.append(Item(f"{prefix}{i:04d}", base + offsets[(i * 7) % len(offsets)],
                              rng.choice(["en", "ko", None]), feats,
                              rng.choice([None, None, None, f"g{rng.randint(0, 30)}"])))
        return items

    def copies(items):
        return [Item(i.article_id, i.at, i.language, i.features, i.dup_group_id, i.story_id) for i in items]

    open_ = make(120, "o")
    for i, m in enumerate(open_):
        m.story_id = f"open-{i % 25}"
    new = make(len(offsets), "n")
    # Low thresholds too: at 0.45 no pair more than ~38 hours apart can reach it anyway.
    for threshold in (st.STORY_THRESHOLD, 0.1, 0.0):
        got = assign_stories(copies(new), copies(open_), lambda i: "s-" + i.article_id, threshold)
        want = _reference_placements(copies(new), copies(open_), threshold)
        assert [(p.article_id, p.story_id, p.joined_by, p.similarity) for p in got] == want
        assert {p.joined_by for p in got} >= {"dup_group", "similar"}


def test_story_placement_at_the_edge_of_the_window():
    """A lone candidate exactly WINDOW_HOURS before (identical text: similarity exp(-1.5),
    0.22) is joined at a threshold of 0.2, one microsecond further it is not; with a threshold
    of 0 a far, unrelated candidate is "similar" at 0.0, as the plain definition has it."""
    from detection import stories as st

    t0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
    feats = {"concepts": {"talks": 1.0}, "words": {"summit": 2}}
    edge = timedelta(hours=st.WINDOW_HOURS)

    def place(new_at, threshold, new_feats=feats):
        old = Item("old", t0, "en", feats, story_id="story-old")
        new = Item("new", new_at, "en", new_feats)
        got = assign_stories([new], [old], lambda i: "story-new", threshold)
        want = _reference_placements([Item("new", new_at, "en", new_feats)],
                                     [Item("old", t0, "en", feats, story_id="story-old")], threshold)
        assert [(p.article_id, p.story_id, p.joined_by, p.similarity) for p in got] == \
            [(a, "story-new" if s == "s-new" else s, j, v) for a, s, j, v in want]
        return got[0]

    assert place(t0 + edge, 0.2).story_id == "story-old"
    assert place(t0 + edge + timedelta(microseconds=1), 0.2).story_id == "story-new"
    far = place(t0 + 2 * edge, 0.0, {"concepts": {"weather": 1.0}, "words": {"rain": 1}})
    assert (far.story_id, far.joined_by, far.similarity) == ("story-old", "similar", 0.0)
