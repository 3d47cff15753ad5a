"""SQL of duplicate groups, stories and alert-story links (tables of migration 002).

Everything new is found with anti-joins on ids and candidates with joins on keys, so the
work of a run grows with its new articles, not with the size of the warehouse.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Sequence

import duckdb

from warehouse.store import _registered, frame, insert_rows

Con = duckdb.DuckDBPyConnection
_AT = "coalesce(a.published, a.first_seen)"


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _probe(values: Iterable[Any]) -> dict[str, Any]:
    return frame(v=dict.fromkeys(values))


# --- duplicate groups ------------------------------------------------------------------------

def ungrouped_articles(con: Con, limit: int = 2000) -> list[dict[str, Any]]:
    """Stored articles not yet given a duplicate group, oldest first."""
    return _dicts(con.execute(f"""
        SELECT a.article_id, a.title, a.text, a.content_hash, {_AT} AS "at"
        FROM articles a WHERE NOT EXISTS (SELECT 1 FROM article_groups g WHERE g.article_id = a.article_id)
        ORDER BY "at", a.article_id LIMIT {int(limit)}"""))


def ungrouped_of(con: Con, article_ids: Sequence[str]) -> list[str]:
    """Those of these stored articles that have no duplicate group yet."""
    if not article_ids:
        return []
    with _registered(con, "probe", _probe(article_ids)):
        rows = con.execute("""
            SELECT p.v FROM probe p JOIN articles a ON a.article_id = p.v
            WHERE NOT EXISTS (SELECT 1 FROM article_groups g WHERE g.article_id = p.v)""").fetchall()
    return [r[0] for r in rows]


def groups_of_hashes(con: Con, hashes: Iterable[str]) -> dict[str, str]:
    """content_hash -> duplicate group of an already grouped article with that text."""
    with _registered(con, "probe", _probe(hashes)):
        rows = con.execute("""
            SELECT a.content_hash, min(g.dup_group_id) FROM probe JOIN articles a ON a.content_hash = probe.v
            JOIN article_groups g USING (article_id) GROUP BY a.content_hash""").fetchall()
    return dict(rows)


def band_candidates(con: Con, keys: Iterable[int], since: datetime, cap: int = 8
                    ) -> tuple[dict[int, list[tuple[str, str]]], dict[str, Sequence[int]]]:
    """Stored articles (seen since `since`) sharing a band key, at most `cap` per key (the
    earliest): key -> [(id, group)], and the signatures of those articles.

    Two queries: the hits with their groups, then each hit article's signature once. One
    query joining the signatures to the hits returned an article's signature once per band it
    shares (on near-identical texts, most of its 20); at 6,000 stored articles of the bench
    corpus that took 220 ms of CPU a batch of 200 against 90 ms now, with the same result.
    (Reading the signatures through Arrow was no faster, and the one 10,000-page run with it
    peaked 23 MB higher, probably because pyarrow's allocator keeps what it freed; the flow no
    longer imports pyarrow at all.)"""
    with _registered(con, "probe", _probe(keys)):
        hits = con.execute(f"""
            WITH hits AS (
                SELECT b.band_key, b.article_id FROM probe JOIN neardup_bands b ON b.band_key = probe.v
                WHERE b.seen_at >= ?
                QUALIFY row_number() OVER (PARTITION BY b.band_key ORDER BY b.seen_at, b.article_id) <= {int(cap)})
            SELECT h.band_key, h.article_id, g.dup_group_id
            FROM hits h JOIN article_groups g ON g.article_id = h.article_id""", [since]).fetchall()
    bands: dict[int, list[tuple[str, str]]] = {}
    for key, aid, group in hits:
        bands.setdefault(key, []).append((aid, group))
    sigs: dict[str, Sequence[int]] = {}
    if not hits:
        return bands, sigs
    # An article's sketch is stored with its band rows, at the same time: the window on
    # `seen_at` lets DuckDB skip the row groups of older sketches.
    # Read as NumPy columns, each signature an int64 array, which `neardup.assign_groups`
    # compares as they are: fetchall built Python lists value by value (7 us a signature
    # against 2; ~2,000 signatures a batch of 200 at 10,000 stored articles of the bench corpus).
    with _registered(con, "ids", _probe(aid for _, aid, _ in hits)):
        cols = con.execute("""SELECT s.article_id, s.signature FROM ids JOIN article_sketches s
                              ON s.article_id = ids.v WHERE s.seen_at >= ?""", [since]).fetchnumpy()
    sigs.update(zip(cols["article_id"].tolist(), cols["signature"]))
    return bands, sigs


def store_groups(con: Con, groups: Sequence[dict[str, Any]], sketches: Sequence[dict[str, Any]],
                 now: datetime) -> int:
    """Group rows, plus signatures and band keys of the articles that have a sketch."""
    n = insert_rows(con, "article_groups", [{**g, "grouped_at": now} for g in groups],
                    ("article_id", "dup_group_id", "method", "similarity", "matched_id", "grouped_at"))
    if sketches:
        sk = frame(article_id=[s["article_id"] for s in sketches],
                   signature=[list(s["signature"]) for s in sketches],
                   seen_at=[now] * len(sketches))
        with _registered(con, "sk", sk):
            con.execute("INSERT INTO article_sketches SELECT * FROM sk ON CONFLICT DO NOTHING")
        bands = frame(band_key=[k for s in sketches for k in s["bands"]],
                      article_id=[s["article_id"] for s in sketches for _ in s["bands"]])
        with _registered(con, "bands", bands):
            con.execute("INSERT INTO neardup_bands SELECT band_key, article_id, ? FROM bands", [now])
    return n


# --- stories ---------------------------------------------------------------------------------

def unstoried_matches(con: Con, limit: int = 2000) -> list[dict[str, Any]]:
    """Matched (article, topic) pairs of grouped articles not yet in a story, oldest first.
    Only the latest verdict counts: after a rescore, an old detector's match is not placed."""
    return _dicts(con.execute(f"""
        SELECT s.article_id, s.topic, max(s.score) AS score, any_value(a.title) AS title,
               any_value(a.text) AS text, any_value(a.language) AS language,
               any_value({_AT}) AS "at", any_value(g.dup_group_id) AS dup_group_id
        FROM (SELECT * FROM scores QUALIFY row_number() OVER (
                  PARTITION BY article_id, topic ORDER BY scored_at DESC, detector_version DESC) = 1
             ) s JOIN articles a USING (article_id) JOIN article_groups g USING (article_id)
        WHERE s.decision AND NOT EXISTS (SELECT 1 FROM story_members m
                                         WHERE m.article_id = s.article_id AND m.topic = s.topic)
        GROUP BY s.article_id, s.topic ORDER BY "at", s.article_id LIMIT {int(limit)}"""))


def open_members(con: Con, topic: str, since: datetime) -> list[dict[str, Any]]:
    """Members of the topic's stories updated since `since` (the ones new articles may join)."""
    return _dicts(con.execute("""
        SELECT m.story_id, m.article_id, m.article_at AS "at", m.language, m.features, g.dup_group_id
        FROM stories st JOIN story_members m ON m.story_id = st.story_id
        LEFT JOIN article_groups g ON g.article_id = m.article_id
        WHERE st.topic = ? AND st.last_updated >= ?""", [topic, since]))


def add_members(con: Con, rows: Sequence[dict[str, Any]], now: datetime) -> int:
    """Store placements (article_id, topic, story_id, joined_by, similarity, article_at,
    language, features) and create or refresh their stories."""
    if not rows:
        return 0
    n = insert_rows(con, "story_members", [{**r, "joined_at": now} for r in rows],
                    ("article_id", "topic", "story_id", "joined_by", "similarity", "article_at",
                     "language", "features", "joined_at"))
    refresh_stories(con, {r["story_id"] for r in rows}, now)
    return n


def refresh_stories(con: Con, story_ids: Iterable[str], now: datetime) -> None:
    """Recompute times, headline, outlets, count and best score of these stories from members."""
    with _registered(con, "probe", _probe(story_ids)):
        con.execute("""
            INSERT INTO stories (story_id, topic, first_seen, last_updated, headline,
                                 headline_article_id, outlets, article_count, max_score, created_at, updated_at)
            SELECT m.story_id, any_value(m.topic), min(m.article_at), max(m.article_at),
                   arg_max(a.title, (sc.score, -epoch(m.article_at))),
                   arg_max(m.article_id, (sc.score, -epoch(m.article_at))),
                   list_sort(list_distinct(list(o.outlet))), count(*), max(sc.score), $now, $now
            FROM probe JOIN story_members m ON m.story_id = probe.v
            JOIN articles a ON a.article_id = m.article_id
            LEFT JOIN article_outlets o ON o.article_id = m.article_id
            LEFT JOIN (SELECT article_id, topic, max(score) AS score FROM scores GROUP BY ALL) sc
                   ON sc.article_id = m.article_id AND sc.topic = m.topic
            GROUP BY m.story_id
            ON CONFLICT (story_id) DO UPDATE SET first_seen = excluded.first_seen,
                last_updated = excluded.last_updated, headline = excluded.headline,
                headline_article_id = excluded.headline_article_id, outlets = excluded.outlets,
                article_count = excluded.article_count, max_score = excluded.max_score,
                updated_at = excluded.updated_at""", {"now": now})


def story_details(con: Con, story_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Stories with their articles (time order) and the explanation of the best-scoring one."""
    ids = list(dict.fromkeys(story_ids))
    if not ids:
        return []
    with _registered(con, "probe", _probe(ids)):
        stories = _dicts(con.execute("""
            SELECT st.*, (SELECT explanation FROM scores s WHERE s.article_id = st.headline_article_id
                          AND s.topic = st.topic ORDER BY s.scored_at DESC LIMIT 1) AS explanation
            FROM stories st JOIN probe ON st.story_id = probe.v ORDER BY st.first_seen, st.story_id"""))
        arts = _dicts(con.execute("""
            SELECT sa.story_id, sa.article_id, sa.title, sa.outlet, sa.article_at, sa.canonical_url,
                   sa.language, sa.score FROM story_articles sa JOIN probe ON sa.story_id = probe.v
            ORDER BY sa.article_at, sa.article_id"""))
    for st in stories:
        st["explanation"] = json.loads(st["explanation"]) if isinstance(st["explanation"], str) else st["explanation"]
        st["articles"] = [a for a in arts if a["story_id"] == st["story_id"]]
    return stories


def stories_without_alert(con: Con, channel: str, topic: str, kinds: Sequence[str],
                          since: datetime) -> list[str]:
    """Stories of the topic created since `since` that no alert of these kinds to this
    channel covers yet, oldest first."""
    marks = ", ".join("?" for _ in kinds)
    rows = con.execute(f"""
        SELECT st.story_id FROM stories st WHERE st.topic = ? AND st.created_at >= ?
          AND NOT EXISTS (SELECT 1 FROM alert_stories l JOIN alerts al USING (alert_id)
                          WHERE l.story_id = st.story_id AND al.channel = ?
                            AND al.subject_kind IN ({marks}))
        ORDER BY st.first_seen, st.story_id""", [topic, since, channel, *kinds]).fetchall()
    return [r[0] for r in rows]


def list_stories(con: Con, limit: int = 100) -> list[dict[str, Any]]:
    """Stories, newest activity first (for `seedwatch demo` and reports)."""
    return _dicts(con.execute(f"""
        SELECT story_id, topic, headline, first_seen, last_updated, outlets, article_count, max_score
        FROM stories ORDER BY first_seen, story_id LIMIT {int(limit)}"""))
